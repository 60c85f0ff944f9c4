"""The README teaches what the program does: its tour runs as written, its run command is true."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def tour_lines(block: str = "tour") -> list[str]:
    """The shell lines of the ```sh tour block (or ```sh inicio, the Spanish quick start), comments
    and blank lines dropped."""
    match = re.search(rf"^```sh {block}\n(.*?)^```", README, re.S | re.M)
    assert match, f"README.md has no ```sh {block} block"
    lines = []
    for raw in match.group(1).splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def parse(line: str) -> tuple[str, list[str], str | None, dict[str, str]]:
    """One tour line -> (kind, argv, stdin, env). Only three shapes are allowed, so the tour
    can hold nothing this test does not run: `cuentas ...`, `echo 'X' | cuentas ...`,
    `export NAME=VALUE`."""
    if line.startswith("export "):
        name, _, value = line.removeprefix("export ").partition("=")
        return "env", [], None, {name: shlex.split(value)[0]}
    stdin = None
    if line.startswith("echo "):
        echoed, bar, rest = line.partition(" | ")
        assert bar, f"tour line pipes into nothing: {line}"
        stdin = shlex.split(echoed)[1] + "\n"
        line = rest
    words = shlex.split(line)
    assert words[0] == "cuentas", f"tour line is not a cuentas command: {line}"
    return "run", words[1:], stdin, {}


def run_tour(cli, lines: list[str], monkeypatch) -> list[tuple[str, object]]:  # noqa: ANN001
    """Each tour line in order: `export` lines set the environment, the others run; (line, result)."""
    ran = []
    for line in lines:
        kind, argv, stdin, env = parse(line)
        if kind == "env":
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            continue
        ran.append((line, cli(*argv, input=stdin)))
    return ran


def test_tour_covers_what_the_issue_asks():
    commands = [" ".join(parse(line)[1][:2]) for line in tour_lines() if parse(line)[0] == "run"]
    for expected in ("init --admin", "login ana", "clients add", "invoices add", "invoices pay", "import examples/ventas.csv",
                     "dashboard", "export --overdue", "notify run", "tokens create"):
        assert any(c.startswith(expected) for c in commands), f"the tour lacks `cuentas {expected}`"
    assert "--lookup" in " ".join(tour_lines())


def test_every_tour_command_runs_as_written(cli, db_url, tmp_path, monkeypatch):
    """A fresh database (SQLite and PostgreSQL), the in-memory keyring (conftest); the commands in order;
    each must exit 0."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    ran = run_tour(cli, tour_lines(), monkeypatch)
    for line, result in ran:
        assert result.exit_code == 0, f"`{line}` exited {result.exit_code}:\n{result.output}"
    assert len(ran) >= 20
    # What the tour promises it did:
    assert (tmp_path / "vencidas.xlsx").exists()
    shown = cli("invoices", "show", "F001-1001", "--format", "json").json()
    assert shown["paid"] == "500.00" and shown["balance"] == "680.00"


