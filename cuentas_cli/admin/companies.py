"""Several companies in one firm (an estudio contable): the register and each company's books.

The firm's database is the one `database.url` names. Its own books are the firm's first company,
and the `company` table there lists the others, each a complete cuentas database of its own: a
SQLite file in `companies/` beside the firm's file, a schema of the firm's PostgreSQL database
(`schema:NAME`, reached with the firm's credentials) or a database given by URL. So a company's
settings (name, RUC, SMTP, templates, bank accounts, levels), audit log and data never share a
table with another's.

People log in once, to the firm (its app_user and api_token). A company's own app_user holds its
members: the firm's users granted a role there (`users grant NAME --company RUC --role R`), with no
password of their own; a firm user without a row (or with a disabled one) has no access to it.
The firm database's own books take the firm's roles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode

from cuentas_cli.admin import audit
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.db.enums import ROLES
from cuentas_cli.errors import Conflict, NotFound, UsageError, ValidationError
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

SCHEMA_LOCATION = "schema:"
FIRM_MEMBER = "!firm"  # a company member's password hash: they log in to the firm, never here
NO_ACCESS = "none"
_ALIAS_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class CompanyRow:
    id: int
    ruc: str
    alias: str | None
    name: str
    location: str | None
    archived_at: datetime | None = None
    archive_path: str | None = None

    @property
    def is_firm(self) -> bool:
        """The firm database's own books."""
        return self.location is None

    @property
    def label(self) -> str:
        return f"{self.name} (RUC {self.ruc})"


def _row(r: Any) -> CompanyRow:
    return CompanyRow(r.id, r.ruc, r.alias, r.name, r.location, r.archived_at, r.archive_path)


def registry(conn: "Connection", *, archived: bool = False) -> list[CompanyRow]:
    """The firm's companies, its own books first (empty while it keeps one company's books)."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import company

    query = select(company).order_by(company.c.location.is_not(None), company.c.name, company.c.ruc)
    if not archived:
        query = query.where(company.c.archived_at.is_(None))
    return [_row(r) for r in conn.execute(query)]


def find(conn: "Connection", key: str) -> CompanyRow:
    """The company a RUC or an alias names (--company, CUENTAS_COMPANY, `companies use`)."""
    from sqlalchemy import func, or_, select

    from cuentas_cli.db.tables import company

    key = key.strip()
    row = conn.execute(select(company).where(or_(company.c.ruc == key, func.lower(company.c.alias) == key.lower()))
                       ).first()
    if row is None or row.archived_at is not None:
        state = _("is archived") if row is not None else _("is not a company of this firm")
        raise NotFound(_("company {key} {state}; `cuentas companies list` shows them").format(key=key, state=state))
    return _row(row)


# --- where a company's books are -----------------------------------------------------------


def with_search_path(url: str, schema: str) -> str:
    """A PostgreSQL URL whose connections use `schema` (libpq's options=-csearch_path=...)."""
    base, _sep, query = url.partition("?")
    params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "options"]
    params.append(("options", f"-csearch_path={schema}"))
    return base + "?" + urlencode(params, quote_via=quote)


def books_url(firm_url: str, row: CompanyRow) -> str:
    """The database URL of a company's books."""
    if row.location is None:
        return firm_url
    if row.location.startswith(SCHEMA_LOCATION):
        return with_search_path(firm_url, row.location.removeprefix(SCHEMA_LOCATION))
    return row.location


def _firm_schema(conn: "Connection") -> str:
    from sqlalchemy import text

    return conn.execute(text("SELECT current_schema()")).scalar() or "public"


def default_location(firm_url: str, conn: "Connection", ruc: str) -> str:
    """A new company's place: a SQLite file beside the firm's (its `companies/` folder), or a
    schema of the firm's PostgreSQL database named after the firm's schema and the RUC."""
    from cuentas_cli.db.engine import is_sqlite, sqlite_path

    if is_sqlite(firm_url):
        return f"sqlite:///{sqlite_path(firm_url).resolve().parent / 'companies' / f'{ruc}.db'}"
    firm_schema = _firm_schema(conn)
    prefix = "cuentas" if firm_schema == "public" else firm_schema
    return f"{SCHEMA_LOCATION}{prefix}_{ruc}"


def check_given_url(url: str) -> str:
    from cuentas_cli.rules.urls import normalise_url

    url = normalise_url(url)
    if re.search(r"://[^/@:]+:[^@/]*@", url):
        raise UsageError(_("--db: the URL is stored in the firm's database, so it may hold no password; give it "
                           "through PGPASSWORD or ~/.pgpass"))
    return url


