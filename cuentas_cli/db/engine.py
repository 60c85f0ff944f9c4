"""Engines and sessions for SQLite (default) and PostgreSQL (psycopg 3).

SQLite is opened in WAL mode with foreign keys on and a busy timeout, and write sessions
start with BEGIN IMMEDIATE: a deferred transaction that reads and then writes fails at once
with "database is locked" when another writer got there first, busy timeout or not, while
an immediate one waits its turn.

The wait is the busy timeout: 30 s, or CUENTAS_SQLITE_BUSY_TIMEOUT seconds. When it runs out
the command fails with DatabaseBusy (exit 6, "busy: another cuentas command is writing"),
naming the other writer when it left a note: long writers (an import) write a small
`<database>.writer` file (pid, command, start) next to the database for their duration.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import DatabaseBusy, DatabaseUnavailable, UsageError
from cuentas_cli.rules.urls import redact
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlmodel import Session

    from cuentas_cli.errors import PermissionDenied

SQLITE_BUSY_TIMEOUT_MS = 30_000
BUSY_TIMEOUT_ENV = "CUENTAS_SQLITE_BUSY_TIMEOUT"



def sql_dialect(db: "Session | Connection") -> Any:
    """The SQLAlchemy dialect of an ORM session or a Core connection."""
    return (db.get_bind() if hasattr(db, "get_bind") else db).dialect


def dialect_of(db: "Session | Connection") -> str:
    """The dialect's name of an ORM session or a Core connection."""
    return sql_dialect(db).name


def driver_connection(db: "Session | Connection") -> Any:
    """The DB-API connection (sqlite3, psycopg) under an ORM session or a Core connection, in
    its current transaction: for the bulk paths that bind rows themselves (imports)."""
    conn = db.connection() if hasattr(db, "get_bind") else db
    return conn.connection.driver_connection


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0])


def sqlite_busy_timeout_ms() -> int:
    """How long a SQLite command waits for another writer: CUENTAS_SQLITE_BUSY_TIMEOUT seconds, else 30 s."""
    raw = os.environ.get(BUSY_TIMEOUT_ENV, "").strip()
    if not raw:
        return SQLITE_BUSY_TIMEOUT_MS
    try:
        seconds = float(raw)
    except ValueError:
        raise UsageError(_("{BUSY_TIMEOUT_ENV}={raw!r}: give the seconds to wait for another writer, "
                           "e.g. 30")
                         .format(BUSY_TIMEOUT_ENV=BUSY_TIMEOUT_ENV, raw=raw)) from None
    if not 0 <= seconds <= 3600:
        raise UsageError(_("{BUSY_TIMEOUT_ENV}={raw!r}: must be between 0 and 3600 seconds")
                         .format(BUSY_TIMEOUT_ENV=BUSY_TIMEOUT_ENV, raw=raw))
    return int(seconds * 1000)


def prepare_sqlite_file(path: Path) -> None:
    """Create the database file 0600 inside a 0700 folder before SQLite touches it."""
    from cuentas_cli.config import ensure_private_dir

    if not path.parent.exists():
        ensure_private_dir(path.parent)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    # SQLite creates -wal and -shm next to it with the main file's mode.


_ENGINES: dict[str, "Engine"] = {}
# The dialects of the engines made so far: the models' partial indexes need each one's WHERE
# (models.partial_predicates), attached when both the engine and the models exist, so a command
# that never loads the models (the fast paths over db/tables.py) never pays for them.
_DIALECTS: set[str] = set()


def get_engine(url: str, *, create: bool = False) -> "Engine":
    """One engine per URL per process. With create=False a missing SQLite file is an error."""
    engine = _ENGINES.get(url)
    if engine is not None:
        return engine
    from sqlalchemy import create_engine, event

    if is_sqlite(url):
        path = sqlite_path(url)
        if not path.exists():
            if not create:
                from cuentas_cli.errors import NotFound

                raise NotFound(_("no database at {path}; create it with `cuentas init` (or `cuentas db "
                                 "upgrade`)").format(path=path))
            prepare_sqlite_file(path)
        engine = create_engine(url, connect_args={"timeout": sqlite_busy_timeout_ms() / 1000})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # noqa: ANN001
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={sqlite_busy_timeout_ms()}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # noqa: ANN001
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            if mode == "IMMEDIATE":  # the wait in force now, also on a pooled connection
                conn.exec_driver_sql(f"PRAGMA busy_timeout={sqlite_busy_timeout_ms()}")
            conn.exec_driver_sql(f"BEGIN {mode}")

    else:
        engine = create_engine(url, pool_pre_ping=False, connect_args={"connect_timeout": 10})
    _DIALECTS.add(engine.dialect.name)
    models = sys.modules.get("cuentas_cli.db.models")
    if models is not None:  # else the models attach them for every dialect in _DIALECTS on import
        models.partial_predicates(engine.dialect.name)
    _ENGINES[url] = engine
    return engine


