"""Files the commands write (cuentas_cli/outputs.py): never over the database, its WAL, the
command's input, through a symbolic link or onto a folder; existing files replaced atomically;
0600 unless files.mode says otherwise; `logout` ends a session wherever it is kept."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from sqlalchemy import text

from cuentas_cli.db.engine import open_session, sqlite_path
from tests.conftest import PASSWORD
from tests.factories import make_invoice, make_party

RUC = "20131312955"
BAD_CSV = (
    "tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total\n"
    f"cxc,{RUC},SUNAT,F001,10,2026-05-01,2026-06-01,100.00\n"
    f"cxc,{RUC},SUNAT,F001,11,2026-05-01,2026-06-01,abc\n"
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def books(company):
    """The company with three invoices, so "intact" means something."""
    from datetime import date

    with open_session(company.url, write=True) as s:
        client = make_party(s, ruc=RUC, name="SUNAT")
        for n in (1, 2, 3):
            make_invoice(s, client, serie="F001", numero=n, total="118.00", issued=date(2026, 5, 1), due=date(2026, 6, 1))
    return company


def invoice_count(url: str) -> int:
    with open_session(url) as s:
        return int(s.execute(text("SELECT count(*) FROM invoice")).scalar_one())


def assert_intact(company, expected: int = 3) -> None:
    """The database opens, passes SQLite's integrity check, has its rows, and commands still work."""
    if company.url.startswith("sqlite"):
        con = sqlite3.connect(sqlite_path(company.url))
        try:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            con.close()
    assert invoice_count(company.url) == expected
    listed = company.run("invoices", "list", "-f", "json")
    assert listed.exit_code == 0, listed.output
    assert len(listed.json()) == expected


# --- the extended hostile-path test ------------------------------------------------------------


@dataclass
class Writer:
    name: str
    sqlite_only_targets: tuple[str, ...] = ("database", "wal", "shm")

    def run(self, company, tmp_path: Path, target: Path):  # noqa: ANN201
        if self.name == "export":
            return company.run("export", "--format", "csv", "--output", str(target), role="gerente")
        if self.name == "export-xlsx":
            return company.run("export", "--output", str(target), role="gerente")
        if self.name == "import-errors":
            source = tmp_path / "entrada.csv"
            if not source.exists():
                source.write_text(BAD_CSV, encoding="utf-8")
            return company.run("import", str(source), "--errors", str(target), role="contador")
        if self.name == "import-partial-errors":
            source = tmp_path / "entrada.csv"
            if not source.exists():
                source.write_text(BAD_CSV, encoding="utf-8")
            return company.run("import", str(source), "--partial", "--errors", str(target), role="contador")
        if self.name == "login-session-file":
            return company.run("login", "contador", "--password-stdin", "--session-file", str(target),
                               role=None, input=PASSWORD + "\n")
        if self.name == "demo-dir":
            return company.run("demo", "--dir", str(target), role=None)
        raise AssertionError(self.name)


WRITERS = [Writer("export"), Writer("export-xlsx"), Writer("import-errors"), Writer("import-partial-errors"),
           Writer("login-session-file"), Writer("demo-dir")]
TARGETS = ["database", "wal", "shm", "journal", "hard-link", "database-via-linked-folder", "config", "input",
           "symlink", "directory", "directory-xlsx", "other-sqlite", "device"]
# (writer, target) pairs that do not apply: the command has no input file.
NOT_APPLICABLE = {("export", "input"), ("export-xlsx", "input"), ("login-session-file", "input"), ("demo-dir", "input")}
SQLITE_ONLY = {"database", "wal", "shm", "journal", "hard-link", "database-via-linked-folder"}

# Reported in the README's Reliability table by test_zz_hostile_path_figures.
FIGURES: dict[str, list[tuple[str, str, str, int]]] = {}


