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
from cuentas_cli.exports.pdf import MAX_ROWS, write_pdf
from cuentas_cli.exports.summary import Summary, summary
from cuentas_cli.exports.tabular import Progress, count_rows, invoice_rows, reporting, write_csv, write_json
from cuentas_cli.exports.xlsx import write_xlsx
from cuentas_cli.ledger.listing import InvoiceFilter, invoice_conditions
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

FORMATS = ("xlsx", "csv", "json", "pdf")


@dataclass
class ExportResult:
    path: str | None
    format: str
    rows: int  # invoices the filters selected
    summary: Summary | None = field(default=None, repr=False)
    listed: int | None = None  # invoices written, when fewer than `rows` (a PDF cut at max_rows)

    @property
    def left_out(self) -> int:
        return 0 if self.listed is None else self.rows - self.listed


def check_max_rows(fmt: str, max_rows: int | None) -> int:
    """--max-rows is the PDF's (a report, not a dump): 0 or more, and only with a PDF. Returns the
    limit to use (0 = every row), the PDF's default when not given."""
    if max_rows is None:
        return MAX_ROWS
    if max_rows < 0:
        raise UsageError(_("--max-rows {max_rows}: give 0 (list every invoice) or a positive number of "
                           "rows").format(max_rows=max_rows))
    if fmt != "pdf":
        raise UsageError(_("--max-rows applies to PDF exports only; a .{fmt} export always has every "
                           "invoice").format(fmt=fmt))
    return max_rows


def export(*, session: "Session", actor: Actor | None, filters: InvoiceFilter, today: date, fmt: str,
           output: "Path | Target | None", stream: IO[str] | None = None, company: str = "",
           buckets: list[int] | None = None, mode: int = DEFAULT_MODE, max_rows: int | None = None,
           progress: Progress | None = None) -> ExportResult:
    """Write the filtered invoices as `fmt` to `output` or, for csv/json, to `stream`.

    `output` follows the rules of cuentas_cli.outputs (never the database, a symlink or a
    folder; an existing file is replaced atomically, with `mode`). A PDF lists at most
    `max_rows` invoices (`check_max_rows`). `progress(done, total)` hears how many rows a file
    export has written of how many (one COUNT first, only when it is given); a stream has none."""
    require(actor, "export")
    if fmt not in FORMATS:
        raise UsageError(_("unknown export format {fmt!r}; use one of {join_formats}")
                         .format(fmt=fmt, join_formats=', '.join(FORMATS)))
    limit = check_max_rows(fmt, max_rows)
    conditions = invoice_conditions(session, today=today, filters=filters)
    buckets = buckets or [30, 60, 90, 120]
    if output is None:
        if fmt not in ("csv", "json") or stream is None:
            raise UsageError(_("give --output FILE (.xlsx, .csv, .pdf, .json) or --format csv|json for "
                               "standard output"))
        rows = invoice_rows(session, conditions)
        count = write_csv(stream, rows, today) if fmt == "csv" else write_json(stream, rows, today)
        return ExportResult(None, fmt, count)
    target = outputs.ensure(output, option="--output", session=session)
    info = None
    if fmt in ("xlsx", "pdf"):
        info = summary(session, filters=filters, conditions=conditions, today=today, buckets=buckets,
                       company=company, filters_text=filters.describe())
    listed = None
    with outputs.replacing(target, mode=mode) as tmp:
        rows = invoice_rows(session, conditions)
        if progress is not None:
            rows = reporting(rows, progress, count_rows(session, conditions))
        if fmt == "xlsx":
            count = write_xlsx(tmp, rows, info, today)
        elif fmt == "pdf":
            written = write_pdf(tmp, rows, info, today, max_rows=limit)
            count, listed = written.total, (written.listed if written.listed < written.total else None)
        else:
            with tmp.open("w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") as handle:
                count = write_csv(handle, rows, today) if fmt == "csv" else write_json(handle, rows, today)
    return ExportResult(str(target.path), fmt, count, info, listed=listed)