def dispose_engines() -> None:
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def is_busy(exc: BaseException) -> bool:
    """A SQLite "database is locked" / "busy" error: another connection holds the write lock."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    return "database is locked" in text or "database table is locked" in text or "busy" in text


def writer_note_path(url: str) -> Path:
    path = sqlite_path(url)
    return path.with_name(path.name + ".writer")


@contextmanager
def writer_note(url: str, command: str) -> Iterator[None]:
    """While a long write runs, leave a note (pid, command, start) next to a SQLite database,
    so a command that finds the database busy can say who holds it. Nothing on PostgreSQL."""
    if not is_sqlite(url):
        yield
        return
    from datetime import datetime, timezone

    path = writer_note_path(url)
    note = {"pid": os.getpid(), "command": command,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        if path.is_symlink():
            raise OSError("the note's place is a symbolic link: never written through")
        path.unlink(missing_ok=True)  # a stale note of a writer that is gone
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(note, fh)
    except OSError:
        path = None  # a note is a courtesy; the write goes on without it
    try:
        yield
    finally:
        if path is not None:
            try:
                if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                    path.unlink()
            except (OSError, ValueError):
                pass


def current_writer(url: str) -> str | None:
    """Who holds a SQLite database's write lock, from a live writer's note; None if unknown."""
    if not is_sqlite(url):
        return None
    try:
        note = json.loads(writer_note_path(url).read_text(encoding="utf-8"))
        pid = int(note["pid"])
        command, started = str(note["command"]), str(note.get("started", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # a note left by a writer that died
    except PermissionError:
        pass  # alive, owned by another user
    except OSError:
        return None
    since = f", since {started.replace('T', ' ').removesuffix('+00:00')} UTC" if started else ""
    return f"`cuentas {command}`, pid {pid}{since}"


def busy_error(url: str) -> DatabaseBusy:
    waited = sqlite_busy_timeout_ms() / 1000
    writer = current_writer(url)
    who = f" ({writer})" if writer else ""
    return DatabaseBusy(
        _("busy: another cuentas command is writing{who}; waited {waited:g} s for it (set "
          "{BUSY_TIMEOUT_ENV}=SECONDS to wait longer); try again")
        .format(who=who, waited=waited, BUSY_TIMEOUT_ENV=BUSY_TIMEOUT_ENV)
    )


def connection_error(url: str, exc: BaseException) -> DatabaseUnavailable | DatabaseBusy:
    if is_sqlite(url) and is_busy(exc):
        return busy_error(url)
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DatabaseUnavailable(_("cannot reach the database at {redact_url}: {detail}")
                               .format(redact_url=redact(url), detail=detail))


def privilege_error(url: str, exc: BaseException) -> "PermissionDenied | None":
    """PostgreSQL refusing this login a privilege (SQLSTATE 42501, team mode's grants) as the
    permission error it is, naming the login and what it lacks; None for any other error."""
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) != "42501":
        return None
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    what = first.removeprefix("permission denied for ").removeprefix("must be owner of ")
    if first.startswith("must be owner of "):
        lacks = _("ownership of {what}").format(what=what)
    elif first.startswith("permission denied for "):
        lacks = _("a privilege on {what}").format(what=what)
    else:
        lacks = first or _("a privilege")
    return login_lacks(_url_user(url), lacks)


def login_lacks(login: str, lacks: str) -> "PermissionDenied":
    from cuentas_cli.errors import PermissionDenied

    return PermissionDenied(_("permission denied: your PostgreSQL login {login} lacks {lacks}; an administrador "
                              "runs `cuentas db roles apply`").format(login=login, lacks=lacks))


def hidden_schema(conn: "Connection") -> str | None:
    """On PostgreSQL, a schema of the search path that holds a cuentas schema this login may not
    use (no USAGE: it looks empty to the login, which is not the same as having no schema)."""
    from sqlalchemy import text

    path = conn.execute(text("SELECT current_setting('search_path'), session_user")).first()
    names = [n.strip().strip('"') for n in path[0].split(",")]
    names = [path[1] if n == "$user" else n for n in names if n]
    return conn.execute(text(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = "
        "'alembic_version' AND n.nspname = ANY(:names) AND NOT has_schema_privilege(n.oid, 'USAGE') LIMIT 1"),
        {"names": names}).scalar()


def _url_user(url: str) -> str:
    import getpass

    from sqlalchemy.engine import make_url

    try:
        return make_url(url).username or os.environ.get("PGUSER") or getpass.getuser()
    except Exception:  # noqa: BLE001 - a name for a message only
        return "?"


@contextmanager
def open_session(url: str, *, write: bool = False, create: bool = False) -> Iterator["Session"]:
    """A session in one transaction: committed on success, rolled back on any error.

    write=True takes SQLite's write lock up front (BEGIN IMMEDIATE) so concurrent writers
    queue on the busy timeout instead of failing.
    """
    from sqlalchemy.exc import OperationalError
    from sqlmodel import Session

    engine = get_engine(url, create=create)
    session = Session(engine, expire_on_commit=False)
    session.info["write"] = write
    try:
        if is_sqlite(url) and write:
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        else:
            session.connection()
    except OperationalError as exc:
        session.close()
        raise connection_error(url, exc) from exc
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def open_connection(url: str, *, write: bool = False) -> Iterator["Connection"]:
    """A Core connection in one transaction, as `open_session` but without the ORM: committed on
    success, rolled back on any error; write=True takes SQLite's write lock up front. The fast
    commands (whoami, invoices show/list/pay, clients show, dashboard summary) run on this."""
    from sqlalchemy.exc import OperationalError

    engine = get_engine(url)
    try:
        conn = engine.connect()
        if is_sqlite(url) and write:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        transaction = conn.begin()
    except OperationalError as exc:
        raise connection_error(url, exc) from exc
    try:
        yield conn
        transaction.commit()
    except BaseException:
        transaction.rollback()
        raise
    finally:
        conn.close()