def _make_target(kind: str, company, tmp_path: Path, writer: Writer) -> tuple[Path, Path | None]:
    """(the path given to the command, a file whose bytes must not change or None)."""
    home = Path(os.environ["CUENTAS_HOME"])
    if kind in SQLITE_ONLY:
        db = sqlite_path(company.url)
        if kind == "database":
            return db, db
        if kind == "hard-link":
            link = tmp_path / "enlace.csv"
            os.link(db, link)
            return link, db
        if kind == "database-via-linked-folder":
            alias = tmp_path / "atajo"
            alias.symlink_to(db.parent, target_is_directory=True)
            return alias / db.name, db
        suffix = {"wal": "-wal", "shm": "-shm", "journal": "-journal"}[kind]
        return Path(f"{db}{suffix}"), None
    if kind == "config":
        config = home / "config.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text('[company]\nname = "Mi Empresa"\n', encoding="utf-8")
        return config, config
    if kind == "input":
        source = tmp_path / "entrada.csv"
        source.write_text(BAD_CSV, encoding="utf-8")
        return source, source
    if kind == "symlink":
        victim = tmp_path / "ajeno" / "importante.txt"
        victim.parent.mkdir()
        victim.write_text("no me borres\n", encoding="utf-8")
        victim.chmod(0o644)
        if writer.name == "demo-dir":
            link = tmp_path / "carpeta-enlace"
            link.symlink_to(victim.parent, target_is_directory=True)
        else:
            link = tmp_path / "enlace.xlsx"
            link.symlink_to(victim)
        return link, victim
    if kind in ("directory", "directory-xlsx"):
        folder = tmp_path / ("carpeta.xlsx" if kind == "directory-xlsx" else "carpeta")
        folder.mkdir()
        keep = folder / "session"
        keep.write_text("algo de otro programa\n", encoding="utf-8")
        return folder, keep
    if kind == "other-sqlite":
        other = tmp_path / "otra-empresa.csv"
        con = sqlite3.connect(other)
        con.execute("CREATE TABLE t (x)")
        con.commit()
        con.close()
        return other, other
    if kind == "device":
        return Path(os.devnull), None
    raise AssertionError(kind)


@pytest.mark.parametrize("writer,target_kind", [
    pytest.param(w, t, id=f"{w.name}-{t}") for w in WRITERS for t in TARGETS if (w.name, t) not in NOT_APPLICABLE
])
def test_hostile_output_paths_are_refused_and_the_database_stays_intact(books, tmp_path, writer, target_kind):
    backend = "sqlite" if books.url.startswith("sqlite") else "postgresql"
    if target_kind in SQLITE_ONLY and backend != "sqlite":
        pytest.skip("the active database is a file only on SQLite")
    target, guarded = _make_target(target_kind, books, tmp_path, writer)
    before = digest(guarded) if guarded is not None and target_kind not in SQLITE_ONLY else None
    guarded_mode = mode(guarded) if guarded is not None else None
    home_mode = mode(tmp_path)
    # Another process has the database open, so its -wal and -shm files exist meanwhile.
    holder = None
    if backend == "sqlite":
        holder = sqlite3.connect(sqlite_path(books.url))
        holder.execute("SELECT count(*) FROM invoice").fetchall()
    try:
        result = writer.run(books, tmp_path, target)
    finally:
        if holder is not None:
            holder.close()
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(target.name) in lines[0], result.stderr
    assert "Traceback" not in result.output
    assert_intact(books)
    if before is not None:
        assert digest(guarded) == before
    if guarded is not None and target_kind != "hard-link":
        assert mode(guarded) == guarded_mode  # never chmodded either
    assert mode(tmp_path) == home_mode
    if target_kind in ("wal", "shm", "journal"):
        assert not target.is_dir()  # no folder where SQLite keeps its files
    # no temporary file left behind anywhere near
    assert not list(tmp_path.rglob("*.part"))
    FIGURES.setdefault(backend, []).append((writer.name, target_kind, lines[0], result.exit_code))


def test_zz_hostile_path_figures(db_url):
    """The figures for the README's Reliability table (after the cases above, in file order)."""
    from tests.reliability import backend, figure

    cases = FIGURES.get(backend(db_url), [])
    if not cases:
        pytest.skip("the hostile-path cases did not run in this session")
    figure("hostile_output_paths", backend=backend(db_url), cases=len(cases),
           writers=len({w for w, *_ in cases}), targets=len({t for _, t, *_ in cases}),
           refused_exit_2=sum(code == 2 for *_, code in cases), database_damaged=0)


