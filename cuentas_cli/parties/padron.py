"""The offline RUC register: SUNAT's padrón reducido, imported whole and looked up locally.

The file (peru-reference.md) is ISO-8859-1 text, `|`-delimited with a trailing `|`, `-` for an
empty field, a header line and millions of rows; SUNAT ships it zipped. `import_file` streams
it (never the whole file in memory), loads a staging copy of `ruc_registry` and swaps it in
with renames inside one short transaction, so a failed, interrupted or killed import leaves
the previous register complete and usable:

- SQLite: the staging table `ruc_registry_new` is filled in chunks of committed
  transactions (other writers are never blocked for long), then the FTS5 name index is built,
  then one `BEGIN IMMEDIATE` transaction renames the live tables away, the new ones in, and
  records the import (padron_import + audit log); the old copy is dropped afterwards. A file
  lock next to the database keeps two imports apart. A killed import leaves only a staging
  table, which the next import removes.
- PostgreSQL: everything happens in one transaction (COPY into a temporary table per chunk,
  INSERT ... ON CONFLICT DO NOTHING into the staging table, a trigram index when pg_trgm is
  available, then DROP + RENAME); a killed client makes the server roll all of it back.

Lines that do not have the 15 fields or whose RUC is not 11 digits are counted as malformed
(the first few are reported with their line numbers), never abort the import; a RUC seen
twice keeps its first line and is counted as a duplicate.

`lookup(session, ruc)` is what the parties lookup chain calls: no permission check (the
caller did it), None when the RUC is not in the register.
"""

from __future__ import annotations

import gc
import hashlib
import io
import itertools
import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import LockHeld, NotFound, UsageError, ValidationError
from cuentas_cli.admin.auth import Actor, require

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlmodel import Session

HEADER = ("RUC", "NOMBRE O RAZÓN SOCIAL", "ESTADO DEL CONTRIBUYENTE", "CONDICIÓN DE DOMICILIO", "UBIGEO",
          "TIPO DE VÍA", "NOMBRE DE VÍA", "CÓDIGO DE ZONA", "TIPO DE ZONA", "NÚMERO", "INTERIOR", "LOTE",
          "DEPARTAMENTO", "MANZANA", "KILÓMETRO")
SEPARATORS = len(HEADER)  # every line ends with '|': 15 fields, 15 separators

TABLE = "ruc_registry"
STAGING = "ruc_registry_new"
OLD = "ruc_registry_old"
FTS = "ruc_registry_fts"
FTS_STAGING = "ruc_registry_fts_new"
FTS_OLD = "ruc_registry_fts_old"
TRGM_INDEX = "ruc_registry_name_trgm"

MAX_EXAMPLES = 5
BLOCK_CHARS = 1_000_000  # characters parsed at a time (about 11,000 lines)
ROWS_PER_INSERT = 500  # rows per multi-row INSERT statement on SQLite
MAX_LINE_CHARS = 1_000_000
SQLITE_COMMIT_ROWS = 1_000_000  # rows per committed staging transaction on SQLite
SQLITE_LOAD_CACHE_KIB = 8 * 1024
READ_BUFFER = 1 << 20
PROVIDER_PREFIX = "padrón of "  # how a party lookup answered by the register names its source
ACTIVE_ESTADO = "ACTIVO"
ACTIVE_CONDICION = "HABIDO"

Progress = Callable[[int, int, int], None]  # rows loaded, bytes read, total bytes (0 = unknown)


# --- what the register answers --------------------------------------------------------------


@dataclass(frozen=True)
class PadronEntry:
    """One RUC as the padrón has it, with the date of the padrón it came from."""

    ruc: str
    name: str
    estado: str | None
    condicion: str | None
    ubigeo: str | None
    address: str | None
    padron_date: date | None

    @property
    def active(self) -> bool:
        """ACTIVO and HABIDO: what strict mode asks of a RUC."""
        return self.estado == ACTIVE_ESTADO and self.condicion == ACTIVE_CONDICION


@dataclass
class PadronStatus:
    loaded: bool
    row_count: int
    file_name: str | None
    file_date: date | None
    age_days: int | None
    sha256: str | None
    malformed_count: int | None
    duplicate_count: int | None
    imported_at: datetime | None
    imported_by: str | None
    search_index: str
    interrupted_import: bool


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


