"""Credit (07) and debit (08) notes: whether a note fits and may apply to the invoice it
references, and applying (or withdrawing) its amount there.

A note is an invoice row that references the document it modifies: its total moves the
referenced invoice's `adjust_cents` (credit -, debit +) and its own `adjust_cents` is minus its
total, so the note itself never carries a balance to collect (its status reads PAGADA once
applied, ANULADA when voided).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from cuentas_cli.db.enums import utcnow
from cuentas_cli.errors import Conflict, ValidationError
from cuentas_cli.ledger import balances
from cuentas_cli.ledger import documents
from cuentas_cli.ledger.records import document_label, money, refresh_status
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

    from cuentas_cli.db.models import Invoice

def check_note_fits(*, doc_type: str, serie: str, currency: str, target: "Invoice") -> None:
    label = document_label(target.serie, target.numero)
    if currency != target.currency:
        raise ValidationError(_("the note is in {currency} but {label} is in {currency2}; notes keep the "
                                "invoice's currency")
                              .format(currency=currency, label=label, currency2=target.currency))
    if serie[0] == "F" and target.doc_type == "03" or serie[0] == "B" and target.doc_type == "01":
        raise ValidationError(_("a note on {documents_doc_types_targ} {label} uses a serie of the same "
                                "letter ({label_0}...), not {serie}")
                              .format(documents_doc_types_targ=documents.DOC_TYPES[target.doc_type], label=label, label_0=label[0], serie=serie))


def check_note_applies(*, doc_type: str, total_cents: int, target: Any) -> None:
    """The rule for applying a note to the invoice it references, on every path (add, import).

    `target` is anything with the invoice's serie, numero, status, currency and total, adjust
    and paid céntimos (an Invoice, or the importer's row view)."""
    label = document_label(target.serie, target.numero)
    balance = balances.cached_balance(target)
    if target.status == "ANULADA":
        raise ValidationError(_("{label} is ANULADA; a note cannot modify it").format(label=label))
    if doc_type == "07":
        if target.status == "PAGADA" or balance <= 0:
            raise ValidationError(_("{label} is PAGADA; a credit note on a paid invoice is refused "
                                    "(delete its payments first with `cuentas invoices unpay PAYMENT_ID`)")
                                  .format(label=label))
        if total_cents > balance:
            raise ValidationError(_("credit note of {money_total_cents:.2f} is more than the balance "
                                    "{money_balance:.2f} {currency} of {label}")
                                  .format(money_total_cents=money(total_cents), money_balance=money(balance), currency=target.currency, label=label))


def apply_note(session: "Session", *, note: "Invoice", target: "Invoice", today: date, sign: int) -> None:
    """Apply (sign=+1) or withdraw (sign=-1) a note's amount on the invoice it references."""
    label = document_label(target.serie, target.numero)
    balance = balances.cached_balance(target)
    credit = note.doc_type == "07"
    delta = (-note.total_cents if credit else note.total_cents) * sign
    if sign > 0:
        check_note_applies(doc_type=note.doc_type, total_cents=note.total_cents, target=target)
    elif balance + delta < 0:
        raise Conflict(_("payments on {label} already cover part of this debit note (balance "
                         "{money_balance:.2f}); delete those payments first with `cuentas invoices unpay "
                         "PAYMENT_ID`")
                       .format(label=label, money_balance=money(balance)))
    target.adjust_cents += delta
    if target.status != "ANULADA":
        refresh_status(target, today=today)
    target.updated_at = utcnow()
    session.add(target)
