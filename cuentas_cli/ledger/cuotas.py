"""Cuotas: the installments of a credit sale or purchase (SUNAT's forma de pago Crédito).

An invoice al contado has no cuotas and is due whole on its due date. An invoice al crédito has
one or more cuotas (number, due date, amount) that add up to its net pending amount, the total
less the detracción and the retención (SUNAT's rule); each is due on or after the issue date, in
order, at most 999 (Cuota001 ... Cuota999); a boleta is never al crédito, nor a note. The
invoice's due date is its last cuota's.

What each cuota still owes follows the rule that payments settle the oldest cuota first: of the
money still pending (the balance less the detracción and retención not yet recorded), the
latest cuotas hold what is left, and what a debit note raised above their sum is owed with the
last. The detracción and retención not yet recorded are due with the first cuota (they are
deposited or withheld at the first payment). The reports age each part by its own date
(`balances.cuota_parts_sql`), and the status, the overdue and upcoming lists and the reminders
go by the earliest part still owed (`next_due`, `due.next_due_sql`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import _
from cuentas_cli.ledger import documents
from cuentas_cli.ledger.due import (Cuota, cuotas_of, next_due, open_amounts, pending_of, status_due,  # noqa: F401
                                    withheld_open, withheld_recorded)
from cuentas_cli.ledger.records import document_label, money
from cuentas_cli.rules.dates import as_date as _day, parse_day

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlmodel import Session

MAX_CUOTAS = 999


@dataclass(frozen=True)
class CuotaRow:
    """A cuota as `invoices show` lists it."""

    number: int
    due_date: date
    amount: Decimal
    balance: Decimal


def parse_cuota(text: str, *, currency: str, field: str = "--cuota") -> tuple[date, int]:
    """`DATE:AMOUNT` (`2026-07-15:590.00`, `15/07/2026:590,00`) -> (due date, céntimos)."""
    day, sep, amount = (text or "").strip().partition(":")
    if not sep or not day.strip() or not amount.strip():
        raise ValidationError(_("{field} {text!r}: give DATE:AMOUNT, e.g. 2026-07-15:590.00")
                              .format(field=field, text=text))
    due = parse_day(day.strip(), field=f"{field}:")
    cents = documents.parse_amount(amount.strip(), field=field, currency=currency)
    return due, cents


def planned(texts: Sequence[str], *, contado: bool, due: date | None, issued: date, currency: str
            ) -> tuple[list[tuple[date, int]], date | None]:
    """`--cuota` texts and `--contado` -> the cuotas (due date, céntimos) and the invoice's due
    date: the last cuota's; al contado without a due date, the issue date."""
    items = [parse_cuota(t, currency=currency) for t in texts]
    if items and contado:
        raise ValidationError(_("--contado and --cuota exclude each other: al contado has no cuotas"))
    if items:
        last = max(d for d, _c in items)
        if due is not None and due != last:
            raise ValidationError(_("--due {due} is not the last cuota's date {last}: an invoice in cuotas is due on "
                                    "its last one (leave --due out)").format(due=due.isoformat(), last=last.isoformat()))
        return items, last
    return items, (issued if contado and due is None else due)


def check_cuotas(items: Sequence[tuple[date, int]], *, doc_type: str, issued: date, total_cents: int,
                 detraccion_cents: int, retencion_cents: int, currency: str) -> list[Cuota]:
    """The cuotas of a new or edited invoice, numbered 1..n in order of their dates; SUNAT's
    rules checked (see the module's text)."""
    if not items:
        return []
    if doc_type in documents.NOTE_TYPES or doc_type == "03":
        raise ValidationError(_("only a factura (01) is sold al crédito in cuotas; a boleta or a note is not"))
    if len(items) > MAX_CUOTAS:
        raise ValidationError(_("at most {n} cuotas").format(n=MAX_CUOTAS))
    ordered = sorted(items, key=lambda c: c[0])
    for k, (due, cents) in enumerate(ordered):
        if cents <= 0:
            raise ValidationError(_("cuota {n}: the amount must be greater than zero").format(n=k + 1))
        if due < issued:
            raise ValidationError(_("cuota {n} is due on {due}, before the issue date {issued}")
                                  .format(n=k + 1, due=due.isoformat(), issued=issued.isoformat()))
    net = total_cents - detraccion_cents - retencion_cents
    given = sum(c for _d, c in ordered)
    if given != net:
        raise ValidationError(_("the cuotas add up to {given:.2f} {currency}, but the net pending amount (the total "
                                "less the detracción and the retención) is {net:.2f}")
                              .format(given=money(given), currency=currency, net=money(net)))
    return [Cuota(k + 1, due, cents) for k, (due, cents) in enumerate(ordered)]


