"""The process's runtime: configuration, database sessions and the acting user.

Commands ask it for a session and an actor and hand both to one service; tests build a
fresh one per invocation, so nothing leaks between runs.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cuentas_cli.config import Config
from cuentas_cli.errors import NotLoggedIn, ValidationError
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlmodel import Session

    from cuentas_cli import outputs
    from cuentas_cli.admin.auth import Actor
    from cuentas_cli.admin.companies import CompanyRow

SESSION_FILE_ENV = "CUENTAS_SESSION_FILE"


@dataclass
class Runtime:
    config: Config
    _schema_checked: bool = False
    _actor: "Actor | None" = None
    _actor_resolved: bool = False
    _pending_token_use: int | None = None
    _token_url: str | None = None
    # Several companies (admin/companies.py): the company whose books this run uses; None for the
    # firm database's own books. Resolved on first use, from config.company.
    _company: "CompanyRow | None" = None
    _company_resolved: bool = False
    _firm_checked: bool = False
    _firm_identity: "tuple[Actor, Any] | None" = None
    _identity_given: bool = False  # the HTTP API: who acts comes from the request, never the keyring
    _firm_label: str | None = None  # the firm's own books' label, once looked up ("" for none)

    def give_identity(self, firm_actor: "Actor | None", token_row: Any = None, *, here: "Actor | None" = None) -> None:
        """Act as the firm user a request's token names (mapped to their role in the chosen company),
        or as `here`, an actor of the chosen books themselves (a company's own service token); with
        neither, as nobody (a request without a token)."""
        self._identity_given = True
        self._firm_identity = (firm_actor, token_row) if firm_actor is not None else None
        if here is not None:
            self._actor, self._actor_resolved = here, True

    @property
    def today(self):  # noqa: ANN201
        return self.config.today

    @property
    def firm_url(self) -> str:
        """The database `database.url` names: the firm's register, logins and own books."""
        return self.config.database_url

    @property
    def url(self) -> str:
        """The database of the books this run works on."""
        row = self.company()
        if row is None or row.is_firm:
            return self.config.database_url
        from cuentas_cli.admin.companies import books_url

        return books_url(self.config.database_url, row)

    @property
    def in_company(self) -> bool:
        """Working on a company's books other than the firm database's own."""
        row = self.company()
        return row is not None and not row.is_firm

    def company(self) -> "CompanyRow | None":
        """The company --company, CUENTAS_COMPANY or `companies use` chose (None: none chosen)."""
        if not self._company_resolved:
            self._company_resolved = True
            if self.config.company:
                from cuentas_cli.admin.companies import find

                with self.firm_connection() as conn:
                    self.set_company(find(conn, self.config.company), firm=conn)
        return self._company

    def set_company(self, row: "CompanyRow | None", *, firm: "Connection | None" = None) -> None:
        """Work on `row`'s books from now on (a fresh process state: schema, actor)."""
        from cuentas_cli.integrations import keyring_store

        self._company, self._company_resolved = row, True
        self._schema_checked, self._actor, self._actor_resolved = False, None, False
        in_company = row is not None and not row.is_firm
        keyring_store.set_scope(row.ruc if in_company else None)
        if in_company and self.config.firm_values is None:
            from sqlalchemy import select

            from cuentas_cli.config import SETTINGS
            from cuentas_cli.db.tables import setting

            firm_keys = [key for key, spec in SETTINGS.items() if spec.firm]
            from contextlib import nullcontext

            with (nullcontext(firm) if firm is not None else self.firm_connection()) as conn:
                self.config.firm_values = dict(conn.execute(
                    select(setting.c.key, setting.c.value).where(setting.c.key.in_(firm_keys))).all())
        elif not in_company:
            self.config.firm_values = None

    def company_label(self) -> str | None:
        """What table titles and report headers name: the chosen company, or the firm's own books
        once the firm keeps several (None while it keeps one company's books)."""
        try:
            row = self.company()
            if row is None:
                if not (self._firm_checked or self._schema_checked):
                    return None  # this run never reached its database: no wait on one that is down
                if self._firm_label is None:  # asked once per run, however many tables it prints
                    from cuentas_cli.admin.companies import registry

                    with self.firm_connection() as conn:
                        rows = registry(conn)
                    firm = next((r for r in rows if r.is_firm), None)
                    self._firm_label = firm.label if firm is not None else ""
                return self._firm_label or None
            return row.label
        except Exception:  # noqa: BLE001 - a title never fails a command
            return None

    def engine(self, *, create: bool = False):  # noqa: ANN201
        from cuentas_cli.db.engine import get_engine

        return get_engine(self.url, create=create)

    def _ensure_current(self, url: str) -> None:
        from sqlalchemy.exc import OperationalError

        from cuentas_cli.db.engine import connection_error, get_engine
        from cuentas_cli.db.migrate import ensure_current

        try:
            ensure_current(get_engine(url))
        except OperationalError as exc:
            raise connection_error(url, exc) from exc

    def check_schema(self) -> None:
        if self._schema_checked:
            return
        if self._firm_checked and not self.in_company:  # the firm's database is these books
            self._schema_checked = True
            return
        from cuentas_cli.errors import SchemaOutdated

        try:
            self._ensure_current(self.url)
        except SchemaOutdated as exc:
            if not self.in_company:
                raise
            raise SchemaOutdated(_("the books of {company}: {message} (every company's: `cuentas db upgrade "
                                   "--all-companies`)").format(company=self.company().label, message=exc.message)) from None
        self._schema_checked = True
        if not self.in_company:
            self._firm_checked = True

    @contextmanager
    def firm_connection(self, *, write: bool = False) -> Iterator["Connection"]:
        """A Core transaction on the firm's database (its register of companies, its logins)."""
        from cuentas_cli.db.engine import open_connection

        if not self._firm_checked:
            self._ensure_current(self.firm_url)
            self._firm_checked = True
        with open_connection(self.firm_url, write=write) as conn:
            yield conn

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator["Session"]:
        """A transaction on a database whose schema is current."""
        from cuentas_cli.db.engine import open_session

        self.check_schema()
        with open_session(self.url, write=write) as session:
            yield session

    @contextmanager
    def connection(self, *, write: bool = False) -> Iterator["Connection"]:
        """A Core transaction on a current schema, for the commands that never load the ORM
        (db/tables.py); the same guarantees as `session`."""
        from cuentas_cli.db.engine import open_connection

        self.check_schema()
        with open_connection(self.url, write=write) as conn:
            yield conn

    # --- identity ------------------------------------------------------------------

    def stored_token(self) -> str | None:
        """CUENTAS_TOKEN, else a session file, else the keyring's login session."""
        if self.config.token:
            return self.config.token.strip()
        session_file = os.environ.get(SESSION_FILE_ENV)
        if session_file:
            return read_session_file(Path(session_file))
        from cuentas_cli.integrations import keyring_store

        try:
            token = keyring_store.get_secret(keyring_store.session_key(self.firm_url))
        except keyring_store.KeyringUnavailable:
            if keyring_required():
                raise
            fallback = fallback_session_path(self.firm_url)  # where `cuentas login` kept it without a keyring
            if os.path.lexists(fallback):
                return read_session_file(fallback)
            raise
        if token or keyring_required():
            return token
        fallback = fallback_session_path(self.firm_url)  # a login made while the keyring did not work
        return read_session_file(fallback) if os.path.lexists(fallback) else None

    def actor(self, session: "Session | Connection", *, required: bool = True) -> "Actor | None":
        """The user this process acts as (None only with required=False); `session` may be an
        ORM session or a Core connection."""
        if self._actor_resolved:
            if self._actor is None and required:
                raise self._not_logged_in()
            return self._actor
        if self._firm_identity is not None and (self._identity_given or self.in_company):
            # an identity given by the caller (the HTTP API's bearer token): never a stored one
            actor = self._company_actor(session, "")[0] if self.in_company else self._firm_identity[0]
            self._actor, self._actor_resolved = actor, True
            return actor
        if self._identity_given:
            raise self._not_logged_in()
        from cuentas_cli.integrations.keyring_store import KeyringUnavailable
        from cuentas_cli.admin import auth
        from cuentas_cli.db.engine import is_sqlite

        if not is_sqlite(self.url):
            by_login = auth.login_actor(session)  # team mode: the PostgreSQL login is the person
            if by_login is not None:
                self._actor, self._actor_resolved = by_login, True
                return by_login
        try:
            token = self.stored_token()
        except KeyringUnavailable:
            if required:
                raise self._not_logged_in(keyring_missing=True) from None
            token = None
        if not token:
            self._actor_resolved = True
            if required:
                raise self._not_logged_in()
            return None
        if self.in_company:
            actor, row, where = self._company_actor(session, token)
        else:
            (actor, row), where = auth.resolve_token(session, token), self.url
        if auth.needs_touch(row):
            # Recorded only once the command has succeeded: a refused command changes nothing.
            self._pending_token_use, self._token_url = row.id, where
        self._actor, self._actor_resolved = actor, True
        return actor

    def _company_actor(self, session: "Session | Connection", token: str) -> "tuple[Actor, Any, str]":
        """In a company's books: a firm login or firm-wide service token, as the user's member
        row there (their role in this company); else a service token of this company's own."""
        from cuentas_cli.admin import auth
        from cuentas_cli.admin.companies import member
        from cuentas_cli.errors import PermissionDenied

        if self._firm_identity is None:
            with self.firm_connection() as firm:
                if not auth.token_known(firm, token):
                    actor, row = auth.resolve_token(session, token)
                    return actor, row, self.url
                self._firm_identity = auth.resolve_token(firm, token)
        firm_actor, row = self._firm_identity
        here = member(session, firm_actor.username)
        if here is None or not here.is_active:
            company = self.company()
            raise PermissionDenied(_("permission denied: user {username} has no access to company {company}; a firm "
                                     "administrador runs `cuentas users grant {username} --company {ruc} --role R`")
                                   .format(username=firm_actor.username, company=company.label, ruc=company.ruc))
        return auth.actor_for(session, here, row), row, self.firm_url

    def record_token_use(self) -> None:
        """After a successful command: note the token's last use, in its own short transaction
        (a read transaction that turns into a write fails under concurrency on SQLite)."""
        token_id, self._pending_token_use = self._pending_token_use, None
        if token_id is None:
            return
        from sqlalchemy import update

        from cuentas_cli.admin.auth import now_utc
        from cuentas_cli.db.engine import open_connection
        from cuentas_cli.db.tables import api_token

        try:
            with open_connection(self._token_url or self.url, write=True) as conn:
                conn.execute(update(api_token).where(api_token.c.id == token_id).values(last_used_at=now_utc()))
        except Exception:  # noqa: BLE001 - recording last use must never fail a command
            pass

    def _not_logged_in(self, *, keyring_missing: bool = False) -> NotLoggedIn:
        if keyring_missing:  # (login keeps the session in a file then, unless CUENTAS_REQUIRE_KEYRING=1)
            return NotLoggedIn(_("not logged in (no OS keyring): run `cuentas login` or set CUENTAS_TOKEN"))
        return NotLoggedIn(_("not logged in: run `cuentas login` (or set CUENTAS_TOKEN to a service "
                             "token for cron)"))

    def forget_actor(self) -> None:
        self._actor, self._actor_resolved, self._firm_identity = None, False, None


def each_company(rt: Runtime) -> "Iterator[tuple[CompanyRow, Runtime]]":
    """Every company of the firm (only the firm's own books while it keeps one), each with a
    runtime on its books that acts as this run's user: --all-companies."""
    from dataclasses import replace

    from cuentas_cli.admin.companies import CompanyRow, registry

    with rt.firm_connection() as conn:
        rows = registry(conn)
        if not rows:
            from sqlalchemy import select

            from cuentas_cli.db.tables import setting

            own = dict(conn.execute(select(setting.c.key, setting.c.value)
                                    .where(setting.c.key.in_(("company.ruc", "company.name")))).all())
            rows = [CompanyRow(0, own.get("company.ruc") or "-", None,
                               own.get("company.name") or own.get("company.ruc") or "-", None)]
    from cuentas_cli.integrations import keyring_store

    try:
        for row in rows:
            child = Runtime(replace(rt.config, company=row.ruc, firm_values=None))
            child._firm_checked, child._firm_identity = True, rt._firm_identity
            child.set_company(row)
            yield row, child
            if child._firm_identity is not None:
                rt._firm_identity = child._firm_identity
    finally:  # this run's own company's secrets again
        keyring_store.set_scope(rt._company.ruc if rt.in_company else None)


SESSION_FILE_MAX_BYTES = 512


def session_file_problem(path: Path) -> str | None:
    """Why an existing file may not be replaced by a session file (None: it is empty or holds a
    cuentas token, so a new login may replace it)."""
    try:
        if path.stat().st_size > SESSION_FILE_MAX_BYTES:
            return "exists and is not a cuentas session file; choose another path"
        text = path.read_bytes().decode("utf-8", "replace").strip()
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    from cuentas_cli.admin.auth import SERVICE_PREFIX, SESSION_PREFIX

    if not text or (text.isascii() and "\n" not in text and text.startswith((SESSION_PREFIX, SERVICE_PREFIX))):
        return None
    return "exists and is not a cuentas session file; choose another path"


def check_session_file(path: "Path | outputs.Target", *, database_url: str | None = None) -> "outputs.Target":
    """The session file's path under the rules of cuentas_cli.outputs, plus: an existing file
    is replaced only when it holds a cuentas session; a missing folder is created 0700."""
    from cuentas_cli import outputs

    if isinstance(path, outputs.Target):
        return path
    return outputs.check(path, option="--session-file", database_url=database_url,
                         accept_existing=session_file_problem, create_folder=True)


def write_session_file(path: "Path | outputs.Target", token: str, *, database_url: str | None = None) -> Path:
    """A login session kept in a file instead of the keyring: mode 0600, never wider, written
    atomically (a temporary file beside it renamed into place)."""
    from cuentas_cli import outputs

    target = check_session_file(path, database_url=database_url)
    outputs.make_folder(target)
    return outputs.write_text(target, token + "\n", mode=0o600)


REQUIRE_KEYRING_ENV = "CUENTAS_REQUIRE_KEYRING"


def keyring_required() -> bool:
    """CUENTAS_REQUIRE_KEYRING=1: a login session is kept in the OS keyring or nowhere."""
    return os.environ.get(REQUIRE_KEYRING_ENV, "").strip().lower() in ("1", "true", "yes", "si", "sí")


def fallback_session_path(database_url: str) -> Path:
    """Where `cuentas login` keeps a database's session (0600) when no OS keyring works: the
    data dir's sessions/, one file per database (named by a digest of its redacted URL)."""
    import hashlib

    from cuentas_cli.config import home_dirs
    from cuentas_cli.integrations.keyring_store import session_key

    digest = hashlib.sha256(session_key(database_url).encode("utf-8")).hexdigest()[:16]
    return home_dirs()[1] / "sessions" / f"{digest}.session"


def remove_session_file(path: Path) -> bool:
    """Delete a session file (the link itself when it is one); False when there was none."""
    path = path.expanduser()
    if not os.path.lexists(path):
        return False
    if path.is_dir() and not path.is_symlink():
        raise ValidationError(_("session file {path} is a folder; nothing removed").format(path=path))
    path.unlink()
    return True


def read_session_file(path: Path, *, check_mode: bool = True) -> str | None:
    """The token in a session file (None when there is no file); a file others may read is
    refused unless `check_mode` is off (logout still revokes what it holds)."""
    path = path.expanduser()
    if not path.exists():
        return None
    if path.is_dir():
        raise ValidationError(_("session file {path} is a folder").format(path=path))
    mode = stat.S_IMODE(path.stat().st_mode)
    if check_mode and mode & 0o077:
        raise ValidationError(_("session file {path} has mode {mode:o}; it must be 0600 (chmod 600 "
                                "{path})").format(path=path, mode=mode))
    if path.stat().st_size > SESSION_FILE_MAX_BYTES:
        raise ValidationError(_("session file {path} is not a cuentas session file (too large)")
                              .format(path=path))
    try:
        return path.read_bytes().decode("utf-8", "replace").strip() or None
    except OSError as exc:
        raise ValidationError(_("session file {path} cannot be read: {exc_strerror_or_exc}")
                              .format(path=path, exc_strerror_or_exc=exc.strerror or exc)) from None


_current: Runtime | None = None


def set_current(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def current_or_none() -> Runtime | None:
    return _current


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("runtime not initialised: commands run through cuentas_cli.app")
    return _current
