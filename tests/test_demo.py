"""`cuentas demo` and examples/: a fresh sample company through the real services (SQLite by definition)."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import keyring
from keyring.backends import fail

from cuentas_cli.ops import demo
from cuentas_cli.ops import demo_data

ROOT = Path(__file__).resolve().parent.parent


def rows(url: str, sql: str) -> list[tuple]:
    from sqlalchemy import text

    from cuentas_cli.db.engine import open_session

    with open_session(url) as s:
        return [tuple(r) for r in s.execute(text(sql))]


def exports(stderr: str) -> dict[str, str]:
    """The `export NAME=VALUE` lines the demo printed."""
    found = {}
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            found[name] = shlex.split(value)[0]
    return found


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_demo_without_keyring_builds_the_company_and_shows_the_dashboard(cli, tmp_path):
    keyring.set_keyring(fail.Keyring())  # headless CI: no keyring works
    folder = tmp_path / "demo"
    result = cli("demo", "--dir", str(folder))
    assert result.exit_code == 0, result.output
    # the dashboard is the last thing, on stdout
    assert "Key figures as of 15/06/2026" in result.stdout and "Aging by due date" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].strip().startswith("payments") or "posterior" in result.stdout
    # users, the demo-only password, the lines to continue, the next commands
    assert "demo-admin (administrador), demo-contador (contador), demo-gerente (gerente)" in result.stderr
    assert "'demo-cuentas-2026', for this demo only" in result.stderr
    assert "cuentas invoices overdue --kind cxc" in result.stderr
    env = exports(result.stderr)
    url = f"sqlite:///{folder.resolve() / 'cuentas.db'}"
    session_file = folder.resolve() / "session"
    assert env == {"CUENTAS_DATABASE_URL": url, "CUENTAS_TODAY": "2026-06-15", "CUENTAS_SESSION_FILE": str(session_file)}
    assert "no OS keyring works here" in result.stderr
    assert mode(session_file) == 0o600 and mode(folder / "cuentas.db") == 0o600 and mode(folder) == 0o700
    # what is in it
    assert rows(url, "SELECT username, role FROM app_user ORDER BY id") == [
        ("demo-admin", "administrador"), ("demo-contador", "contador"), ("demo-gerente", "gerente")]
    assert rows(url, "SELECT kind, count(*) FROM party GROUP BY kind ORDER BY kind") == [("client", 25), ("supplier", 15)]
    company = demo_data.build()
    invoices = len(company.sales) + len(company.purchases) + len(company.legacy) + 1  # + the PLE credit note
    assert rows(url, "SELECT count(*) FROM invoice") == [(invoices,)]
    assert rows(url, "SELECT count(*) FROM payment") == [(sum(len(i.payments) for i in company.sales + company.purchases),)]
    statuses = dict(rows(url, "SELECT status, count(*) FROM invoice GROUP BY status"))
    assert statuses["VENCIDA"] >= 20 and statuses["PAGADA"] >= 200 and statuses.get("PARCIAL", 0) + statuses["PENDIENTE"] > 0
    assert rows(url, "SELECT count(*) FROM invoice WHERE total_cents + adjust_cents - paid_cents < 0") == [(0,)]
    # the RUCs are valid
    from cuentas_cli.rules.identity import validate_ruc

    for (doc,) in rows(url, "SELECT doc_number FROM party"):
        validate_ruc(doc)
    # imported through the real importer: one audit record per file
    assert rows(url, "SELECT count(*) FROM audit_log WHERE action = 'import'") == [(4,)]
    # the printed lines really continue in the demo
    whoami = cli("whoami", "--format", "json", env=env)
    assert whoami.exit_code == 0, whoami.output
    assert whoami.json()["username"] == "demo-admin"


def test_demo_with_a_keyring_keeps_the_session_there(cli, tmp_path, isolated_home):
    folder = tmp_path / "demo"
    result = cli("demo", "--dir", str(folder))
    assert result.exit_code == 0, result.output
    assert "session kept in the OS keyring" in result.stderr
    assert not (folder / "session").exists()
    env = exports(result.stderr)
    assert set(env) == {"CUENTAS_DATABASE_URL", "CUENTAS_TODAY"}
    assert any(k[1].startswith("session:sqlite:") for k in isolated_home.store)
    assert cli("whoami", "--format", "json", env=env).json()["username"] == "demo-admin"


def test_next_steps_the_demo_suggests_all_work(cli, tmp_path, monkeypatch):
    from cuentas_cli.commands.demo import NEXT_STEPS

    monkeypatch.chdir(tmp_path)
    result = cli("demo", "--dir", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    env = exports(result.stderr)
    for command, _ in NEXT_STEPS:
        ran = cli(*shlex.split(command)[1:], env=env)
        assert ran.exit_code == 0, f"{command}: {ran.output}"
    assert (tmp_path / "vencidas.xlsx").exists()
    gerente = cli("login", "demo-gerente", "--password-stdin", input="demo-cuentas-2026\n", env=env)
    assert gerente.exit_code == 0, gerente.output


def test_default_folder_is_under_the_data_dir(cli, tmp_path):
    result = cli("demo")
    assert result.exit_code == 0, result.output
    assert (Path(os.environ["CUENTAS_HOME"]) / "demo" / "cuentas.db").exists()


def test_demo_replaces_an_earlier_demo_but_refuses_another_database(cli, tmp_path, monkeypatch):
    folder = tmp_path / "demo"
    assert cli("demo", "--dir", str(folder)).exit_code == 0
    url = demo.database_url(folder)
    before = rows(url, "SELECT count(*) FROM invoice")
    env = exports(cli("demo", "--dir", str(folder)).stderr)
    assert cli("invoices", "delete", "1", "--with-payments", env=env).exit_code == 0
    again = cli("demo", "--dir", str(folder))
    assert again.exit_code == 0, again.output
    assert rows(url, "SELECT count(*) FROM invoice") == before  # fresh again
    # a real company's database is never overwritten
    real = tmp_path / "empresa"
    monkeypatch.setenv("CUENTAS_HOME", str(real))
    assert cli("init", "--admin", "ana", "--password-stdin", input="clave-de-ana-2026\n").exit_code == 0
    size = (real / "cuentas.db").stat().st_size
    refused = cli("demo", "--dir", str(real))
    assert refused.exit_code == 6
    assert len(refused.stderr.splitlines()) == 1 and refused.stderr.startswith("error: ")
    assert "did not make; refusing to overwrite it" in refused.stderr
    assert "cuentas demo --dir PATH" in refused.stderr
    assert (real / "cuentas.db").stat().st_size == size
    assert rows(f"sqlite:///{real / 'cuentas.db'}", "SELECT username FROM app_user") == [("ana",)]


def test_demo_outside_a_checkout_writes_the_same_examples(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "REPO_EXAMPLES", tmp_path / "no-such-checkout")
    folder = tmp_path / "demo"
    result = cli("demo", "--dir", str(folder))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (folder / "examples").iterdir()) == sorted(demo_data.DEMO_FILES)
    assert rows(demo.database_url(folder), "SELECT count(*) FROM invoice")[0][0] > 400


def test_committed_examples_match_the_generator(tmp_path):
    """examples/make_examples.py is deterministic and the committed files are its output."""
    out = tmp_path / "out"
    subprocess.run([sys.executable, str(ROOT / "examples" / "make_examples.py"), str(out)], check=True,
                   capture_output=True, cwd=ROOT)
    for name in demo_data.DEMO_FILES:
        if name.endswith(".xlsx"):
            continue
        assert (out / name).read_bytes() == (ROOT / "examples" / name).read_bytes(), f"examples/{name} is stale"
    import openpyxl

    def cells(path: Path) -> list[tuple]:
        book = openpyxl.load_workbook(path, read_only=True)
        return [tuple(r) for r in book["Compras"].iter_rows(values_only=True)]

    assert cells(out / demo_data.PURCHASES_FILE) == cells(ROOT / "examples" / demo_data.PURCHASES_FILE)
    company = demo_data.build()
    assert len(company.parties) == 40
    assert sum(p.kind == "cxc" for p in company.parties) == 25


def test_examples_import_by_hand(cli, tmp_path):
    """Each data file imports on its own as the README says (new database, admin logged in)."""
    assert cli("init", "--admin", "ana", "--password-stdin", input="clave-de-ana-2026\n").exit_code == 0
    assert cli("login", "ana", "--password-stdin", input="clave-de-ana-2026\n").exit_code == 0
    examples = ROOT / "examples"
    for args in (["ventas.csv"], ["compras.xlsx"], [demo_data.PLE_FILE],
                 ["cartera-sistema-anterior.csv", "--mapping", str(examples / "mapping-sistema-anterior.toml")]):
        result = cli("import", str(examples / args[0]), *args[1:])
        assert result.exit_code == 0, result.output
    ple_again = cli("import", str(examples / demo_data.PLE_FILE), "--json")
    assert ple_again.json()["new"] == 0 and ple_again.json()["anulados"] == 1


def test_overdue_export_script(tmp_path):
    """examples/vencidas-del-mes.sh, run by sh against the demo (session file: no keyring)."""
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUENTAS_")}
    env.update({"CUENTAS_HOME": str(tmp_path / "home"), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                "CUENTAS": str(bin_dir / "cuentas"), "PYTHON": sys.executable})
    made = subprocess.run([str(bin_dir / "cuentas"), "demo", "--dir", str(tmp_path / "demo")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    env.update(exports(made.stderr))
    run = subprocess.run(["sh", str(ROOT / "examples" / "vencidas-del-mes.sh"), "2026-05"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "vencidas-2026-05.xlsx"
    import openpyxl

    book = openpyxl.load_workbook(tmp_path / "vencidas-2026-05.xlsx", read_only=True)
    sheet = book.worksheets[-1]  # "Invoices" or "Facturas": the script runs in the machine's language
    listed = list(sheet.iter_rows(values_only=True))
    from tests.factories import workbook_keys

    header = workbook_keys(listed[0])
    due = header.index("due_date")
    assert len(listed) > 10
    assert all(str(r[due])[:10] < "2026-05-31" for r in listed[1:])  # overdue at the month's end
