"""`cuentas bank`: the company's bank accounts (where clients pay; the detracciones account)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import FormatOpt, runtime
from cuentas_cli.i18n import _
from cuentas_cli.render import emit, emit_record, success

app = typer.Typer(
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
