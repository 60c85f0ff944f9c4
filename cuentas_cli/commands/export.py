"""`cuentas export`: invoices to Excel, CSV, PDF or JSON, filtered like `invoices list`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import (
    CurrencyFilterOpt,
    DueWithinFilterOpt,
    FromFilterOpt,
    KindFilterOpt,
    OverdueFilterOpt,
    PartyFilterOpt,
    StatusFilterOpt,
    ToFilterOpt,
    invoice_filter,
    runtime,
)
from cuentas_cli import outputs
from cuentas_cli.errors import UsageError
from cuentas_cli.render import RowProgress, success
from cuentas_cli.i18n import _


def export(
    kind: KindFilterOpt = None,
    status: StatusFilterOpt = None,
    party: PartyFilterOpt = None,
    overdue: OverdueFilterOpt = False,
    due_within: DueWithinFilterOpt = None,
    date_from: FromFilterOpt = None,
    date_to: ToFilterOpt = None,
    currency: CurrencyFilterOpt = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE",
        help="File to write: .xlsx, .csv, .pdf or .json. An existing file there is replaced atomically "
             "(mode 0600, or the files.mode setting); the database, a symbolic link or a folder are refused.")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="csv or json to standard output (or to force the --output format).", metavar="FMT")] = None,
    max_rows: Annotated[Optional[int], typer.Option(
        "--max-rows", metavar="N",
        help="PDF only: list at most N invoices (default 5000), then a line with how many more there are; "
             "0 lists every one. The summary always covers all. With any other format it is refused (exit 2): "
             "those always hold every invoice.")] = None,
) -> None:
    """Export invoices to Excel (Summary sheet with aging, cash flow and charts), CSV, PDF or JSON.

    Needs the export permission (gerente, administrador). Statuses and the summary are as of
    today (--today). The CSV and XLSX import back with `cuentas import`. --output replaces an
    existing file of that name (written beside it, then renamed: never half a file), so a
    monthly script may rerun; it never writes over the database, through a symbolic link or
    onto a folder (exit 2).

    A PDF is a report: past --max-rows invoices (5000) it lists the first ones and says how
    many more there are; the .xlsx has them all. On a terminal a file export shows a progress
    bar on stderr; in a pipe or from cron, only the final line.

    Example: cuentas export --kind cxc --overdue --output vencidas.xlsx

    Example: cuentas export --output cartera.pdf --max-rows 0
    """
    from cuentas_cli.exports import exporter
    from cuentas_cli.admin import settings as settings_service

    if fmt is not None:
        fmt = fmt.strip().lower()
        if fmt not in exporter.FORMATS:
            raise UsageError(_("--format {fmt!r}: use csv or json (stdout), or xlsx/pdf with --output")
                             .format(fmt=fmt))
    if output is None:
        if fmt not in ("csv", "json"):
            raise UsageError(_("give --output FILE (.xlsx, .csv, .pdf or .json), or --format csv|json to "
                               "write to standard output"))
        target_format = fmt
    else:
        suffix = output.suffix.lower().lstrip(".")
        target_format = fmt or suffix
    rt = runtime()
    target = None
    if output is not None:
        # Where it goes is checked before the format: `--output some-folder.xlsx` names the folder.
        target = outputs.check(output, option="--output", database_url=rt.url)
        if target_format not in exporter.FORMATS:
            raise UsageError(_("--output {output}: use a .xlsx, .csv, .pdf or .json file (or say "
                               "--format)").format(output=output))
    exporter.check_max_rows(target_format, max_rows)  # before any work: exit 2
    filters = invoice_filter(kind=kind, status=status, party=party, overdue=overdue, due_within=due_within,
                             date_from=date_from, date_to=date_to, currency=currency)
    with rt.session() as session:
        actor = rt.actor(session)
        company = str(settings_service.get(session, rt.config, "company.name") or "")
        buckets = list(settings_service.get(session, rt.config, "aging.buckets"))
        mode = outputs.configured_mode(session, rt.config)
        # A bar only for a file on a terminal's stderr: a pipe, cron or standard output get none.
        progress = RowProgress(f"exporting {output.name}") if output is not None and sys.stderr.isatty() else None
        try:
            result = exporter.export(
                session=session, actor=actor, filters=filters, today=rt.today, fmt=target_format, output=target,
                stream=sys.stdout if output is None else None, company=company, buckets=buckets, mode=mode,
                max_rows=max_rows, progress=progress.rows_of if progress else None,
            )
        finally:
            if progress:
                progress.stop()
    if output is None:
        return
    if result.left_out:
        success(_("exported {listed:,} of {rows:,} invoice(s) to {path}; {left_out:,} more counted in "
                  "its summary, not listed (--max-rows 0 or an .xlsx lists them all)")
                .format(listed=result.listed, rows=result.rows, path=result.path, left_out=result.left_out))
    else:
        success(_("exported {rows} invoice(s) to {path}").format(rows=result.rows, path=result.path))
