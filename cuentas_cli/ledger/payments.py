"""Payments on invoices: record (one or many), list, delete; each keeps its invoice's paid
amount and status right in the same transaction, under the invoice's row lock.

Core statements over db/tables.py throughout (no ORM), so `invoices pay` starts fast; every
function takes an ORM session or a Core connection."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cuentas_cli.db.enums import PAYMENT_METHODS
from cuentas_cli.errors import Conflict, NotFound, ValidationError
from cuentas_cli.admin import audit
from cuentas_cli.ledger import balances
from cuentas_cli.ledger import cuotas as cuota_rules
from cuentas_cli.ledger import documents
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.ledger.records import document_label, find_invoice, money, row_of, store_invoice
from cuentas_cli.ledger.statuses import status_for
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlmodel import Session

    from cuentas_cli.ledger.records import InvoiceRow

    Db = Session | Connection

METHOD_ALIASES = {
    "transferencia": "transferencia", "transfer": "transferencia", "deposito": "transferencia",
    "efectivo": "efectivo", "cash": "efectivo",
    "cheque": "cheque",
    "detraccion": "detraccion", "detracción": "detraccion",
    "retencion": "retencion", "retención": "retencion",
}


def normalise_method(method: str) -> str:
    try:
        return METHOD_ALIASES[method.strip().lower()]
    except KeyError:
        raise ValidationError(_("unknown payment method {method!r}; use {join_payment_methods}")
                              .format(method=method, join_payment_methods=', '.join(PAYMENT_METHODS))) from None


@dataclass
class PaymentRow:
    id: int
    invoice_id: int
    document: str
    paid_on: date
    amount: Decimal
    currency: str
    method: str
    reference: str | None
    recorded_by: str | None
    created_at: datetime
    bank_line_id: int | None = None  # the bank movement it was reconciled from (`cuentas bank confirm`)


def payment_rows(session: "Db", *, invoice_ids: Sequence[int] | None = None,
                 payment_id: int | None = None) -> list[PaymentRow]:
    from sqlalchemy import select

    from cuentas_cli.db.tables import app_user, invoice, payment

    query = (
        select(payment.c.id, payment.c.invoice_id, invoice.c.serie, invoice.c.numero, payment.c.paid_on,
               payment.c.amount_cents, invoice.c.currency, payment.c.method, payment.c.reference, app_user.c.username,
               payment.c.created_at, payment.c.bank_line_id)
        .join(invoice, invoice.c.id == payment.c.invoice_id)
        .outerjoin(app_user, app_user.c.id == payment.c.recorded_by)
        .order_by(payment.c.paid_on, payment.c.id)
    )
    if invoice_ids is not None:
        query = query.where(payment.c.invoice_id.in_(list(invoice_ids)))
    if payment_id is not None:
        query = query.where(payment.c.id == payment_id)
    return [
        PaymentRow(r.id, r.invoice_id, document_label(r.serie, r.numero), r.paid_on, money(r.amount_cents), r.currency,
                   r.method, r.reference, r.username, r.created_at, r.bank_line_id)
        for r in session.execute(query)
    ]


@dataclass(slots=True)
class InvoiceState:
    """What the payment checks read of an invoice, for the bulk paths (`payments import`, `bank
    match --auto`) that read many at once: `state_query()`'s columns, in its order."""

    id: int
    direction: str
    doc_type: str
    serie: str
    numero: int
    party_doc: str
    currency: str
    status: str
    references_id: int | None
    issue_date: date
    due_date: date
    total_cents: int
    adjust_cents: int
    paid_cents: int