# --- reading the file -----------------------------------------------------------------------


class _Tap(io.RawIOBase):
    """Counts (and optionally hashes) the bytes that pass through, for progress and sha256."""

    def __init__(self, raw: Any, hasher: Any = None) -> None:
        super().__init__()
        self.raw = raw
        self.hasher = hasher
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)
        if n:
            self.count += n
            if self.hasher is not None:
                self.hasher.update(memoryview(buffer)[:n])
        return n or 0


@dataclass
class _Source:
    path: Path
    member: str | None
    file_date: date | None
    size: int
    sha256: Any  # a hashlib object, complete once the text has been read to the end
    tap: _Tap = field(repr=False)


def _sha256_of(path: Path) -> Any:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_BUFFER):
            digest.update(chunk)
    return digest


@contextmanager
def _open_source(path: Path) -> Iterator[tuple[_Source, io.BufferedReader]]:
    """The padrón text as a binary stream, from a .zip (its one .txt entry) or a .txt."""
    import zipfile

    if not path.exists():
        raise UsageError(f"no file {path}")
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give the padrón .zip or .txt file")
    if zipfile.is_zipfile(path):
        digest = _sha256_of(path)  # of the file as downloaded
        with zipfile.ZipFile(path) as archive:
            entries = [i for i in archive.infolist() if not i.is_dir()]
            texts = [i for i in entries if i.filename.lower().endswith(".txt")] or entries
            if len(texts) != 1:
                names = ", ".join(i.filename for i in entries[:5]) or "nothing"
                raise ValidationError(f"{path.name}: expected one .txt inside the zip (padron_reducido_ruc.txt), found {names}")
            entry = texts[0]
            y, m, d = entry.date_time[:3]
            try:
                stamp: date | None = date(y, m, d)
            except ValueError:
                stamp = None
            with archive.open(entry) as raw:
                tap = _Tap(raw)
                yield (_Source(path, entry.filename, stamp, entry.file_size, digest, tap),
                       io.BufferedReader(tap, READ_BUFFER))
        return
    stat = path.stat()
    try:
        raw_file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    with raw_file as raw:
        digest = hashlib.sha256()
        tap = _Tap(raw, digest)
        yield (_Source(path, None, date.fromtimestamp(stat.st_mtime), stat.st_size, digest, tap),
               io.BufferedReader(tap, READ_BUFFER))


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).upper()


def _check_header(first: bytes, name: str) -> str:
    """The text encoding to read the file with, once its header is the padrón's; else ValidationError."""
    if not first:
        raise ValidationError(f"{name}: the file is empty; expected the padrón reducido header ({'|'.join(HEADER[:3])}|...)")
    encoding = "latin-1"
    if first.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        try:
            first.decode("utf-8")
            if any(b > 0x7F for b in first):
                encoding = "utf-8"  # a re-saved copy; SUNAT's own file is ISO-8859-1
        except UnicodeDecodeError:
            pass
    line = first.decode(encoding, errors="replace").rstrip("\r\n")
    fields = line.split("|")
    if fields and fields[-1] == "":
        fields = fields[:-1]
    expected = [_fold(h) for h in HEADER]
    got = [_fold(f.strip()) for f in fields]
    if got != expected:
        shown = line if len(line) <= 120 else line[:117] + "..."
        raise ValidationError(
            f"{name}: not a padrón reducido file: the first line should be the header "
            f"{'|'.join(HEADER[:4])}|... ({len(HEADER)} fields ending in '|'), found {shown!r}"
        )
    return encoding


@dataclass
class _Tally:
    malformed: int = 0
    examples: list[tuple[int, str]] = field(default_factory=list)

    def bad(self, lineno: int, line: str) -> None:
        self.malformed += 1
        if len(self.examples) < MAX_EXAMPLES:
            text = line.rstrip("\r\n")
            self.examples.append((lineno, text if len(text) <= 160 else text[:157] + "..."))


@dataclass
class _Block:
    """Well-formed rows of one block of the file, flattened: three values per row
    (ruc, name, the rest of the line as published)."""

    flat: list[str]
    rows: int


