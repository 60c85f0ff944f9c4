"""`cuentas bank`: the company's bank accounts (where clients pay; the detracciones account)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import AliasedGroup, FormatOpt, runtime
from cuentas_cli.i18n import N_, _
from cuentas_cli.render import emit, emit_record, info, success, warn

class _Bank(AliasedGroup):
    aliases = {"importar": "import", "cuentas": "accounts", "conciliar": "match", "revisar": "review",
               "confirmar": "confirm", "ignorar": "ignore", "deshacer": "undo", "estado": "status"}


app = typer.Typer(
    cls=_Bank,
    help="The company's banks: its accounts, their statements and their reconciliation with the invoices "
    "(import, match, review, confirm, ignore, undo, status).\n\n"
    "Example: cuentas bank import movimientos-junio.xlsx --account soles-bcp && cuentas bank match --auto\n\n"
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


LINE_COLUMNS = ["line", "account", "date", "amount", "description", "operation", "state", "score", "documents", "why"]
LineArg = Annotated[int, typer.Argument(help="The movement's line number (see `cuentas bank review`).",
                                        metavar="LINE")]
AccountOpt = Annotated[Optional[str], typer.Option("--account", help="Only this account's movements (see `cuentas "
                                                   "bank accounts list`).", metavar="NAME")]


STATE_WORDS = {"unmatched": N_("unmatched"), "matched": N_("matched"), "ignored": N_("ignored")}


def _show_lines(views, fmt: str | None) -> None:  # noqa: ANN001
    from cuentas_cli.render import as_dict, resolve_format

    shown = resolve_format(fmt.strip().lower() if fmt else None)
    if shown in ("json", "jsonl"):
        emit(views, shown)  # the state codes, every proposal
        return
    rows = [{**as_dict(v), "state": _(STATE_WORDS[v.state])} for v in views] if shown == "table" else views
    emit(rows, shown, columns=LINE_COLUMNS, drop_order=["why", "operation", "account", "state"])


@app.command("match")
def match(
    account: AccountOpt = None,
    auto: Annotated[bool, typer.Option("--auto", help="Record the unambiguous proposals scoring at least "
                                       "--threshold (needs invoices.operate); the rest stay for review.")] = False,
    threshold: Annotated[int, typer.Option("--threshold", help="The lowest score --auto records (50-100).",
                                           metavar="N")] = 80,
    fmt: FormatOpt = None,
) -> None:
    """Propose, for every unmatched movement, the invoices it pays, with a score and the reason.

    Credits pay receivables, debits payables. The evidence: a serie-número in the description;
    a party's RUC or name in it; an amount equal to an open balance, or to the balance net of the
    detracción or the retención; one deposit for several invoices of one party; the dates. On the
    detracciones account a credit matches the detracción part of the invoices. With --auto the
    unambiguous proposals are recorded as payments linked to their movement (`bank undo LINE`
    takes one back); never two for one movement.

    Example: cuentas bank match --account soles-bcp --auto

    Example: cuentas bank match --format json
    """
    from cuentas_cli.bank import reconcile

    rt = runtime()
    with rt.session(write=auto) as session:
        run = reconcile.match(session=session, actor=rt.actor(session), today=rt.today, account=account, auto=auto,
                              threshold=threshold)
    if run.lines or fmt is not None:
        _show_lines(run.lines, fmt)
    counts = {"lines": len(run.lines), "proposed": run.proposed, "left": len(run.lines) - run.recorded,
              "recorded": run.recorded, "payments": run.payments, "share": f"{100 * run.share():.0f}"}
    if not run.lines:
        info(_("no unmatched movements; import a statement with `cuentas bank import FILE --account NAME`"))
    elif auto:
        success(_("{lines} movements: {recorded} recorded automatically ({share}%, {payments} payments), {left} left "
                  "for review (`cuentas bank review`)").format(**counts))
    else:
        info(_("{lines} movements, {proposed} with a proposal; `cuentas bank confirm LINE` records one, `--auto` the "
               "unambiguous ones").format(**counts))


@app.command("review")
def review(
    account: AccountOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Every movement: matched and ignored too.")] = False,
    state: Annotated[Optional[str], typer.Option("--state", help="unmatched (default), matched or ignored.",
                                                 metavar="STATE")] = None,
    fmt: FormatOpt = None,
) -> None:
    """The movements still to reconcile, each with its best proposal (json: every proposal).

    Example: cuentas bank review --account soles-bcp

    Example: cuentas bank review --all --format json
    """
    from cuentas_cli.bank import reconcile
    from cuentas_cli.errors import UsageError

    states = ("unmatched", "matched", "ignored")
    if all_ and state:
        raise UsageError(_("give --all or --state, not both"))
    if state and state.strip().lower() not in states:
        raise UsageError(_("--state: unmatched, matched or ignored"))
    chosen = states if all_ else ((state.strip().lower(),) if state else ("unmatched",))
    rt = runtime()
    with rt.session() as session:
        views = reconcile.review(session=session, actor=rt.actor(session), account=account, states=chosen)
    if views or fmt is not None:
        _show_lines(views, fmt)
    if not views:
        info(_("no movements to show"))


@app.command("confirm")
def confirm(
    line: LineArg,
    invoices: Annotated[Optional[list[str]], typer.Argument(
        help="INVOICE[:AMOUNT] (id or serie-número) for each invoice the movement pays; none: its best proposal.",
        metavar="INVOICE[:AMOUNT]...")] = None,
    proposal: Annotated[Optional[int], typer.Option("--proposal", help="Record the movement's proposal N (as "
                                                    "`bank review --format json` lists them).", metavar="N")] = None,
    method: Annotated[Optional[str], typer.Option("--method", help="transferencia, cheque, efectivo or detraccion "
                                                  "(default: detraccion on the detracciones account, else "
                                                  "transferencia).", metavar="METHOD")] = None,
    retencion: Annotated[bool, typer.Option("--retencion", help="Record each invoice's retención with it (the "
                                            "client, an agente de retención, paid the rest).")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Record the payments of one movement, linked to it: the invoices named, or its proposal.

    The payments (without retenciones) add up to the movement's amount; an invoice without an
    amount takes the movement's amount when it is the only one, else what it owes. The rules of
    `invoices pay` apply. Needs invoices.operate.

    Example: cuentas bank confirm 17

    Example: cuentas bank confirm 18 F001-120 F001-121:500.00
    """
    from cuentas_cli.bank import reconcile

    rt = runtime()
    with rt.session(write=True) as session:
        view = reconcile.confirm(session=session, actor=rt.actor(session), today=rt.today, line_id=line,
                                 specs=invoices or [], proposal=proposal, method=method, retencion=retencion)
    success(_("line {line} ({amount:.2f} {currency}) reconciled: {documents}")
            .format(line=view.line, amount=view.amount, currency=view.currency, documents=view.documents))
    if fmt is not None:
        emit_record(view, fmt)


