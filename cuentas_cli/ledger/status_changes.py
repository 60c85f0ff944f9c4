"""An invoice's status changed by hand (`invoices set-status`), and every status recomputed as
of a day (`invoices update-statuses`); the status rule itself is in `ledger/statuses.py`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from cuentas_cli.db.enums import INVOICE_STATUSES, utcnow
from cuentas_cli.errors import Conflict, ValidationError
from cuentas_cli.admin import audit
from cuentas_cli.ledger import balances
from cuentas_cli.ledger import statuses
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.ledger.notes import apply_note
from cuentas_cli.ledger.payments import insert_payments
from cuentas_cli.ledger.records import (
    InvoiceRow,
    audit_view,
    document_label,
    get_invoice,
    money,
    normalise_status,
    refresh_status,
    row_of,
)
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

_HOW_TO_REACH = {
    "PENDIENTE": "a PENDIENTE invoice has no payments and is not past due",
    "PARCIAL": "record a partial payment with `cuentas invoices pay ID AMOUNT`",
    "VENCIDA": "an invoice becomes VENCIDA by itself the day after its due date",
}


@dataclass
class StatusChange:
    row: InvoiceRow
    before: str
    after: str
    payment_id: int | None = None
    payment_amount: Decimal | None = None


def set_status(*, session: "Session", actor: Actor | None, today: date, ref: str, status: str,
               paid_on: date | None = None, method: str = "transferencia", reference: str | None = None) -> StatusChange:
    """Change an invoice's status by hand.

    PAGADA records a payment of the balance (so balances stay true); ANULADA takes the invoice
    out of collection (refused while it has payments); leaving ANULADA needs invoices.edit.
    PENDIENTE, PARCIAL and VENCIDA follow from payments and dates, so they are accepted only
    where they are the invoice's true status (e.g. to restore an annulled invoice).
    """
    from sqlalchemy import func, select

    from cuentas_cli.db.models import Invoice

    require(actor, "invoices.operate")
    target = normalise_status(status)
    inv = get_invoice(session, ref, lock=True)
    label = document_label(inv.serie, inv.numero)
    before = audit_view(inv)
    old = inv.status
    note_target = session.get(Invoice, inv.references_id) if inv.references_id else None
    payment = None
    if target == "ANULADA":
        if old == "ANULADA":
            return StatusChange(row_of(session, inv, today=today), old, old)
        if inv.paid_cents > 0:
            raise Conflict(_("{label} has payments of {money_inv_paid_cents:.2f}; an invoice with "
                             "payments cannot be annulled (see `cuentas invoices payments {id}`)")
                           .format(label=label, money_inv_paid_cents=money(inv.paid_cents), id=inv.id))
        live_notes = session.execute(select(func.count()).select_from(Invoice).where(
            Invoice.references_id == inv.id, Invoice.status != "ANULADA")).scalar_one()
        if live_notes:
            raise Conflict(_("{live_notes} credit/debit note(s) modify {label}; annul or delete them "
                             "first")
                           .format(live_notes=live_notes, label=label))
        if note_target is not None:
            session.get(Invoice, note_target.id, with_for_update=True)
            apply_note(session, note=inv, target=note_target, today=today, sign=-1)
        inv.status = "ANULADA"
    else:
        if old == "ANULADA":
            require(actor, "invoices.edit")
            if note_target is not None:
                session.get(Invoice, note_target.id, with_for_update=True)
                apply_note(session, note=inv, target=note_target, today=today, sign=+1)
            inv.status = "PENDIENTE"
        refresh_status(inv, today=today)
        if target == "PAGADA" and inv.status != "PAGADA":
            balance = balances.cached_balance(inv)
            payment = (insert_payments(session, actor=actor, inv=inv, today=today,
                                       items=[(balance, paid_on or today, method, reference or "set-status PAGADA")])[0],
                       balance)  # (id, céntimos) of the settling payment
        elif target != inv.status:
            if inv.status == "PAGADA":
                reason = "it is fully paid; delete payments with `cuentas invoices unpay PAYMENT_ID` (administrador)"
            elif target == "PENDIENTE" and inv.status == "VENCIDA":
                reason = f"it was due {inv.due_date}; move the due date with `cuentas invoices edit {inv.id} --due DATE`"
            elif target == "PENDIENTE" and inv.status == "PARCIAL":
                reason = "it has payments; delete them with `cuentas invoices unpay PAYMENT_ID` (administrador)"
            else:
                reason = _HOW_TO_REACH[target]
            raise ValidationError(_("{label} is {status} by its payments and due date, not {target}: "
                                    "{reason}")
                                  .format(label=label, status=inv.status, target=target, reason=reason))
    inv.updated_at = utcnow()
    session.add(inv)
    after = audit_view(inv)
    if payment is not None:
        after["payment_id"] = payment[0]
    audit.record(session, actor, action="invoice.set_status", entity="invoice", entity_id=inv.id,
                 before={"status": before["status"], "paid": before["paid"]},
                 after={k: after[k] for k in ("status", "paid", "payment_id") if k in after})
    return StatusChange(row_of(session, inv, today=today), old, inv.status,
                        payment[0] if payment else None, money(payment[1]) if payment else None)


def update_statuses(*, session: "Session", actor: Actor | None, today: date) -> dict[str, int]:
    """Recompute every status as of `today` in one set-based statement; how many became each."""

    require(actor, "invoices.operate")
    changed = statuses.refresh(session, today=today)
    audit.record(session, actor, action="invoice.update_statuses", entity="invoice",
                 after={"today": today, **{k: changed.get(k, 0) for k in INVOICE_STATUSES if k != "ANULADA"}})
    return changed
