"""Team mode on PostgreSQL: the server, not only cuentas, holds each person to their role.

`cuentas db roles apply` (as the schema's owner) creates three group roles, PREFIX_contador,
PREFIX_gerente and PREFIX_administrador, and grants each the table and column privileges its
cuentas role's permissions need (PRIVILEGES, from the role_permission matrix); it installs the
triggers that write db_audit for every INSERT, UPDATE and DELETE on the money tables; and it puts
every user with a PostgreSQL login (app_user.pg_login) in their role's group. A connection made as
such a login is that user (auth.login_actor), so a contador's login can record a payment through
cuentas and cannot DELETE FROM invoice with psql. Only the owner migrates, creates logins and
changes grants; the few operations a role needs beyond its table grants go through SECURITY
DEFINER functions with a fixed search_path (migration 20261207_0007).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cuentas_cli.db.engine import dialect_of
from cuentas_cli.errors import NotFound, PermissionDenied, UsageError, ValidationError
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

ROLES = ("contador", "gerente", "administrador")
SETTING_KEY = "team.pg_roles"  # its value: the prefix of the group roles
DEFAULT_PREFIX = "cuentas"
_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_LOGIN = re.compile(r"^[a-z_][a-z0-9_.-]{0,62}$")

_READ_TABLES = ("company", "party", "invoice", "payment", "invoice_cuota", "cuota_correction", "exchange_rate", "setting",
                "bank_account", "bank_line", "ruc_registry", "padron_import", "notification", "role_permission",
                "api_token", "alembic_version")
# what a role without "users" reads of the users: never the password hashes or lockout counters
_USER_COLUMNS = ("id", "username", "email", "role", "is_active", "last_login_at", "created_at", "pg_login")
_ALL = None  # the whole table, not some columns

# permission -> (privilege, table, columns or _ALL): the matrix of design.md at the table level
PRIVILEGES: dict[str, list[tuple[str, str, tuple[str, ...] | None]]] = {
    "read": [("SELECT", t, _ALL) for t in _READ_TABLES] + [
        ("SELECT", "app_user", _USER_COLUMNS), ("UPDATE", "api_token", ("last_used_at",))],
    # creating includes importing: notes linked to their documents, SUNAT's cuota corrections
    "invoices.create": [
        ("INSERT", "invoice", _ALL), ("INSERT", "invoice_cuota", _ALL), ("DELETE", "invoice_cuota", _ALL),
        ("INSERT", "cuota_correction", _ALL),
        ("UPDATE", "invoice", ("references_id", "adjust_cents", "due_date", "status", "updated_at"))],
    # a payment moves the invoice's paid amount and status, never its amounts
    "invoices.operate": [
        ("INSERT", "payment", _ALL), ("UPDATE", "invoice", ("paid_cents", "status", "updated_at")),
        ("INSERT", "bank_line", _ALL), ("UPDATE", "bank_line", _ALL),
        ("UPDATE", "notification", ("status", "last_error", "next_attempt_at"))],
    "invoices.edit": [
        ("UPDATE", "invoice", _ALL), ("INSERT", "invoice_cuota", _ALL), ("UPDATE", "invoice_cuota", _ALL),
        ("DELETE", "invoice_cuota", _ALL), ("UPDATE", "payment", _ALL)],
    "invoices.delete": [
        ("DELETE", "invoice", _ALL), ("DELETE", "payment", _ALL), ("DELETE", "invoice_cuota", _ALL),
        ("DELETE", "cuota_correction", _ALL), ("DELETE", "notification", _ALL)],
    "parties.write": [("INSERT", "party", _ALL), ("UPDATE", "party", _ALL)],
    "parties.delete": [("DELETE", "party", _ALL)],
    "fx.write": [("INSERT", "exchange_rate", _ALL), ("UPDATE", "exchange_rate", _ALL),
                 ("DELETE", "exchange_rate", _ALL)],
    "dashboards": [], "summary": [], "export": [],
    "notify": [("INSERT", "notification", _ALL), ("UPDATE", "notification", _ALL)],
    "audit": [("SELECT", "audit_log", _ALL), ("SELECT", "db_audit", _ALL)],
    "users": [(p, t, _ALL) for t in ("app_user", "api_token", "role_permission")
              for p in ("SELECT", "INSERT", "UPDATE", "DELETE")],
    "settings": [(p, t, _ALL) for t in ("setting", "bank_account") for p in ("INSERT", "UPDATE", "DELETE")],
}
# SECURITY DEFINER functions (migration 20261207_0007) a permission may call
FUNCTIONS: dict[str, list[str]] = {
    "invoices.operate": ["cuentas_delete_bank_payments(integer, integer[])"],
}
AUDIT_FUNCTION = "cuentas_audit_add(jsonb)"  # every group: every change is logged

# The money tables whose every change the database records: by statement (set-based, for the
# bulk imports) where rows have an id; by row, with their key columns, for the small tables.
STATEMENT_AUDITED = ("invoice", "payment", "invoice_cuota", "cuota_correction", "party", "bank_line")
ROW_AUDITED = {"role_permission": ("role", "permission"), "setting": ("key",), "app_user": ("id",),
               "exchange_rate": ("currency", "rate_date"),
               "bank_account": ("id",), "api_token": ("id",)}
_HIDDEN = "- 'password_hash' - 'token_hash'"

_AUDIT_ROWS = """
CREATE OR REPLACE FUNCTION cuentas_db_audit_rows() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO db_audit (at, db_user, operation, table_name, row_id, before, after)
        SELECT now(), session_user, TG_OP, TG_TABLE_NAME, n.id::text, NULL, (to_jsonb(n) {hidden})::text
        FROM new_rows n;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO db_audit (at, db_user, operation, table_name, row_id, before, after)
        SELECT now(), session_user, TG_OP, TG_TABLE_NAME, n.id::text, (to_jsonb(o) {hidden})::text,
               (to_jsonb(n) {hidden})::text
        FROM old_rows o JOIN new_rows n ON n.id = o.id;
    ELSE
        INSERT INTO db_audit (at, db_user, operation, table_name, row_id, before, after)
        SELECT now(), session_user, TG_OP, TG_TABLE_NAME, o.id::text, (to_jsonb(o) {hidden})::text, NULL
        FROM old_rows o;
    END IF;
    RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION cuentas_db_audit_row() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $fn$
