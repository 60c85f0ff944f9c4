"""`cuentas export`: invoices to Excel, CSV, PDF or JSON, filtered like `invoices list`."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import runtime
from cuentas_cli.errors import UsageError
from cuentas_cli.render import success


def _date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{flag}: {value!r} is not a date in the form YYYY-MM-DD") from None


def export(
    kind: Annotated[Optional[str], typer.Option("--kind", help="cxc (receivable) or cxp (payable).", metavar="KIND")] = None,
    status: Annotated[Optional[str], typer.Option("--status", help="PENDIENTE, PARCIAL, PAGADA, VENCIDA or ANULADA (as of today).", metavar="S")] = None,
    party: Annotated[Optional[str], typer.Option("--party", help="Client or supplier: RUC/DNI/document number or id.", metavar="DOC")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open invoices past their due date.")] = False,
    due_within: Annotated[Optional[int], typer.Option("--due-within", help="Only open invoices due from today to today + DAYS.", metavar="DAYS")] = None,
    date_from: Annotated[Optional[str], typer.Option("--from", help="Issued on or after DATE.", metavar="DATE")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Issued on or before DATE.", metavar="DATE")] = None,
    currency: Annotated[Optional[str], typer.Option("--currency", help="PEN or USD.", metavar="CUR")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="File to write: .xlsx, .csv, .pdf or .json.", metavar="FILE")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="csv or json to standard output (or to force the --output format).", metavar="FMT")] = None,
) -> None:
    """Export invoices to Excel (Summary sheet with aging, cash flow and charts), CSV, PDF or JSON.

    Needs the export permission (gerente, administrador). Statuses and the summary are as of
    today (--today). The CSV and XLSX import back with `cuentas import`.

    Example: cuentas export --kind cxc --overdue --output vencidas.xlsx
    """
    from cuentas_cli.services import exporter
    from cuentas_cli.services import settings as settings_service

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
        if target_format not in exporter.FORMATS:
            raise UsageError(f"--output {output}: use a .xlsx, .csv, .pdf or .json file (or say --format)")
    filters = exporter.ExportFilter(
        kind=kind, status=status, party=party, overdue=overdue, due_within=due_within,
        date_from=_date(date_from, "--from"), date_to=_date(date_to, "--to"), currency=currency,
    )
    rt = runtime()
    with rt.session() as session:
        actor = rt.actor(session)
        company = str(settings_service.get(session, rt.config, "company.name") or "")
        buckets = list(settings_service.get(session, rt.config, "aging.buckets"))
        result = exporter.export(
            session=session, actor=actor, filters=filters, today=rt.today, fmt=target_format, output=output,
            stream=sys.stdout if output is None else None, company=company, buckets=buckets,
        )
    if output is not None:
        success(f"exported {result.rows} invoice(s) to {result.path}")
