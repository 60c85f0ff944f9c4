"""`cuentas payments`: payments in bulk (a spreadsheet, a bank's download)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import AliasedGroup, runtime
from cuentas_cli.commands.import_ import check_inputs, in_transaction, run_shown
from cuentas_cli.i18n import _
from cuentas_cli.render import emit_record, info, success, warn

class _Payments(AliasedGroup):
    aliases = {"importar": "import"}


app = typer.Typer(
    cls=_Payments,
    help="Payments in bulk: import a file of payments (CSV or Excel), checked as `invoices pay` checks one.\n\n"
    "Example: cuentas payments import cobros-junio.xlsx --errors errores.csv",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    """A group of one command for now; without a callback Typer would make `payments` that command."""


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX file of payments.", metavar="FILE")],
    kind: Annotated[Optional[str], typer.Option("--kind", help="cxc or cxp: which invoices the file pays when a "
                                                "serie-número names both.", metavar="KIND")] = None,
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="Worksheet of an XLSX (default: the first).", metavar="NAME")] = None,
    file_format: Annotated[Optional[str], typer.Option("--format", help="The file's format: csv or xlsx (default: from the file name).", metavar="FMT")] = None,
    encoding: Annotated[Optional[str], typer.Option("--encoding", help="Text encoding of a CSV (default: detected; UTF-8, BOM or cp1252).", metavar="ENC")] = None,
    delimiter: Annotated[Optional[str], typer.Option("--delimiter", help="CSV delimiter (default: detected among , ; tab |).", metavar="CHAR")] = None,
    date_format: Annotated[Optional[str], typer.Option("--date-format", help="DD/MM/YYYY, MM/DD/YYYY or YYYY-MM-DD, when the file's dates are ambiguous.", metavar="FMT")] = None,
    decimal_comma: Annotated[bool, typer.Option("--decimal-comma", help="Amounts have a decimal comma (1.180,50), as Excel writes them in Spanish (default: detected from the file's amounts).")] = False,
    decimal_point: Annotated[bool, typer.Option("--decimal-point", help="Amounts have a decimal point (1,180.50) (default: detected from the file's amounts).")] = False,
    mapping: Annotated[Optional[Path], typer.Option("--mapping", help="TOML file naming the file's columns ([columns] amount = \"Abono\").", metavar="FILE")] = None,
    partial: Annotated[bool, typer.Option("--partial", help="Record the valid rows; write rejected rows to --errors FILE.")] = False,
    errors: Annotated[Optional[Path], typer.Option(
        "--errors", metavar="FILE",
        help="Write every row error here (CSV), mode 0600 (or files.mode); an existing file is replaced atomically.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and count new/skipped/errors; write nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON on standard output.")] = False,
) -> None:
    """Record the payments of a CSV or Excel file: all rows or none (unless --partial).

    Each row names its invoice by id or by serie-número (add a RUC/DNI or a kind column when two
    invoices share one), the amount and the date; method (transferencia, efectivo, cheque,
    detraccion, retencion; default transferencia), reference and currency are optional. Headers
    in Spanish or English (comprobante, monto, fecha de pago, medio de pago, nro operación...).
    The checks are those of `invoices pay`: no overpayment, no date after today or before the
    invoice, no payment on a note or an ANULADA invoice. A payment already recorded (same
    invoice, date, amount, method and reference) is skipped, so a second import adds nothing.
    Needs invoices.operate.

    Example: cuentas payments import cobros-junio.csv --kind cxc --partial --errors errores.csv
    """
    from cuentas_cli.errors import UsageError
    from cuentas_cli.imports import context

    if kind is not None and kind.strip().lower() not in ("cxc", "cxp"):
        raise UsageError(_("--kind {kind!r}: use cxc or cxp").format(kind=kind))
    delimiter, errors, decimal = check_inputs(file, encoding=encoding, delimiter=delimiter, mapping=mapping,
                                              errors=errors, partial=partial, decimal_comma=decimal_comma,
                                              decimal_point=decimal_point, invoice_mapping=False)
    options = context.Options(kind=kind, sheet=sheet, format=file_format, encoding=encoding, delimiter=delimiter,
                              date_format=date_format, partial=partial, dry_run=dry_run, errors_path=errors,
                              mapping_path=mapping, decimal=decimal)
    result = run_shown(_("recording payments"), lambda progress: _run(runtime(), file, options, progress))
    counts = {"new": result.new, "skipped": result.skipped, "rejected": result.rejected, "rows": result.rows,
              "name": file.name}
    if dry_run:
        info(_("would record {new} payment(s), {skipped} already recorded (skipped), {rejected} rejected from {rows} "
               "rows of {name} (dry run: nothing written)").format(**counts))
    elif result.new == 0 and result.rejected == 0:
        success(_("recorded {new} payment(s), {skipped} already recorded (skipped) from {rows} rows of {name}: nothing "
                  "new, the file was already imported").format(**counts))
    else:
        success(_("recorded {new} payment(s), {skipped} already recorded (skipped), {rejected} rejected from {rows} "
                  "rows of {name}").format(**counts))
    if result.rejected and result.errors_file:
        warn(_("{rejected} rejected row(s) written to {errors_file}")
             .format(rejected=result.rejected, errors_file=result.errors_file))
    if as_json:
        summary = {k: v for k, v in result.summary().items() if k not in ("updated", "anulados", "parties_created")}
        emit_record(summary, "json")


def _run(rt, file: Path, options, progress):  # noqa: ANN001, ANN202
    from cuentas_cli.imports.payments import import_payments

    def work(session):  # noqa: ANN001, ANN202
        return import_payments(session=session, actor=rt.actor(session), path=file, options=options, today=rt.today,
                               progress=progress, config=rt.config)

    return in_transaction(rt, work, dry_run=options.dry_run)