DECLARE
    old_doc jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) {hidden} END;
    new_doc jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) {hidden} END;
BEGIN
    INSERT INTO db_audit (at, db_user, operation, table_name, row_id, before, after)
    VALUES (now(), session_user, TG_OP, TG_TABLE_NAME,
            (SELECT string_agg(COALESCE(new_doc, old_doc) ->> k, ':') FROM unnest(TG_ARGV) AS k),
            old_doc::text, new_doc::text);
    RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION cuentas_guard_paid() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $fn$
DECLARE
    bad integer;
BEGIN
    IF session_user = (SELECT tableowner FROM pg_tables WHERE schemaname = TG_TABLE_SCHEMA AND tablename = TG_TABLE_NAME)
       OR (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) THEN
        RETURN NULL;
    END IF;
    SELECT n.id INTO bad FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.paid_cents IS DISTINCT FROM o.paid_cents
      AND n.paid_cents <> COALESCE((SELECT SUM(p.amount_cents) FROM payment p WHERE p.invoice_id = n.id), 0)
    LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = '42501',
            MESSAGE = 'permission denied for invoice ' || bad || ': its paid amount is the sum of its payments';
    END IF;
    RETURN NULL;
END
$fn$;
REVOKE ALL ON FUNCTION cuentas_guard_paid() FROM PUBLIC;
REVOKE ALL ON FUNCTION cuentas_db_audit_rows() FROM PUBLIC;
REVOKE ALL ON FUNCTION cuentas_db_audit_row() FROM PUBLIC;
"""


def ident(name: str) -> str:
    """A PostgreSQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def group_name(prefix: str, role: str) -> str:
    return f"{prefix}_{role}"


@dataclass
class Applied:
    prefix: str
    groups: list[str]
    grants: int
    audited_tables: int
    members: list[str]


def _require_postgres(session: "Session") -> None:
    if dialect_of(session) != "postgresql":
        raise UsageError(_("database roles need PostgreSQL; on SQLite cuentas checks the roles itself (README, "
                           "Security notes)"))


def prefix_in_use(session: "Session") -> str | None:
    """The group roles' prefix when team mode is on (`db roles apply` was run), else None."""
    from sqlalchemy import text

    if dialect_of(session) != "postgresql":
        return None
    return session.execute(text("SELECT value FROM setting WHERE key = :k"), {"k": SETTING_KEY}).scalar()


def _check_owner(session: "Session", what: str) -> str:
    """The schema's current owner login, refused unless this connection is it (or a superuser)."""
    from sqlalchemy import text

    row = session.execute(text(
        "SELECT t.tableowner, current_user AS me, r.rolsuper FROM pg_tables t JOIN pg_roles r ON r.rolname = current_user "
        "WHERE t.schemaname = current_schema() AND t.tablename = 'invoice'")).first()
    if row is None:
        raise NotFound(_("no cuentas schema here; run `cuentas init` first"))
    if row.tableowner != row.me and not row.rolsuper:
        raise PermissionDenied(_("permission denied: {what} runs as the owner of the tables ({owner}); your "
                                 "PostgreSQL login is {me}").format(what=what, owner=row.tableowner, me=row.me))
    return row.tableowner