# --- item 1 as reported ---------------------------------------------------------------------------


def test_reported_commands_no_longer_replace_the_live_database(books, tmp_path):
    if not books.url.startswith("sqlite"):
        pytest.skip("the active database is a file only on SQLite")
    db = sqlite_path(books.url)
    source = tmp_path / "malo.csv"
    source.write_text(BAD_CSV, encoding="utf-8")
    for args, role in (
        (("export", "--format", "csv", "--output", str(db)), "gerente"),
        (("import", str(source), "--errors", str(db)), "contador"),
        (("login", "ana", "--password-stdin", "--session-file", str(db)), None),
    ):
        result = books.run(*args, role=role, input=PASSWORD + "\n")
        assert result.exit_code == 2, result.output
        assert "is the active database" in result.stderr and str(db) in result.stderr
    assert_intact(books)


def test_session_file_through_a_symlink_neither_overwrites_nor_chmods(company, tmp_path):
    victim = tmp_path / "notas.txt"
    victim.write_text("mis notas\n", encoding="utf-8")
    victim.chmod(0o644)
    link = tmp_path / "sesion"
    link.symlink_to(victim)
    result = company.run("login", "admin", "--password-stdin", "--session-file", str(link), role=None,
                         input=PASSWORD + "\n")
    assert result.exit_code == 2 and "symbolic link" in result.stderr
    assert victim.read_text(encoding="utf-8") == "mis notas\n" and mode(victim) == 0o644


def test_demo_in_a_home_folder_touches_nothing(cli, tmp_path):
    home = tmp_path / "casa"
    home.mkdir()
    home.chmod(0o755)
    (home / "session").write_text("mío\n", encoding="utf-8")
    result = cli("demo", "--dir", str(home))
    assert result.exit_code == 2, result.output
    assert "not empty and was not made by `cuentas demo`" in result.stderr
    assert (home / "session").read_text(encoding="utf-8") == "mío\n"
    assert mode(home) == 0o755 and sorted(p.name for p in home.iterdir()) == ["session"]


def test_demo_uses_an_empty_folder_without_changing_its_mode(cli, tmp_path):
    keyring.set_keyring(fail.Keyring())
    folder = tmp_path / "vacia"
    folder.mkdir()
    folder.chmod(0o750)
    result = cli("demo", "--dir", str(folder))
    assert result.exit_code == 0, result.output
    assert mode(folder) == 0o750
    assert (folder / ".cuentas-demo").is_file() and mode(folder / "session") == 0o600
    again = cli("demo", "--dir", str(folder))  # an earlier demo's folder: replaced
    assert again.exit_code == 0, again.output
    assert mode(folder) == 0o750


def test_demo_refuses_the_folder_of_the_active_database(books):
    if not books.url.startswith("sqlite"):
        pytest.skip("the active database is a file only on SQLite")
    folder = sqlite_path(books.url).parent
    result = books.run("demo", "--dir", str(folder), role=None)
    assert result.exit_code == 6  # the contract of test_demo: another cuentas database is a conflict
    assert "refusing to overwrite it" in result.stderr
    assert_intact(books)


# --- item 10 / 11: folders, modes ---------------------------------------------------------------


def test_errors_into_a_folder_is_a_usage_error(books, tmp_path):
    source = tmp_path / "malo.csv"
    source.write_text(BAD_CSV, encoding="utf-8")
    folder = tmp_path / "errores"
    folder.mkdir()
    result = books.run("import", str(source), "--errors", str(folder), role="contador")
    assert result.exit_code == 2 and "is a folder" in result.stderr
    assert list(folder.iterdir()) == []
    assert_intact(books)


def test_output_into_a_folder_named_like_a_workbook_is_a_usage_error(books, tmp_path):
    folder = tmp_path / "reporte.xlsx"
    folder.mkdir()
    result = books.run("export", "--output", str(folder), role="gerente")
    assert result.exit_code == 2 and "is a folder" in result.stderr
    assert list(folder.iterdir()) == []


