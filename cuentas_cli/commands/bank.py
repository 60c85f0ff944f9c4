"""`cuentas bank`: the company's bank accounts (where clients pay; the detracciones account)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import AliasedGroup, FormatOpt, runtime
from cuentas_cli.i18n import _
from cuentas_cli.render import emit, emit_record, info, success, warn

class _Bank(AliasedGroup):
    aliases = {"importar": "import", "cuentas": "accounts"}


app = typer.Typer(
    cls=_Bank,
    help="The company's banks: its accounts, shown on statements, reminders and the PDF report.\n\n"
    "Example: cuentas bank accounts add soles-bcp --bank BCP --currency PEN --number 193-1234567-0-12 "
    "--cci 00219300123456701212",
    no_args_is_help=True,
)
accounts_app = typer.Typer(
    help="The company's bank accounts: list, add, remove (add and remove: administrador).\n\n"
    "Example: cuentas bank accounts add detracciones --bank BN --currency PEN --number 00-012-345678 "
    "--detracciones",
    no_args_is_help=True,
)
app.add_typer(accounts_app, name="accounts")


@accounts_app.command("list")
def list_(fmt: FormatOpt = None) -> None:
    """List the company's bank accounts: soles, dollars, then the detracciones account.

    Example: cuentas bank accounts list --format json
    """
    from cuentas_cli.bank import accounts

    rt = runtime()
    with rt.session() as session:
        rows = accounts.listed(session, rt.actor(session))
    emit(rows, fmt)


@accounts_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="A short name for the account, e.g. soles-bcp.")],
    bank: Annotated[str, typer.Option("--bank", help="The bank: BCP, BBVA, IBK (Interbank), SCOTIA, BN (Banco "
                                      "de la Nación), BANBIF, PICHINCHA, or another bank's or caja's name.")],
    currency: Annotated[str, typer.Option("--currency", help="PEN or USD.")],
    number: Annotated[str, typer.Option("--number", help="The account number as the bank writes it.")],
    cci: Annotated[Optional[str], typer.Option("--cci", help="The CCI (código de cuenta interbancario, 20 "
                                               "digits).")] = None,
    detracciones: Annotated[bool, typer.Option("--detracciones", help="This is the Banco de la Nación account "
                                               "where detracciones are deposited (BN, PEN).")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Record one of the company's bank accounts (administrador).

    Example: cuentas bank accounts add dolares-bbva --bank BBVA --currency USD --number 0011-0123-0100012345 --cci 01112300010001234567
    """
    from cuentas_cli.bank import accounts

    rt = runtime()
    with rt.session(write=True) as session:
        account = accounts.add(session, rt.actor(session), name=name, bank=bank, currency=currency, number=number,
                               cci=cci, detracciones=detracciones)
    success(_("bank account {name} recorded: {bank} {currency} {number}")
            .format(name=account.name, bank=account.bank_name, currency=account.currency, number=account.number))
    if fmt is not None:
        emit_record(account, fmt)


@accounts_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="The account's name (see `cuentas bank accounts list`).")]) -> None:
    """Remove one of the company's bank accounts (administrador).

    Example: cuentas bank accounts remove soles-bcp
    """
    from cuentas_cli.bank import accounts

    rt = runtime()
    with rt.session(write=True) as session:
        account = accounts.remove(session, rt.actor(session), name)
    success(_("bank account {name} removed").format(name=account.name))


