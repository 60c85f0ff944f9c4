"""The export's rows: one streamed query over the filtered invoices, each row as the export's
columns (the balance by the ledger's rule, the status as of today), and the CSV and JSON writers
that write them line by line.

Text cells that a spreadsheet would run as a formula (starting with = + - @, tab or CR) are
neutralised with a leading apostrophe (`textsafe.neutralise`, one rule for every CSV/XLSX text
cell the program writes, listings included); the importer removes that apostrophe again, so an
export imports back to the same invoices.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from datetime import date
from typing import IO, TYPE_CHECKING, Any

from cuentas_cli.ledger import balances
from cuentas_cli.ledger.balances import balance_cents
from cuentas_cli.ledger.statuses import status_for
from cuentas_cli.rules.dates import as_date
from cuentas_cli.rules.invoice_columns import INVOICE_COLUMNS
from cuentas_cli.textsafe import neutralise

if TYPE_CHECKING:
    from sqlmodel import Session

# Column name -> kind of value. The names are the keys of an invoice in JSON and headers the
# importer recognises, so an export can be imported back (a workbook's headers for people are
# in rules/invoice_columns.py, which the importer knows too).
COLUMNS: tuple[tuple[str, str], ...] = tuple((key, kind) for key, kind, _label in INVOICE_COLUMNS)


def money_text(cents: int | None) -> str:
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


# --- the query -------------------------------------------------------------------------------
# The rows and the summary read the invoices `invoices.invoice_conditions` selects: the same
# filters, checks and messages as `invoices list`.

STREAM_CHUNK = 5000


def invoice_rows(session: "Session", conditions: list[Any]) -> Iterator[tuple]:
    from sqlalchemy import select

    from cuentas_cli.db.tables import invoice, party

    # Core tables: the conditions come from listing.invoice_conditions, over the same ones.
    Invoice, Party = invoice.c, party.c
    referenced = invoice.alias("ref")
    ref = referenced.c
    query = (
        select(
            Invoice.id, Invoice.direction, Party.doc_type, Party.doc_number, Party.name, Invoice.doc_type,
            Invoice.serie, Invoice.numero, Invoice.issue_date, Invoice.due_date, Invoice.currency,
            Invoice.exchange_rate_e4, Invoice.base_cents, Invoice.igv_cents, Invoice.total_cents,
            Invoice.detraccion_bp, Invoice.detraccion_cents, Invoice.paid_cents, Invoice.adjust_cents,
            Invoice.status, Invoice.description, ref.doc_type, ref.serie, ref.numero,
            # an invoice in cuotas falls overdue with the earliest cuota it still owes
            *([balances.next_due(Invoice)] if balances.has_cuotas(session) else []),
        )
        .join(party, Party.id == Invoice.party_id)
        .outerjoin(referenced, ref.id == Invoice.references_id)
        .where(*conditions)
        .order_by(Invoice.due_date, Invoice.id)
    )
    # Core execution on the session's connection, streamed (a server-side cursor on PostgreSQL).
    connection = session.connection().execution_options(stream_results=True, yield_per=STREAM_CHUNK)
    for chunk in connection.execute(query).partitions(STREAM_CHUNK):
        yield from chunk


def count_rows(session: "Session", conditions: list[Any]) -> int:
    """How many invoices `invoice_rows` yields for `conditions` (every invoice has its party)."""
    from sqlalchemy import func, select

    from cuentas_cli.db.tables import invoice

    return int(session.connection().execute(select(func.count()).select_from(invoice).where(*conditions)).scalar_one())


# Rows done / total (None when not counted): how a writer's progress reaches the caller, who may
# draw it; called every PROGRESS_EVERY rows and once at the end.
Progress = Callable[[int, "int | None"], None]
PROGRESS_EVERY = 1000


def reporting(rows: Iterator[tuple], progress: Progress, total: int | None) -> Iterator[tuple]:
    """`rows` unchanged, telling `progress` how many have been taken (a PDF past --max-rows
    takes the rest too, to count them)."""
    done = 0
    progress(0, total)
    for row in rows:
        yield row
        done += 1
        if done % PROGRESS_EVERY == 0:
            progress(done, total)
    progress(done, total)


def plain_values(row: tuple, today: date) -> list[Any]:
    """One query row as the export's columns, with céntimos still as integers and the status
    as of `today` (the rule of `statuses.status_for`, as `invoices list` shows it)."""
    (iid, direction, pdt, pdoc, pname, dtype, serie, numero, issued, due, currency, rate, base, igv, total, det_bp,
     det_cents, paid, adjust, stored, description, rtype, rserie, rnum) = row[:24]
    balance = balance_cents(doc_type=dtype, status=stored, total_cents=total, adjust_cents=adjust, paid_cents=paid)
    falls_due = as_date(row[24]) if len(row) > 24 and row[24] is not None else as_date(due)
    status = status_for(total_cents=total, adjust_cents=adjust, paid_cents=paid, due_date=falls_due, today=today,
                        current=stored)
    return [iid, "cxc" if direction == "receivable" else "cxp", pdt, pdoc, pname, dtype, serie, numero, issued, due,
            currency, rate, base, igv, total, det_bp, det_cents, paid, balance, status, description, rtype, rserie, rnum]


def write_csv(handle: IO[str], rows: Iterator[tuple], today: date) -> int:
    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerow([name for name, _ in COLUMNS])
    count = 0
    for row in rows:
        values = plain_values(row, today)
        out = []
        for (name, kind), value in zip(COLUMNS, values):
            if value is None:
                out.append("")
            elif kind == "money":
                out.append(money_text(value))
            elif kind == "rate":
                out.append(f"{value // 10000}.{value % 10000:04d}")
            elif kind == "pct":
                out.append(f"{value // 100}.{value % 100:02d}")
            elif kind == "date":
                out.append(str(value)[:10])
            elif kind == "text":
                out.append(neutralise(str(value)))
            else:
                out.append(value)
        writer.writerow(out)
        count += 1
    return count


def write_json(handle: IO[str], rows: Iterator[tuple], today: date) -> int:
    handle.write("[")
    count = 0
    for row in rows:
        values = plain_values(row, today)
        item: dict[str, Any] = {}
        for (name, kind), value in zip(COLUMNS, values):
            if value is None:
                item[name] = None
            elif kind == "money":
                item[name] = money_text(value)
            elif kind == "rate":
                item[name] = f"{value // 10000}.{value % 10000:04d}"
            elif kind == "pct":
                item[name] = f"{value // 100}.{value % 100:02d}"
            elif kind == "date":
                item[name] = str(value)[:10]
            else:
                item[name] = value
        handle.write(("\n  " if count == 0 else ",\n  ") + json.dumps(item, ensure_ascii=False))
        count += 1
    handle.write("\n]\n" if count else "]\n")
    return count