def test_errors_file_is_0600_and_replaced_atomically(books, tmp_path):
    source = tmp_path / "malo.csv"
    source.write_text(BAD_CSV, encoding="utf-8")
    errors = tmp_path / "errores.csv"
    errors.write_text("row,column,value,message\nviejo\n", encoding="utf-8")
    errors.chmod(0o644)
    result = books.run("import", str(source), "--errors", str(errors), role="contador")
    assert result.exit_code == 3, result.output
    assert mode(errors) == 0o600
    content = errors.read_text(encoding="utf-8-sig")
    assert "viejo" not in content and "abc" in content
    assert not list(tmp_path.glob(".errores.csv.*"))


def test_files_mode_setting_widens_exports_and_error_files_for_a_shared_folder(books, tmp_path):
    assert books.run("settings", "set", "files.mode", "0640").exit_code == 0
    out = tmp_path / "cartera.csv"
    assert books.run("export", "--output", str(out), role="gerente").exit_code == 0
    assert mode(out) == 0o640
    source = tmp_path / "malo.csv"
    source.write_text(BAD_CSV, encoding="utf-8")
    errors = tmp_path / "errores.csv"
    assert books.run("import", str(source), "--errors", str(errors), role="contador").exit_code == 3
    assert mode(errors) == 0o640
    for bad in ("0666", "0700", "0400", "640x", "4755"):
        refused = books.run("settings", "set", "files.mode", bad)
        assert refused.exit_code == 3, (bad, refused.output)


def test_export_replaces_an_existing_file_atomically(books, tmp_path):
    """The contract kept: a monthly script reruns into the same name."""
    (tmp_path / "reportes").mkdir()
    out = tmp_path / "reportes" / "vencidas.csv"
    out.write_text("antiguo\n", encoding="utf-8")
    out.chmod(0o644)
    result = books.run("export", "--output", str(out), role="gerente")
    assert result.exit_code == 0, result.output
    assert "antiguo" not in out.read_text(encoding="utf-8-sig") and mode(out) == 0o600
    assert [p.name for p in out.parent.iterdir()] == ["vencidas.csv"]  # no temporary file left


def test_missing_folder_is_a_usage_error(books, tmp_path):
    result = books.run("export", "--output", str(tmp_path / "no-existe" / "x.csv"), role="gerente")
    assert result.exit_code == 2 and "does not exist" in result.stderr


# --- login --session-file ---------------------------------------------------------------------


def test_login_replaces_its_own_session_file_but_no_other_file(company, tmp_path):
    path = tmp_path / "sesion"
    first = company.run("login", "admin", "--password-stdin", "--session-file", str(path), role=None,
                        input=PASSWORD + "\n")
    assert first.exit_code == 0, first.output
    old = path.read_text(encoding="utf-8").strip()
    again = company.run("login", "admin", "--password-stdin", "--session-file", str(path), role=None,
                        input=PASSWORD + "\n")
    assert again.exit_code == 0, again.output
    assert path.read_text(encoding="utf-8").strip() not in ("", old) and mode(path) == 0o600
    notes = tmp_path / "notas.txt"
    notes.write_text("línea 1\nlínea 2\n", encoding="utf-8")
    refused = company.run("login", "admin", "--password-stdin", "--session-file", str(notes), role=None,
                          input=PASSWORD + "\n")
    assert refused.exit_code == 2 and "not a cuentas session file" in refused.stderr
    assert notes.read_text(encoding="utf-8") == "línea 1\nlínea 2\n"


# --- item 5: logout ends the session wherever it is kept ---------------------------------------


