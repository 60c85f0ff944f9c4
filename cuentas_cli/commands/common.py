"""Options shared by many commands, defined once, and small helpers for prompts."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from cuentas_cli.errors import UsageError
from cuentas_cli.render import Format

if TYPE_CHECKING:
    from datetime import date

FormatOpt = Annotated[
    Optional[Format],
    typer.Option("--format", "-f", help="Output format (default: table on a terminal, jsonl when piped)."),
]
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
]

# The invoice filters of `invoices list` and `export` (services/invoices.py InvoiceFilter).
KindFilterOpt = Annotated[Optional[str], typer.Option("--kind", help="cxc (receivable) or cxp (payable).", metavar="KIND")]
StatusFilterOpt = Annotated[Optional[str], typer.Option(
    "--status", help="PENDIENTE, PARCIAL, PAGADA, VENCIDA or ANULADA (as of today).", metavar="S")]
PartyFilterOpt = Annotated[Optional[str], typer.Option(
    "--party", help="Client or supplier: RUC/DNI/document number or id.", metavar="DOC")]
OverdueFilterOpt = Annotated[bool, typer.Option("--overdue", help="Only open invoices past their due date.")]
DueWithinFilterOpt = Annotated[Optional[int], typer.Option(
    "--due-within", help="Only open invoices due from today to today + DAYS.", metavar="DAYS")]
FromFilterOpt = Annotated[Optional[str], typer.Option("--from", help="Issued on or after DATE.", metavar="DATE")]
ToFilterOpt = Annotated[Optional[str], typer.Option("--to", help="Issued on or before DATE.", metavar="DATE")]
CurrencyFilterOpt = Annotated[Optional[str], typer.Option("--currency", help="PEN or USD.", metavar="CUR")]


def read_password(*, from_stdin: bool, prompt: str = "Password", confirm: bool = False) -> str:
    """A password from stdin or a prompt on the terminal; never from argv."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: standard input had no password")
        return password
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password; pass it on standard input with --password-stdin")
    import getpass

    password = getpass.getpass(f"{prompt}: ", stream=sys.stderr)
    if confirm and getpass.getpass(f"{prompt} (again): ", stream=sys.stderr) != password:
        raise UsageError("the two passwords differ; nothing changed")
    return password


def parse_date(value: str | None, flag: str) -> "date | None":
    """A YYYY-MM-DD option value; a usage error naming the flag otherwise."""
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(f"{flag}: {value!r} is not a date in the form YYYY-MM-DD") from None


def invoice_filter(*, kind: str | None, status: str | None, party: str | None, overdue: bool,
                   due_within: int | None, date_from: str | None, date_to: str | None, currency: str | None,
                   limit: int | None = None):  # noqa: ANN201
    """The *FilterOpt values as a services.invoices.InvoiceFilter (dates parsed here)."""
    from cuentas_cli.services.invoices import InvoiceFilter

    return InvoiceFilter(kind=kind, status=status, party=party, overdue=overdue, due_within=due_within,
                         date_from=parse_date(date_from, "--from"), date_to=parse_date(date_to, "--to"),
                         currency=currency, limit=limit)


def runtime():  # noqa: ANN201
    from cuentas_cli import runtime as rt

    return rt.current()
