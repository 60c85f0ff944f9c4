"""Engines and sessions for SQLite (default) and PostgreSQL (psycopg 3).

SQLite is opened in WAL mode with foreign keys on and a busy timeout, and write sessions
start with BEGIN IMMEDIATE: a deferred transaction that reads and then writes fails at once
with "database is locked" when another writer got there first, busy timeout or not, while
an immediate one waits its turn.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cuentas_cli.errors import DatabaseUnavailable, UsageError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000
_URL_RE = re.compile(r"^(?P<scheme>[a-z][a-z0-9+]*)://(?P<rest>.*)$", re.IGNORECASE)


def normalise_url(raw: str) -> str:
    """Accept sqlite:///PATH and postgres(ql)://...; pick psycopg 3 for PostgreSQL."""
    url = raw.strip()
    match = _URL_RE.match(url)
    if not match:
        raise UsageError(f"malformed database URL {raw!r}; expected sqlite:///PATH or postgresql://USER@HOST/DB")
    scheme = match.group("scheme").lower()
    rest = match.group("rest")
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise UsageError(f"malformed database URL {raw!r}; expected sqlite:///PATH")
        return "sqlite://" + rest
    if scheme in {"postgres", "postgresql", "postgresql+psycopg"}:
        if not rest or rest.startswith("/") and len(rest) == 1:
            raise UsageError(f"malformed database URL {raw!r}; expected postgresql://USER@HOST[:PORT]/DB")
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url("postgresql+psycopg://" + rest)
            _ = parsed.port  # a non-numeric port raises here
        except (ArgumentError, ValueError) as exc:
            raise UsageError(f"malformed database URL {raw!r}: {exc}") from None
        return "postgresql+psycopg://" + rest
    raise UsageError(f"unsupported database URL scheme {scheme!r}; use sqlite:/// or postgresql://")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0])


def redact(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


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

                raise NotFound(f"no database at {path}; create it with `cuentas init` (or `cuentas db upgrade`)")
            prepare_sqlite_file(path)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # noqa: ANN001
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # noqa: ANN001
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

    else:
        engine = create_engine(url, pool_pre_ping=False, connect_args={"connect_timeout": 10})
    _ENGINES[url] = engine
    return engine


def dispose_engines() -> None:
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def connection_error(url: str, exc: BaseException) -> DatabaseUnavailable:
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DatabaseUnavailable(f"cannot reach the database at {redact(url)}: {detail}")


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
