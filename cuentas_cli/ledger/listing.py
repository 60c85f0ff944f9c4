"""Finding and showing invoices: the filters of `invoices list` and `export` (one definition,
turned into SQL by `invoice_conditions`), the streamed listing, `invoices show`, and invoice
ids for shell completion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterator

from cuentas_cli.errors import NotFound, UsageError, ValidationError
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.ledger import balances
from cuentas_cli.ledger import cuotas as cuota_rules
from cuentas_cli.ledger.payments import payment_rows
from cuentas_cli.ledger.records import (
    PARTY_KIND,
    InvoiceDetail,
    InvoiceRow,
    document_label,
    find_invoice,
    invoice_values,
    money,
    normalise_currency,
    normalise_direction,
    normalise_status,
    row_from_values,
    to_pen_cents,
)
from cuentas_cli.parties.service import find_party
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlmodel import Session

    Db = Session | Connection

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
    # keyset pagination (the HTTP API's cursor): only invoices after this (due date, id) in the
    # listing's order, so pages neither repeat nor skip a row when invoices are added meanwhile
    after: tuple[date, int] | None = None

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


def _party_ids(session: "Db", *, ref: str, direction: str | None) -> list[int]:
    from sqlalchemy import select

    from cuentas_cli.db.tables import party

    if direction is not None:
        return [find_party(session, kind=PARTY_KIND[direction], ref=ref).id]
    ref = ref.strip()
    ids = list(session.execute(select(party.c.id).where(party.c.doc_number == ref)).scalars())
    if not ids and ref.isascii() and ref.isdigit() and len(ref) < 8:
        ids = list(session.execute(select(party.c.id).where(party.c.id == int(ref))).scalars())
    if not ids:
        raise NotFound(_("no client or supplier with document or id {ref!r}; see `cuentas clients list`")
                       .format(ref=ref))
    return ids


def open_condition() -> Any:
    """SQL: the invoice is open (not annulled, a balance left) whatever day it is.

    A stored PENDIENTE, PARCIAL or VENCIDA means not annulled with a balance (every change to
    the amounts refreshes the status in the same transaction); saying so lets the query read
    the partial index ix_invoice_open, and the balance test keeps the filter true to the status
    shown even so. Which of the three applies depends on the day: the conditions compare the
    due date with today instead of trusting the stored word.
    """
    from cuentas_cli.db.tables import invoice

    return balances.is_open(invoice.c)


def invoice_conditions(session: "Db", *, today: date, filters: InvoiceFilter,
                       by_cuota: bool | None = None) -> list[Any]:
    """The WHERE conditions (over the Core `invoice` table's columns) of `filters` as of `today`, checked and
    normalised once for every command that filters invoices (`invoices list`, `export`).

    Statuses are those as of `today`: an open invoice past its due date is VENCIDA even before
    `update-statuses` has stored it, and an open one not yet due is PENDIENTE or PARCIAL by its
    payments whatever was stored. Bad values raise UsageError; an unknown party NotFound.
    `by_cuota` (default: whether any invoice has cuotas) compares the earliest cuota still owed.
    """
    from sqlalchemy import and_

    from cuentas_cli.db.tables import invoice

    Invoice = invoice.c
    try:
        direction = normalise_direction(filters.kind) if filters.kind else None
        status = normalise_status(filters.status) if filters.status else None
        currency = normalise_currency(filters.currency) if filters.currency else None
    except ValidationError as exc:
        # A filter is an option of the command, not data: a bad one is a usage error (cli.md).
        raise UsageError(exc.message) from None
    if filters.due_within is not None and filters.due_within < 0:
        raise UsageError(_("--due-within: give a number of days, 0 or more"))
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise UsageError(_("--from {date_from} is after --to {date_to}")
                         .format(date_from=filters.date_from, date_to=filters.date_to))

    conditions: list[Any] = []
    if direction:
        conditions.append(Invoice.direction == direction)
    if filters.party:
        ids = _party_ids(session, ref=filters.party, direction=direction)
        conditions.append(Invoice.party_id.in_(ids) if len(ids) > 1 else Invoice.party_id == ids[0])
    is_open = open_condition()
    # What falls overdue: the due date, or for invoices in cuotas the earliest cuota still owed.
    if by_cuota is None:
        by_cuota = balances.has_cuotas(session)
    due = balances.next_due(Invoice) if by_cuota else Invoice.due_date
    if status:
        conditions.append({
            "VENCIDA": and_(is_open, due < today),
            "PENDIENTE": and_(is_open, due >= today, Invoice.paid_cents == 0),
            "PARCIAL": and_(is_open, due >= today, Invoice.paid_cents > 0),
            "PAGADA": Invoice.status == "PAGADA",
            "ANULADA": Invoice.status == "ANULADA",
        }[status])
    if filters.overdue:
        conditions.append(and_(is_open, due < today))
    if filters.due_within is not None:
        conditions.append(and_(is_open, due >= today, due <= today + timedelta(days=filters.due_within)))
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
    require(actor, "read")
    return _stream(session, listing_query(session, today=today, filters=filters), today)


def listing_query(session: "Db", *, today: date, filters: InvoiceFilter) -> Any:
    """The SELECT of `invoices list` for these filters (its plan is checked in
    tests/test_query_plans.py and timed on the server by the invoices benchmark)."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import invoice, party

    Invoice, Party = invoice.c, party.c
    if filters.limit is not None and filters.limit < 1:
        raise ValidationError(_("--limit: give a number of rows, 1 or more"))
    by_cuota = balances.has_cuotas(session)  # asked once for the conditions and the columns
    conditions = invoice_conditions(session, today=today, filters=filters, by_cuota=by_cuota)
    referenced = invoice.alias("ref")
    ref = referenced.c
    query = (
        select(
            Invoice.id, Invoice.direction, Invoice.doc_type, Invoice.serie, Invoice.numero, Invoice.issue_date,
            Invoice.due_date, Invoice.currency, Invoice.exchange_rate_e4, Invoice.total_cents, Invoice.paid_cents,
            Invoice.adjust_cents, Invoice.status, Party.doc_number.label("party_doc"), Party.name.label("party_name"),
            ref.serie.label("ref_serie"), ref.numero.label("ref_numero"),
            *([balances.next_due(Invoice).label("open_due")] if by_cuota else []),
        )
        .join(party, Party.id == Invoice.party_id)
        .outerjoin(referenced, ref.id == Invoice.references_id)
        .where(*conditions)
        .order_by(Invoice.due_date, Invoice.id)
    )
    if filters.after is not None:
        from sqlalchemy import and_, or_

        due, last = filters.after
        query = query.where(or_(Invoice.due_date > due, and_(Invoice.due_date == due, Invoice.id > last)))
    if filters.limit is not None:
        query = query.limit(filters.limit)
    return query


def _stream(session: "Session", query: Any, today: date) -> Iterator[InvoiceRow]:
    result = session.execute(query.execution_options(yield_per=2000))
    for row in result.mappings():
        yield row_from_values(dict(row), today)


def show_invoice(*, session: "Db", actor: Actor | None, today: date, ref: str) -> InvoiceDetail:
    """Core statements only (db/tables.py): `invoices show` starts without the ORM."""
    from sqlalchemy import func, select

    from cuentas_cli.db.tables import app_user, invoice, notification, party

    Invoice, Notification = invoice.c, notification.c
    require(actor, "read")
    inv = find_invoice(session, ref)
    who = session.execute(select(party.c.doc_number, party.c.name).where(party.c.id == inv.party_id)).one()
    target = None
    if inv.references_id:
        target = session.execute(select(Invoice.serie, Invoice.numero).where(Invoice.id == inv.references_id)).one()
    payments = payment_rows(session, invoice_ids=[inv.id])
    by_method: dict[str, int] = {}
    for p in payments:
        by_method[p.method] = by_method.get(p.method, 0) + int(p.amount * 100)
    withheld_recorded = by_method.get("detraccion", 0) + by_method.get("retencion", 0)
    plan = cuota_rules.cuotas_of(session, inv.id)
    values = invoice_values(inv, who, target)
    values["open_due"] = cuota_rules.next_due(
        plan, balance_cents=balances.balance_of(inv), default=inv.due_date,
        withheld_open_cents=cuota_rules.withheld_open(inv, withheld_recorded))
    base = row_from_values(values, today)
    notes = session.execute(
        select(Invoice.id, Invoice.doc_type, Invoice.serie, Invoice.numero, Invoice.issue_date, Invoice.total_cents,
               Invoice.status)
        .where(Invoice.references_id == inv.id).order_by(Invoice.issue_date, Invoice.id)
    ).all()
    reminders = session.execute(
        select(func.count()).select_from(notification)
        .where(Notification.invoice_id == inv.id, Notification.status == "sent")
    ).scalar_one()
    creator = None
    if inv.created_by:
        creator = session.execute(select(app_user.c.username).where(app_user.c.id == inv.created_by)).first()
    due_total = inv.total_cents + inv.adjust_cents
    pending = cuota_rules.pending_of(inv, balance_cents=balances.balance_of(inv),
                                     withheld_recorded_cents=withheld_recorded) if plan else 0
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
                   "reference": p.reference, "recorded_by": p.recorded_by, "bank_line": p.bank_line_id} for p in payments],
        cuotas=[{"cuota": c.number, "due_date": c.due_date, "amount": c.amount, "balance": c.balance}
                for c in cuota_rules.rows(plan, pending)],
    )
