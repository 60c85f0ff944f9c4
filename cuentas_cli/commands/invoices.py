"""`cuentas invoices`: receivable (CxC) and payable (CxP) invoices, notes and payments."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import (
    AliasedGroup,
    CurrencyFilterOpt,
    DueWithinFilterOpt,
    FormatOpt,
    FromFilterOpt,
    KindFilterOpt,
    OverdueFilterOpt,
    PartyFilterOpt,
    StatusFilterOpt,
    ToFilterOpt,
    check_count,
    invoice_filter,
    parse_date,
    runtime,
)
from cuentas_cli.commands.completion import complete_invoice_id
from cuentas_cli.errors import UsageError
from cuentas_cli.render import emit, emit_record, info, success, warn
from cuentas_cli.i18n import _

class _Invoices(AliasedGroup):
    aliases = {"pagar": "pay", "vencidas": "overdue", "por-vencer": "upcoming"}


app = typer.Typer(
    cls=_Invoices,
    help="Invoices to collect (cxc) and to pay (cxp): add, list, pay, statuses.\n\n"
    "Example: cuentas invoices list --kind cxc --overdue (in Spanish: cuentas facturas vencidas)",
    no_args_is_help=True,
)


@app.callback()
def _group() -> None:
    """Invoices to collect (cxc) and to pay (cxp): add, list, pay, statuses."""


IdArg = Annotated[str, typer.Argument(help="Invoice id (or SERIE-NUMERO when it names one invoice).", metavar="ID",
                                       autocompletion=complete_invoice_id)]
KindOpt = KindFilterOpt
DateOpt = Annotated[Optional[str], typer.Option(metavar="DATE", help="YYYY-MM-DD or DD/MM/YYYY.")]


def _emit_rows(rows, fmt) -> None:  # noqa: ANN001
    from cuentas_cli.render import resolve_format
    from cuentas_cli.ledger.records import LIST_COLUMNS

    emit(rows, fmt, columns=LIST_COLUMNS if resolve_format(fmt) == "table" else None)


@app.command("list")
def list_(
    kind: KindOpt = None,
    status: StatusFilterOpt = None,
    party: PartyFilterOpt = None,
    overdue: OverdueFilterOpt = False,
    due_within: DueWithinFilterOpt = None,
    date_from: FromFilterOpt = None,
    date_to: ToFilterOpt = None,
    currency: CurrencyFilterOpt = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="At most N rows.", metavar="N")] = None,
    fmt: FormatOpt = None,
) -> None:
    """List invoices by due date, filtered; statuses are as of today.

    Example: cuentas invoices list --kind cxc --status VENCIDA --limit 50 --format json
    """
    from cuentas_cli.ledger import listing

    filters = invoice_filter(kind=kind, status=status, party=party, overdue=overdue, due_within=due_within,
                             date_from=date_from, date_to=date_to, currency=currency, limit=limit)
    rt = runtime()
    with rt.connection() as conn:  # Core only: the listing starts without the ORM
        _emit_rows(listing.list_invoices(session=conn, actor=rt.actor(conn), today=rt.today, filters=filters), fmt)


@app.command()
def add(
    kind: Annotated[str, typer.Option("--kind", help="cxc (receivable) or cxp (payable).", metavar="KIND")],
    party: Annotated[str, typer.Option("--party", help="Client (cxc) or supplier (cxp): RUC/DNI or id.", metavar="DOC")],
    serie: Annotated[str, typer.Option("--serie", help="F001, B001, E001, or 4 digits for paper.")],
    numero: Annotated[str, typer.Option("--numero", help="Correlativo, 1 to 99999999.")],
    issued: Annotated[str, typer.Option("--issued", help="Issue date, YYYY-MM-DD or DD/MM/YYYY.", metavar="DATE")],
    total: Annotated[Optional[str], typer.Option("--total", help="Total with IGV (base and IGV derived at 18% if not given).", metavar="AMOUNT")] = None,
    due: Annotated[Optional[str], typer.Option("--due", help="Due date, YYYY-MM-DD or DD/MM/YYYY (notes default to the issue date).", metavar="DATE")] = None,
    base: Annotated[Optional[str], typer.Option("--base", help="Taxable base.", metavar="AMOUNT")] = None,
    igv: Annotated[Optional[str], typer.Option("--igv", help="IGV (0 for exempt).", metavar="AMOUNT")] = None,
    currency: Annotated[str, typer.Option("--currency", help="PEN or USD.", metavar="CUR")] = "PEN",
    rate: Annotated[Optional[str], typer.Option("--rate", help="PEN per USD; default: the SBS selling rate of the issue date (`cuentas fx`).", metavar="FX")] = None,
    doc_type: Annotated[str, typer.Option("--doc-type", help="01 factura, 03 boleta, 07 nota de crédito, 08 nota de débito.")] = "01",
    description: Annotated[Optional[str], typer.Option("--description", help="Free text.", metavar="TEXT")] = None,
    detraccion: Annotated[Optional[str], typer.Option("--detraccion", help="Detracción (SPOT) percentage of the total, e.g. 12.", metavar="PCT")] = None,
    retencion: Annotated[Optional[bool], typer.Option("--retencion/--no-retencion", help="A 3% IGV retención is withheld (default: yes for a client flagged as retention agent when the total exceeds S/ 700 and no detracción applies).")] = None,
    references: Annotated[Optional[str], typer.Option("--references", help="For notes 07/08: the invoice modified, SERIE-NUMERO.", metavar="DOC")] = None,
    cuota: Annotated[Optional[list[str]], typer.Option("--cuota", help="Al crédito: one cuota, DATE:AMOUNT; repeat it for each. They add up to the total less detracción and retención; the invoice is due on the last.", metavar="DATE:AMOUNT")] = None,
    contado: Annotated[bool, typer.Option("--contado", help="Al contado: no cuotas; due on the issue date unless --due says otherwise.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Add an invoice, or a credit/debit note that adjusts the invoice it references.

    Example: cuentas invoices add --kind cxc --party 20131312955 --serie F001 --numero 123 --issued 2026-06-01 --due 2026-07-01 --total 1180.00 --detraccion 12

    Example: cuentas invoices add --kind cxc --party 20131312955 --serie F001 --numero 124 --issued 2026-06-01 --total 1180.00 --cuota 2026-07-01:590.00 --cuota 2026-08-01:590.00
    """
    from cuentas_cli.ledger import invoices

    rt = runtime()
    if total is None and (base is None or igv is None):
        raise UsageError(_("give --total (or both --base and --igv)"))
    notes: list[str] = []
    with rt.session(write=True) as session:
        row = invoices.add_invoice(
            session=session, actor=rt.actor(session), today=rt.today, kind=kind, party=party, serie=serie,
            numero=numero, issued=parse_date(issued, "--issued"), due=parse_date(due, "--due"), total=total,
            base=base, igv=igv, currency=currency, rate=rate, doc_type=doc_type, description=description,
            detraccion=detraccion, retencion=retencion, references=references, notes=notes, cuotas=cuota or [],
            contado=contado,
        )
    for note in notes:
        warn(note)
    success(_("invoice {id} added: {document} {party_name}, {currency} {total:,.2f}, {status}")
            .format(id=row.id, document=row.document, party_name=row.party_name, currency=row.currency, total=row.total, status=row.status))
    if fmt is not None:
        emit_record(row, fmt)