def state_query() -> Any:
    """SELECT of InvoiceState's columns (invoice joined to its party); the caller adds the WHERE."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import invoice, party

    i = invoice.c
    return (select(i.id, i.direction, i.doc_type, i.serie, i.numero, party.c.doc_number, i.currency, i.status,
                   i.references_id, i.issue_date, i.due_date, i.total_cents, i.adjust_cents, i.paid_cents)
            .join(party, party.c.id == i.party_id))


def check_payable(inv: Any) -> None:
    """An invoice that may take payments at all: not ANULADA, not a credit/debit note."""
    label = document_label(inv.serie, inv.numero)
    if inv.status == "ANULADA":
        raise ValidationError(_("{label} is ANULADA; it takes no payments (restore it with `cuentas "
                                "invoices set-status {id} PENDIENTE`, administrador)")
                              .format(label=label, id=inv.id))
    if inv.references_id is not None:
        raise ValidationError(_("{label} is a credit/debit note: its amount is applied to the invoice it "
                                "references; record payments there")
                              .format(label=label))


def check_payment(inv: Any, *, balance: int, cents: int, paid_on: date, today: date,
                  reference: str | None) -> None:
    """One payment against an invoice whose open balance (céntimos) is `balance`: the rules every
    path obeys (`invoices pay`, `pay_many`, `payments import`)."""
    label = document_label(inv.serie, inv.numero)
    if cents <= 0:
        raise ValidationError(_("a payment must be greater than zero"))
    if cents > balance:
        raise ValidationError(_("payment of {money_cents:.2f} is more than the balance "
                                "{money_balance:.2f} {currency} of {label}")
                              .format(money_cents=money(cents), money_balance=money(balance), currency=inv.currency,
                                      label=label))
    if paid_on > today:
        raise ValidationError(_("payment date {paid_on_isoformat} is after today "
                                "({today_isoformat}): a post-dated cheque or transfer is not a "
                                "payment yet; record it on the day it is paid")
                              .format(paid_on_isoformat=paid_on.isoformat(), today_isoformat=today.isoformat()))
    if paid_on < inv.issue_date:
        raise ValidationError(_("payment date {paid_on_isoformat} is before {label} was issued "
                                "({inv_issue_date_isoformat})")
                              .format(paid_on_isoformat=paid_on.isoformat(), label=label,
                                      inv_issue_date_isoformat=inv.issue_date.isoformat()))
    if reference is not None and len(reference) > 100:
        raise ValidationError(_("reference: at most 100 characters"))


def new_status(inv: Any, *, paid_cents: int, today: date, db: "Db | None" = None) -> str:
    """The status with `paid_cents` paid. With `db`, an invoice in cuotas goes by the earliest
    cuota it still owes; bulk paths pass none and refresh those set-based afterwards
    (`statuses.refresh(only_cuotas=True)`)."""
    due = inv.due_date if db is None else cuota_rules.status_due(db, inv, paid_cents=paid_cents)
    return status_for(total_cents=inv.total_cents, adjust_cents=inv.adjust_cents, paid_cents=paid_cents,
                      due_date=due, today=today, current=inv.status)


def insert_payments(session: "Db", *, actor: Actor | None, inv: Any, today: date,
                    items: Sequence[tuple[int, date, str, str | None]], bank_line_id: int | None = None) -> list[int]:
    """Add payments (céntimos, date, method, reference) to a locked invoice (an ORM object or a
    `find_invoice` record); every check first, then the insert (one executemany for many), the
    invoice's paid amount and status, and one audit row. Returns the new payment's id for a
    single payment, nothing for many. `bank_line_id` links them to the bank movement they
    reconcile."""
    from sqlalchemy import insert

    from cuentas_cli.db.enums import utcnow
    from cuentas_cli.db.tables import payment

    check_payable(inv)
    balance = balances.cached_balance(inv)
    rows: list[dict] = []
    now = utcnow()
    for cents, paid_on, method, reference in items:
        check_payment(inv, balance=balance, cents=cents, paid_on=paid_on, today=today, reference=reference)
        balance -= cents
        rows.append({"invoice_id": inv.id, "paid_on": paid_on, "amount_cents": cents, "method": normalise_method(method),
                     "reference": (reference or "").strip() or None,
                     "recorded_by": actor.user_id if actor else None, "created_at": now,
                     "bank_line_id": bank_line_id})
    if not rows:
        return []
    before = {"paid": f"{money(inv.paid_cents):.2f}", "status": inv.status}
    first_id = None
    if len(rows) == 1:
        first_id = session.execute(insert(payment).values(**rows[0])).inserted_primary_key[0]
        created = [first_id]
    else:
        session.execute(insert(payment), rows)  # executemany
        created = []
    added = sum(r["amount_cents"] for r in rows)
    paid = inv.paid_cents + added
    store_invoice(session, inv, paid_cents=paid, status=new_status(inv, paid_cents=paid, today=today, db=session), updated_at=now)
    after = {"paid": f"{money(inv.paid_cents):.2f}", "status": inv.status, "amount": f"{money(added):.2f}",
             "payments": len(rows), "method": rows[0]["method"] if len(rows) == 1 else None}
    if first_id is not None:
        after["payment_id"] = first_id
    if bank_line_id is not None:
        after["bank_line"] = bank_line_id
    audit.record(session, actor, action="payment.add", entity="invoice", entity_id=inv.id, before=before, after=after)
    return created


@dataclass
class PaymentResult:
    payment: PaymentRow | None
    invoice: "InvoiceRow"
    count: int = 1
    warnings: list[str] = field(default_factory=list)


def pay(*, session: "Db", actor: Actor | None, today: date, ref: str, amount: str | int | Decimal,
        paid_on: date | None = None, method: str = "transferencia", reference: str | None = None) -> PaymentResult:
    """Record one payment (partial or full) on an invoice."""
    require(actor, "invoices.operate")
    method = normalise_method(method)
    inv = find_invoice(session, ref, lock=True)
    cents = documents.parse_amount(amount, field="amount", currency=inv.currency)
    warnings = _method_warnings(inv, method, cents)
    payment_id = insert_payments(session, actor=actor, inv=inv, today=today,
                                 items=[(cents, paid_on or today, method, reference)])[0]
    return PaymentResult(payment_rows(session, payment_id=payment_id)[0], row_of(session, inv, today=today),
                         warnings=warnings)


def pay_many(*, session: "Db", actor: Actor | None, today: date, ref: str,
             items: Sequence[tuple[str | int | Decimal, date | None, str, str | None]]) -> PaymentResult:
    """Record many payments on one invoice at once (amount, date, method, reference each),
    all or none: the bulk path for imports and bank statements."""
    require(actor, "invoices.operate")
    inv = find_invoice(session, ref, lock=True)
    parsed = [(documents.parse_amount(a, field="amount", currency=inv.currency), d or today, normalise_method(m), r)
              for a, d, m, r in items]
    insert_payments(session, actor=actor, inv=inv, today=today, items=parsed)
    return PaymentResult(None, row_of(session, inv, today=today), count=len(parsed))


def _method_warnings(inv: Any, method: str, cents: int) -> list[str]:
    label = document_label(inv.serie, inv.numero)
    if method == "detraccion":
        if not inv.detraccion_cents:
            return [_("{label} carries no detracción; recorded as a detracción deposit anyway").format(label=label)]
        if cents != inv.detraccion_cents:
            return [_("the detracción expected on {label} is {expected:.2f}, not {amount:.2f}")
                    .format(label=label, expected=money(inv.detraccion_cents), amount=money(cents))]
    if method == "retencion":
        if not inv.retencion_cents:
            return [_("{label} carries no retención; recorded as a retención anyway").format(label=label)]
        if cents != inv.retencion_cents:
            return [_("the retención expected on {label} is {expected:.2f}, not {amount:.2f}")
                    .format(label=label, expected=money(inv.retencion_cents), amount=money(cents))]
    return []


def list_payments(*, session: "Db", actor: Actor | None, ref: str) -> list[PaymentRow]:
    require(actor, "read")
    inv = find_invoice(session, ref)
    return payment_rows(session, invoice_ids=[inv.id])


@dataclass
class Unpaid:
    payment: PaymentRow
    invoice: "InvoiceRow"
    status_before: str


def delete_payment(*, session: "Db", actor: Actor | None, today: date, payment_id: int) -> Unpaid:
    """Delete a payment (administrador): the balance comes back and the status follows it
    (a payment deleted after the due date leaves the invoice VENCIDA again)."""
    from sqlalchemy import delete, select

    from cuentas_cli.db.enums import utcnow
    from cuentas_cli.db.tables import payment as payments_table

    require(actor, "invoices.delete")
    payment = session.execute(select(payments_table).where(payments_table.c.id == payment_id)).first()
    if payment is None:
        raise NotFound(_("no payment {payment_id}; see `cuentas invoices payments INVOICE_ID`")
                       .format(payment_id=payment_id))
    if payment.bank_line_id is not None:
        raise Conflict(_("payment {payment_id} was recorded from bank line {line}; `cuentas bank undo {line}` takes "
                         "the whole movement back").format(payment_id=payment_id, line=payment.bank_line_id))
    shown = payment_rows(session, payment_id=payment_id)[0]
    inv = find_invoice(session, payment.invoice_id, lock=True)
    before = {"paid": f"{money(inv.paid_cents):.2f}", "status": inv.status, "payment_id": payment.id,
              "amount": f"{money(payment.amount_cents):.2f}", "paid_on": payment.paid_on, "method": payment.method,
              "reference": payment.reference}
    status_before = inv.status
    session.execute(delete(payments_table).where(payments_table.c.id == payment_id))
    paid = inv.paid_cents - payment.amount_cents
    store_invoice(session, inv, paid_cents=paid, status=new_status(inv, paid_cents=paid, today=today, db=session),
                  updated_at=utcnow())
    audit.record(session, actor, action="payment.delete", entity="invoice", entity_id=inv.id, before=before,
                 after={"paid": f"{money(inv.paid_cents):.2f}", "status": inv.status})
    return Unpaid(shown, row_of(session, inv, today=today), status_before)


def remove_payments(session: "Db", *, actor: Actor | None, inv: Any, today: date, payment_ids: Sequence[int],
                    reason: dict[str, Any]) -> int:
    """Delete some payments of a locked invoice (the caller checked the permission and that they
    are the invoice's); its paid amount and status follow, with one audit row. Returns the
    céntimos removed."""
    from sqlalchemy import delete, func, select

    from cuentas_cli.db.enums import utcnow
    from cuentas_cli.db.tables import payment as payments_table

    ids = list(payment_ids)
    if not ids:
        return 0
    where = (payments_table.c.id.in_(ids), payments_table.c.invoice_id == inv.id)
    removed = int(session.execute(select(func.coalesce(func.sum(payments_table.c.amount_cents), 0))
                                  .where(*where)).scalar_one())
    before = {"paid": f"{money(inv.paid_cents):.2f}", "status": inv.status, "payments": len(ids),
              "amount": f"{money(removed):.2f}", **reason}
    from cuentas_cli.db.engine import dialect_of

    if dialect_of(session) == "postgresql":  # through the function that deletes only reconciled payments (team mode)
        from sqlalchemy import text

        session.execute(text("SELECT cuentas_delete_bank_payments(:invoice, :ids)"), {"invoice": inv.id, "ids": ids})
    else:
        session.execute(delete(payments_table).where(*where))
    paid = inv.paid_cents - removed
    store_invoice(session, inv, paid_cents=paid, status=new_status(inv, paid_cents=paid, today=today, db=session),
                  updated_at=utcnow())
    audit.record(session, actor, action="payment.delete", entity="invoice", entity_id=inv.id, before=before,
                 after={"paid": f"{money(inv.paid_cents):.2f}", "status": inv.status})
    return removed


__all__ = ["InvoiceState", "state_query", "PaymentRow", "pay", "pay_many", "list_payments", "delete_payment", "payment_rows", "insert_payments",
           "normalise_method", "check_payable", "check_payment", "new_status", "remove_payments"]