def role_exists(session: "Session", name: str) -> bool:
    from sqlalchemy import text

    return session.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first() is not None


def grants_of(permissions: set[str]) -> dict[tuple[str, str], tuple[str, ...] | None]:
    """(privilege, table) -> the columns granted, or None for the whole table."""
    out: dict[tuple[str, str], set[str] | None] = {}
    for permission in sorted(permissions):
        for privilege, table, columns in PRIVILEGES.get(permission, []):
            key = (privilege, table)
            if columns is None or (key in out and out[key] is None):
                out[key] = None
            else:
                out.setdefault(key, set()).update(columns)  # type: ignore[union-attr]
    return {k: (None if v is None else tuple(sorted(v))) for k, v in out.items()}


def _matrix(session: "Session") -> dict[str, set[str]]:
    from sqlalchemy import text

    matrix: dict[str, set[str]] = defaultdict(set)
    for role, permission in session.execute(text("SELECT role, permission FROM role_permission")):
        matrix[role].add(permission)
    return matrix


def _grant_all(session: "Session", prefix: str) -> int:
    from sqlalchemy import text

    run = session.execute
    schema = session.execute(text("SELECT current_schema()")).scalar()
    matrix = _matrix(session)
    count = 0
    for role in ROLES:
        group = ident(group_name(prefix, role))
        run(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {ident(schema)} FROM {group}"))
        run(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {ident(schema)} FROM {group}"))
        run(text(f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {ident(schema)} FROM {group}"))
        run(text(f"GRANT USAGE ON SCHEMA {ident(schema)} TO {group}"))
        run(text(f"GRANT EXECUTE ON FUNCTION {AUDIT_FUNCTION} TO {group}"))
        for (privilege, table), columns in sorted(grants_of(matrix.get(role, set())).items()):
            cols = "" if columns is None else " (" + ", ".join(ident(c) for c in columns) + ")"
            run(text(f"GRANT {privilege}{cols} ON {ident(table)} TO {group}"))
            count += 1
            if privilege == "INSERT":
                sequence = run(text("SELECT pg_get_serial_sequence(a.attrelid::regclass::text, 'id') FROM pg_attribute a "
                                    "WHERE a.attrelid = CAST(:t AS regclass) AND a.attname = 'id'"), {"t": table}).scalar()
                if sequence:
                    run(text(f"GRANT USAGE ON SEQUENCE {sequence} TO {group}"))
        for permission in sorted(matrix.get(role, set())):
            for function in FUNCTIONS.get(permission, []):
                run(text(f"GRANT EXECUTE ON FUNCTION {function} TO {group}"))
    return count


def _install_triggers(session: "Session") -> int:
    from sqlalchemy import text

    schema = session.execute(text("SELECT quote_ident(current_schema())")).scalar()
    session.connection().exec_driver_sql(_AUDIT_ROWS.format(schema=schema, hidden=_HIDDEN))
    for table in STATEMENT_AUDITED:
        t = ident(table)
        for suffix, event, refs in (("ins", "INSERT", "NEW TABLE AS new_rows"),
                                    ("upd", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                                    ("del", "DELETE", "OLD TABLE AS old_rows")):
            session.execute(text(f"DROP TRIGGER IF EXISTS cuentas_audit_{suffix} ON {t}"))
            session.execute(text(f"CREATE TRIGGER cuentas_audit_{suffix} AFTER {event} ON {t} REFERENCING {refs} "
                                 "FOR EACH STATEMENT EXECUTE FUNCTION cuentas_db_audit_rows()"))
    # the one amount a role that records payments may write: only ever as the sum of the payments
    session.execute(text("DROP TRIGGER IF EXISTS cuentas_guard_paid ON invoice"))
    session.execute(text("CREATE TRIGGER cuentas_guard_paid AFTER UPDATE ON invoice REFERENCING OLD TABLE AS old_rows "
                         "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cuentas_guard_paid()"))
    for table, key in ROW_AUDITED.items():
        t = ident(table)
        # a token's last use is noise; its creation, revocation and expiry are not
        events = "INSERT OR DELETE OR UPDATE OF revoked_at, expires_at" if table == "api_token" else "INSERT OR UPDATE OR DELETE"
        args = ", ".join("'" + k + "'" for k in key)
        session.execute(text(f"DROP TRIGGER IF EXISTS cuentas_audit_row ON {t}"))
        session.execute(text(f"CREATE TRIGGER cuentas_audit_row AFTER {events} ON {t} FOR EACH ROW "
                             f"EXECUTE FUNCTION cuentas_db_audit_row({args})"))
    return len(STATEMENT_AUDITED) + len(ROW_AUDITED)


def sync_member(session: "Session", prefix: str, *, login: str, role: str, active: bool) -> None:
    """Put a user's login in exactly their role's group (in none while disabled)."""
    from sqlalchemy import text

    if not role_exists(session, login):
        raise NotFound(_("PostgreSQL login {login} does not exist; `cuentas users add NAME --pg-login` creates it")
                       .format(login=login))
    for other in ROLES:
        group = group_name(prefix, other)
        member = session.execute(text("SELECT EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                                      "JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = :g AND u.rolname = :l)"),
                                 {"l": login, "g": group}).scalar()
        wanted = active and other == role
        if member and not wanted:
            session.execute(text(f"REVOKE {ident(group)} FROM {ident(login)}"))
        elif wanted and not member:
            session.execute(text(f"GRANT {ident(group)} TO {ident(login)}"))


def _sync_members(session: "Session", prefix: str) -> list[str]:
    from sqlalchemy import text

    out = []
    for username, login, role, active in session.execute(text(
            "SELECT username, pg_login, role, is_active FROM app_user WHERE pg_login IS NOT NULL ORDER BY username")):
        sync_member(session, prefix, login=login, role=role, active=bool(active))
        out.append(f"{username}={login} ({role if active else 'disabled'})")
    return out


def apply(session: "Session", *, prefix: str | None = None, actor: Any = None) -> Applied:
    """Create or refresh the group roles, their grants, the audit triggers and the memberships, in
    the caller's transaction (PostgreSQL's GRANT and CREATE ROLE are transactional: a failure
    leaves the server as it was)."""
    from sqlalchemy import text

    _require_postgres(session)
    _check_owner(session, "`cuentas db roles apply`")
    current = prefix_in_use(session)
    prefix = prefix or current or DEFAULT_PREFIX
    if not _PREFIX.match(prefix):
        raise ValidationError(_("--prefix {prefix!r}: lower-case letters, digits and '_', starting with a letter")
                              .format(prefix=prefix))
    if current and prefix != current:
        raise ValidationError(_("this database's group roles are {current}_*; it keeps that prefix")
                              .format(current=current))
    groups = []
    for role in ROLES:
        name = group_name(prefix, role)
        if not role_exists(session, name):
            session.execute(text(f"CREATE ROLE {ident(name)} NOLOGIN"))
        groups.append(name)
    grants = _grant_all(session, prefix)
    audited = _install_triggers(session)
    session.execute(text("DELETE FROM setting WHERE key = :k"), {"k": SETTING_KEY})
    session.execute(text("INSERT INTO setting (key, value, updated_at) VALUES (:k, :v, now())"),
                    {"k": SETTING_KEY, "v": prefix})
    applied = Applied(prefix, groups, grants, audited, _sync_members(session, prefix))
    if actor is not None:  # `db roles apply`; a refresh is logged with the change that caused it
        from cuentas_cli.admin import audit

        audit.record(session, actor, action="team.apply", entity="setting", entity_id=SETTING_KEY,
                     after=summary(applied))
    return applied


def refresh(session: "Session") -> bool:
    """After a change of the matrix or the schema: the grants again, if team mode is on."""
    prefix = prefix_in_use(session)
    if prefix is None:
        return False
    apply(session, prefix=prefix)
    return True


def check_login_name(login: str) -> str:
    if not _LOGIN.match(login):
        raise ValidationError(_("PostgreSQL login {login!r}: lower-case letters, digits, '_', '.' or '-'")
                              .format(login=login))
    return login


def ready_for_logins(session: "Session") -> tuple[str, str]:
    """(prefix, owner) when this connection may add PostgreSQL logins: PostgreSQL, team mode on,
    connected as the schema's owner; else the error that says what to do."""
    _require_postgres(session)
    prefix = prefix_in_use(session)
    if prefix is None:
        raise UsageError(_("team mode is off on this database: the owner runs `cuentas db roles apply` first"))
    return prefix, _check_owner(session, "`cuentas users add --pg-login`")


def add_login(session: "Session", *, login: str, role: str, password: str | None) -> bool:
    """Create the PostgreSQL login (True) or map an existing one (False), and put it in the role's
    group. Team mode must be on; only the owner (or a superuser) creates logins."""
    from sqlalchemy import text

    prefix, owner = ready_for_logins(session)
    check_login_name(login)
    if login == owner or session.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :l"),
                                         {"l": login}).scalar():
        raise ValidationError(_("PostgreSQL login {login} owns the schema or is a superuser: a person's login must be "
                                "their own").format(login=login))
    created = not role_exists(session, login)
    if created:
        from psycopg import sql

        statement = sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(login))
        if password:
            statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
        session.connection().connection.dbapi_connection.execute(statement)
    sync_member(session, prefix, login=login, role=role, active=True)
    return created


def summary(applied: Applied) -> dict[str, Any]:
    return {"prefix": applied.prefix, "groups": applied.groups, "grants": applied.grants,
            "audited_tables": applied.audited_tables, "members": applied.members}