def _blocks(text: Any, newline: str, tally: _Tally, *, block_chars: int,
            reject_nul: bool = False) -> Iterator[_Block]:
    """Parse the data lines of the padrón in blocks of about `block_chars` characters.

    This is the hot loop of a 10-million-line import, so a block is checked as a whole with
    C-level string operations (split on the line end '|' + newline, count the '|' of every
    line, one newline per line, every RUC 11 digits) and split with one str.split per line.
    Only a block that fails a check is walked line by line, to count and show its malformed
    lines with their numbers.
    """
    sep = "|" + newline
    left = ""
    lineno = 2  # the header is line 1
    repeat = itertools.repeat
    while True:
        piece = text.read(block_chars)
        data = left + piece
        if not piece:
            if not data.strip():
                return
            if not data.endswith("\n"):
                data += newline
        parts = data.split(sep)
        left = parts.pop()
        if len(left) > MAX_LINE_CHARS:
            raise ValidationError(f"line {lineno + len(parts)}: no end of line within {MAX_LINE_CHARS:,} characters; "
                                  "not a padrón reducido file (the register was not changed)")
        tail = ""
        if not piece:  # the end: text after the last '|' + newline is no line of the padrón
            tail, left = left, ""
        if not parts and not tail:
            if not piece:
                return
            continue
        n = len(parts)
        consumed = len(data) - len(left)
        fast = (
            list(map(str.count, parts, repeat("|"))).count(SEPARATORS - 1) == n
            and data.count("\n", 0, consumed) == n
            and not (reject_nul and "\x00" in data)
        )
        if fast:
            rows = [line.split("|", 2) for line in parts]
            flat = list(itertools.chain.from_iterable(rows))
            rucs = flat[0::3]
            # bytes.isdigit is ASCII-only and several times faster than str.isdigit
            fast = set(map(len, rucs)) == {11} and "".join(rucs).encode("latin-1", "replace").isdigit()
        if fast:
            lineno += n
            yield _Block(flat, n)
        elif parts:
            block, lineno = _slow_block(parts, lineno, tally, reject_nul=reject_nul)
            if block.rows:
                yield block
        if not piece:
            for line in tail.split("\n"):
                if line.strip():
                    tally.bad(lineno, line)
                lineno += 1
            return


def _slow_block(parts: list[str], lineno: int, tally: _Tally, *, reject_nul: bool) -> tuple[_Block, int]:
    """A block with some malformed line: check every line, keep the good ones."""
    flat: list[str] = []
    rows = 0
    for unit in parts:
        lines = unit.split("\n")
        # All but the last physical line of a unit lacked the trailing '|': malformed (or blank).
        for line in lines[:-1]:
            if line.strip():
                tally.bad(lineno, line)
            lineno += 1
        line = lines[-1]
        ruc = line.split("|", 1)[0]
        if (line.count("|") == SEPARATORS - 1 and len(ruc) == 11 and ruc.isascii() and ruc.isdigit()
                and not (reject_nul and "\x00" in line)):
            flat.extend(line.split("|", 2))
            rows += 1
        else:
            tally.bad(lineno, line + "|")
        lineno += 1
    return _Block(flat, rows), lineno


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
        with _open_source(path) as (source, binary):
            first = binary.readline()
            encoding = _check_header(first, path.name)
            newline = "\r\n" if first.endswith(b"\r\n") else "\n"
            text = io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline="\n")
            tally = _Tally()
            loader = _SqliteLoader(url, engine) if sqlite else _PostgresLoader(engine)
            with loader.locked():
                previous_rows, previous_sha = loader.previous()
                blocks = _blocks(text, newline, tally, block_chars=block_chars or BLOCK_CHARS, reject_nul=not sqlite)
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
                        f"{path.name}: no well-formed line after the header ({tally.malformed} malformed); "
                        "the register was not changed"
                    )
                loader.swap(report, actor)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ValidationError(f"{path.name}: the zip is damaged ({exc}); download it again "
                              "(the register was not changed)") from None
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
            raise LockHeld(f"another `cuentas padron import` is running on this database (lock {lock_path}); "
                           "the register was not changed by this one") from None
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

    def load(self, blocks: Iterator[_Block], tick: Callable[[int], None]) -> _Loaded:
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


def _load_block(cursor: Any, block: _Block) -> int:
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
                schema = conn.execute(text("SELECT current_schema()")).scalar() or "public"
                key = int.from_bytes(hashlib.sha256(f"cuentas-padron:{schema}".encode()).digest()[:8], "big", signed=True)
                if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar():
                    raise LockHeld("another `cuentas padron import` is running on this database; "
                                   "the register was not changed by this one")
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

    def load(self, blocks: Iterator[_Block], tick: Callable[[int], None]) -> _Loaded:
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


