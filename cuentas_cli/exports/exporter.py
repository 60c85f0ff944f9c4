"""Export invoices, filtered as `invoices list` filters them, to XLSX (typed cells, a Summary
sheet with aging and cash-flow tables and native Excel charts), CSV (UTF-8 with BOM), JSON and
PDF (a printable report): the entry point that checks the format and the target and hands the
rows to one writer.

Rows are streamed from one query and written as they come (`tabular`): XLSX through
xlsxwriter's constant_memory mode (`xlsx`), CSV and JSON line by line. Each row's balance is the
ledger's rule (`balances.balance_cents`: 0 for notes and ANULADA). The Summary sheet and the
PDF's figures (`summary`) come from the same report functions as `cuentas dashboard`
(`reports.open_balances.ledger`, `fold_aging`, `fold_cashflow`, as of today, 8 weeks), restricted
to the export's filters, so with the same filters they equal `cuentas dashboard --format json`
figure for figure. Text cells that a spreadsheet would run as a formula (starting with
= + - @, tab or CR) are neutralised with a leading apostrophe in CSV and XLSX; the importer
removes that apostrophe again, so an export imports back to the same invoices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING

from cuentas_cli import outputs
from cuentas_cli.errors import UsageError
from cuentas_cli.outputs import DEFAULT_MODE, Target
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.exports.pdf import write_pdf
from cuentas_cli.exports.summary import Summary, summary
from cuentas_cli.exports.tabular import invoice_rows, write_csv, write_json
from cuentas_cli.exports.xlsx import write_xlsx
from cuentas_cli.ledger.listing import InvoiceFilter, invoice_conditions

if TYPE_CHECKING:
    from sqlmodel import Session

FORMATS = ("xlsx", "csv", "json", "pdf")


@dataclass
class ExportResult:
    path: str | None
    format: str
    rows: int
    summary: Summary | None = field(default=None, repr=False)


def export(*, session: "Session", actor: Actor | None, filters: InvoiceFilter, today: date, fmt: str,
           output: "Path | Target | None", stream: IO[str] | None = None, company: str = "",
           buckets: list[int] | None = None, mode: int = DEFAULT_MODE) -> ExportResult:
    """Write the filtered invoices as `fmt` to `output` or, for csv/json, to `stream`.

    `output` follows the rules of cuentas_cli.outputs (never the database, a symlink or a
    folder; an existing file is replaced atomically, with `mode`)."""
    require(actor, "export")
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    conditions = invoice_conditions(session, today=today, filters=filters)
    buckets = buckets or [30, 60, 90, 120]
    if output is None:
        if fmt not in ("csv", "json") or stream is None:
            raise UsageError("give --output FILE (.xlsx, .csv, .pdf, .json) or --format csv|json for standard output")
        rows = invoice_rows(session, conditions)
        count = write_csv(stream, rows, today) if fmt == "csv" else write_json(stream, rows, today)
        return ExportResult(None, fmt, count)
    target = outputs.ensure(output, option="--output", session=session)
    info = None
    if fmt in ("xlsx", "pdf"):
        info = summary(session, filters=filters, conditions=conditions, today=today, buckets=buckets,
                       company=company, filters_text=filters.describe())
    with outputs.replacing(target, mode=mode) as tmp:
        rows = invoice_rows(session, conditions)
        if fmt == "xlsx":
            count = write_xlsx(tmp, rows, info, today)
        elif fmt == "pdf":
            count = write_pdf(tmp, rows, info, today)
        else:
            with tmp.open("w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") as handle:
                count = write_csv(handle, rows, today) if fmt == "csv" else write_json(handle, rows, today)
    return ExportResult(str(target.path), fmt, count, info)
