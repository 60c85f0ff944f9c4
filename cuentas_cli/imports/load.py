"""Loading: validated records into `invoice`, through a staging table, in the import's one
transaction.

PostgreSQL stages the validated rows with COPY into a temp table and moves them with ONE
INSERT ... SELECT ... ON CONFLICT at the end (the work of the benchmark's psql floor). SQLite
stages and moves chunk by chunk on a second thread (_SqliteMover). Memory stays flat either
way, and the import is one transaction either way.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from cuentas_cli.imports.context import Job, sqlite_ts
from cuentas_cli.imports.updates import UPDATABLE
from cuentas_cli.ledger.statuses import STATUS_CASE

# The invoice columns a staged row fills.
_COLUMNS = ("direction", "party_id", "doc_type", "serie", "numero", "issue_date", "due_date", "currency",
            "exchange_rate_e4", "base_cents", "igv_cents", "total_cents", "detraccion_bp", "detraccion_cents",
            "retencion_cents", "description", "status")
_STAGE = "cuentas_import_stage"
# A credit or debit note's own adjust_cents, as `invoices add` sets it: minus its total, so the
# note never carries a balance (its amount moves the invoice it references; notes.Notes.link).
_NOTE_ADJUST = "CASE WHEN doc_type IN ('07', '08') THEN -total_cents ELSE 0 END"
_STAGE_COLUMNS = (
    "row_no integer, direction text, party_id integer, doc_type text, serie text, numero integer, issue_date date, "
    "due_date date, currency text, exchange_rate_e4 integer, base_cents bigint, igv_cents bigint, total_cents bigint, "
    "detraccion_bp integer, detraccion_cents bigint, retencion_cents bigint, description text, status text"
)


class Loader:
    """Stages the records of each chunk and moves them into `invoice`; counts what was new,
    updated or already there."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.stage_ready = False
        self.written = 0
        self.mover: _SqliteMover | None = None
        self.iso: dict[date, str] = {}

    def write(self, rows: list[tuple]) -> None:
        """(row number, party id, record, cells) of a checked chunk -> the staging table."""
        if self.job.sqlite:
            self._write_sqlite(rows)
        else:
            self._write_postgres(rows)

    stage_name = _STAGE

    def discard(self, rows: set[int]) -> None:
        """PostgreSQL: take these file rows out of the staging table before the move."""
        from sqlalchemy import bindparam, text

        self.job.session.execute(text(f"DELETE FROM {_STAGE} WHERE row_no IN :rows")
                                 .bindparams(bindparam("rows", expanding=True)), {"rows": sorted(rows)})
        self.written -= len(rows)

    def close(self) -> None:
        """After an error: stop the mover before the rollback."""
        if self.mover is not None:
            self.mover.close(quiet=True)

    def conflict_clause(self) -> str:
        if self.job.options.on_duplicate != "update":
            return "DO NOTHING"
        sets = ", ".join(f"{c} = excluded.{c}" for c in UPDATABLE)
        distinct = "IS NOT" if self.job.sqlite else "IS DISTINCT FROM"
        differs = " OR ".join(f"invoice.{c} {distinct} excluded.{c}" for c in UPDATABLE)
        # check_edit refused every change of an ANULADA document already; the guard keeps it so.
        return f"DO UPDATE SET {sets}, updated_at = excluded.updated_at WHERE invoice.status <> 'ANULADA' AND ({differs})"

    def _create_stage(self) -> None:
        from sqlalchemy import text

        self.job.session.execute(text(
            f"CREATE TEMP TABLE {_STAGE} ({_STAGE_COLUMNS}) ON COMMIT DROP"
        ))
        self.stage_ready = True

    def _write_sqlite(self, rows: list[tuple]) -> None:
        if self.mover is None:
            self.mover = _SqliteMover(self.job.dbapi, columns=_COLUMNS, conflict=self.conflict_clause(),
                                      move_params=(self.job.actor.user_id if self.job.actor else None,
                                                   sqlite_ts(self.job.stamp), sqlite_ts(self.job.stamp)),
                                      defer_indexes=not self.job.max_before)
            self.stage_ready = True
        iso = self.iso
        params = []
        for row_no, pid, r, _ in rows:
            issued, due = iso.get(r[7]), iso.get(r[8])
            if issued is None:
                issued = iso[r[7]] = r[7].isoformat()
            if due is None:
                due = iso[r[8]] = r[8].isoformat()
            params.append((row_no, r[0], pid, r[4], r[5], r[6], issued, due, r[9], r[10], r[11], r[12], r[13], r[14],
                           r[15], r[21], r[16], r[18] if r[17] is None else "PAGADA"))  # a note carries no balance
        self.mover.stage(params)
        self.written += len(params)

    def _write_postgres(self, rows: list[tuple]) -> None:
        if not self.stage_ready:
            self._create_stage()
        conn = self.job.dbapi
        with conn.cursor() as cur:
            with cur.copy(f"COPY {_STAGE} FROM STDIN") as copy:
                for row_no, pid, r, _ in rows:
                    copy.write_row((row_no, r[0], pid, r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
                                    r[14], r[15], r[21], r[16], r[18] if r[17] is None else "PAGADA"))  # a note: no balance
        self.written += len(rows)

    def finish(self) -> None:
        from sqlalchemy import text

        update = self.job.options.on_duplicate == "update"
        if self.stage_ready:
            if self.mover is not None:
                self.mover.close()
                # Counted, not summed from rowcount: with statements of two threads on one
                # connection, a statement's change count can be read after the other's.
                new = self.job.session.execute(text("SELECT COUNT(*) FROM invoice WHERE id > :m"),
                                               {"m": self.job.max_before}).scalar_one()
                updated = 0 if not update else self.job.session.execute(
                    text("SELECT COUNT(*) FROM invoice WHERE id <= :m AND updated_at = :stamp"),
                    {"m": self.job.max_before, "stamp": sqlite_ts(self.job.stamp)}).scalar_one()
                changed = new + updated
            else:
                cols = ", ".join(_COLUMNS)
                insert = (
                    f"INSERT INTO invoice ({cols}, paid_cents, adjust_cents, created_by, created_at, "
                    f"updated_at) SELECT {cols}, 0, {_NOTE_ADJUST}, :user, :stamp, :stamp FROM {_STAGE} "
                    f"ORDER BY row_no ON CONFLICT (direction, party_id, doc_type, serie, numero) {self.conflict_clause()}"
                )
                changed = self.job.session.execute(
                    text(insert), {"user": self.job.actor.user_id if self.job.actor else None, "stamp": self.job.stamp}
                ).rowcount
                new = changed
                if update:
                    new = self.job.session.execute(text("SELECT COUNT(*) FROM invoice WHERE id > :m"),
                                                   {"m": self.job.max_before}).scalar_one()
            self.job.result.updated += changed - new
            self.job.result.new += new
            self.job.result.skipped += self.written - changed
            if not self.job.sqlite:
                self.job.session.execute(text(f"DROP TABLE {_STAGE}"))
        if self.job.options.on_duplicate == "update" and self.job.result.updated:
            # Updated rows kept their payments: recompute their status with the one rule.
            stamp = sqlite_ts(self.job.stamp) if self.job.sqlite else self.job.stamp
            self.job.session.execute(
                text(f"UPDATE invoice SET status = {STATUS_CASE} WHERE updated_at = :stamp AND id <= :m "
                     f"AND status <> 'ANULADA' AND status <> ({STATUS_CASE})"),
                {"today": self.job.today, "stamp": stamp, "m": self.job.max_before},
            )


