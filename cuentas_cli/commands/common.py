"""Options shared by many commands, defined once, and small helpers for prompts."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from cuentas_cli.errors import UsageError
from cuentas_cli.render import Format
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from datetime import date

FormatOpt = Annotated[
    Optional[Format],
    typer.Option("--format", "-f", help="Output format (default: table on a terminal, jsonl when piped)."),
]


def _raw_flag(value: bool) -> bool:
    from cuentas_cli.render import set_raw

    if value:
        set_raw(True)
    return value


RAW_HELP = ("With --format csv: print text cells exactly as stored, for scripts (by default a cell starting "
            "with = + - @ tab or CR gets a leading ' so a spreadsheet does not run it as a formula).")
# Every command with --format gets --raw (app.py adds it with add_raw_option); a command may also
# declare it itself: `raw: RawOpt = False`.
RawOpt = Annotated[bool, typer.Option("--raw", help=RAW_HELP, callback=_raw_flag, expose_value=False)]


def add_raw_option(command) -> None:  # noqa: ANN001
    """Give `command` and its sub-commands that take --format table|json|jsonl|csv a --raw flag."""
    for sub in getattr(command, "commands", {}).values():
        add_raw_option(sub)
    params = getattr(command, "params", [])
    if any("--raw" in p.opts for p in params):
        return
    formats = [f.value for f in Format]
    for index, param in enumerate(params):
        choices = getattr(getattr(param, "type", None), "choices", None)
        if "--format" in param.opts and choices is not None \
                and [str(getattr(c, "value", c)) for c in choices] == formats:
            params.insert(index + 1, _raw_param())
            return


def _raw_param():  # noqa: ANN202
    """A fresh copy of the --raw option as Typer builds it from RawOpt (built once)."""
    import copy

    if "raw" not in _RAW_PARAM:
        import typer.main

        probe = typer.Typer(add_completion=False)

        @probe.command()
        def _probe(raw: RawOpt = False) -> None:  # pragma: no cover - never run, only its option is used
            """Probe."""

        _RAW_PARAM["raw"] = typer.main.get_command(probe).params[0]
    return copy.copy(_RAW_PARAM["raw"])


_RAW_PARAM: dict = {}


PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
]

# The invoice filters of `invoices list` and `export` (ledger/invoices.py InvoiceFilter).
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


def read_password(*, from_stdin: bool, prompt: str | None = None, confirm: bool = False) -> str:
    """A password from stdin or a prompt on the terminal; never from argv."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise UsageError(_("--password-stdin: standard input had no password"))
        return password
    if not sys.stdin.isatty():
        raise UsageError(_("no terminal to ask for the password; pass it on standard input with "
                           "--password-stdin"))
    import getpass

    prompt = prompt or _("Password")
    password = getpass.getpass(f"{prompt}: ", stream=sys.stderr)
    if confirm and getpass.getpass(_("{prompt} (again)").format(prompt=prompt) + ": ", stream=sys.stderr) != password:
        raise UsageError(_("the two passwords differ; nothing changed"))
    return password


MAX_DAYS = 3660  # day counts and horizons (--days, --due-within): up to ten years
MAX_LIMIT = 1_000_000_000


def parse_date(value: str | None, flag: str) -> "date | None":
    """A date option: YYYY-MM-DD or DD/MM/YYYY within the years 1900-2199; a usage error naming
    the flag otherwise (2026-W23 and 20260601 included, which date.fromisoformat would take)."""
    from cuentas_cli.errors import ValidationError
    from cuentas_cli.rules.dates import parse_day

    if value is None:
        return None
    try:
        return parse_day(value, field=f"{flag}:")
    except ValidationError as exc:
        raise UsageError(exc.message) from None


def check_count(value: int | None, flag: str, *, low: int = 0, high: int = MAX_DAYS, unit: str = "days") -> int | None:
    """A day count, horizon or row limit within [low, high]; a usage error naming the flag otherwise."""
    if value is not None and not low <= value <= high:
        raise UsageError(_("{flag}: give a number of {unit} from {low:,} to {high:,}")
                         .format(flag=flag, unit=unit, low=low, high=high))
    return value


def invoice_filter(*, kind: str | None, status: str | None, party: str | None, overdue: bool,
                   due_within: int | None, date_from: str | None, date_to: str | None, currency: str | None,
                   limit: int | None = None):  # noqa: ANN201
    """The *FilterOpt values as a ledger.listing.InvoiceFilter (dates parsed here)."""
    from cuentas_cli.ledger.listing import InvoiceFilter

    check_count(due_within, "--due-within")
    check_count(limit, "--limit", low=1, high=MAX_LIMIT, unit="rows")
    return InvoiceFilter(kind=kind, status=status, party=party, overdue=overdue, due_within=due_within,
                         date_from=parse_date(date_from, "--from"), date_to=parse_date(date_to, "--to"),
                         currency=currency, limit=limit)


def runtime():  # noqa: ANN201
    from cuentas_cli import runtime as rt

    return rt.current()


def firm_runtime():  # noqa: ANN201
    """The runtime on the firm's own database, whatever company is chosen: logins, passwords,
    the firm's users and the padrón, which all its companies share."""
    rt = runtime()
    rt.set_company(None)
    return rt


class AliasedGroup(TyperGroup):
    """A command group whose sub-commands also answer to Spanish names (shared/docs/cli.md):
    `aliases` maps each alias to its command. Help lists every command once, its alias before its
    description; shell completion offers both names."""

    aliases: dict[str, str] = {}

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return super().get_command(ctx, self.aliases.get(cmd_name, cmd_name))

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        if getattr(ctx, "resilient_parsing", False):  # completion (and tools walking the tree)
            return [*names, *self.aliases]
        return names

    def format_help(self, ctx: Any, formatter: Any) -> None:
        for alias, name in self.aliases.items():
            command = self.commands.get(name)
            if command is not None and not getattr(command, "_alias_shown", False):
                first = (command.short_help or command.help or "").strip().split("\n\n", 1)[0]
                command.short_help = f"({alias}) {first}"
                command._alias_shown = True
        super().format_help(ctx, formatter)