def test_the_tour_runs_where_no_keyring_works(cli, db_url, tmp_path, monkeypatch):
    """A server: keyring has no backend (PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring).
    `cuentas login` keeps the session in a 0600 file with one warning, and every later line finds it."""
    import keyring
    from keyring.backends import fail

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    keyring.set_keyring(fail.Keyring())  # conftest restores its in-memory keyring afterwards
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    ran = run_tour(cli, tour_lines(), monkeypatch)
    for line, result in ran:
        assert result.exit_code == 0, f"`{line}` exited {result.exit_code}:\n{result.output}"
    login = next(result for line, result in ran if line.startswith("echo") and " login " in line)
    warnings = [line for line in login.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "0600" in warnings[0], login.stderr
    doctor = next(result for line, result in ran if line.startswith("cuentas doctor"))
    assert "session file" in doctor.output
    shown = cli("invoices", "show", "F001-1001", "--format", "json").json()
    assert shown["paid"] == "500.00" and shown["balance"] == "680.00"


def test_spanish_quick_start_runs_as_written(cli, db_url, tmp_path, monkeypatch):
    """The Spanish "Inicio rápido": its Spanish command names and DD/MM/YYYY dates, as written."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    lines = tour_lines("inicio")
    for line, result in run_tour(cli, lines, monkeypatch):
        assert result.exit_code == 0, f"`{line}` exited {result.exit_code}:\n{result.output}"
    assert any(parse(line)[1][:2] == ["facturas", "pagar"] for line in lines)
    assert (tmp_path / "vencidas.xlsx").exists()
    shown = cli("invoices", "show", "F001-1001", "--format", "json").json()
    assert (shown["paid"], shown["balance"], shown["issue_date"]) == ("500.00", "680.00", "2026-06-01")


def test_run_command_and_examples_are_documented():
    assert "python3.11 -m venv .venv && .venv/bin/pip install -q -e . && sh examples/run.sh" in README
    assert "python3.11 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest" in README
    run_sh = (ROOT / "examples" / "run.sh").read_text(encoding="utf-8")
    assert re.search(r'"\$CUENTAS" demo --dir', run_sh), "examples/run.sh must end in `cuentas demo`"
    for name in ("--install-completion", "--show-completion", "cuentas doctor", "cuentas demo"):
        assert name in README
    # every example file is described in the README, and every file the README names exists
    for path in (ROOT / "examples").iterdir():
        if path.is_file():
            assert f"`{path.name}`" in README or path.name in README, f"examples/{path.name} is not in the README"
    for name in re.findall(r"examples/([\w.+-]+\.\w+)", README):
        assert (ROOT / "examples" / name).exists(), f"README names examples/{name}, which does not exist"
    for name in re.findall(r"\(docs/([\w-]+\.md)\)", README):
        assert (ROOT / "docs" / name).exists(), f"README links docs/{name}, which does not exist"


def test_readme_keeps_its_sections():
    for heading in ("## Install", "## A ten-minute tour", "## Configuration", "## PostgreSQL for a team",
                    "## Security notes", "## Exit codes", "## Changelog"):
        assert f"\n{heading}\n" in README, f"README lost its {heading!r} section"


def test_the_team_route_runs_as_written_on_a_bare_server(tmp_path, monkeypatch, pg_database):  # noqa: ANN001
    """README "PostgreSQL for a team" against the real server: its own database and logins (a
    server's roles are shared by every test), the rest as written."""
    import os
    import subprocess
    import uuid

    import pytest

    from tests.conftest import invoke
    from tests.test_team import _drop_roles

    if pg_database is None:
        pytest.skip("needs CUENTAS_TEST_POSTGRES_URL")
    tag = uuid.uuid4().hex[:8]
    names = {name: f"{name}_{tag}" for name in ("cuentas_owner", "luis", "maria", "jose", "cron")}
    database = f"cuentas_team_{tag}"
    prefix = f"team_{tag}"
    server = pg_database.rsplit("/", 1)[0].removeprefix("postgresql://").split("@")[-1]  # host:port
    host, _, port = server.partition(":")
    pg_env = {**os.environ, "PGHOST": host, "PGPORT": port or "5432", "PGUSER": "postgres"}

    def rewrite(line: str) -> str:
        line = line.replace("dbserver/cuentas", f"{server}/{database}")
        line = re.sub(r"\b(cuentas_owner|luis|maria|jose|cron)\b(?=[@ ]|$)", lambda m: names[m.group(1)], line)
        if line.startswith("createdb"):
            line = line.removesuffix(" cuentas") + f" {database}"
        if line == "cuentas db roles apply":
            line += f" --prefix {prefix}"
        return line

    lines = [rewrite(line) for line in tour_lines("team")]
    assert any(line.startswith("cuentas db roles apply") for line in lines)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    results = []
    try:
        for line in lines:
            if line.startswith(("createuser ", "createdb ")):
                done = subprocess.run(shlex.split(line), env=pg_env, capture_output=True, text=True, timeout=60)
                assert done.returncode == 0, (line, done.stderr)
                continue
            kind, argv, stdin, env = parse(line)
            if kind == "env":
                for name, value in env.items():
                    monkeypatch.setenv(name, value)
                continue
            result = invoke(*argv, input=stdin)
            assert result.exit_code == 0, f"`{line}` exited {result.exit_code}:\n{result.output}"
            results.append((line, result))
        assert len(results) >= 16
        who = next(r for line, r in results if line == "cuentas whoami")
        assert names["luis"] in who.stdout and "contador" in who.stdout
        audit = next(r for line, r in results if line.startswith("cuentas audit list"))
        assert names["luis"] in audit.stdout  # his payment, in the server's own trail
        # and the server holds luis to his role: psql as him cannot delete the invoice he made
        import psycopg

        with psycopg.connect(host=host, port=port or "5432", user=names["luis"], dbname=database,
                             autocommit=True) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DELETE FROM invoice")
    finally:
        from cuentas_cli.db.engine import dispose_engines

        dispose_engines()
        subprocess.run(["dropdb", "--if-exists", "--force", database], env=pg_env, capture_output=True, timeout=60)
        _drop_roles(pg_database, [*names.values(), *(f"{prefix}_{r}" for r in ("contador", "gerente", "administrador"))])


def test_the_firm_route_runs_as_written(cli, db_url, tmp_path, monkeypatch):
    """The accounting firm's block (```sh firm), on each backend: every line exits 0, and what it
    promises holds: luis is contador in one company and gerente in the other."""
    monkeypatch.chdir(tmp_path)
    ran = run_tour(cli, tour_lines("firm"), monkeypatch)
    for line, result in ran:
        assert result.exit_code == 0, f"`{line}` exited {result.exit_code}:\n{result.output}"
    board = cli("dashboard", "--all-companies", "--format", "json").json()
    assert [r["company_ruc"] for r in board] == ["20100070970", "20131312955", "20100113610", ""]
    assert board[-1]["cxc_overdue"] == "1180.00"
    listed = {r["ruc"]: r for r in cli("companies", "list", "--format", "json").json()}
    assert listed["20100113610"]["active"]  # `companies use sur`