@app.command()
def show(ref: IdArg, fmt: FormatOpt = None) -> None:
    """Show one invoice: amounts, balance, detracción/retención, notes, payments, reminders sent.

    Example: cuentas invoices show 42 --format json
    """
    from cuentas_cli.render import resolve_format
    from cuentas_cli.ledger import listing

    rt = runtime()
    with rt.connection() as conn:  # Core only, as every fast command
        detail = listing.show_invoice(session=conn, actor=rt.actor(conn), today=rt.today, ref=ref)
    if resolve_format(fmt) != "table":
        emit_record(detail, fmt)
        return
    record = {k: v for k, v in vars(detail).items() if k not in {"payments", "notes", "cuotas"}}
    if not detail.detraccion_pct:
        record.pop("detraccion_recorded")
    if not detail.retencion:
        record.pop("retencion_recorded")
    emit_record(record, "table", title=f"{detail.document} ({detail.kind})")
    if detail.notes:
        emit(detail.notes, "table", title=_("Credit/debit notes"))
    if detail.cuotas:
        emit(detail.cuotas, "table", title=_("Cuotas"))
    if detail.payments:
        emit(detail.payments, "table", title=_("Payments"))


@app.command()
def edit(
    ref: IdArg,
    party: Annotated[Optional[str], typer.Option("--party", help="Another client/supplier of the same kind.", metavar="DOC")] = None,
    doc_type: Annotated[Optional[str], typer.Option("--doc-type", help="01 or 03.")] = None,
    serie: Annotated[Optional[str], typer.Option("--serie")] = None,
    numero: Annotated[Optional[str], typer.Option("--numero")] = None,
    issued: Annotated[Optional[str], typer.Option("--issued", metavar="DATE")] = None,
    due: Annotated[Optional[str], typer.Option("--due", metavar="DATE")] = None,
    total: Annotated[Optional[str], typer.Option("--total", metavar="AMOUNT")] = None,
    base: Annotated[Optional[str], typer.Option("--base", metavar="AMOUNT")] = None,
    igv: Annotated[Optional[str], typer.Option("--igv", metavar="AMOUNT")] = None,
    currency: Annotated[Optional[str], typer.Option("--currency", metavar="CUR")] = None,
    rate: Annotated[Optional[str], typer.Option("--rate", metavar="FX")] = None,
    description: Annotated[Optional[str], typer.Option("--description", metavar="TEXT")] = None,
    detraccion: Annotated[Optional[str], typer.Option("--detraccion", help="Percentage; 0 removes it.", metavar="PCT")] = None,
    retencion: Annotated[Optional[bool], typer.Option("--retencion/--no-retencion", help="Set or remove the 3% retención.")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Change an invoice's fields (administrador); payments and status follow.

    Example: cuentas invoices edit 42 --due 2026-08-15 --description "plazo ampliado"
    """
    from cuentas_cli.ledger import invoices

    rt = runtime()
    with rt.session(write=True) as session:
        row, changed = invoices.edit_invoice(
            session=session, actor=rt.actor(session), today=rt.today, ref=ref, party=party, doc_type=doc_type,
            serie=serie, numero=numero, issued=parse_date(issued, "--issued"), due=parse_date(due, "--due"),
            total=total, base=base, igv=igv, currency=currency, rate=rate, description=description,
            detraccion=detraccion, retencion=retencion,
        )
    if changed:
        success(_("invoice {id} ({document}) changed: {join_changed}; now {status}")
                .format(id=row.id, document=row.document, join_changed=', '.join(changed), status=row.status))
    else:
        info(_("invoice {id} ({document}): nothing to change").format(id=row.id, document=row.document))
    if fmt is not None:
        emit_record(row, fmt)


@app.command("set-status")
def set_status(
    ref: IdArg,
    status: Annotated[str, typer.Argument(help="PAGADA, ANULADA, or PENDIENTE/PARCIAL/VENCIDA to restore an annulled invoice.")],
    on: Annotated[Optional[str], typer.Option("--date", help="PAGADA: date of the payment recorded (default today).", metavar="DATE")] = None,
    method: Annotated[str, typer.Option("--method", help="PAGADA: method of that payment.")] = "transferencia",
    reference: Annotated[Optional[str], typer.Option("--reference", help="PAGADA: reference of that payment.", metavar="R")] = None,
) -> None:
    """Change an invoice's status by hand: PAGADA records a payment of the balance; ANULADA
    takes it out of collection; leaving ANULADA needs an administrador.

    Example: cuentas invoices set-status 42 PAGADA --date 2026-06-10 --reference OP-5531
    """
    from cuentas_cli.ledger import status_changes

    rt = runtime()
    with rt.session(write=True) as session:
        change = status_changes.set_status(session=session, actor=rt.actor(session), today=rt.today, ref=ref,
                                           status=status, paid_on=parse_date(on, "--date"), method=method,
                                           reference=reference)
    row = change.row
    if change.before == change.after:
        info(_("invoice {id} ({document}) is already {status}")
             .format(id=row.id, document=row.document, status=row.status))
        return
    extra = f"; payment {change.payment_id} of {change.payment_amount:,.2f} recorded" if change.payment_id else ""
    success(_("invoice {id} ({document}): {before} -> {after}{extra}")
            .format(id=row.id, document=row.document, before=change.before, after=change.after, extra=extra))


@app.command()
def delete(
    ref: IdArg,
    with_payments: Annotated[bool, typer.Option("--with-payments", help="Also delete its payments.")] = False,
) -> None:
    """Delete an invoice (administrador); refused while it has payments unless --with-payments.

    Example: cuentas invoices delete 42 --with-payments
    """
    from cuentas_cli.ledger import invoices

    rt = runtime()
    with rt.session(write=True) as session:
        gone = invoices.delete_invoice(session=session, actor=rt.actor(session), today=rt.today, ref=ref,
                                       with_payments=with_payments)
    extra = f" with {gone.payments} payment(s) of {gone.payments_total:,.2f}" if gone.payments else ""
    success(_("invoice {id} ({document}) deleted{extra}")
            .format(id=gone.id, document=gone.document, extra=extra))


@app.command()
def pay(
    ref: IdArg,
    amount: Annotated[str, typer.Argument(help="Amount in the invoice's currency, e.g. 1038.40.")],
    on: Annotated[Optional[str], typer.Option("--date", help="Payment date (default today).", metavar="DATE")] = None,
    method: Annotated[str, typer.Option("--method", help="transferencia, efectivo, cheque, detraccion or retencion.")] = "transferencia",
    reference: Annotated[Optional[str], typer.Option("--reference", help="Operation number, cheque number, certificate...", metavar="R")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Record a payment (partial or full); more than the balance is refused.

    Example: cuentas invoices pay 42 141.60 --method detraccion --reference "constancia 12345"
    """
    from cuentas_cli.ledger import payments

    rt = runtime()
    with rt.connection(write=True) as conn:  # Core only: recording payments by hand starts fast
        result = payments.pay(session=conn, actor=rt.actor(conn), today=rt.today, ref=ref, amount=amount,
                              paid_on=parse_date(on, "--date"), method=method, reference=reference)
    for message in result.warnings:
        warn(message)
    inv = result.invoice
    success(_("payment {id} of {amount:,.2f} {currency} recorded on {document}; balance {balance:,.2f}, "
              "{status}")
            .format(id=result.payment.id, amount=result.payment.amount, currency=inv.currency, document=inv.document, balance=inv.balance, status=inv.status))
    if fmt is not None:
        emit_record(result.payment, fmt)


@app.command()
def payments(ref: IdArg, fmt: FormatOpt = None) -> None:
    """List an invoice's payments.

    Example: cuentas invoices payments 42 --format csv
    """
    from cuentas_cli.ledger import payments as service

    rt = runtime()
    with rt.connection() as conn:
        rows = service.list_payments(session=conn, actor=rt.actor(conn), ref=ref)
    emit(rows, fmt)


@app.command()
def unpay(payment_id: Annotated[int, typer.Argument(help="Payment id (see `invoices payments ID`).", metavar="PAYMENT_ID")]) -> None:
    """Delete a payment (administrador); the invoice's balance and status come back.

    Example: cuentas invoices unpay 314
    """
    from cuentas_cli.ledger import payments as service

    rt = runtime()
    with rt.session(write=True) as session:
        result = service.delete_payment(session=session, actor=rt.actor(session), today=rt.today, payment_id=payment_id)
    inv = result.invoice
    success(_("payment {id} of {amount:,.2f} deleted from {document}; balance {balance:,.2f}, "
              "{status_before} -> {status}")
            .format(id=result.payment.id, amount=result.payment.amount, document=inv.document, balance=inv.balance, status_before=result.status_before, status=inv.status))


@app.command()
def overdue(kind: KindOpt = None, fmt: FormatOpt = None,
            all_companies: Annotated[bool, typer.Option("--all-companies", help="Of every company of the firm you may "
                                                        "read, with the company's RUC on each row.")] = False) -> None:
    """List open invoices past their due date, oldest first (due today is not overdue).

    Example: cuentas invoices overdue --kind cxc --format csv
    Example: cuentas invoices overdue --all-companies --format json
    """
    from cuentas_cli.ledger import listing

    rt = runtime()
    if all_companies:
        from cuentas_cli.ops import firm
        from cuentas_cli.render import resolve_format
        from cuentas_cli.ledger.records import LIST_COLUMNS

        rows = firm.all_overdue(rt, kind=kind)
        emit(rows, fmt, columns=["company_ruc", *LIST_COLUMNS] if resolve_format(fmt) == "table" else None)
        return
    with rt.session() as session:
        rows = listing.list_invoices(session=session, actor=rt.actor(session), today=rt.today,
                                     filters=listing.InvoiceFilter(kind=kind, overdue=True))
        _emit_rows(rows, fmt)


@app.command()
def upcoming(
    days: Annotated[int, typer.Option("--days", help="Due from today to today + DAYS.", metavar="DAYS", min=0)] = 7,
    kind: KindOpt = None,
    fmt: FormatOpt = None,
) -> None:
    """List open invoices falling due in the next days.

    Example: cuentas invoices upcoming --days 14 --kind cxp
    """
    from cuentas_cli.ledger import listing

    check_count(days, "--days")
    rt = runtime()
    with rt.session() as session:
        rows = listing.list_invoices(session=session, actor=rt.actor(session), today=rt.today,
                                     filters=listing.InvoiceFilter(kind=kind, due_within=days))
        _emit_rows(rows, fmt)


@app.command("update-statuses")
def update_statuses(fmt: FormatOpt = None) -> None:
    """Recompute every invoice's status as of today (set-based) and print how many changed to each.

    Example: cuentas --today 2026-07-01 invoices update-statuses
    """
    from cuentas_cli.db.models import INVOICE_STATUSES
    from cuentas_cli.ledger import status_changes

    rt = runtime()
    with rt.session(write=True) as session:
        changed = status_changes.update_statuses(session=session, actor=rt.actor(session), today=rt.today)
    rows = [{"status": s, "changed": changed.get(s, 0)} for s in INVOICE_STATUSES if s != "ANULADA"]
    emit(rows, fmt)
    info(_("{sum_changed_values} status(es) changed as of {rt_today_isoformat}")
         .format(sum_changed_values=sum(changed.values()), rt_today_isoformat=rt.today.isoformat()))
