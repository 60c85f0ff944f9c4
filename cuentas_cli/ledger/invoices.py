"""Invoices to collect (CxC) and to pay (CxP), and the credit/debit notes that adjust them.

Every change keeps the invoice's denormalised `paid_cents`, `adjust_cents` and `status` right
in the same transaction, so a balance is always `total + adjust - paid` and a listing of a
million invoices needs no join to payments. Payments live in `ledger/payments.py`.

A credit (07) or debit (08) note is an invoice row that references the document it modifies:
its total moves the referenced invoice's `adjust_cents` (credit -, debit +) and its own
`adjust_cents` is minus its total, so the note itself never carries a balance to collect
(its status reads PAGADA once applied, ANULADA when voided).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Iterator

from cuentas_cli.db.models import CURRENCIES, INVOICE_STATUSES
from cuentas_cli.errors import Conflict, NotFound, UsageError, ValidationError
from cuentas_cli.admin import audit
from cuentas_cli.ledger import balances
from cuentas_cli.ledger import documents
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.ledger.statuses import status_for

if TYPE_CHECKING:
    from sqlmodel import Session

    from cuentas_cli.db.models import Invoice, Party

DIRECTION_ALIASES = {
    "cxc": "receivable", "receivable": "receivable", "receivables": "receivable", "cobrar": "receivable",
    "cxp": "payable", "payable": "payable", "payables": "payable", "pagar": "payable",
}
KIND_OF = {"receivable": "cxc", "payable": "cxp"}
PARTY_KIND = {"receivable": "client", "payable": "supplier"}
RETENCION_BP = 300  # retención IGV: 3% of the total
CENT = Decimal("0.01")


def normalise_direction(kind: str) -> str:
    """'cxc'/'receivable' -> 'receivable'; 'cxp'/'payable' -> 'payable'."""
    try:
        return DIRECTION_ALIASES[kind.strip().lower()]
    except KeyError:
        raise ValidationError(f"unknown kind {kind!r}; use cxc (receivable) or cxp (payable)") from None


def normalise_status(status: str) -> str:
    value = status.strip().upper()
    if value not in INVOICE_STATUSES:
        raise ValidationError(f"unknown status {status!r}; use one of {', '.join(INVOICE_STATUSES)}")
    return value


def normalise_currency(currency: str) -> str:
    value = currency.strip().upper()
    if value in {"S/", "SOLES"}:
        value = "PEN"
    if value not in CURRENCIES:
        raise ValidationError(f"currency {currency!r}: use PEN or USD")
    return value


def parse_percentage(text: str | Decimal | int) -> int:
    """'12', '12%', '1.5' -> basis points (1200, 150); more than 0 and less than 100."""
    raw = str(text).strip().rstrip("%").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationError(f"detracción {text!r}: give a percentage such as 12") from None
    if not value.is_finite() or not Decimal(0) < value < Decimal(100):
        raise ValidationError(f"detracción {text!r}: must be more than 0 and less than 100 (%)")
    if value != value.quantize(CENT):
        raise ValidationError(f"detracción {text!r}: at most 2 decimals")
    return int(value * 100)


def money(cents: int) -> Decimal:
    """Céntimos as a Decimal amount (render prints it with two decimals)."""
    return Decimal(cents) / 100


def to_pen_cents(cents: int, rate_e4: int) -> int:
    """An amount in the invoice's currency converted to PEN at its own rate, half up."""
    return int((Decimal(cents) * rate_e4 / 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rate_text(rate_e4: int) -> str:
    return f"{Decimal(rate_e4) / 10000:.4f}"


def document_label(serie: str, numero: int) -> str:
    return f"{serie}-{numero}"


# --- what commands get back -----------------------------------------------------------------


@dataclass
class InvoiceRow:
    """One invoice as listed (the JSON contract of cli.md plus a few extras)."""

    id: int
    kind: str
    party_doc: str
    party_name: str
    doc_type: str
    serie: str
    numero: int
    document: str
    issue_date: date
    due_date: date
    currency: str
    exchange_rate: str
    total: Decimal
    paid: Decimal
    balance: Decimal
    balance_pen: Decimal
    status: str
    days_overdue: int
    references: str | None = None


# The columns a terminal table shows (JSON, JSON lines and CSV carry every field).
LIST_COLUMNS = ["id", "kind", "document", "party_name", "due_date", "currency", "total", "balance", "status",
                "days_overdue"]


@dataclass
class InvoiceDetail(InvoiceRow):
    """`invoices show`: the row plus amounts, withholdings, payments, notes and reminders."""

    base: Decimal | None = None
    igv: Decimal | None = None
    adjustments: Decimal = Decimal(0)
    total_pen: Decimal = Decimal(0)
    detraccion_pct: str | None = None
    detraccion: Decimal = Decimal(0)
    retencion: Decimal = Decimal(0)
    paid_directly_expected: Decimal = Decimal(0)
    paid_directly: Decimal = Decimal(0)
    detraccion_recorded: Decimal = Decimal(0)
    retencion_recorded: Decimal = Decimal(0)
    reminders_sent: int = 0
    description: str | None = None
    created_by: str | None = None
    created_at: Any = None
    updated_at: Any = None
    notes: list[dict] = field(default_factory=list)
    payments: list[dict] = field(default_factory=list)


def effective_status(*, stored: str, total_cents: int, adjust_cents: int, paid_cents: int, due_date: date,
                     today: date) -> str:
    """The status as of `today` (a stored status may predate today's `update-statuses`)."""
    return status_for(total_cents=total_cents, adjust_cents=adjust_cents, paid_cents=paid_cents, due_date=due_date,
                      today=today, current=stored)


def _days_overdue(status: str, due: date, today: date) -> int:
    return (today - due).days if status == "VENCIDA" else 0


def _row(values: dict, today: date) -> InvoiceRow:
    balance = balances.balance_of(values)  # the ledger's rule: 0 for notes and ANULADA
    status = effective_status(stored=values["status"], total_cents=values["total_cents"],
                              adjust_cents=values["adjust_cents"], paid_cents=values["paid_cents"],
                              due_date=values["due_date"], today=today)
    ref = values.get("ref_serie")
    return InvoiceRow(
        id=values["id"],
        kind=KIND_OF[values["direction"]],
        party_doc=values["party_doc"],
        party_name=values["party_name"],
        doc_type=values["doc_type"],
        serie=values["serie"],
        numero=values["numero"],
        document=document_label(values["serie"], values["numero"]),
        issue_date=values["issue_date"],
        due_date=values["due_date"],
        currency=values["currency"],
        exchange_rate=rate_text(values["exchange_rate_e4"]),
        total=money(values["total_cents"]),
        paid=money(values["paid_cents"]),
        balance=money(balance),
        balance_pen=money(to_pen_cents(balance, values["exchange_rate_e4"])),
        status=status,
        days_overdue=_days_overdue(status, values["due_date"], today),
        references=document_label(ref, values["ref_numero"]) if ref else None,
    )


def _values(inv: "Invoice", party: "Party", ref: "Invoice | None" = None) -> dict:
    values = {k: getattr(inv, k) for k in (
        "id", "direction", "doc_type", "serie", "numero", "issue_date", "due_date", "currency", "exchange_rate_e4",
        "total_cents", "paid_cents", "adjust_cents", "status")}
    values.update(party_doc=party.doc_number, party_name=party.name,
                  ref_serie=ref.serie if ref else None, ref_numero=ref.numero if ref else None)
    return values


def row_of(session: "Session", inv: "Invoice", *, today: date) -> InvoiceRow:
    from cuentas_cli.db.models import Invoice, Party

    party = session.get(Party, inv.party_id)
    ref = session.get(Invoice, inv.references_id) if inv.references_id else None
    return _row(_values(inv, party, ref), today)


def audit_view(inv: "Invoice") -> dict:
    """The invoice's stored fields for the audit log (amounts as two-decimal text)."""
    out = {k: getattr(inv, k) for k in (
        "direction", "party_id", "doc_type", "serie", "numero", "issue_date", "due_date", "currency", "status",
        "references_id", "description", "detraccion_bp")}
    out["exchange_rate"] = rate_text(inv.exchange_rate_e4)
    for name in ("base", "igv", "total", "detraccion", "retencion", "paid", "adjust"):
        cents = getattr(inv, f"{name}_cents")
        out[name] = None if cents is None else f"{money(cents):.2f}"
    return out


# --- finding invoices -----------------------------------------------------------------------


def get_invoice(session: "Session", ref: str | int, *, lock: bool = False) -> "Invoice":
    """An invoice by id, or by SERIE-NUMERO when that names exactly one. `lock` takes the
    row lock (SELECT ... FOR UPDATE on PostgreSQL; SQLite writers already hold the database)."""
    from sqlmodel import select

    from cuentas_cli.db.models import Invoice

    text = str(ref).strip()
    if text.isascii() and text.isdigit():
        query = select(Invoice).where(Invoice.id == int(text))
    else:
        serie, numero = documents.split_document(text)
        query = select(Invoice).where(Invoice.serie == serie, Invoice.numero == numero)
    if lock:
        query = query.with_for_update()
    found = session.exec(query.execution_options(populate_existing=True).limit(3)).all()
    if not found:
        raise NotFound(f"no invoice {text!r}; see `cuentas invoices list`")
    if len(found) > 1:
        ids = ", ".join(str(i.id) for i in found)
        raise ValidationError(f"{text} names several invoices (ids {ids}); give the numeric id")
    return found[0]


def _find_document(session: "Session", *, direction: str, party_id: int, serie: str, numero: int,
                   doc_types: tuple[str, ...]) -> "Invoice | None":
    from sqlmodel import select

    from cuentas_cli.db.models import Invoice

    return session.exec(
        select(Invoice).where(Invoice.direction == direction, Invoice.party_id == party_id, Invoice.serie == serie,
                              Invoice.numero == numero, Invoice.doc_type.in_(doc_types))
        .with_for_update()
    ).first()


def refresh_status(inv: "Invoice", *, today: date) -> None:
    inv.status = status_for(total_cents=inv.total_cents, adjust_cents=inv.adjust_cents, paid_cents=inv.paid_cents,
                            due_date=inv.due_date, today=today, current=inv.status)


# --- validation shared by add and edit -----------------------------------------------------


@dataclass
class _Amounts:
    base: int | None
    igv: int | None
    total: int
    rate_e4: int
    detraccion_bp: int | None
    detraccion: int
    retencion: int


def _resolve_rate(session: "Session", *, currency: str, rate: str | None, issued: date) -> int:
    from cuentas_cli.ledger import fx

    if currency == "PEN":
        if rate is not None and documents.parse_rate(rate) != 10000:
            raise ValidationError("--rate is only for USD invoices; a PEN invoice has rate 1")
        return 10000
    if rate is not None:
        return documents.parse_rate(rate)
    return fx.sell_rate_e4(session, on=issued, currency=currency)


def _withholdings(*, doc_type: str, total: int, rate_e4: int, detraccion_bp: int | None,
                  retencion: bool) -> tuple[int, int]:
    if not detraccion_bp and not retencion:
        return 0, 0
    if doc_type in documents.NOTE_TYPES:
        raise ValidationError("detracción and retención apply to the invoice, not to a credit or debit note")
    if detraccion_bp and retencion:
        raise ValidationError("retención does not apply where detracción (SPOT) applies; choose one")
    total_pen = to_pen_cents(total, rate_e4)
    threshold = documents.DETRACCION_THRESHOLD_CENTS
    if total_pen <= threshold:
        what = "detracción" if detraccion_bp else "retención"
        raise ValidationError(
            f"{what} does not apply at or below S/ {money(threshold):.2f} (this total is S/ {money(total_pen):,.2f})")
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
        raise ValidationError(f"due date {due.isoformat()} is before the issue date {issued.isoformat()}")


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
) -> InvoiceRow:
    """Record an invoice or a credit/debit note (which is applied to the invoice it references).

    `retencion=None` lets a receivable to a retention-agent client get the 3% retención (see
    `_retencion_for`); messages for the user about it are appended to `notes`."""
    from cuentas_cli.db.models import Invoice
    from cuentas_cli.parties.service import get_party

    require(actor, "invoices.create")
    direction = normalise_direction(kind)
    doc_type = documents.check_doc_type(doc_type)
    serie = documents.check_serie(doc_type, serie)
    numero = documents.check_numero(numero)
    is_note = doc_type in documents.NOTE_TYPES
    if due is None:
        if not is_note:
            raise ValidationError("give the due date with --due (only a credit or debit note may omit it)")
        due = issued
    _check_dates(issued, due)
    currency = normalise_currency(currency)
    base_c = documents.parse_amount(base, field="base", currency=currency) if base is not None else None
    igv_c = documents.parse_amount(igv, field="IGV", currency=currency) if igv is not None else None
    total_c = documents.parse_amount(total, field="total", currency=currency) if total is not None else None
    if total_c == 0 or base_c == 0:
        raise ValidationError("amounts must be greater than zero")
    base_c, igv_c, total_c = documents.split_total(total=total_c, base=base_c, igv=igv_c)
    rate_e4 = _resolve_rate(session, currency=currency, rate=rate, issued=issued)
    detraccion_bp = parse_percentage(detraccion) if detraccion is not None else None
    party_row = get_party(session, kind=PARTY_KIND[direction], ref=party)
    retencion = _retencion_for(direction=direction, party=party_row, doc_type=doc_type, total=total_c,
                               rate_e4=rate_e4, detraccion_bp=detraccion_bp, retencion=retencion,
                               notes=notes if notes is not None else [])
    detraccion_c, retencion_c = _withholdings(doc_type=doc_type, total=total_c, rate_e4=rate_e4,
                                              detraccion_bp=detraccion_bp, retencion=retencion)

    target = None
    if is_note:
        if not references:
            raise ValidationError("a credit or debit note needs --references SERIE-NUMERO of the invoice it modifies")
        ref_serie, ref_numero = documents.split_document(references)
        target = _find_document(session, direction=direction, party_id=party_row.id, serie=ref_serie,
                                numero=ref_numero, doc_types=("01", "03"))
        if target is None:
            raise NotFound(f"no invoice {ref_serie}-{ref_numero} of {party_row.name} ({party_row.doc_number}) "
                           f"to reference; see `cuentas invoices list --party {party_row.doc_number}`")
        check_note_fits(doc_type=doc_type, serie=serie, currency=currency, target=target)
    elif references:
        raise ValidationError("--references is only for credit (07) and debit (08) notes")

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
    audit.record(session, actor, action="invoice.add", entity="invoice", entity_id=inv.id, after=audit_view(inv))
    return row_of(session, inv, today=today)


def _clean_text(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    if len(text) > 2000:
        raise ValidationError("description: at most 2000 characters")
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
        raise Conflict(f"{documents.DOC_TYPES[doc_type]} {serie}-{numero} of {party.name} ({party.doc_number}) "
                       f"already exists as invoice {existing}; see `cuentas invoices show {existing}`")


def check_note_fits(*, doc_type: str, serie: str, currency: str, target: "Invoice") -> None:
    label = document_label(target.serie, target.numero)
    if currency != target.currency:
        raise ValidationError(f"the note is in {currency} but {label} is in {target.currency}; notes keep the invoice's currency")
    if serie[0] == "F" and target.doc_type == "03" or serie[0] == "B" and target.doc_type == "01":
        raise ValidationError(f"a note on {documents.DOC_TYPES[target.doc_type]} {label} uses a serie of the same "
                              f"letter ({label[0]}...), not {serie}")


def check_note_applies(*, doc_type: str, total_cents: int, target: Any) -> None:
    """The rule for applying a note to the invoice it references, on every path (add, import).

    `target` is anything with the invoice's serie, numero, status, currency and total, adjust
    and paid céntimos (an Invoice, or the importer's row view)."""
    label = document_label(target.serie, target.numero)
    balance = balances.cached_balance(target)
    if target.status == "ANULADA":
        raise ValidationError(f"{label} is ANULADA; a note cannot modify it")
    if doc_type == "07":
        if target.status == "PAGADA" or balance <= 0:
            raise ValidationError(f"{label} is PAGADA; a credit note on a paid invoice is refused "
                                  f"(delete its payments first with `cuentas invoices unpay PAYMENT_ID`)")
        if total_cents > balance:
            raise ValidationError(f"credit note of {money(total_cents):.2f} is more than the balance "
                                  f"{money(balance):.2f} {target.currency} of {label}")


def apply_note(session: "Session", *, note: "Invoice", target: "Invoice", today: date, sign: int) -> None:
    """Apply (sign=+1) or withdraw (sign=-1) a note's amount on the invoice it references."""
    label = document_label(target.serie, target.numero)
    balance = balances.cached_balance(target)
    credit = note.doc_type == "07"
    delta = (-note.total_cents if credit else note.total_cents) * sign
    if sign > 0:
        check_note_applies(doc_type=note.doc_type, total_cents=note.total_cents, target=target)
    elif balance + delta < 0:
        raise Conflict(f"payments on {label} already cover part of this debit note (balance {money(balance):.2f}); "
                       f"delete those payments first with `cuentas invoices unpay PAYMENT_ID`")
    target.adjust_cents += delta
    if target.status != "ANULADA":
        refresh_status(target, today=today)
    target.updated_at = _now()
    session.add(target)


def _now():  # noqa: ANN202
    from cuentas_cli.db.models import utcnow

    return utcnow()


# --- list, show ---------------------------------------------------------------------------


@dataclass
class InvoiceFilter:
    """The filters of `invoices list` and `export` (one definition; `invoice_conditions` turns
    them into SQL). Values are as the user typed them; they are checked there."""

    kind: str | None = None
    status: str | None = None
    party: str | None = None
    overdue: bool = False
    due_within: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    currency: str | None = None
    limit: int | None = None

    def describe(self) -> str:
        """The filters in words (Spanish), for the header of a report."""
        parts = []
        for label, value in (("tipo", self.kind), ("estado", self.status), ("parte", self.party),
                             ("moneda", self.currency), ("desde", self.date_from), ("hasta", self.date_to)):
            if value:
                parts.append(f"{label}={value}")
        if self.overdue:
            parts.append("solo vencidas")
        if self.due_within is not None:
            parts.append(f"vencen en {self.due_within} días")
        return ", ".join(parts) or "todas las facturas"


def _party_ids(session: "Session", *, ref: str, direction: str | None) -> list[int]:
    from sqlmodel import select

    from cuentas_cli.db.models import Party
    from cuentas_cli.parties.service import get_party

    if direction is not None:
        return [get_party(session, kind=PARTY_KIND[direction], ref=ref).id]
    ref = ref.strip()
    ids = list(session.exec(select(Party.id).where(Party.doc_number == ref)).all())
    if not ids and ref.isascii() and ref.isdigit() and len(ref) < 8 and session.get(Party, int(ref)) is not None:
        ids = [int(ref)]
    if not ids:
        raise NotFound(f"no client or supplier with document or id {ref!r}; see `cuentas clients list`")
    return ids


def open_condition() -> Any:
    """SQL: the invoice is open (not annulled, a balance left) whatever day it is.

    A stored PENDIENTE, PARCIAL or VENCIDA means not annulled with a balance (every change to
    the amounts refreshes the status in the same transaction); saying so lets the query read
    the partial index ix_invoice_open, and the balance test keeps the filter true to the status
    shown even so. Which of the three applies depends on the day: the conditions compare the
    due date with today instead of trusting the stored word.
    """
    from cuentas_cli.db.models import Invoice

    return balances.is_open(Invoice)


def invoice_conditions(session: "Session", *, today: date, filters: InvoiceFilter) -> list[Any]:
    """The WHERE conditions (over `Invoice` columns) of `filters` as of `today`, checked and
    normalised once for every command that filters invoices (`invoices list`, `export`).

    Statuses are those as of `today`: an open invoice past its due date is VENCIDA even before
    `update-statuses` has stored it, and an open one not yet due is PENDIENTE or PARCIAL by its
    payments whatever was stored. Bad values raise UsageError; an unknown party NotFound.
    """
    from sqlalchemy import and_

    from cuentas_cli.db.models import Invoice

    try:
        direction = normalise_direction(filters.kind) if filters.kind else None
        status = normalise_status(filters.status) if filters.status else None
        currency = normalise_currency(filters.currency) if filters.currency else None
    except ValidationError as exc:
        # A filter is an option of the command, not data: a bad one is a usage error (cli.md).
        raise UsageError(exc.message) from None
    if filters.due_within is not None and filters.due_within < 0:
        raise UsageError("--due-within: give a number of days, 0 or more")
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise UsageError(f"--from {filters.date_from} is after --to {filters.date_to}")

    conditions: list[Any] = []
    if direction:
        conditions.append(Invoice.direction == direction)
    if filters.party:
        ids = _party_ids(session, ref=filters.party, direction=direction)
        conditions.append(Invoice.party_id.in_(ids) if len(ids) > 1 else Invoice.party_id == ids[0])
    is_open = open_condition()
    if status:
        conditions.append({
            "VENCIDA": and_(is_open, Invoice.due_date < today),
            "PENDIENTE": and_(is_open, Invoice.due_date >= today, Invoice.paid_cents == 0),
            "PARCIAL": and_(is_open, Invoice.due_date >= today, Invoice.paid_cents > 0),
            "PAGADA": Invoice.status == "PAGADA",
            "ANULADA": Invoice.status == "ANULADA",
        }[status])
    if filters.overdue:
        conditions.append(and_(is_open, Invoice.due_date < today))
    if filters.due_within is not None:
        conditions.append(and_(is_open, Invoice.due_date >= today,
                               Invoice.due_date <= today + timedelta(days=filters.due_within)))
    if filters.date_from:
        # due_date >= issue_date always holds, so this bound lets the due-date index help.
        conditions.extend([Invoice.issue_date >= filters.date_from, Invoice.due_date >= filters.date_from])
    if filters.date_to:
        conditions.append(Invoice.issue_date <= filters.date_to)
    if currency:
        conditions.append(Invoice.currency == currency)
    return conditions


def suggest_ids(*, session: "Session", actor: Actor | None, prefix: str, limit: int = 50) -> list[tuple[str, str]]:
    """(id, "serie-número party status") of invoices whose id starts with `prefix`, newest
    first, for shell completion."""
    from sqlalchemy import String, cast, select

    from cuentas_cli.db.models import Invoice, Party

    require(actor, "read")
    typed = prefix.strip()
    if typed and not typed.isdigit():
        return []
    statement = (
        select(Invoice.id, Invoice.serie, Invoice.numero, Party.name, Invoice.status, Invoice.currency,
               balances.open_balance(Invoice))
        .join(Party, Party.id == Invoice.party_id)
        .order_by(Invoice.id.desc()).limit(limit)
    )
    if typed:
        statement = statement.where(cast(Invoice.id, String).startswith(typed))
    return [(str(i), f"{serie}-{numero} {name} {status} saldo {money(int(balance or 0)):.2f} {currency}")
            for i, serie, numero, name, status, currency, balance in session.execute(statement)]


def list_invoices(*, session: "Session", actor: Actor | None, today: date, filters: InvoiceFilter) -> Iterator[InvoiceRow]:
    """Invoices matching the filters, by due date (then id), streamed.

    Statuses are those as of `today`: an open invoice past its due date lists as VENCIDA even
    before `update-statuses` has stored it.
    """
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from cuentas_cli.db.models import Invoice, Party

    require(actor, "read")
    if filters.limit is not None and filters.limit < 1:
        raise ValidationError("--limit: give a number of rows, 1 or more")
    conditions = invoice_conditions(session, today=today, filters=filters)
    ref = aliased(Invoice)
    query = (
        select(
            Invoice.id, Invoice.direction, Invoice.doc_type, Invoice.serie, Invoice.numero, Invoice.issue_date,
            Invoice.due_date, Invoice.currency, Invoice.exchange_rate_e4, Invoice.total_cents, Invoice.paid_cents,
            Invoice.adjust_cents, Invoice.status, Party.doc_number.label("party_doc"), Party.name.label("party_name"),
            ref.serie.label("ref_serie"), ref.numero.label("ref_numero"),
        )
        .join(Party, Party.id == Invoice.party_id)
        .outerjoin(ref, ref.id == Invoice.references_id)
        .where(*conditions)
        .order_by(Invoice.due_date, Invoice.id)
    )
    if filters.limit is not None:
        query = query.limit(filters.limit)
    return _stream(session, query, today)


def _stream(session: "Session", query: Any, today: date) -> Iterator[InvoiceRow]:
    result = session.execute(query.execution_options(yield_per=2000))
    for row in result.mappings():
        yield _row(dict(row), today)


def show_invoice(*, session: "Session", actor: Actor | None, today: date, ref: str) -> InvoiceDetail:
    from sqlalchemy import func, select

    from cuentas_cli.db.models import Invoice, Notification, Party, User
    from cuentas_cli.ledger.payments import payment_rows

    require(actor, "read")
    inv = get_invoice(session, ref)
    party = session.get(Party, inv.party_id)
    target = session.get(Invoice, inv.references_id) if inv.references_id else None
    base = _row(_values(inv, party, target), today)
    payments = payment_rows(session, invoice_ids=[inv.id])
    by_method: dict[str, int] = {}
    for p in payments:
        by_method[p.method] = by_method.get(p.method, 0) + int(p.amount * 100)
    notes = session.execute(
        select(Invoice.id, Invoice.doc_type, Invoice.serie, Invoice.numero, Invoice.issue_date, Invoice.total_cents,
               Invoice.status)
        .where(Invoice.references_id == inv.id).order_by(Invoice.issue_date, Invoice.id)
    ).all()
    reminders = session.execute(
        select(func.count()).select_from(Notification)
        .where(Notification.invoice_id == inv.id, Notification.status == "sent")
    ).scalar_one()
    creator = session.get(User, inv.created_by) if inv.created_by else None
    due_total = inv.total_cents + inv.adjust_cents
    withheld_recorded = by_method.get("detraccion", 0) + by_method.get("retencion", 0)
    return InvoiceDetail(
        **{f: getattr(base, f) for f in InvoiceRow.__dataclass_fields__},
        base=money(inv.base_cents) if inv.base_cents is not None else None,
        igv=money(inv.igv_cents) if inv.igv_cents is not None else None,
        adjustments=money(inv.adjust_cents) if inv.references_id is None else Decimal(0),
        total_pen=money(to_pen_cents(inv.total_cents, inv.exchange_rate_e4)),
        detraccion_pct=f"{Decimal(inv.detraccion_bp) / 100:.2f}" if inv.detraccion_bp else None,
        detraccion=money(inv.detraccion_cents),
        retencion=money(inv.retencion_cents),
        paid_directly_expected=money(max(0, due_total - inv.detraccion_cents - inv.retencion_cents))
        if inv.references_id is None else Decimal(0),
        paid_directly=money(inv.paid_cents - withheld_recorded),
        detraccion_recorded=money(by_method.get("detraccion", 0)),
        retencion_recorded=money(by_method.get("retencion", 0)),
        reminders_sent=int(reminders),
        description=inv.description,
        created_by=creator.username if creator else None,
        created_at=inv.created_at,
        updated_at=inv.updated_at,
        notes=[{"id": n.id, "doc_type": n.doc_type, "document": document_label(n.serie, n.numero),
                "issue_date": n.issue_date, "amount": money(n.total_cents if n.doc_type == "08" else -n.total_cents),
                "status": n.status} for n in notes],
        payments=[{"id": p.id, "paid_on": p.paid_on, "amount": p.amount, "method": p.method,
                   "reference": p.reference, "recorded_by": p.recorded_by} for p in payments],
    )


# --- edit, set-status, delete -------------------------------------------------------------


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
        raise EditRefused(f"{label} is ANULADA and cannot be changed (an administrador restores it first with "
                          f"`cuentas invoices set-status {invoice_id} PENDIENTE`)", "status")
    if before["doc_type"] in documents.NOTE_TYPES or before.get("references_id") is not None:
        frozen = [k for k in NOTE_FROZEN_COLUMNS if k in changed]
        if frozen:
            names = ", ".join(dict.fromkeys(NOTE_FROZEN_COLUMNS[k] for k in frozen))
            raise EditRefused(f"{label} is a note: its {names} cannot change; delete the note "
                              f"(`cuentas invoices delete {invoice_id}`) and add it again", frozen[0])
    elif after["doc_type"] in documents.NOTE_TYPES:
        raise EditRefused("an invoice cannot become a note; add the note with `cuentas invoices add --doc-type 07`",
                          "doc_type")
    if after["total_cents"] + after["adjust_cents"] - after["paid_cents"] < 0:
        noted = f" and notes of {money(-after['adjust_cents']):.2f}" if after["adjust_cents"] < 0 else ""
        raise EditRefused(f"payments of {money(after['paid_cents']):.2f}{noted} already exceed the new total "
                          f"{money(after['total_cents']):.2f} of {label}; delete payments first", "total_cents")


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
    from cuentas_cli.parties.service import get_party

    require(actor, "invoices.edit")
    inv = get_invoice(session, ref, lock=True)
    before = audit_view(inv)
    columns_before = edit_view(inv)
    is_note = inv.references_id is not None or inv.doc_type in documents.NOTE_TYPES
    if is_note and (detraccion is not None or retencion):
        raise ValidationError(f"a note's withholdings cannot change; delete the note "
                              f"(`cuentas invoices delete {inv.id}`) and add it again")

    # Checks query the database; the half-edited row must not be flushed before they pass.
    with session.no_autoflush:
        party_row = session.get(Party, inv.party_id)
        if party is not None:
            party_row = get_party(session, kind=PARTY_KIND[inv.direction], ref=party)
            inv.party_id = party_row.id
        if doc_type is not None:
            new_type = documents.check_doc_type(doc_type)
            if new_type in documents.NOTE_TYPES and not is_note:
                raise ValidationError("an invoice cannot become a note; add the note with `cuentas invoices add --doc-type 07`")
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
        _refuse_duplicate(session, direction=inv.direction, party=party_row, doc_type=inv.doc_type, serie=inv.serie,
                          numero=inv.numero, exclude_id=inv.id)
    refresh_status(inv, today=today)
    after = audit_view(inv)
    changed = [k for k in after if after[k] != before[k]]
    if changed:
        inv.updated_at = _now()
        session.add(inv)
        audit.record(session, actor, action="invoice.edit", entity="invoice", entity_id=inv.id,
                     before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
    return row_of(session, inv, today=today), changed


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
    from cuentas_cli.ledger.payments import insert_payments

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
            raise Conflict(f"{label} has payments of {money(inv.paid_cents):.2f}; an invoice with payments cannot be "
                           f"annulled (see `cuentas invoices payments {inv.id}`)")
        live_notes = session.execute(select(func.count()).select_from(Invoice).where(
            Invoice.references_id == inv.id, Invoice.status != "ANULADA")).scalar_one()
        if live_notes:
            raise Conflict(f"{live_notes} credit/debit note(s) modify {label}; annul or delete them first")
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
            payment = insert_payments(session, actor=actor, inv=inv, today=today,
                                      items=[(balance, paid_on or today, method, reference or "set-status PAGADA")])[0]
        elif target != inv.status:
            if inv.status == "PAGADA":
                reason = "it is fully paid; delete payments with `cuentas invoices unpay PAYMENT_ID` (administrador)"
            elif target == "PENDIENTE" and inv.status == "VENCIDA":
                reason = f"it was due {inv.due_date}; move the due date with `cuentas invoices edit {inv.id} --due DATE`"
            elif target == "PENDIENTE" and inv.status == "PARCIAL":
                reason = "it has payments; delete them with `cuentas invoices unpay PAYMENT_ID` (administrador)"
            else:
                reason = _HOW_TO_REACH[target]
            raise ValidationError(f"{label} is {inv.status} by its payments and due date, not {target}: {reason}")
    inv.updated_at = _now()
    session.add(inv)
    after = audit_view(inv)
    if payment is not None:
        after["payment_id"] = payment.id
    audit.record(session, actor, action="invoice.set_status", entity="invoice", entity_id=inv.id,
                 before={"status": before["status"], "paid": before["paid"]},
                 after={k: after[k] for k in ("status", "paid", "payment_id") if k in after})
    return StatusChange(row_of(session, inv, today=today), old, inv.status,
                        payment.id if payment else None, money(payment.amount_cents) if payment else None)


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
        raise Conflict(f"{label} has {count} payment(s) of {money(int(paid)):.2f} {inv.currency}; "
                       f"delete them too with `cuentas invoices delete {inv.id} --with-payments`")
    notes = session.execute(select(Invoice.serie, Invoice.numero).where(Invoice.references_id == inv.id)).all()
    if notes:
        names = ", ".join(document_label(s, n) for s, n in notes)
        raise Conflict(f"notes {names} modify {label}; delete them first")
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


# --- statuses -----------------------------------------------------------------------------


def update_statuses(*, session: "Session", actor: Actor | None, today: date) -> dict[str, int]:
    """Recompute every status as of `today` in one set-based statement; how many became each."""
    from cuentas_cli.ledger import statuses

    require(actor, "invoices.operate")
    changed = statuses.refresh(session, today=today)
    audit.record(session, actor, action="invoice.update_statuses", entity="invoice",
                 after={"today": today, **{k: changed.get(k, 0) for k in INVOICE_STATUSES if k != "ANULADA"}})
    return changed