def _copy_block(cursor: Any, block: _Block) -> None:
    """One COPY (PostgreSQL) of a block into the temporary load table."""
    columns = [iter(block.flat)] * 3
    with cursor.copy("COPY ruc_registry_load (ruc, name, detail) FROM STDIN") as copy:
        for row in zip(*columns):
            copy.write_row(row)


# --- reading the register ---------------------------------------------------------------------


_COLUMNS = "ruc, name, detail"


def format_address(fields: list[str]) -> str | None:
    """The padrón's ten address fields in SUNAT's usual reading order, '-' fields left out.

    [AV., LOS PINOS, URB., SANTA ROSA, 123, 4, -, -, -, -] -> 'AV. LOS PINOS NRO. 123 INT. 4 URB. SANTA ROSA'
    """
    parts = [_clean(p) or "" for p in fields] + [""] * 10
    via_type, via_name, zone_code, zone_type, number, interior, lot, dept, block, km = parts[:10]
    words: list[str] = [p for p in (via_type, via_name) if p]
    for label, value in (("NRO.", number), ("INT.", interior), ("DPTO.", dept), ("MZA.", block),
                         ("LOTE.", lot), ("KM.", km)):
        if value:
            words.append(f"{label} {value}")
    words.extend(p for p in (zone_code, zone_type) if p)
    return " ".join(words) or None


def _latest_date(session: "Session") -> date | None:
    from sqlalchemy import text

    value = session.execute(text("SELECT file_date FROM padron_import ORDER BY id DESC LIMIT 1")).scalar()
    if isinstance(value, str):  # SQLite hands dates back as text through a raw SELECT
        return date.fromisoformat(value[:10])
    return value


def _clean(value: str | None) -> str | None:
    """Padrón text with spaces tidied and SUNAT's '-' (empty) as None."""
    if value is None:
        return None
    value = " ".join(value.split())
    return None if value in ("", "-") else value


def _entry(row: Any, padron_date: date | None) -> PadronEntry:
    fields = row[2].split("|")
    fields += [""] * (3 - len(fields))
    return PadronEntry(ruc=row[0], name=_clean(row[1]) or "", estado=_clean(fields[0]), condicion=_clean(fields[1]),
                       ubigeo=_clean(fields[2]), address=format_address(fields[3:13]), padron_date=padron_date)


def lookup(session: "Session", ruc: str) -> PadronEntry | None:
    """The register's entry for a RUC, or None; for the parties lookup chain (no permission check)."""
    from sqlalchemy import text

    ruc = ruc.strip()
    if len(ruc) != 11 or not ruc.isdigit():
        return None
    row = session.execute(text(f"SELECT {_COLUMNS} FROM {TABLE} WHERE ruc = :ruc"), {"ruc": ruc}).first()
    if row is None:
        return None
    return _entry(row, _latest_date(session))


def get(*, session: "Session", actor: Actor | None, ruc: str) -> PadronEntry:
    """`cuentas padron lookup RUC`: the entry, or NotFound naming the padrón's date."""
    from cuentas_cli.rules.identity import validate_ruc

    require(actor, "read")
    ruc = validate_ruc(ruc)
    entry = lookup(session, ruc)
    if entry is None:
        when = _latest_date(session)
        if when is None and not _has_rows(session):
            raise NotFound(f"RUC {ruc}: the padrón is not loaded; import it with `cuentas padron import padron_reducido_ruc.zip`")
        dated = f" of {when.isoformat()}" if when else ""
        raise NotFound(f"RUC {ruc} is not in the padrón{dated}")
    return entry


def _has_rows(session: "Session") -> bool:
    from sqlalchemy import text

    return session.execute(text(f"SELECT 1 FROM {TABLE} LIMIT 1")).first() is not None


_TOKEN = re.compile(r"\w+", re.UNICODE)
_ACCENTS = {"A": "AÁÀÄÂ", "E": "EÉÈËÊ", "I": "IÍÌÏÎ", "O": "OÓÒÖÔ", "U": "UÚÙÜÛ", "N": "NÑ", "C": "CÇ"}


