"""Team mode on PostgreSQL: the server enforces the roles (`cuentas db roles apply`), each person
connects with their own login (`users add --pg-login`), and the database audits every change,
whoever makes it. Group roles and logins are cluster-wide, so each test names them with its own
prefix and drops them at the end."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import PASSWORD, Company


@dataclass
class Team:
    company: Company
    prefix: str
    logins: dict[str, str]  # role -> PostgreSQL login (also the cuentas user name)

    def url(self, role: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.company.url).set(username=self.logins[role]).render_as_string(hide_password=False)

    def run(self, role: str, *args: str, input: str | None = None):  # noqa: ANN201
        """`cuentas ARGS` connected as the role's own login, with no cuentas token."""
        return self.company.run(*args, role=None, input=input, env={"CUENTAS_DATABASE_URL": self.url(role),
                                                                     "CUENTAS_TOKEN": None})

    def psql(self, role: str):  # noqa: ANN201
        """A bare psycopg connection as the role's login, on the company's schema (what psql gives)."""
        import psycopg

        return psycopg.connect(self.url(role).replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _drop_roles(url: str, names: list[str]) -> None:
    import psycopg

    from cuentas_cli.db.engine import dispose_engines

    dispose_engines()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        for name in names:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
                conn.execute(f'DROP OWNED BY "{name}"')
                conn.execute(f'DROP ROLE "{name}"')


@pytest.fixture
def team(company) -> Iterator[Team]:  # noqa: ANN001
    if not company.url.startswith("postgresql"):
        pytest.skip("team mode needs PostgreSQL")
    prefix = "t" + uuid.uuid4().hex[:10]
    logins = {role: f"{prefix}_{role[:4]}" for role in ("contador", "gerente", "administrador")}
    groups = [f"{prefix}_{role}" for role in ("contador", "gerente", "administrador")]
    try:
        applied = company.run("db", "roles", "apply", "--prefix", prefix, "--format", "json")
        assert applied.exit_code == 0, applied.output
        assert applied.json()["groups"] == groups
        for role, login in logins.items():
            added = company.run("users", "add", login, "--role", role, "--pg-login", "--no-password")
            assert added.exit_code == 0, added.output
        yield Team(company, prefix, logins)
    finally:
        _drop_roles(company.url, [*logins.values(), *groups])


def _invoice(team: Team, serie: str = "F001", numero: int = 1) -> int:
    from cuentas_cli.db.engine import open_session
    from tests.factories import make_invoice, make_party, valid_ruc

    with open_session(team.company.url, write=True) as s:
        party = make_party(s, ruc=valid_ruc(810_000 + numero), name=f"CLIENTE {numero}")
        return make_invoice(s, party, serie=serie, numero=numero, total="1180.00").id


def test_a_contadors_login_cannot_touch_the_tables_behind_cuentas_back(team):
    import psycopg

    invoice = _invoice(team)
    refused = {
        "DELETE": "DELETE FROM invoice",
        "DELETE payment": "DELETE FROM payment",
        "UPDATE total_cents": f"UPDATE invoice SET total_cents = 1 WHERE id = {invoice}",
        # paid_cents is a column a payment writes, so granted; never other than the payments' sum
        "UPDATE paid_cents": f"UPDATE invoice SET paid_cents = total_cents, status = 'PAGADA' WHERE id = {invoice}",
        "UPDATE role_permission": "UPDATE role_permission SET role = 'contador' WHERE role = 'administrador'",
        "INSERT INTO role_permission": "INSERT INTO role_permission VALUES ('contador', 'invoices.delete')",
        "INSERT INTO audit_log": "INSERT INTO audit_log (at, action, entity) VALUES (now(), 'forged', 'invoice')",
        "DELETE FROM audit_log": "DELETE FROM audit_log",
        "DELETE FROM db_audit": "DELETE FROM db_audit",
        "DROP TABLE": "DROP TABLE invoice",
        "UPDATE app_user role": f"UPDATE app_user SET role = 'administrador' WHERE username = '{team.logins['contador']}'",
        "SELECT password_hash": "SELECT password_hash FROM app_user",
        "ALTER TABLE": "ALTER TABLE invoice DISABLE TRIGGER ALL",
    }
    with team.psql("contador") as conn:
        for what, sql in refused.items():
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
                pytest.fail(f"a contador's login could {what}")
        # what the role may do, it may do at the psql level too: read the ledger
        assert conn.execute("SELECT count(*) FROM invoice").fetchone()[0] == 1

    # ... and through cuentas, identified by the login alone: pay, change a status
    who = team.run("contador", "whoami", "--format", "json")
    assert who.exit_code == 0, who.output
    assert who.json()["username"] == team.logins["contador"] and who.json()["role"] == "contador"
    paid = team.run("contador", "invoices", "pay", str(invoice), "100.00", "--reference", "OP-1")
    assert paid.exit_code == 0, paid.output
    second = _invoice(team, numero=2)
    voided = team.run("contador", "invoices", "set-status", str(second), "ANULADA")
    assert voided.exit_code == 0, voided.output
    shown = team.run("contador", "invoices", "show", str(invoice), "--format", "json").json()
    assert shown["paid"] == "100.00" and shown["balance"] == "1080.00"
    # cuentas still refuses what the role may not do, before the server has to
    deleted = team.run("contador", "invoices", "delete", str(second))
    assert deleted.exit_code == 5 and "invoices.delete" in deleted.stderr
    # the application's log names the contador: its write went through cuentas_audit_add
    log = team.company.run("audit", "list", "--source", "cuentas", "--format", "json").json()
    assert any(e["action"] == "payment.add" and e["user"] == team.logins["contador"] for e in log), log[:3]


def test_a_gerente_login_reads_and_cannot_write(team):
    import psycopg

    invoice = _invoice(team)
    with team.psql("gerente") as conn:
        assert conn.execute("SELECT count(*) FROM invoice").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM db_audit").fetchone()[0] >= 1  # the audit permission
        for sql in (f"INSERT INTO payment (invoice_id, paid_on, amount_cents, method, created_at) "
                    f"VALUES ({invoice}, '2026-06-10', 100, 'efectivo', now())",
                    f"UPDATE invoice SET status = 'PAGADA' WHERE id = {invoice}",
                    "INSERT INTO party (kind, doc_type, doc_number, name) VALUES ('client', '6', '20100070970', 'X')",
                    "UPDATE setting SET value = 'x'", "DELETE FROM invoice_cuota"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
    assert team.run("gerente", "dashboard", "summary", "--format", "json").exit_code == 0
    refused = team.run("gerente", "invoices", "pay", str(invoice), "1.00")
    assert refused.exit_code == 5 and "invoices.operate" in refused.stderr


def test_every_change_made_through_psql_is_in_the_audit_list_with_the_login(team):
    invoice = _invoice(team)
    admin = team.logins["administrador"]
    with team.psql("administrador") as conn:
        conn.execute(f"UPDATE invoice SET description = 'cambiada a mano' WHERE id = {invoice}")
        conn.execute(f"INSERT INTO payment (invoice_id, paid_on, amount_cents, method, created_at) "
                     f"VALUES ({invoice}, '2026-06-10', 5000, 'efectivo', now())")
        conn.execute("DELETE FROM payment WHERE amount_cents = 5000")
        conn.execute("INSERT INTO role_permission VALUES ('gerente', 'fx.write')")
    # the contador's payment through cuentas is in both sources
    assert team.run("contador", "invoices", "pay", str(invoice), "10.00").exit_code == 0
    listed = team.run("gerente", "audit", "list", "--format", "json")
    assert listed.exit_code == 0, listed.output
    rows = listed.json()
    by_db = [(r["user"], r["action"], r["entity"]) for r in rows if r["source"] == "database"]
    for expected in ((admin, "db.update", "invoice"), (admin, "db.insert", "payment"),
                     (admin, "db.delete", "payment"), (admin, "db.insert", "role_permission"),
                     (team.logins["contador"], "db.insert", "payment"), (team.logins["contador"], "db.update", "invoice")):
        assert expected in by_db, (expected, by_db)
    changed = next(r for r in rows if r["source"] == "database" and r["action"] == "db.update" and r["user"] == admin)
    assert "cambiada a mano" in changed["after"] and "cambiada a mano" not in (changed["before"] or "")
    granted = next(r for r in rows if r["entity"] == "role_permission" and r["source"] == "database")
    assert granted["entity_id"] == "gerente:fx.write"
    applied = team.company.run("audit", "list", "--source", "cuentas", "--entity", "setting", "--format", "json").json()
    assert any(r["action"] == "team.apply" and team.prefix in r["after"] for r in applied), applied
    only_admin = team.company.run("audit", "list", "--source", "database", "--user", admin, "--format", "json").json()
    assert only_admin and {r["user"] for r in only_admin} == {admin}
    # the admin's psql change of a user never exposes a password hash
    assert all("password_hash" not in (r["after"] or "") for r in rows)


def test_the_server_follows_the_matrix_and_the_people(team):
    import psycopg

    # roles grant (run by the owner): the gerente's group may now write exchange rates
    assert team.company.run("roles", "grant", "gerente", "fx.write").exit_code == 0
    with team.psql("gerente") as conn:
        conn.execute("INSERT INTO exchange_rate (currency, rate_date, sell_e4, source, created_at) "
                     "VALUES ('USD', '2026-06-10', 37500, 'manual', now())")
    assert team.company.run("roles", "revoke", "gerente", "fx.write").exit_code == 0
    with team.psql("gerente") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("INSERT INTO exchange_rate (currency, rate_date, sell_e4, source, created_at) "
                     "VALUES ('USD', '2026-06-11', 37500, 'manual', now())")
    # set-role moves the login between groups; disable takes it out of every group
    contador = team.logins["contador"]
    assert team.company.run("users", "set-role", contador, "gerente").exit_code == 0
    assert team.run("contador", "invoices", "pay", str(_invoice(team)), "1.00").exit_code == 5
    assert team.company.run("users", "disable", contador).exit_code == 0
    with team.psql("contador") as conn, pytest.raises((psycopg.errors.InsufficientPrivilege,
                                                       psycopg.errors.UndefinedTable)):
        conn.execute("SELECT count(*) FROM invoice")  # no use of the schema: its tables are not even seen
    who = team.run("contador", "whoami")
    assert who.exit_code == 5 and "permission denied: your PostgreSQL login" in who.stderr, who.stderr
    # only the owner changes grants: an administrador's own login is told so, and nothing changes
    refused = team.run("administrador", "roles", "grant", "gerente", "fx.write")
    assert refused.exit_code == 5 and "owner" in refused.stderr, refused.output
    matrix = team.company.run("roles", "list", "--format", "json").json()
    assert next(r for r in matrix if r["permission"] == "fx.write")["gerente"] is False
    # a login without any grant gets the permission message, not "cannot reach", also from doctor
    stranger = f"{team.prefix}_otro"
    try:
        with psycopg.connect(team.company.url.replace("postgresql+psycopg://", "postgresql://").split("?")[0],
                             autocommit=True) as conn:
            conn.execute(f'CREATE ROLE "{stranger}" LOGIN')
        from sqlalchemy.engine import make_url

        url = make_url(team.company.url).set(username=stranger).render_as_string(hide_password=False)
        listed = team.company.run("invoices", "list", role=None, env={"CUENTAS_DATABASE_URL": url, "CUENTAS_TOKEN": None})
        assert listed.exit_code == 5, listed.output
        assert listed.stderr.startswith(f"error: permission denied: your PostgreSQL login {stranger} lacks the use of "
                                        "schema t_"), listed.stderr
        assert listed.stderr.rstrip().endswith("an administrador runs `cuentas db roles apply`"), listed.stderr
        assert listed.stderr.count("\n") == 1
        doctor = team.company.run("doctor", "--offline", role=None, env={"CUENTAS_DATABASE_URL": url, "CUENTAS_TOKEN": None})
        assert "permission denied" in doctor.output and "cannot reach" not in doctor.output, doctor.output
    finally:
        _drop_roles(team.company.url, [stranger])


def test_login_passwd_and_users_add_for_a_pg_login(team):
    login = team.run("contador", "login", team.logins["contador"])
    assert login.exit_code == 0 and "PostgreSQL login" in login.output
    passwd = team.run("contador", "passwd", "--password-stdin", input="x\ny\n")
    assert passwd.exit_code == 2 and "\\password" in passwd.stderr
    # a cuentas password never works for a login-identified user
    tried = team.company.run("login", team.logins["contador"], "--password-stdin", role=None, input=PASSWORD + "\n")
    assert tried.exit_code == 5
    # only the owner adds logins; an existing login is mapped, not re-created
    by_admin = team.run("administrador", "users", "add", "otra", "--role", "gerente", "--pg-login", "--no-password")
    assert by_admin.exit_code == 5 and "owner" in by_admin.stderr
    taken = team.company.run("users", "add", "doble", "--role", "gerente", "--pg-login", "--pg-name",
                             team.logins["gerente"])
    assert taken.exit_code != 0


def test_sqlite_keeps_roles_in_cuentas(company):
    if not company.url.startswith("sqlite"):
        pytest.skip("the SQLite behaviour")
    applied = company.run("db", "roles", "apply")
    assert applied.exit_code == 2 and "PostgreSQL" in applied.stderr
    added = company.run("users", "add", "luis", "--role", "contador", "--pg-login", "--no-password")
    assert added.exit_code == 2 and "PostgreSQL" in added.stderr
    assert company.run("users", "show", "luis").exit_code == 4


# Commands a login cannot run in team mode whatever its role, and why: they change the server's
# grants (only the schema's owner may) or replace a table (the padrón import renames a copy in).
OWNER_ONLY = {"cuentas roles grant", "cuentas roles revoke", "cuentas padron import"}
# Not run here: they act on the set-up or on a cuentas session, which a login-identified user has
# no use for (tests above cover login and passwd for such a user).
SET_UP = {"cuentas init", "cuentas demo", "cuentas db upgrade", "cuentas login", "cuentas logout", "cuentas passwd",
          "cuentas db roles apply"}
# A firm of several companies is not run in team mode: the group roles and grants are those of the
# firm database's own books (the README says so); its companies' commands are left out here.
FIRM = {"cuentas companies add", "cuentas companies list", "cuentas companies use", "cuentas companies remove",
        "cuentas users grant"}


def test_every_command_as_every_role_through_its_own_postgresql_login(team, tmp_path):
    """The access matrix (tests/test_access.py) again, each role connected as its own login with the
    server's grants: what cuentas allows the server allows too (nothing fails on a missing grant),
    what cuentas refuses is refused and changes nothing."""
    from tests.dbstate import snapshot
    from tests.reliability import backend, figure
    from tests.test_access import CASES, LOGIN, PUBLIC, _book, _denied, default_grants

    book = _book(team.company, tmp_path)
    grants = {role: set(perms) for role, perms in default_grants().items()}
    runs = allowed = denied = owner_only = 0
    for path in sorted(set(CASES) - SET_UP - FIRM):
        case = CASES[path]
        for role in ("gerente", "contador", "administrador"):
            may = case.permission in (PUBLIC, LOGIN) or case.permission in grants[role]
            if may and case.blocking:
                continue
            before = snapshot(team.company.url)
            result = team.run(role, *case.args(book, role), input=case.input(role))
            runs += 1
            where = f"{path} as {role}'s login"
            if may and path in OWNER_ONLY:
                if result.exit_code == 0:  # e.g. revoking what the role did not have: nothing to change
                    assert snapshot(team.company.url) == before, where
                else:
                    _denied(result, before, snapshot(team.company.url))
                    assert "PostgreSQL login" in result.stderr, (where, result.stderr)
                owner_only += 1
            elif may:
                assert result.exit_code != 5 and result.exit_code in case.ok, (where, result.output)
                allowed += 1
            else:
                _denied(result, before, snapshot(team.company.url))
                denied += 1
    figure("access-matrix-pg-logins", backend=backend(team.company.url), runs=runs, allowed=allowed, denied=denied,
           owner_only=owner_only, got_past=0)


def test_an_existing_login_is_mapped_and_db_upgrade_re_applies_the_grants(team, monkeypatch):
    import psycopg

    from cuentas_cli.db import migrate
    from cuentas_cli.db.migrations import HEAD_REVISION

    owner = team.company.url.replace("postgresql+psycopg://", "postgresql://")
    existing = f"{team.prefix}_ext"
    try:
        with psycopg.connect(owner, autocommit=True) as conn:
            conn.execute(f'CREATE ROLE "{existing}" LOGIN')
        # no password is asked for a login that exists: it is mapped and put in the group
        mapped = team.company.run("users", "add", "externa", "--role", "gerente", "--pg-login", "--pg-name", existing)
        assert mapped.exit_code == 0, mapped.output
        team.logins["externa"] = existing
        who = team.run("externa", "whoami", "--format", "json").json()
        assert (who["username"], who["role"], who["token"]) == ("externa", "gerente", "pg-login")

        # a schema upgrade (here: one the migrations report) gives the tables their grants again
        with psycopg.connect(owner, autocommit=True) as conn:
            conn.execute(f'REVOKE ALL ON invoice FROM "{team.prefix}_contador"')
        with team.psql("contador") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM invoice")
        monkeypatch.setattr(migrate, "upgrade", lambda engine, target="head": ("20261207_0006", HEAD_REVISION))
        upgraded = team.company.run("db", "upgrade")
        assert upgraded.exit_code == 0, upgraded.output
        with team.psql("contador") as conn:
            assert conn.execute("SELECT count(*) FROM invoice").fetchone()[0] == 0
    finally:
        _drop_roles(team.company.url, [existing])


def test_a_contadors_login_reconciles_and_takes_a_reconciliation_back(team, tmp_path):
    """bank match --auto records payments as the contador's login; bank undo deletes them through
    cuentas_delete_bank_payments, while the login itself still may not DELETE FROM payment."""
    import psycopg

    invoice = _invoice(team, serie="F001", numero=321)
    assert team.company.run("bank", "accounts", "add", "soles", "--bank", "BCP", "--currency", "PEN",
                            "--number", "193-1").exit_code == 0
    statement = tmp_path / "extracto.csv"
    statement.write_text("Fecha;Descripción;Monto\n15/06/2026;DEPOSITO F001-321 CLIENTE 321;1.180,00\n", encoding="utf-8")
    imported = team.run("contador", "bank", "import", str(statement), "--account", "soles")
    assert imported.exit_code == 0, imported.output
    matched = team.run("contador", "bank", "match", "--auto", "--format", "json")
    assert matched.exit_code == 0, matched.output
    shown = team.run("contador", "invoices", "show", str(invoice), "--format", "json").json()
    assert shown["paid"] == "1180.00", (matched.output, shown)
    with team.psql("contador") as conn:
        line = conn.execute("SELECT bank_line_id FROM payment WHERE invoice_id = %s", (invoice,)).fetchone()[0]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM payment WHERE bank_line_id IS NOT NULL")
    undone = team.run("contador", "bank", "undo", str(line))
    assert undone.exit_code == 0, undone.output
    shown = team.run("contador", "invoices", "show", str(invoice), "--format", "json").json()
    assert shown["paid"] == "0.00" and shown["balance"] == "1180.00"
    assert team.company.run("db", "check").exit_code == 0
