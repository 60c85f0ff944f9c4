"""Invoices to collect (CxC) and to pay (CxP): add, edit and delete, under the rules every
change of a stored invoice keeps.

Every change keeps the invoice's denormalised `paid_cents`, `adjust_cents` and `status` right
in the same transaction, so a balance is always `total + adjust - paid` and a listing of a
million invoices needs no join to payments. An invoice's row and lookup are in
`ledger/records.py`, credit/debit notes in `ledger/notes.py`, payments in `ledger/payments.py`,
listing and `show` in `ledger/listing.py`, status changes in `ledger/status_changes.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from cuentas_cli.db.enums import utcnow
from cuentas_cli.errors import Conflict, NotFound, ValidationError
from cuentas_cli.admin import audit
from cuentas_cli.ledger import cuotas as cuota_rules
from cuentas_cli.ledger import documents
from cuentas_cli.ledger import fx
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.ledger.notes import apply_note, check_note_fits
from cuentas_cli.ledger.records import (
    PARTY_KIND,
    InvoiceRow,
    audit_view,
    document_label,
    get_invoice,
    money,
    normalise_currency,
    normalise_direction,
    refresh_status,
    row_of,
    to_pen_cents,
)
from cuentas_cli.parties.service import get_party
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

    from cuentas_cli.db.models import Invoice, Party

RETENCION_BP = documents.RETENCION_BP
CENT = Decimal("0.01")


def parse_percentage(text: str | Decimal | int) -> int:
    """'12', '12%', '1.5' -> basis points (1200, 150); more than 0 and less than 100."""
    raw = str(text).strip().rstrip("%").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationError(_("detracción {text!r}: give a percentage such as 12").format(text=text)) from None
    if not value.is_finite() or not Decimal(0) < value < Decimal(100):
        raise ValidationError(_("detracción {text!r}: must be more than 0 and less than 100 (%)")
                              .format(text=text))
    if value != value.quantize(CENT):
        raise ValidationError(_("detracción {text!r}: at most 2 decimals").format(text=text))
    return int(value * 100)


# --- validation shared by add and edit -----------------------------------------------------


def _resolve_rate(session: "Session", *, currency: str, rate: str | None, issued: date) -> int:
    if currency == "PEN":
        if rate is not None and documents.parse_rate(rate) != 10000:
            raise ValidationError(_("--rate is only for USD invoices; a PEN invoice has rate 1"))
        return 10000
    if rate is not None:
        return documents.parse_rate(rate)
    return fx.sell_rate_e4(session, on=issued, currency=currency)


def _withholdings(*, doc_type: str, total: int, rate_e4: int, detraccion_bp: int | None,
                  retencion: bool) -> tuple[int, int]:
    if not detraccion_bp and not retencion:
        return 0, 0
    if doc_type in documents.NOTE_TYPES:
        raise ValidationError(_("detracción and retención apply to the invoice, not to a credit or debit "
                                "note"))
    if detraccion_bp and retencion:
        raise ValidationError(_("retención does not apply where detracción (SPOT) applies; choose one"))
    total_pen = to_pen_cents(total, rate_e4)
    threshold = documents.DETRACCION_THRESHOLD_CENTS
    if total_pen <= threshold:
        what = "detracción" if detraccion_bp else "retención"
        raise ValidationError(
            _("{what} does not apply at or below S/ {money_threshold:.2f} (this total is S/ "
              "{money_total_pen:,.2f})")
            .format(what=what, money_threshold=money(threshold), money_total_pen=money(total_pen)))
    if detraccion_bp:
        return documents.percentage_cents(total, detraccion_bp), 0
    return 0, documents.percentage_cents(total, RETENCION_BP)


def _retencion_for(*, direction: str, party: "Party", doc_type: str, total: int, rate_e4: int,
                   detraccion_bp: int | None, retencion: bool | None, notes: list[str]) -> bool:
    """Whether a new invoice carries the 3% retención, and a note for the user when it was
    proposed or looks wrong.

    A receivable's client that SUNAT designates retention agent withholds 3% of the total when
    it exceeds S/ 700 and no detracción applies: with `retencion=None` (not said either way)
    such an invoice gets it, with a note; `retencion=False` opts out. Asked for a client not
    flagged as agent, it is kept but noted. A payable's retención is withheld by the company
    itself, which the settings do not record yet: there it is only what the caller says.
    """
    if direction != "receivable":
        return bool(retencion)
    label = f"client {party.doc_number} ({party.name})"
    if retencion is None:
        if not party.is_retention_agent or doc_type in documents.NOTE_TYPES or detraccion_bp:
            return False
        total_pen = to_pen_cents(total, rate_e4)
        if total_pen <= documents.DETRACCION_THRESHOLD_CENTS:
            return False
        withheld = documents.percentage_cents(total, RETENCION_BP)
        notes.append(f"{label} is a retention agent: it withholds the 3% retención ({money(withheld):,.2f}), "
                     "recorded on this invoice; pass --no-retencion if it does not apply")
        return True
    if retencion and not party.is_retention_agent:
        notes.append(f"{label} is not flagged as a retention agent; the retención is recorded as asked "
                     f"(if it is one: `cuentas clients edit {party.doc_number} --retention-agent`)")
    return retencion


def _check_dates(issued: date, due: date) -> None:
    if due < issued:
        raise ValidationError(_("due date {due_isoformat} is before the issue date {issued_isoformat}")
                              .format(due_isoformat=due.isoformat(), issued_isoformat=issued.isoformat()))


# --- add ------------------------------------------------------------------------------------


def add_invoice(
    *,
    session: "Session",
    actor: Actor | None,
    today: date,
    kind: str,
    party: str,
    serie: str,
    numero: str | int,
    issued: date,
    due: date | None,
    total: str | None,
    base: str | None = None,
    igv: str | None = None,
    currency: str = "PEN",
    rate: str | None = None,
    doc_type: str = "01",
    description: str | None = None,
    detraccion: str | None = None,
    retencion: bool | None = None,
    references: str | None = None,
    notes: list[str] | None = None,
    cuotas: list[str] | None = None,
    contado: bool = False,
) -> InvoiceRow:
    """Record an invoice or a credit/debit note (which is applied to the invoice it references).

    `retencion=None` lets a receivable to a retention-agent client get the 3% retención (see
    `_retencion_for`); messages for the user about it are appended to `notes`. `cuotas`
    (`DATE:AMOUNT` each) make it a credit sale in installments, due on the last one;
    `contado` without a due date makes it due on its issue date (ledger/cuotas.py)."""
    from cuentas_cli.db.models import Invoice

    require(actor, "invoices.create")
    direction = normalise_direction(kind)
    doc_type = documents.check_doc_type(doc_type)
    serie = documents.check_serie(doc_type, serie)
    numero = documents.check_numero(numero)
    is_note = doc_type in documents.NOTE_TYPES
    currency = normalise_currency(currency)
    planned, due = cuota_rules.planned(cuotas or [], contado=contado, due=due, issued=issued, currency=currency)
    if due is None:
        if not is_note:
            raise ValidationError(_("give the due date with --due (only a credit or debit note may omit "
                                    "it)"))
        due = issued
    _check_dates(issued, due)
    base_c = documents.parse_amount(base, field="base", currency=currency) if base is not None else None
    igv_c = documents.parse_amount(igv, field="IGV", currency=currency) if igv is not None else None
    total_c = documents.parse_amount(total, field="total", currency=currency) if total is not None else None
    if total_c == 0 or base_c == 0:
        raise ValidationError(_("amounts must be greater than zero"))
    base_c, igv_c, total_c = documents.split_total(total=total_c, base=base_c, igv=igv_c)
    rate_e4 = _resolve_rate(session, currency=currency, rate=rate, issued=issued)
    detraccion_bp = parse_percentage(detraccion) if detraccion is not None else None
    party_row = get_party(session, kind=PARTY_KIND[direction], ref=party)
    retencion = _retencion_for(direction=direction, party=party_row, doc_type=doc_type, total=total_c,
                               rate_e4=rate_e4, detraccion_bp=detraccion_bp, retencion=retencion,
                               notes=notes if notes is not None else [])
    detraccion_c, retencion_c = _withholdings(doc_type=doc_type, total=total_c, rate_e4=rate_e4,
                                              detraccion_bp=detraccion_bp, retencion=retencion)
    plan = cuota_rules.check_cuotas(planned, doc_type=doc_type, issued=issued, total_cents=total_c,
                                    detraccion_cents=detraccion_c, retencion_cents=retencion_c, currency=currency)

    target = None
    if is_note:
        if not references:
            raise ValidationError(_("a credit or debit note needs --references SERIE-NUMERO of the "
                                    "invoice it modifies"))
        ref_serie, ref_numero = documents.split_document(references)
        target = _find_document(session, direction=direction, party_id=party_row.id, serie=ref_serie,
                                numero=ref_numero, doc_types=("01", "03"))
        if target is None:
            raise NotFound(_("no invoice {ref_serie}-{ref_numero} of {name} ({doc_number}) to reference; "
                             "see `cuentas invoices list --party {doc_number}`")
                           .format(ref_serie=ref_serie, ref_numero=ref_numero, name=party_row.name, doc_number=party_row.doc_number))
        check_note_fits(doc_type=doc_type, serie=serie, currency=currency, target=target)
    elif references:
        raise ValidationError(_("--references is only for credit (07) and debit (08) notes"))

    _refuse_duplicate(session, direction=direction, party=party_row, doc_type=doc_type, serie=serie, numero=numero)
    inv = Invoice(
        direction=direction, party_id=party_row.id, doc_type=doc_type, serie=serie, numero=numero,
        issue_date=issued, due_date=due, currency=currency, exchange_rate_e4=rate_e4,
        base_cents=base_c, igv_cents=igv_c, total_cents=total_c, detraccion_bp=detraccion_bp,
        detraccion_cents=detraccion_c, retencion_cents=retencion_c, description=_clean_text(description),
        created_by=actor.user_id if actor else None,
        references_id=target.id if target is not None else None,
    )
    if is_note:
        inv.adjust_cents = -total_c  # the note carries no balance of its own
    refresh_status(inv, today=today)
    session.add(inv)
    session.flush()
    if target is not None:
        apply_note(session, note=inv, target=target, today=today, sign=+1)
    cuota_rules.store(session, inv.id, plan)
    if plan:
        refresh_status(inv, today=today)  # due with its first cuota, now that they are stored
    after = audit_view(inv)
    if plan:
        after["cuotas"] = [{"number": c.number, "due_date": c.due_date.isoformat(),
                            "amount": f"{money(c.amount_cents):.2f}"} for c in plan]
    audit.record(session, actor, action="invoice.add", entity="invoice", entity_id=inv.id, after=after)
    return row_of(session, inv, today=today)


def _find_document(session: "Session", *, direction: str, party_id: int, serie: str, numero: int,
                   doc_types: tuple[str, ...]) -> "Invoice | None":
    from sqlmodel import select

    from cuentas_cli.db.models import Invoice

    return session.exec(
        select(Invoice).where(Invoice.direction == direction, Invoice.party_id == party_id, Invoice.serie == serie,
                              Invoice.numero == numero, Invoice.doc_type.in_(doc_types))
        .with_for_update()
    ).first()


def _clean_text(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    if len(text) > 2000:
        raise ValidationError(_("description: at most 2000 characters"))
    return text or None


def _refuse_duplicate(session: "Session", *, direction: str, party: "Party", doc_type: str, serie: str, numero: int,
                      exclude_id: int | None = None) -> None:
    from sqlmodel import select

    from cuentas_cli.db.models import Invoice

    query = select(Invoice.id).where(Invoice.direction == direction, Invoice.party_id == party.id,
                                     Invoice.doc_type == doc_type, Invoice.serie == serie, Invoice.numero == numero)
    if exclude_id is not None:
        query = query.where(Invoice.id != exclude_id)
    existing = session.exec(query).first()
    if existing is not None:
        raise Conflict(_("{documents_doc_types_doc} {serie}-{numero} of {name} ({doc_number}) already "
                         "exists as invoice {existing}; see `cuentas invoices show {existing}`")
                       .format(documents_doc_types_doc=documents.DOC_TYPES[doc_type], serie=serie, numero=numero, name=party.name, doc_number=party.doc_number, existing=existing))


# --- edit, delete ------------------------------------------------------------------------


# The columns a change may touch, and those of a note that fix its effect on the invoice it
# references (column -> the name the user knows it by).
EDITABLE_COLUMNS = ("party_id", "doc_type", "serie", "numero", "issue_date", "due_date", "currency", "exchange_rate_e4",
                    "base_cents", "igv_cents", "total_cents", "detraccion_bp", "detraccion_cents", "retencion_cents",
                    "description", "references_id")
NOTE_FROZEN_COLUMNS = {"party_id": "party", "doc_type": "doc-type", "total_cents": "total", "base_cents": "base",
                       "igv_cents": "igv", "currency": "currency", "exchange_rate_e4": "rate",
                       "references_id": "references", "detraccion_bp": "detraccion", "detraccion_cents": "detraccion",
                       "retencion_cents": "retencion"}


class EditRefused(ValidationError):
    """A change of a stored invoice that breaks a rule; `column` names the invoice column at fault."""

    def __init__(self, message: str, column: str) -> None:
        super().__init__(message)
        self.column = column


def edit_view(inv: Any) -> dict[str, Any]:
    """The columns check_edit compares, from an Invoice (or any object with its attributes)."""
    return {k: getattr(inv, k) for k in (*EDITABLE_COLUMNS, "status", "paid_cents", "adjust_cents")}


def check_edit(before: dict[str, Any], after: dict[str, Any], *, invoice_id: int) -> None:
    """The rules every change of a stored invoice keeps, whether it comes from `invoices edit`
    or from an import with --on-duplicate update (one rule, two callers).

    `before` and `after` map the invoice's columns (edit_view) before and after the change.
    Never an ANULADA document; never a note's amounts, currency, party, type or reference (its
    effect on the referenced invoice must stay exact: delete it and add it again); never an
    invoice turned into a note; never a total below what is paid and noted. Raises EditRefused.
    """
    changed = [k for k in EDITABLE_COLUMNS if after.get(k) != before.get(k)]
    if not changed:
        return
    label = document_label(before["serie"], before["numero"])
    if before["status"] == "ANULADA":
        raise EditRefused(_("{label} is ANULADA and cannot be changed (an administrador restores it "
                            "first with `cuentas invoices set-status {invoice_id} PENDIENTE`)")
                          .format(label=label, invoice_id=invoice_id), "status")
    if before["doc_type"] in documents.NOTE_TYPES or before.get("references_id") is not None:
        frozen = [k for k in NOTE_FROZEN_COLUMNS if k in changed]
        if frozen:
            names = ", ".join(dict.fromkeys(NOTE_FROZEN_COLUMNS[k] for k in frozen))
            raise EditRefused(_("{label} is a note: its {names} cannot change; delete the note (`cuentas "
                                "invoices delete {invoice_id}`) and add it again")
                              .format(label=label, names=names, invoice_id=invoice_id), frozen[0])
    elif after["doc_type"] in documents.NOTE_TYPES:
        raise EditRefused(_("an invoice cannot become a note; add the note with `cuentas invoices add "
                            "--doc-type 07`"),
                          "doc_type")
    if after["total_cents"] + after["adjust_cents"] - after["paid_cents"] < 0:
        noted = f" and notes of {money(-after['adjust_cents']):.2f}" if after["adjust_cents"] < 0 else ""
        raise EditRefused(_("payments of {money_after_paid_cents:.2f}{noted} already exceed the new "
                            "total {money_after_total_cents:.2f} of {label}; delete payments first")
                          .format(money_after_paid_cents=money(after['paid_cents']), noted=noted, money_after_total_cents=money(after['total_cents']), label=label), "total_cents")


def edit_invoice(
    *,
    session: "Session",
    actor: Actor | None,
    today: date,
    ref: str,
    party: str | None = None,
    doc_type: str | None = None,
    serie: str | None = None,
    numero: str | int | None = None,
    issued: date | None = None,
    due: date | None = None,
    total: str | None = None,
    base: str | None = None,
    igv: str | None = None,
    currency: str | None = None,
    rate: str | None = None,
    description: str | None = None,
    detraccion: str | None = None,
    retencion: bool | None = None,
) -> tuple[InvoiceRow, list[str]]:
    """Change an invoice's fields (administrador); returns the new row and the changed fields.

    `detraccion="0"` removes a detracción. Amounts of a note cannot change: delete the note
    and add it again, so its effect on the referenced invoice stays exact.
    """
    from cuentas_cli.db.models import Party

    require(actor, "invoices.edit")
    inv = get_invoice(session, ref, lock=True)
    before = audit_view(inv)
    columns_before = edit_view(inv)
    is_note = inv.references_id is not None or inv.doc_type in documents.NOTE_TYPES
    if is_note and (detraccion is not None or retencion):
        raise ValidationError(_("a note's withholdings cannot change; delete the note (`cuentas invoices "
                                "delete {id}`) and add it again")
                              .format(id=inv.id))

    # Checks query the database; the half-edited row must not be flushed before they pass.
    with session.no_autoflush:
        party_row = session.get(Party, inv.party_id)
        if party is not None:
            party_row = get_party(session, kind=PARTY_KIND[inv.direction], ref=party)
            inv.party_id = party_row.id
        if doc_type is not None:
            new_type = documents.check_doc_type(doc_type)
            if new_type in documents.NOTE_TYPES and not is_note:
                raise ValidationError(_("an invoice cannot become a note; add the note with `cuentas "
                                        "invoices add --doc-type 07`"))
            inv.doc_type = new_type
        if serie is not None or doc_type is not None:
            inv.serie = documents.check_serie(inv.doc_type, serie if serie is not None else inv.serie)
        if numero is not None:
            inv.numero = documents.check_numero(numero)
        if issued is not None:
            inv.issue_date = issued
        if due is not None:
            inv.due_date = due
        _check_dates(inv.issue_date, inv.due_date)

        if total is not None or base is not None or igv is not None:
            cur = normalise_currency(currency) if currency is not None else inv.currency
            total_c = documents.parse_amount(total, field="total", currency=cur) if total is not None else None
            base_c = documents.parse_amount(base, field="base", currency=cur) if base is not None else None
            igv_c = documents.parse_amount(igv, field="IGV", currency=cur) if igv is not None else None
            if total_c is None and not (base_c is not None and igv_c is not None):
                total_c = inv.total_cents
            inv.base_cents, inv.igv_cents, inv.total_cents = documents.split_total(total=total_c, base=base_c, igv=igv_c)
        if currency is not None or rate is not None:
            inv.currency = normalise_currency(currency) if currency is not None else inv.currency
            inv.exchange_rate_e4 = _resolve_rate(session, currency=inv.currency, rate=rate, issued=inv.issue_date)
        if description is not None:
            inv.description = _clean_text(description)
        bp = inv.detraccion_bp
        if detraccion is not None:
            bp = None if str(detraccion).strip().rstrip("%") in {"0", "0.0", "0.00"} else parse_percentage(detraccion)
        keep_retencion = inv.retencion_cents > 0 if retencion is None else retencion
        if not is_note:
            inv.detraccion_bp = bp
            inv.detraccion_cents, inv.retencion_cents = _withholdings(
                doc_type=inv.doc_type, total=inv.total_cents, rate_e4=inv.exchange_rate_e4, detraccion_bp=bp,
                retencion=keep_retencion)
        check_edit(columns_before, edit_view(inv), invoice_id=inv.id)
        cuota_rules.check_still_fit(session, inv)
        _refuse_duplicate(session, direction=inv.direction, party=party_row, doc_type=inv.doc_type, serie=inv.serie,
                          numero=inv.numero, exclude_id=inv.id)
    refresh_status(inv, today=today)
    after = audit_view(inv)
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        inv.updated_at = utcnow()
        session.add(inv)
        audit.record(session, actor, action="invoice.edit", entity="invoice", entity_id=inv.id,
                     before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    return row_of(session, inv, today=today), changed


@dataclass
class Deleted:
    id: int
    document: str
    payments: int
    payments_total: Decimal


def delete_invoice(*, session: "Session", actor: Actor | None, today: date, ref: str,
                   with_payments: bool = False) -> Deleted:
    from sqlalchemy import delete, func, select

    from cuentas_cli.db.models import Invoice, Notification, Payment

    require(actor, "invoices.delete")
    inv = get_invoice(session, ref, lock=True)
    label = document_label(inv.serie, inv.numero)
    count, paid = session.execute(
        select(func.count(Payment.id), func.coalesce(func.sum(Payment.amount_cents), 0))
        .where(Payment.invoice_id == inv.id)
    ).one()
    if count and not with_payments:
        raise Conflict(_("{label} has {count} payment(s) of {money_int_paid:.2f} {currency}; delete them "
                         "too with `cuentas invoices delete {id} --with-payments`")
                       .format(label=label, count=count, money_int_paid=money(int(paid)), currency=inv.currency, id=inv.id))
    banked = session.execute(select(Payment.bank_line_id).where(Payment.invoice_id == inv.id,
                                                                Payment.bank_line_id.is_not(None)).limit(1)).first()
    if banked:
        raise Conflict(_("{label} has payments reconciled from bank line {line}; take the movement back first "
                         "with `cuentas bank undo {line}`").format(label=label, line=banked[0]))
    notes = session.execute(select(Invoice.serie, Invoice.numero).where(Invoice.references_id == inv.id)).all()
    if notes:
        names = ", ".join(document_label(s, n) for s, n in notes)
        raise Conflict(_("notes {names} modify {label}; delete them first").format(names=names, label=label))
    before = audit_view(inv)
    if inv.references_id and inv.status != "ANULADA":
        target = session.get(Invoice, inv.references_id, with_for_update=True)
        apply_note(session, note=inv, target=target, today=today, sign=-1)
    session.execute(delete(Notification).where(Notification.invoice_id == inv.id))
    session.execute(delete(Payment).where(Payment.invoice_id == inv.id))
    session.flush()
    session.delete(inv)
    session.flush()
    before["payments"] = int(count)
    audit.record(session, actor, action="invoice.delete", entity="invoice", entity_id=inv.id, before=before)
    return Deleted(inv.id, label, int(count), money(int(paid)))