@app.command("presets")
def presets_(fmt: FormatOpt = None) -> None:
    """List the bank statement layouts cuentas knows (data files; `bank import` detects them by their headers).

    Example: cuentas bank presets
    """
    from cuentas_cli.imports.bank_statement import presets

    rows = [{"name": p.name, "bank": p.bank, "title": p.title, "detect": ", ".join(p.detect),
             "sign": p.sign} for p in presets().values()]
    emit(rows, fmt)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="The bank's statement: CSV or XLSX as downloaded.", metavar="FILE")],
    account: Annotated[str, typer.Option("--account", help="The company's account it belongs to (see `cuentas bank "
                                         "accounts list`).", metavar="NAME")],
    preset: Annotated[Optional[str], typer.Option("--preset", help="The layout (see `cuentas bank presets`; default: "
                                                  "recognised from the headers).", metavar="NAME")] = None,
    mapping: Annotated[Optional[Path], typer.Option("--mapping", help="TOML file naming the columns of any other "
                                                    "layout ([columns] date = \"Fecha\", amount = \"Importe\"...).",
                                                    metavar="FILE")] = None,
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="Worksheet of an XLSX (default: the first).", metavar="NAME")] = None,
    encoding: Annotated[Optional[str], typer.Option("--encoding", help="Text encoding of a CSV (default: detected).", metavar="ENC")] = None,
    delimiter: Annotated[Optional[str], typer.Option("--delimiter", help="CSV delimiter (default: detected).", metavar="CHAR")] = None,
    date_format: Annotated[Optional[str], typer.Option("--date-format", help="DD/MM/YYYY, MM/DD/YYYY or YYYY-MM-DD (default: the preset's, else detected).", metavar="FMT")] = None,
    decimal_comma: Annotated[bool, typer.Option("--decimal-comma", help="Amounts have a decimal comma (1.180,50).")] = False,
    decimal_point: Annotated[bool, typer.Option("--decimal-point", help="Amounts have a decimal point (1,180.50).")] = False,
    partial: Annotated[bool, typer.Option("--partial", help="Store the valid rows; write rejected rows to --errors FILE.")] = False,
    errors: Annotated[Optional[Path], typer.Option("--errors", help="Write every row error here (CSV).", metavar="FILE")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Read and count; store nothing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON on standard output.")] = False,
) -> None:
    """Store the movements of one of the company's accounts from the bank's statement.

    The same or an overlapping download adds nothing (each movement is kept once). A running
    balance in the file is checked and every gap is reported. The movements are then matched to
    invoices with `cuentas bank match`. Needs invoices.operate.

    Example: cuentas bank import movimientos-junio.xlsx --account soles-bcp
    """
    from cuentas_cli.commands.import_ import check_inputs, in_transaction, run_shown
    from cuentas_cli.imports import context
    from cuentas_cli.imports.bank_statement import import_statement

    delimiter, errors, decimal = check_inputs(file, encoding=encoding, delimiter=delimiter, mapping=mapping,
                                              errors=errors, partial=partial, decimal_comma=decimal_comma,
                                              decimal_point=decimal_point, invoice_mapping=False)
    options = context.Options(sheet=sheet, encoding=encoding, delimiter=delimiter, date_format=date_format,
                              partial=partial, dry_run=dry_run, errors_path=errors, mapping_path=mapping,
                              decimal=decimal)

    rt = runtime()

    def work(session):  # noqa: ANN001, ANN202
        return import_statement(session=session, actor=rt.actor(session), path=file, account=account, options=options,
                                today=rt.today, preset=preset, config=rt.config)

    result = run_shown(_("reading the statement"), lambda _progress: in_transaction(rt, work, dry_run=dry_run))
    counts = {"new": result.new, "skipped": result.skipped, "rejected": result.rejected, "rows": result.rows,
              "name": file.name, "account": result.account, "layout": result.layout}
    line = (_("would store {new} movements, {skipped} already stored (skipped), {rejected} rejected from {rows} rows "
              "of {name} ({layout}) in {account} (dry run: nothing written)") if dry_run
            else _("stored {new} movements, {skipped} already stored (skipped), {rejected} rejected from {rows} rows "
                   "of {name} ({layout}) in {account}"))
    (info if dry_run else success)(line.format(**counts))
    for gap in result.gaps:
        warn(_("running balance: row {row} ({date}) shows {found}, but the movements before it give {expected} "
               "(a difference of {difference}): a movement is missing or the download starts mid-period")
             .format(**gap))
    if as_json:
        emit_record(result.summary(), "json")