def _login_to_file(company, path: Path, user: str = "contador") -> str:
    result = company.run("login", user, "--password-stdin", "--session-file", str(path), role=None,
                         input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    return path.read_text(encoding="utf-8").strip()


def _assert_revoked(company, token: str) -> None:
    reused = company.run("whoami", role=None, env={"CUENTAS_TOKEN": token})
    assert reused.exit_code == 5 and "revoked" in reused.stderr


def test_logout_revokes_a_file_session_and_deletes_the_file(company, tmp_path):
    path = tmp_path / "sesion"
    token = _login_to_file(company, path)
    env = {"CUENTAS_SESSION_FILE": str(path)}
    assert company.run("whoami", role=None, env=env).exit_code == 0
    result = company.run("logout", role=None, env=env)
    assert result.exit_code == 0, result.output
    assert "logged out" in result.stderr and str(path) in result.stderr
    assert not path.exists()
    _assert_revoked(company, token)
    after = company.run("whoami", role=None, env=env)
    assert after.exit_code == 5


def test_logout_without_a_keyring_backend_works_with_a_file_session(company, tmp_path):
    keyring.set_keyring(fail.Keyring())
    path = tmp_path / "sesion"
    token = _login_to_file(company, path, user="gerente")
    result = company.run("logout", "--session-file", str(path), role=None)
    assert result.exit_code == 0, result.output
    assert not path.exists()
    _assert_revoked(company, token)


def test_logout_ends_both_the_file_and_the_keyring_session(company, tmp_path, isolated_home):
    assert company.run("login", "admin", "--password-stdin", role=None, input=PASSWORD + "\n").exit_code == 0
    keyring_token = next(v for (_, k), v in isolated_home.store.items() if k.startswith("session:"))
    path = tmp_path / "sesion"
    file_token = _login_to_file(company, path)
    result = company.run("logout", role=None, env={"CUENTAS_SESSION_FILE": str(path)})
    assert result.exit_code == 0, result.output
    assert not path.exists() and not any(k.startswith("session:") for _, k in isolated_home.store)
    _assert_revoked(company, keyring_token)
    _assert_revoked(company, file_token)


def test_logout_with_no_session_anywhere_says_so_and_exits_0(company):
    keyring.set_keyring(fail.Keyring())
    result = company.run("logout", role=None)
    assert result.exit_code == 0, result.output
    assert "not logged in" in result.stderr and "nothing to do" in result.stderr


def test_logout_keeps_the_file_when_the_database_cannot_revoke(company, tmp_path):
    path = tmp_path / "sesion"
    _login_to_file(company, path)
    broken = {"CUENTAS_SESSION_FILE": str(path), "CUENTAS_DATABASE_URL": "postgresql://nadie@127.0.0.1:1/nada"}
    result = company.run("logout", role=None, env=broken)
    assert result.exit_code != 0 and path.exists()  # retry later: the session still works meanwhile
    assert company.run("whoami", role=None, env={"CUENTAS_SESSION_FILE": str(path)}).exit_code == 0


def test_logout_does_not_revoke_a_service_token_kept_in_a_file(company, tmp_path):
    path = tmp_path / "token-cron"
    path.write_text(company.tokens["contador"] + "\n", encoding="utf-8")
    path.chmod(0o600)
    result = company.run("logout", role=None, env={"CUENTAS_SESSION_FILE": str(path)})
    assert result.exit_code == 0, result.output
    assert "already revoked, or is not a login session" in result.stderr
    assert company.run("whoami", role=None, env={"CUENTAS_TOKEN": company.tokens["contador"]}).exit_code == 0


# --- the rules themselves ------------------------------------------------------------------------


def test_parse_mode():
    from cuentas_cli.config import parse_mode

    assert parse_mode("0600") == 0o600 and parse_mode("640") == 0o640 and parse_mode("0o660") == 0o660
    for bad in ("0666", "0700", "0400", "0602", "4600", "x", "", "06000"):
        with pytest.raises(ValueError):
            parse_mode(bad)


def test_database_file_of_urls():
    from cuentas_cli.outputs import database_file

    assert database_file("sqlite:////tmp/a/cuentas.db") == Path("/tmp/a/cuentas.db")
    assert database_file("sqlite:///rel.db?timeout=5") == Path("rel.db")
    assert database_file("sqlite+pysqlite:////x.db") == Path("/x.db")
    assert database_file("sqlite:///:memory:") is None
    assert database_file("postgresql+psycopg://u@h/db") is None


def test_passwd_removes_the_session_file_whose_session_it_ended(company, tmp_path):
    path = tmp_path / "sesion"
    token = _login_to_file(company, path)
    changed = company.run("passwd", "--password-stdin", role=None, env={"CUENTAS_SESSION_FILE": str(path)},
                          input=f"{PASSWORD}\notra-clave-segura-456\n")
    assert changed.exit_code == 0, changed.output
    assert not path.exists()
    _assert_revoked(company, token)
