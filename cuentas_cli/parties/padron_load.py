"""Importing the padrón reducido (`cuentas padron import`): the file read by `padron_file` is
loaded into a staging copy of `ruc_registry` and swapped in with renames inside one short
transaction, so a failed, interrupted or killed import leaves the previous register complete
and usable:

- SQLite: the staging table `ruc_registry_new` is filled in chunks of committed
  transactions (other writers are never blocked for long), then the FTS5 name index is built,
  then one `BEGIN IMMEDIATE` transaction renames the live tables away, the new ones in, and
  records the import (padron_import + audit log); the old copy is dropped afterwards. A file
  lock next to the database keeps two imports apart. A killed import leaves only a staging
  table, which the next import removes.
- PostgreSQL: everything happens in one transaction (COPY into a temporary table per chunk,
  INSERT ... ON CONFLICT DO NOTHING into the staging table, a trigram index when pg_trgm is
  available, then DROP + RENAME); a killed client makes the server roll all of it back.

A RUC seen twice keeps its first line and is counted as a duplicate.
"""

from __future__ import annotations

import gc
import hashlib
import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import LockHeld, ValidationError
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.parties.padron import FTS, FTS_OLD, FTS_STAGING, OLD, STAGING, TABLE, TRGM_INDEX
from cuentas_cli.parties.padron_file import Block, Tally, check_header, open_source, read_blocks
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

BLOCK_CHARS = 1_000_000  # characters parsed at a time (about 11,000 lines)
ROWS_PER_INSERT = 500  # rows per multi-row INSERT statement on SQLite
SQLITE_COMMIT_ROWS = 1_000_000  # rows per committed staging transaction on SQLite
SQLITE_LOAD_CACHE_KIB = 8 * 1024

Progress = Callable[[int, int, int], None]  # rows loaded, bytes read, total bytes (0 = unknown)


@dataclass
class ImportReport:
    file_name: str
    member: str | None
    file_date: date | None
    sha256: str
    row_count: int
    previous_row_count: int
    malformed_count: int
    duplicate_count: int
    malformed_examples: list[tuple[int, str]]
    search_index: str
    seconds: float
    same_file_as_previous: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "file_name": self.file_name, "member": self.member, "file_date": self.file_date, "sha256": self.sha256,
            "row_count": self.row_count, "previous_row_count": self.previous_row_count,
            "malformed_count": self.malformed_count, "duplicate_count": self.duplicate_count,
            "search_index": self.search_index, "seconds": round(self.seconds, 2),
        }


# --- importing ----------------------------------------------------------------------------------


def import_file(
    *,
    url: str,
    actor: Actor | None,
    path: Path,
    file_date: date | None = None,
    progress: Progress | None = None,
    block_chars: int | None = None,
) -> ImportReport:
    """Replace the register with the padrón in `path` (.zip or .txt); all or nothing."""
    import zipfile
    import zlib

    from cuentas_cli.db.engine import get_engine, is_sqlite

    require(actor, "settings")
    path = Path(path)
    started = time.perf_counter()
    engine = get_engine(url)
    sqlite = is_sqlite(url)
    gc_was_enabled = gc.isenabled()
    # Millions of short-lived lists and strings: the cycle collector would only slow the
    # parse down (none of them form cycles).
    gc.disable()
    try:
        with open_source(path) as (source, binary):
            first = binary.readline()
            encoding = check_header(first, path.name)
            newline = "\r\n" if first.endswith(b"\r\n") else "\n"
            text = io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="\n")
            tally = Tally()
            loader = _SqliteLoader(url, engine) if sqlite else _PostgresLoader(engine)
            with loader.locked():
                previous_rows, previous_sha = loader.previous()
                blocks = read_blocks(text, newline, tally, block_chars=block_chars or BLOCK_CHARS, reject_nul=not sqlite)
                loaded = loader.load(blocks, lambda rows: progress(rows, source.tap.count, source.size) if progress else None)
                sha = source.sha256.hexdigest()
                report = ImportReport(
                    file_name=path.name[:255], member=source.member, file_date=file_date or source.file_date,
                    sha256=sha, row_count=loaded.inserted, previous_row_count=previous_rows,
                    malformed_count=tally.malformed, duplicate_count=loaded.seen - loaded.inserted,
                    malformed_examples=list(tally.examples), search_index=loaded.search_index, seconds=0.0,
                    same_file_as_previous=previous_sha == sha,
                )
                if report.row_count == 0:
                    raise ValidationError(
                        _("{name}: no well-formed line after the header ({malformed} malformed); the "
                          "register was not changed")
                        .format(name=path.name, malformed=tally.malformed)
                    )
                loader.swap(report, actor)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ValidationError(_("{name}: the zip is damaged ({exc}); download it again (the register was "
                                "not changed)")
                              .format(name=path.name, exc=exc)) from None
    finally:
        if gc_was_enabled:
            gc.enable()
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Loaded:
    seen: int = 0  # well-formed lines
    inserted: int = 0  # distinct RUCs
    search_index: str = "none"