def _ensure_firm_row(conn: "Connection", actor: Actor) -> None:
    """The first `companies add` registers the firm database's own books as the first company,
    under its company.ruc and company.name: nothing moves."""
    from sqlalchemy import insert, select

    from cuentas_cli.db.tables import company, setting

    if conn.execute(select(company.c.id).where(company.c.location.is_(None))).first() is not None:
        return
    values = dict(conn.execute(select(setting.c.key, setting.c.value)
                               .where(setting.c.key.in_(("company.ruc", "company.name")))).all())
    ruc = (values.get("company.ruc") or "").strip()
    if not ruc:
        raise ValidationError(_("this database's own books become the firm's first company: set their RUC first "
                                "(`cuentas settings set company.ruc RUC`)"))
    from cuentas_cli.admin.auth import now_utc

    conn.execute(insert(company).values(ruc=ruc, alias=None, name=values.get("company.name") or ruc,
                                        location=None, created_at=now_utc()))
    audit.record(conn, actor, action="company.add", entity="company", entity_id=ruc, after={"books": "firm"})


def check_new(conn: "Connection", *, ruc: str, alias: str | None) -> None:
    from sqlalchemy import func, or_, select

    from cuentas_cli.db.tables import company
    from cuentas_cli.rules.identity import validate_ruc

    validate_ruc(ruc)
    if alias is not None and not _ALIAS_RE.match(alias):
        raise UsageError(_("--alias {alias!r}: lower-case letters, digits, - and _, starting with a letter (at most 40)")
                         .format(alias=alias))
    if alias is not None and alias.isdigit():
        raise UsageError(_("--alias may not be a number (it would read as a RUC)"))
    clash = conn.execute(select(company.c.ruc, company.c.alias, company.c.archived_at).where(
        or_(company.c.ruc == ruc, func.lower(company.c.alias) == (alias or "").lower()))).first()
    if clash is not None:
        what = ruc if clash.ruc == ruc else alias
        raise Conflict(_("company {what} is already in the firm{archived}").format(
            what=what, archived=_(" (archived)") if clash.archived_at else ""))


def prepare_books(location: str, firm_url: str, firm_conn: "Connection") -> str:
    """Create the empty place of a new company's books; returns their URL."""
    from sqlalchemy import text

    from cuentas_cli.db.engine import is_sqlite, sqlite_path

    if location.startswith(SCHEMA_LOCATION):
        schema = location.removeprefix(SCHEMA_LOCATION)
        exists = firm_conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :n"), {"n": schema}).first()
        if exists:
            raise Conflict(_("schema {schema} already exists in the firm's database; give the company's place with "
                             "--db").format(schema=schema))
        firm_conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        firm_conn.commit()
        return with_search_path(firm_url, schema)
    if is_sqlite(location) and sqlite_path(location).exists():
        raise Conflict(_("{path} already exists; give another place with --db").format(path=sqlite_path(location)))
    return location


def discard_books(location: str, firm_conn: "Connection") -> None:
    """Undo `prepare_books` after a failed add: nothing half-made is left behind."""
    from sqlalchemy import text

    from cuentas_cli.db.engine import dispose_engines, is_sqlite, sqlite_path

    dispose_engines()
    if location.startswith(SCHEMA_LOCATION):
        firm_conn.rollback()
        firm_conn.execute(text(f'DROP SCHEMA IF EXISTS "{location.removeprefix(SCHEMA_LOCATION)}" CASCADE'))
        firm_conn.commit()
    elif is_sqlite(location):
        path = sqlite_path(location)
        for extra in ("", "-wal", "-shm"):
            Path(str(path) + extra).unlink(missing_ok=True)


def open_books(url: str, *, ruc: str, name: str, admin_username: str, admin_email: str | None) -> None:
    """Give a new company's empty database the schema, its identity and its first member."""
    from cuentas_cli.db import migrate
    from cuentas_cli.db.engine import get_engine, open_connection

    engine = get_engine(url, create=True)
    if migrate.current_revision(engine) is not None:
        raise Conflict(_("the database given already holds a company's books; give an empty one"))
    migrate.upgrade(engine)
    with open_connection(url, write=True) as conn:
        from sqlalchemy import insert

        from cuentas_cli.admin.auth import now_utc
        from cuentas_cli.db.tables import app_user, setting

        now = now_utc()
        conn.execute(insert(setting), [{"key": "company.ruc", "value": ruc, "updated_at": now},
                                       {"key": "company.name", "value": name, "updated_at": now}])
        conn.execute(insert(app_user).values(username=admin_username, email=admin_email, role="administrador",
                                             password_hash=FIRM_MEMBER, is_active=True, failed_logins=0,
                                             created_at=now))


def register(conn: "Connection", actor: Actor, *, ruc: str, alias: str | None, name: str, location: str) -> CompanyRow:
    from sqlalchemy import insert

    from cuentas_cli.admin.auth import now_utc
    from cuentas_cli.db.tables import company

    _ensure_firm_row(conn, actor)
    conn.execute(insert(company).values(ruc=ruc, alias=alias, name=name, location=location, created_at=now_utc()))
    audit.record(conn, actor, action="company.add", entity="company", entity_id=ruc,
                 after={"name": name, "alias": alias, "books": location})
    return find(conn, ruc)