@app.command("ignore")
def ignore(
    line: LineArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it is not a payment: comisión, ITF, traspaso entre "
                                        "cuentas...", metavar="TEXT")],
) -> None:
    """Set a movement aside (a bank fee, a transfer between the company's accounts). Needs invoices.operate.

    Example: cuentas bank ignore 21 --reason "comisión de mantenimiento"
    """
    from cuentas_cli.bank import reconcile

    rt = runtime()
    with rt.session(write=True) as session:
        view = reconcile.ignore(session=session, actor=rt.actor(session), line_id=line, reason=reason)
    success(_("line {line} ({amount:.2f} {currency}) ignored: {reason}")
            .format(line=view.line, amount=view.amount, currency=view.currency, reason=view.why))


@app.command("undo")
def undo(line: LineArg) -> None:
    """Take back a movement's reconciliation: the payments it recorded are deleted (the invoices owe
    again) or the ignore is lifted. Needs invoices.operate.

    Example: cuentas bank undo 17
    """
    from cuentas_cli.bank import reconcile

    rt = runtime()
    with rt.session(write=True) as session:
        done = reconcile.undo(session=session, actor=rt.actor(session), today=rt.today, line_id=line)
    if done.state_before == "ignored":
        success(_("line {line} is no longer ignored").format(line=line))
    else:
        success(_("line {line} unmatched: {count} payments deleted ({documents})")
                .format(line=line, count=done.payments, documents=done.documents))


@app.command("status")
def status(account: AccountOpt = None, fmt: FormatOpt = None) -> None:
    """Per account and month: the movements, the payments recorded from them, what is ignored,
    what is left, and the difference still to reconcile.

    Example: cuentas bank status --account soles-bcp
    """
    from cuentas_cli.bank import reconcile

    rt = runtime()
    with rt.session() as session:
        rows = reconcile.status(session=session, actor=rt.actor(session), account=account)
    if rows or fmt is not None:
        emit(rows, fmt, drop_order=["currency", "ignored_amount", "credits", "debits", "ignored", "recorded"])
    if not rows:
        info(_("no movements yet; import a statement with `cuentas bank import FILE --account NAME`"))