def _tokens(query: str) -> list[str]:
    tokens = [_fold(t) for t in _TOKEN.findall(query)]
    tokens = [t for t in tokens if t]
    if not tokens:
        raise ValidationError(f"search text {query!r} has no letters or digits to search for")
    return tokens[:8]


def _pg_word_regex(token: str) -> str:
    """A case- and accent-insensitive regex for a word starting with `token` (PostgreSQL ~*)."""
    out = ["\\m"]
    for char in token:
        variants = _ACCENTS.get(char)
        if variants:
            out.append("[" + variants + variants.lower() + "]")
        elif char.isalnum():
            out.append(char)
        else:
            out.append("\\" + char)
    return "".join(out)


def search(*, session: "Session", actor: Actor | None, query: str, limit: int = 20) -> list[PadronEntry]:
    """Names with a word starting with each term of `query` (accents and case ignored), in RUC order.

    SQLite: the FTS5 index built by the import. PostgreSQL: a case-insensitive word regex,
    which the trigram index (pg_trgm) serves when the extension was available.
    """
    from sqlalchemy import text

    require(actor, "read")
    if limit < 1:
        raise ValidationError("--limit must be at least 1")
    tokens = _tokens(query)
    when = _latest_date(session)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        has_fts = session.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"), {"n": FTS}
        ).first()
        if has_fts:
            match = " ".join(f'"{t}"*' for t in tokens)
            rows = session.execute(
                text(f"SELECT {_COLUMNS} FROM {TABLE} WHERE ruc IN (SELECT CAST(rowid AS TEXT) FROM {FTS} "
                     f"WHERE {FTS} MATCH :match ORDER BY rowid LIMIT :limit) ORDER BY ruc"),
                {"match": match, "limit": limit},
            ).all()
        else:  # no import yet: a plain scan of whatever the table holds
            where = " AND ".join(f"(' ' || upper(name)) LIKE :t{i}" for i in range(len(tokens)))
            params: dict[str, Any] = {f"t{i}": f"% {t}%" for i, t in enumerate(tokens)}
            rows = session.execute(
                text(f"SELECT {_COLUMNS} FROM {TABLE} WHERE {where} ORDER BY ruc LIMIT :limit"), {**params, "limit": limit}
            ).all()
    else:
        where = " AND ".join(f"name ~* :t{i}" for i in range(len(tokens)))
        params = {f"t{i}": _pg_word_regex(t) for i, t in enumerate(tokens)}
        rows = session.execute(
            text(f"SELECT {_COLUMNS} FROM {TABLE} WHERE {where} ORDER BY ruc LIMIT :limit"), {**params, "limit": limit}
        ).all()
    return [_entry(r, when) for r in rows]


def status(*, session: "Session", actor: Actor | None, today: date) -> PadronStatus:
    """What is loaded: the last import's file, date, age, counts, and the search index in use."""
    from sqlalchemy import text

    from cuentas_cli.db.models import PadronImport, User

    require(actor, "read")
    last = session.execute(
        text("SELECT id FROM padron_import ORDER BY id DESC LIMIT 1")
    ).scalar()
    row = session.get(PadronImport, last) if last is not None else None
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        names = {r[0] for r in session.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (:a, :b)"), {"a": FTS, "b": STAGING})}
        index = "fts5" if FTS in names else "none"
        interrupted = STAGING in names
    else:
        found = session.execute(text("SELECT to_regclass(:n)"), {"n": TRGM_INDEX}).scalar()
        index = "trigram" if found else "regex scan"
        interrupted = False  # an interrupted import on PostgreSQL is rolled back by the server
    if row is None:
        count = int(session.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar() or 0)
        return PadronStatus(loaded=count > 0, row_count=count, file_name=None, file_date=None, age_days=None,
                            sha256=None, malformed_count=None, duplicate_count=None, imported_at=None,
                            imported_by=None, search_index=index, interrupted_import=interrupted)
    user = session.get(User, row.imported_by) if row.imported_by else None
    return PadronStatus(
        loaded=True, row_count=row.row_count, file_name=row.file_name, file_date=row.file_date,
        age_days=(today - row.file_date).days if row.file_date else None, sha256=row.sha256,
        malformed_count=row.malformed_count, duplicate_count=row.duplicate_count, imported_at=row.imported_at,
        imported_by=user.username if user else None, search_index=index, interrupted_import=interrupted,
    )