def _import_row(report: ImportReport, actor: Actor | None) -> dict[str, Any]:
    from cuentas_cli.db.models import utcnow

    return {
        "file_name": report.file_name, "file_date": report.file_date, "sha256": report.sha256,
        "row_count": report.row_count, "malformed_count": report.malformed_count,
        "duplicate_count": report.duplicate_count, "imported_at": utcnow(),
        "imported_by": actor.user_id if actor else None,
    }


def _record(conn: "Connection", report: ImportReport, actor: Actor | None) -> None:
    """The padron_import row and the audit entry, in the swap's transaction."""
    from sqlalchemy import insert
    from sqlmodel import Session

    from cuentas_cli.db.models import PadronImport
    from cuentas_cli.admin import audit

    result = conn.execute(insert(PadronImport.__table__).values(**_import_row(report, actor)))
    import_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
    session = Session(bind=conn)
    audit.record(
        session, actor, action="padron.import", entity="padron_import", entity_id=import_id,
        before={"row_count": report.previous_row_count},
        after={**report.summary(), "seconds": None},
    )
    session.flush()
    session.close()


class _SqliteLoader:
    def __init__(self, url: str, engine: "Engine") -> None:
        self.url = url
        self.engine = engine

    @contextmanager
    def locked(self) -> Iterator[None]:
        from filelock import FileLock, Timeout

        from cuentas_cli.db.engine import sqlite_path

        db_path = sqlite_path(self.url)
        lock_path = db_path.with_name(db_path.name + ".padron.lock")
        lock = FileLock(str(lock_path), timeout=0, mode=0o600, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise LockHeld(_("another `cuentas padron import` is running on this database (lock "
                             "{lock_path}); the register was not changed by this one (if that import was "
                             "killed, the server is rolling it back: try again in a few seconds)")
                           .format(lock_path=lock_path)) from None
        try:
            with self.engine.connect() as conn:
                self.conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                yield
        finally:
            lock.release()

    def _tables(self) -> set[str]:
        from sqlalchemy import text

        rows = self.conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'ruc_registry%'"))
        names = {r[0] for r in rows}
        self.conn.commit()
        return names

    def previous(self) -> tuple[int, str | None]:
        return _previous(self.conn)

    def _drop_leftovers(self) -> None:
        tables = self._tables()
        with self.conn.begin():
            for name in (STAGING, FTS_STAGING, OLD, FTS_OLD):
                if name in tables:
                    self.conn.exec_driver_sql(f"DROP TABLE {name}")

    def load(self, blocks: Iterator[Block], tick: Callable[[int], None]) -> _Loaded:
        from sqlalchemy.exc import OperationalError

        loaded = _Loaded()
        self._drop_leftovers()
        conn = self.conn
        dbapi = conn.connection.driver_connection
        dbapi.execute(f"PRAGMA cache_size=-{SQLITE_LOAD_CACHE_KIB}")
        try:
            with conn.begin():
                conn.exec_driver_sql(
                    f"CREATE TABLE {STAGING} (ruc VARCHAR(11) NOT NULL, name TEXT NOT NULL, detail TEXT NOT NULL, "
                    "CONSTRAINT pk_ruc_registry PRIMARY KEY (ruc)) WITHOUT ROWID"
                )
            pending = 0
            trans = conn.begin()
            try:
                cursor = dbapi.cursor()
                for block in blocks:
                    loaded.inserted += _load_block(cursor, block)
                    loaded.seen += block.rows
                    pending += block.rows
                    tick(loaded.inserted)
                    if pending >= SQLITE_COMMIT_ROWS:
                        trans.commit()
                        trans = conn.begin()
                        pending = 0
                # The name index for `padron search`: FTS5, contentless, keyed by the RUC as an integer.
                # A SQLite built without FTS5 still gets the register (search then scans it).
                try:
                    with conn.begin_nested():
                        conn.exec_driver_sql(
                            f"CREATE VIRTUAL TABLE {FTS_STAGING} USING fts5(name, content='', detail=none, "
                            "columnsize=0, tokenize='unicode61 remove_diacritics 2')"
                        )
                        conn.exec_driver_sql(
                            f"INSERT INTO {FTS_STAGING} (rowid, name) SELECT CAST(ruc AS INTEGER), name FROM {STAGING}"
                        )
                    loaded.search_index = "fts5"
                except OperationalError as exc:
                    if "fts5" not in str(exc).lower() and "tokenize" not in str(exc).lower():
                        raise
                trans.commit()
            except BaseException:
                trans.rollback()
                try:
                    self._drop_leftovers()
                except Exception:  # noqa: BLE001 - best effort; the next import removes them anyway
                    pass
                raise
        finally:
            dbapi.execute("PRAGMA cache_size=-2000")
        return loaded

    def swap(self, report: ImportReport, actor: Actor | None) -> None:
        conn = self.conn
        tables = self._tables()
        with conn.begin():
            conn.exec_driver_sql(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
            conn.exec_driver_sql(f"ALTER TABLE {STAGING} RENAME TO {TABLE}")
            if FTS in tables:
                conn.exec_driver_sql(f"ALTER TABLE {FTS} RENAME TO {FTS_OLD}")
            if FTS_STAGING in tables:
                conn.exec_driver_sql(f"ALTER TABLE {FTS_STAGING} RENAME TO {FTS}")
            _record(conn, report, actor)
        # The old copy goes in a transaction of its own: the swap above stays short, and a
        # kill from here on leaves only a table the next import drops.
        with conn.begin():
            conn.exec_driver_sql(f"DROP TABLE {OLD}")
            if FTS in tables:
                conn.exec_driver_sql(f"DROP TABLE {FTS_OLD}")
        try:  # give the disk back: the WAL grew by the size of a chunk transaction
            conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except Exception:  # noqa: BLE001 - a reader may hold the WAL; SQLite checkpoints later
            pass


_ROW_VALUES = "(?,?,?)"
_INSERT = f"INSERT OR IGNORE INTO {STAGING} (ruc, name, detail) VALUES "
_INSERT_MANY = _INSERT + ",".join([_ROW_VALUES] * ROWS_PER_INSERT)


def _load_block(cursor: Any, block: Block) -> int:
    """Insert a block into the SQLite staging table; returns the rows inserted (a RUC already
    there is ignored: the first line wins). Multi-row INSERTs of ROWS_PER_INSERT rows bind
    the flat list in slices, the fastest path through the sqlite3 module."""
    flat = block.flat
    step = ROWS_PER_INSERT * 3
    full = len(flat) - len(flat) % step
    inserted = 0
    for start in range(0, full, step):
        cursor.execute(_INSERT_MANY, flat[start:start + step])
        inserted += cursor.rowcount
    if full < len(flat):
        rest = flat[full:]
        cursor.execute(_INSERT + ",".join([_ROW_VALUES] * (len(rest) // 3)), rest)
        inserted += cursor.rowcount
    return inserted


def _previous(conn: "Connection") -> tuple[int, str | None]:
    """Row count and sha256 of the register as it is now."""
    from sqlalchemy import text

    row = conn.execute(text("SELECT row_count, sha256 FROM padron_import ORDER BY id DESC LIMIT 1")).first()
    if row is None:
        count = conn.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar() or 0
        conn.commit()
        return int(count), None
    conn.commit()
    return int(row[0]), row[1]


class _PostgresLoader:
    def __init__(self, engine: "Engine") -> None:
        self.engine = engine

    @contextmanager
    def locked(self) -> Iterator[None]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            self.conn = conn
            self.trans = conn.begin()
            try:
                # a killed client's backend otherwise runs its load to the end (holding the lock)
                # before it notices nobody is there; checked every second, it stops and rolls back
                if conn.dialect.server_version_info >= (14,):
                    conn.execute(text("SET LOCAL client_connection_check_interval = '1s'"))
                schema = conn.execute(text("SELECT current_schema()")).scalar() or "public"
                key = int.from_bytes(hashlib.sha256(f"cuentas-padron:{schema}".encode()).digest()[:8], "big", signed=True)
                if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar():
                    raise LockHeld(_("another `cuentas padron import` is running on this database; the "
                                     "register was not changed by this one (if that import was killed, "
                                     "the server is rolling it back: try again in a few seconds)"))
                yield
                self.trans.commit()
            except BaseException:
                if self.trans.is_active:
                    self.trans.rollback()
                raise

    def previous(self) -> tuple[int, str | None]:
        from sqlalchemy import text

        row = self.conn.execute(text("SELECT row_count, sha256 FROM padron_import ORDER BY id DESC LIMIT 1")).first()
        if row is None:
            return int(self.conn.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar() or 0), None
        return int(row[0]), row[1]

    def _trigram_schema(self) -> str | None:
        """The schema of pg_trgm, creating the extension if allowed; None if it cannot be had."""
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError

        conn = self.conn
        find = text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                    "WHERE e.extname = 'pg_trgm'")
        schema = conn.execute(find).scalar()
        if schema:
            return schema
        savepoint = conn.begin_nested()
        try:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            savepoint.commit()
        except DBAPIError:
            savepoint.rollback()
            return None
        return conn.execute(find).scalar()

    def load(self, blocks: Iterator[Block], tick: Callable[[int], None]) -> _Loaded:
        from sqlalchemy.exc import DBAPIError

        loaded = _Loaded()
        conn = self.conn
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {STAGING}")
        conn.exec_driver_sql(
            f"CREATE TABLE {STAGING} (ruc VARCHAR(11) NOT NULL, name TEXT NOT NULL, detail TEXT NOT NULL, "
            f"CONSTRAINT {STAGING}_pkey PRIMARY KEY (ruc))"
        )
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE ruc_registry_load (ruc TEXT, name TEXT, detail TEXT) ON COMMIT DROP"
        )
        cursor = conn.connection.driver_connection.cursor()
        insert = (
            f"INSERT INTO {STAGING} (ruc, name, detail) SELECT ruc, name, detail FROM ruc_registry_load "
            "ON CONFLICT (ruc) DO NOTHING"
        )
        for block in blocks:
            _copy_block(cursor, block)
            cursor.execute(insert)
            loaded.seen += block.rows
            loaded.inserted += cursor.rowcount
            cursor.execute("TRUNCATE ruc_registry_load")
            tick(loaded.inserted)
        schema = self._trigram_schema()
        if schema:
            savepoint = conn.begin_nested()
            try:
                conn.exec_driver_sql(
                    f'CREATE INDEX {STAGING}_name_trgm ON {STAGING} USING gin (name "{schema}".gin_trgm_ops)'
                )
                savepoint.commit()
                loaded.search_index = "trigram"
            except DBAPIError:
                savepoint.rollback()
        return loaded

    def swap(self, report: ImportReport, actor: Actor | None) -> None:
        conn = self.conn
        conn.exec_driver_sql(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        conn.exec_driver_sql(f"DROP TABLE {TABLE}")
        conn.exec_driver_sql(f"ALTER TABLE {STAGING} RENAME TO {TABLE}")
        conn.exec_driver_sql(f"ALTER TABLE {TABLE} RENAME CONSTRAINT {STAGING}_pkey TO pk_{TABLE}")
        if report.search_index == "trigram":
            conn.exec_driver_sql(f"ALTER INDEX {STAGING}_name_trgm RENAME TO {TRGM_INDEX}")
        conn.exec_driver_sql(f"ANALYZE {TABLE}")
        _record(conn, report, actor)


def _copy_block(cursor: Any, block: Block) -> None:
    """One COPY (PostgreSQL) of a block into the temporary load table."""
    columns = [iter(block.flat)] * 3
    with cursor.copy("COPY ruc_registry_load (ruc, name, detail) FROM STDIN") as copy:
        for row in zip(*columns):
            copy.write_row(row)