_QUEUED_CHUNKS = 2  # chunks handed to the SQLite writer thread and not yet written


class _SqliteMover:
    """Writes each chunk into `invoice` on a second thread while the main thread converts the
    next chunks.

    The thread stages the chunk into a temp table with multi-row INSERTs (a few statements per
    chunk, so it takes the GIL a few times, not once per row) and moves it into `invoice` with
    one INSERT ... SELECT; SQLite releases the GIL while a statement runs, so on two cores the
    index work overlaps the conversion (pure Python). Both threads use the import's one
    connection (SQLite serialises calls on a connection; Python's sqlite3 here is threadsafety
    3), so the import stays ONE transaction. At most two chunks are queued; an error surfaces
    at the next stage() or at close(). The caller counts what was written (rowcount would race).
    """

    _TABLE = "temp.cuentas_import_stage"

    def __init__(self, dbapi: Any, *, columns: tuple[str, ...], conflict: str, move_params: tuple,
                 defer_indexes: bool = False) -> None:
        import sqlite3
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        self.dbapi = dbapi
        self.deferred: list[str] = []  # CREATE INDEX statements to run again in close()
        cur = self.dbapi.cursor()
        try:
            # A bigger page cache (32 MiB) while the invoice indexes grow (the default 2 MiB
            # makes SQLite spill and re-read pages); reset in close().
            cur.execute("PRAGMA cache_size = -32768")
            cur.execute(f"DROP TABLE IF EXISTS {self._TABLE}")
            cur.execute(f"CREATE TEMP TABLE {self._TABLE.removeprefix('temp.')} ({_STAGE_COLUMNS})")
            if defer_indexes:
                self._drop_secondary_indexes(cur)
        finally:
            cur.close()
        width = _STAGE_COLUMNS.count(",") + 1
        self.batch = max(1, self.dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width)
        self.row_marks = "(" + ", ".join("?" * width) + ")"
        cols = ", ".join(columns)
        # "WHERE true" lets SQLite tell the upsert's ON from a join's ON; a staging table is
        # read in insertion (= file) order.
        self.move = (
            f"INSERT INTO invoice ({cols}, paid_cents, adjust_cents, created_by, created_at, updated_at) "
            f"SELECT {cols}, 0, {_NOTE_ADJUST}, ?, ?, ? FROM {self._TABLE} WHERE true "
            f"ON CONFLICT (direction, party_id, doc_type, serie, numero) {conflict}"
        )
        self.move_params = move_params
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cuentas-import")
        self.queued: deque = deque()
        self.closed = False

    def _drop_secondary_indexes(self, cur: Any) -> None:
        """Into an empty `invoice`, the non-unique indexes are dropped here and built once in
        close(): sorting the loaded rows once is cheaper than growing six B-trees row by row
        (about 0.5 s of a 100k-row import). The unique key stays, as the move's ON CONFLICT
        needs it. Inside the import's transaction: a failed import's rollback puts them back."""
        found = cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'invoice' "
                            "AND sql IS NOT NULL").fetchall()
        for name, sql in found:
            if sql.lstrip().upper().startswith("CREATE UNIQUE"):
                continue
            cur.execute(f'DROP INDEX "{name}"')
            self.deferred.append(sql)

    def stage(self, params: list[tuple]) -> None:
        """Queue a chunk of staging rows (the caller hands the list over)."""
        if not params:
            return
        while len(self.queued) >= _QUEUED_CHUNKS:
            self.queued.popleft().result()
        self.queued.append(self.pool.submit(self._write, params))

    def _write(self, params: list[tuple]) -> None:
        import itertools

        cur = self.dbapi.cursor()
        try:
            for start in range(0, len(params), self.batch):
                part = params[start:start + self.batch]
                cur.execute(f"INSERT INTO {self._TABLE} VALUES " + ", ".join([self.row_marks] * len(part)),
                            list(itertools.chain.from_iterable(part)))
            cur.execute(self.move, self.move_params)
            cur.execute(f"DELETE FROM {self._TABLE}")
        finally:
            cur.close()

    def close(self, *, quiet: bool = False) -> None:
        """Finish the queued chunks and drop the staging table."""
        if self.closed:
            return
        self.closed = True
        try:
            while self.queued:
                self.queued.popleft().result()
            cur = self.dbapi.cursor()
            try:
                cur.execute("PRAGMA cache_size = -2000")
                if not quiet and self.deferred:  # after an error the rollback restores the dropped indexes
                    # With the default cache the sorter spills sorted runs and merges them on
                    # helper threads: the 12-column open-invoice index of 100k rows built in
                    # 0.2 s instead of 0.35 s (32 MiB cache, one thread).
                    cur.execute("PRAGMA threads = 2")
                    try:
                        for sql in self.deferred:
                            cur.execute(sql)
                    finally:
                        cur.execute("PRAGMA threads = 0")
                cur.execute(f"DROP TABLE IF EXISTS {self._TABLE}")
            finally:
                cur.close()
        except Exception:
            if not quiet:
                raise
        finally:
            for future in self.queued:
                future.cancel()
            self.pool.shutdown(wait=True)

