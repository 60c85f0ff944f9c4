"""The database side of `payments import`, a chunk of rows at a time: the invoices the rows name
(by id, or by the serie-número index), the payments already recorded on them (read once per
invoice), `invoices pay`'s checks in the file's order, and the writes, all straight through the
driver in the caller's transaction: a few raw SELECTs per chunk (SQLAlchemy's compiling and row
objects were a third of a 100k-row import), one executemany of payments per chunk, one of the
invoices' paid amounts and statuses at the end. Memory holds a few integers per invoice touched, not
the file."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import date
from sqlite3 import sqlite_version_info
from typing import Any

from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import _
from cuentas_cli.imports.context import Job, sqlite_ts
from cuentas_cli.imports.values import RowError
from cuentas_cli.ledger import statuses
from cuentas_cli.ledger.payments import InvoiceState as Inv
from cuentas_cli.ledger.payments import check_payable, check_payment, new_status, state_query
from cuentas_cli.ledger.records import document_label

CHUNK_ROWS = 10_000
_CACHE_KIB = 16384
_MAX_PARAMETERS = 30_000  # per SQLite read (its limit is 32766 since 3.32, 999 before)
_INSERT = ("INSERT INTO payment (invoice_id, paid_on, amount_cents, method, reference, recorded_by, created_at) "
           "VALUES ({0}, {0}, {0}, {0}, {0}, {0}, {0})")
_UPDATE = "UPDATE invoice SET paid_cents = {0}, status = {0}, updated_at = {0} WHERE id = {0}"


class Recorder:
    def __init__(self, job: Job) -> None:
        self.job = job
        self.sqlite = job.sqlite
        self.dbapi = job.dbapi
        mark = "?" if self.sqlite else "%s"
        self.insert_sql, self.update_sql = _INSERT.format(mark), _UPDATE.format(mark)
        self.by_id: dict[int, Inv] = {}
        self.by_doc: dict[tuple[str, int], list[Inv]] = {}
        self.docs_read: set[tuple[str, int]] = set()
        self.ids_read: set[int] = set()
        self.recorded: Counter = Counter()  # payments in the database, as (invoice, date, céntimos, method, reference)
        self.recorded_for: set[int] = set()
        self.balance: dict[int, int] = {}
        self.added: dict[int, int] = {}
        now = job.stamp
        self.now = sqlite_ts(now) if self.sqlite else now
        self.user_id = job.actor.user_id if job.actor else None
        self.days: dict[str, date] = {}
        # The reads of every chunk as raw SQL (InvoiceState's columns from state_query, compiled once),
        # by the invoices' ids, by serie-número (ix_invoice_serie_numero) and the payments on them.
        among = "IN {among}" if self.sqlite else "= ANY(%s)"
        state = str(state_query().compile(dialect=job.dialect))
        lock = "" if self.sqlite else " FOR UPDATE OF invoice"  # held to the end of the import's transaction
        self.by_id_sql = f"{state} WHERE invoice.id {among}{lock}"
        self.by_doc_sql = f"{state} WHERE invoice.serie = {mark} AND invoice.numero {among}{lock}"
        self.paid_sql = ("SELECT invoice_id, paid_on, amount_cents, method, reference FROM payment "
                         f"WHERE invoice_id {among}")
        self.variables = (min(_MAX_PARAMETERS, self.dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
                          if self.sqlite else 0)
        if self.sqlite:
            # A bigger page cache while the import reads invoices all over the table and rewrites
            # them (the default 2 MiB re-reads pages from the file); reset by close().
            self.dbapi.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")

    # -- reading ----------------------------------------------------------------------------

    def _select(self, sql: str, key: Any, values: list[int]) -> Iterator[tuple]:
        """The rows of `sql` (ending in `... IN {among}` or `... = ANY(%s)`) for `key` (a leading
        parameter, or None) and each of `values`: raw driver rows, one statement per few thousand
        values on SQLite (placeholders up to its variable limit), one on PostgreSQL (an array)."""
        lead = () if key is None else (key,)
        with self._cursor() as cursor:
            if not self.sqlite:
                cursor.execute(sql, (*lead, values))
                yield from cursor
                return
            step = max(1, self.variables - len(lead))
            for start in range(0, len(values), step):
                part = values[start:start + step]
                cursor.execute(sql.format(among="(" + ",".join("?" * len(part)) + ")"), (*lead, *part))
                yield from cursor

    def _read(self, rows: list) -> None:
        ids = sorted({r.invoice_id for r in rows if r.invoice_id is not None} - self.ids_read)
        self.ids_read.update(ids)
        by_serie: dict[str, list[int]] = {}
        docs_read = self.docs_read
        for r in rows:
            if r.invoice_id is None and (r.serie, r.numero) not in docs_read:
                docs_read.add((r.serie, r.numero))
                by_serie.setdefault(r.serie, []).append(r.numero)
        reads = [self._select(self.by_id_sql, None, ids)] if ids else []
        reads += [self._select(self.by_doc_sql, serie, sorted(set(numeros))) for serie, numeros in by_serie.items()]
        by_id, by_doc, day = self.by_id, self.by_doc, self._day
        for read in reads:
            for found in read:
                if found[0] in by_id:
                    continue  # read with an earlier chunk
                inv = Inv(*found[:9], day(found[9]), day(found[10]), *found[11:])
                by_id[inv.id] = inv
                by_doc.setdefault((inv.serie, inv.numero), []).append(inv)
        self._read_payments()

    def _day(self, value: Any) -> date:
        """A date column as a date (SQLite gives its text; a file pays a few hundred distinct days)."""
        if value.__class__ is not str:
            return value
        found = self.days.get(value)
        if found is None:
            found = self.days[value] = date.fromisoformat(value)
        return found

    def _read_payments(self) -> None:
        new = sorted(set(self.by_id) - self.recorded_for)
        if not new:
            return
        self.recorded_for.update(new)
        day = self._day
        self.recorded.update((r[0], day(r[1]), *r[2:]) for r in self._select(self.paid_sql, None, new))

    def _target(self, row: Any) -> Inv:
        job = self.job
        if row.invoice_id is not None:
            inv = self.by_id.get(row.invoice_id)
            if inv is None:
                raise RowError(job.column("invoice_id"), row.invoice_id, _("no invoice with this id"))
            return inv
        label = document_label(row.serie, row.numero)
        candidates = self.by_doc.get((row.serie, row.numero), [])
        if row.party_doc:
            candidates = [c for c in candidates if c.party_doc == row.party_doc]
        if row.direction:
            candidates = [c for c in candidates if c.direction == row.direction]
        if not candidates:
            raise RowError(job.column("document"), label, _("no invoice {label}{of}").format(
                label=label, of=_(" of {doc}").format(doc=row.party_doc) if row.party_doc else ""))
        if len(candidates) > 1:
            which = "; ".join(f"{'cxc' if c.direction == 'receivable' else 'cxp'} {c.party_doc}" for c in candidates)
            raise RowError(job.column("document"), label,
                           _("names {n} invoices ({which}): add a RUC/DNI or a kind (cxc/cxp) column, or give the "
                             "invoice id").format(n=len(candidates), which=which))
        return candidates[0]

    # -- a chunk --------------------------------------------------------------------------

    def chunk(self, rows: list) -> None:
        """Check and write one chunk of rows, in the file's order."""
        if not rows:
            return
        job = self.job
        self._read(rows)
        result, today = job.result, job.today
        params: list[tuple] = []
        for row in rows:
            try:
                inv = self._target(row)
            except RowError as exc:
                job.error(row.row_no, exc.column, exc.value, exc.message, row.cells)
                continue
            reference = row.reference or None
            key = (inv.id, row.paid_on, row.cents, row.method, reference)
            if self.recorded[key] > 0:  # the same payment is already in the books: this row is it
                self.recorded[key] -= 1
                result.skipped += 1
                continue
            balance = self.balance.get(inv.id)
            if balance is None:
                balance = inv.total_cents + inv.adjust_cents - inv.paid_cents
            try:
                if row.currency and row.currency != inv.currency:
                    raise ValidationError(_("{label} is in {currency}; this payment says {given}")
                                          .format(label=document_label(inv.serie, inv.numero), currency=inv.currency,
                                                  given=row.currency))
                check_payable(inv)
                check_payment(inv, balance=balance, cents=row.cents, paid_on=row.paid_on, today=today,
                              reference=reference)
            except ValidationError as exc:
                job.error(row.row_no, job.column("amount"), row.cells[job.pos["amount"]], exc.message, row.cells)
                continue
            self.balance[inv.id] = balance - row.cents
            self.added[inv.id] = self.added.get(inv.id, 0) + row.cents
            paid_on = row.paid_on.isoformat() if self.sqlite else row.paid_on
            params.append((inv.id, paid_on, row.cents, row.method, reference, self.user_id, self.now))
        result.new += len(params)
        if params and not (job.all_errors_count and not job.options.partial):
            # (a rejected atomic import writes nothing more: its transaction is rolled back anyway)
            with self._cursor() as cursor:
                cursor.executemany(self.insert_sql, params)

    def finish(self) -> None:
        """Each invoice paid: its paid amount and its status as `invoices pay` would leave it."""
        job = self.job
        if not self.added or (job.all_errors_count and not job.options.partial):
            return
        changes = []
        for invoice_id, cents in self.added.items():
            inv = self.by_id[invoice_id]
            paid = inv.paid_cents + cents
            changes.append((paid, new_status(inv, paid_cents=paid, today=job.today), self.now, invoice_id))
        with self._cursor() as cursor:
            if self.sqlite and sqlite_version_info >= (3, 33):
                # One UPDATE ... FROM over a temporary table: a third faster than a statement per
                # invoice on 100k invoices (the covering open-invoice index is rewritten either way).
                cursor.execute("CREATE TEMP TABLE IF NOT EXISTS payments_import_paid "
                               "(paid INTEGER, status TEXT, at TEXT, id INTEGER PRIMARY KEY)")
                cursor.execute("DELETE FROM payments_import_paid")
                cursor.executemany("INSERT INTO payments_import_paid VALUES (?, ?, ?, ?)", changes)
                cursor.execute("UPDATE invoice SET paid_cents = t.paid, status = t.status, updated_at = t.at "
                               "FROM payments_import_paid t WHERE invoice.id = t.id")
                cursor.execute("DROP TABLE payments_import_paid")
            else:
                cursor.executemany(self.update_sql, changes)
        # Invoices in cuotas fall overdue with their earliest open cuota: one set-based pass.
        statuses.refresh(job.session, today=job.today, only_cuotas=True)

    def close(self) -> None:
        """The connection's page cache back to SQLite's default (the connection may be pooled)."""
        if self.sqlite:
            self.dbapi.execute("PRAGMA cache_size = -2000")

    def _cursor(self) -> Any:
        from contextlib import closing

        return closing(self.dbapi.cursor())
