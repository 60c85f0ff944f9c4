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
from cuentas_cli.render import success


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
) -> None:
    """Export invoices to Excel (Summary sheet with aging, cash flow and charts), CSV, PDF or JSON.

    Needs the export permission (gerente, administrador). Statuses and the summary are as of
    today (--today). The CSV and XLSX import back with `cuentas import`. --output replaces an
    existing file of that name (written beside it, then renamed: never half a file), so a
    monthly script may rerun; it never writes over the database, through a symbolic link or
    onto a folder (exit 2).

    Example: cuentas export --kind cxc --overdue --output vencidas.xlsx
    """
    from cuentas_cli.exports import exporter
    from cuentas_cli.admin import settings as settings_service

    if fmt is not None:
        fmt = fmt.strip().lower()
        if fmt not in exporter.FORMATS:
            raise UsageError(f"--format {fmt!r}: use csv or json (stdout), or xlsx/pdf with --output")
    if output is None:
        if fmt not in ("csv", "json"):
            raise UsageError("give --output FILE (.xlsx, .csv, .pdf or .json), or --format csv|json to write to standard output")
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
            raise UsageError(f"--output {output}: use a .xlsx, .csv, .pdf or .json file (or say --format)")
    filters = invoice_filter(kind=kind, status=status, party=party, overdue=overdue, due_within=due_within,
                             date_from=date_from, date_to=date_to, currency=currency)
    with rt.session() as session:
        actor = rt.actor(session)
        company = str(settings_service.get(session, rt.config, "company.name") or "")
        buckets = list(settings_service.get(session, rt.config, "aging.buckets"))
        mode = outputs.configured_mode(session, rt.config)
        result = exporter.export(
            session=session, actor=actor, filters=filters, today=rt.today, fmt=target_format, output=target,
            stream=sys.stdout if output is None else None, company=company, buckets=buckets, mode=mode,
        )
    if output is not None:
        success(f"exported {result.rows} invoice(s) to {result.path}")