def check_still_fit(db: "Session | Connection", inv: Any) -> None:
    """An edit keeps an invoice's cuotas: they must still add up and end on its due date."""
    plan = cuotas_of(db, inv.id)
    if not plan:
        return
    if inv.due_date != plan[-1].due_date:
        raise ValidationError(_("{label} is due in cuotas, the last on {last}: its due date stays that one")
                              .format(label=document_label(inv.serie, inv.numero), last=plan[-1].due_date.isoformat()))
    check_cuotas([(c.due_date, c.amount_cents) for c in plan], doc_type=inv.doc_type, issued=inv.issue_date,
                 total_cents=inv.total_cents, detraccion_cents=inv.detraccion_cents,
                 retencion_cents=inv.retencion_cents, currency=inv.currency)


def store(db: "Session | Connection", invoice_id: int, cuotas: Sequence[Cuota]) -> None:
    """Replace an invoice's cuotas (none: al contado)."""
    from sqlalchemy import delete, insert

    from cuentas_cli.db.tables import invoice_cuota

    db.execute(delete(invoice_cuota).where(invoice_cuota.c.invoice_id == invoice_id))
    if cuotas:
        db.execute(insert(invoice_cuota), stored_rows(invoice_id, cuotas))


def stored_rows(invoice_id: int, cuotas: Sequence[Cuota]) -> list[dict[str, Any]]:
    """The `invoice_cuota` rows of a plan, each with the sum of the cuotas after it."""
    out, after = [], 0
    for c in reversed(cuotas):
        out.append({"invoice_id": invoice_id, "number": c.number, "due_date": c.due_date,
                    "amount_cents": c.amount_cents, "after_cents": after})
        after += c.amount_cents
    return out[::-1]


def rows(cuotas: Sequence[Cuota], pending_cents: int) -> list[CuotaRow]:
    return [CuotaRow(c.number, c.due_date, money(c.amount_cents), money(left))
            for c, left in zip(cuotas, open_amounts(cuotas, pending_cents))]


def apply_correction(db: "Session | Connection", inv: Any, *, note: tuple[str, int], issued: date,
                     items: Sequence[tuple[date, int]], actor: Any, stamp: Any) -> str:
    """A credit note of type 13 (new cuotas, total 0.00) applied to the invoice `inv` (a row with
    the invoice's columns): its cuotas replaced by the note's and its due date set to the last.
    Returns "applied", "already" (this note was applied before) or "superseded" (a note issued
    after it was applied already: the older one must not undo it). ValidationError when the new
    cuotas break SUNAT's rules for this invoice, or it is ANULADA."""
    from sqlalchemy import insert, select, update

    from cuentas_cli.admin import audit
    from cuentas_cli.db.tables import cuota_correction, invoice

    label = document_label(*note)
    done = db.execute(select(cuota_correction.c.serie, cuota_correction.c.numero, cuota_correction.c.issue_date)
                      .where(cuota_correction.c.invoice_id == inv.id)).all()
    if any((serie, numero) == note for serie, numero, _d in done):
        return "already"
    if inv.status == "ANULADA":
        raise ValidationError(_("{label} corrects the cuotas of {invoice}, which is ANULADA")
                              .format(label=label, invoice=document_label(inv.serie, inv.numero)))
    if any(_day(d) > issued for _s, _n, d in done):
        return "superseded"
    if not items:
        raise ValidationError(_("{label} is a credit note of type 13 without cuotas: it must state the new ones")
                              .format(label=label))
    plan = check_cuotas(items, doc_type=inv.doc_type, issued=_day(inv.issue_date), total_cents=int(inv.total_cents),
                        detraccion_cents=int(inv.detraccion_cents), retencion_cents=int(inv.retencion_cents),
                        currency=inv.currency)
    before = cuotas_of(db, inv.id)
    store(db, inv.id, plan)
    db.execute(update(invoice).where(invoice.c.id == inv.id).values(due_date=plan[-1].due_date, updated_at=stamp))
    db.execute(insert(cuota_correction).values(invoice_id=inv.id, serie=note[0], numero=note[1], issue_date=issued,
                                               created_by=getattr(actor, "user_id", None), created_at=stamp))

    def shown(cuotas: Sequence[Cuota], due: Any) -> dict[str, Any]:
        return {"due_date": _day(due).isoformat(),
                "cuotas": [{"number": c.number, "due_date": c.due_date.isoformat(), "amount": str(money(c.amount_cents))}
                           for c in cuotas]}

    audit.record(db, actor, action="invoice.cuotas_corrected", entity="invoice", entity_id=inv.id,
                 before=shown(before, inv.due_date), after={**shown(plan, plan[-1].due_date), "note": label})
    return "applied"