def require_firm_admin(actor: Actor | None) -> Actor:
    """Adding, removing and granting companies is the firm's administradores' (permission users)."""
    return require(actor, "users")


# --- members ---------------------------------------------------------------------------------


def member(conn: "Connection", username: str) -> Any:
    """A firm user's row in a company's books (None: no access)."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import app_user

    return conn.execute(select(app_user.c.id, app_user.c.username, app_user.c.role, app_user.c.is_active)
                        .where(app_user.c.username == username)).first()


def grant(company_conn: "Connection", *, by: str, user: Any, role: str) -> str:
    """Give a firm user `role` in a company (NO_ACCESS: take every access away); returns what
    changed, for the command's line. Audited in the company's own log."""
    from sqlalchemy import insert, update

    from cuentas_cli.admin.auth import now_utc
    from cuentas_cli.db.tables import app_user

    if role != NO_ACCESS and role not in ROLES:
        raise UsageError(_("--role {role!r}: expected one of {roles} or none").format(role=role, roles=", ".join(ROLES)))
    row = member(company_conn, user.username)
    before = {"role": row.role, "active": row.is_active} if row is not None else None
    if role == NO_ACCESS:
        if row is None or not row.is_active:
            return "unchanged"
        company_conn.execute(update(app_user).where(app_user.c.id == row.id).values(is_active=False))
        after = {"role": row.role, "active": False}
    elif row is None:
        company_conn.execute(insert(app_user).values(username=user.username, email=user.email, role=role,
                                                     password_hash=FIRM_MEMBER, is_active=True, failed_logins=0,
                                                     created_at=now_utc()))
        after = {"role": role, "active": True}
    else:
        company_conn.execute(update(app_user).where(app_user.c.id == row.id).values(role=role, is_active=True))
        after = {"role": role, "active": True}
    # the firm's administrador, by name: they need not be a member of this company's books
    audit.record(company_conn, None, action="user.grant", entity="user", entity_id=user.username,
                 before=before, after=after, username=by)
    return "granted" if role != NO_ACCESS else "revoked"


# --- removing ------------------------------------------------------------------------------------


def books_in_use(conn: "Connection") -> int:
    """How many invoices, parties and payments a company's books hold."""
    from sqlalchemy import func, select

    from cuentas_cli.db.tables import invoice, party, payment

    return sum(conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (invoice, party, payment))


def archive_place(row: CompanyRow, firm_url: str, today: Any) -> str:
    """Where --archive keeps a company's books: the SQLite file moved into `archive/`, the
    PostgreSQL schema renamed; a database given by URL stays where it is, untouched."""
    from cuentas_cli.db.engine import is_sqlite, sqlite_path

    stamp = f"{today:%Y%m%d}"
    if row.location.startswith(SCHEMA_LOCATION):
        return f"{SCHEMA_LOCATION}{row.location.removeprefix(SCHEMA_LOCATION)}_archived_{stamp}"
    if is_sqlite(row.location):
        path = sqlite_path(row.location)
        return str(path.parent / "archive" / f"{path.stem}-{stamp}.db")
    return row.location


def move_books(row: CompanyRow, firm_conn: "Connection", *, to: str | None) -> None:
    """Drop a company's empty books (to=None) or move them to their archive place."""
    from sqlalchemy import text

    from cuentas_cli.config import ensure_private_dir
    from cuentas_cli.db.engine import dispose_engines, is_sqlite, sqlite_path

    dispose_engines()
    if row.location.startswith(SCHEMA_LOCATION):
        schema = row.location.removeprefix(SCHEMA_LOCATION)
        if to is None:
            firm_conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        else:
            firm_conn.execute(text(f'ALTER SCHEMA "{schema}" RENAME TO "{to.removeprefix(SCHEMA_LOCATION)}"'))
    elif is_sqlite(row.location):
        path = sqlite_path(row.location)
        if to is None:
            for extra in ("", "-wal", "-shm"):
                Path(str(path) + extra).unlink(missing_ok=True)
        else:
            import sqlite3

            target = Path(to)
            ensure_private_dir(target.parent)
            source = sqlite3.connect(path)
            try:
                copy = sqlite3.connect(target)
                source.backup(copy)
                copy.close()
            finally:
                source.close()
            for extra in ("", "-wal", "-shm"):
                Path(str(path) + extra).unlink(missing_ok=True)


def unregister(conn: "Connection", actor: Actor, row: CompanyRow, *, archive_path: str | None) -> None:
    from sqlalchemy import delete, update

    from cuentas_cli.admin.auth import now_utc
    from cuentas_cli.db.tables import company

    if archive_path is None:
        conn.execute(delete(company).where(company.c.id == row.id))
    else:
        conn.execute(update(company).where(company.c.id == row.id).values(archived_at=now_utc(),
                                                                          archive_path=archive_path))
    audit.record(conn, actor, action="company.archive" if archive_path else "company.remove", entity="company",
                 entity_id=row.ruc, before={"name": row.name, "books": row.location},
                 after={"archive": archive_path} if archive_path else None)
