"""A client's or supplier's account: its open and overdue balances, its last payment and its
invoices, with the parties themselves listed by what they owe. These are ledger views over
`parties` rows (the balance rule is `ledger.balances`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterator

from cuentas_cli.errors import ValidationError
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.ledger import balances
from cuentas_cli.ledger.listing import InvoiceFilter, list_invoices
from cuentas_cli.parties.records import PartyRow, aware, normalise_kind, row_values
from cuentas_cli.parties.service import find_party, get_party
from cuentas_cli.rules.identity import doc_type_label
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlmodel import Session


@dataclass
class PartyOverdueRow(PartyRow):
    overdue_invoices: int = 0
    overdue_pen: Decimal = Decimal(0)


@dataclass
class PartyDetail(PartyRow):
    """`show`: the party plus its open and overdue invoices and its last payment."""

    doc_type_name: str = ""
    open_invoices: int = 0
    open_balance_pen: Decimal = Decimal(0)
    overdue_invoices: int = 0
    overdue_pen: Decimal = Decimal(0)
    last_payment_date: date | None = None
    last_payment_amount: Decimal | None = None
    last_payment_currency: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


OVERDUE_COLUMNS = ["id", "doc_number", "name", "sunat_estado", "overdue_invoices", "overdue_pen"]


def _pen(cents: int | None) -> Decimal:
    """A sum of per-document PEN céntimos (balances.pen_cents) -> soles with two decimals."""
    return Decimal(int(cents or 0)).scaleb(-2).quantize(Decimal("0.01"))


def list_parties(*, session: "Session", actor: Actor | None, kind: str, today: date, search: str | None = None,
                 estado: str | None = None, with_overdue: bool = False, limit: int | None = None,
                 after: tuple[str, int] | None = None) -> list[PartyRow]:
    """Parties of one kind by name; `search` matches the name (anywhere) or the document (prefix);
    `estado` the SUNAT estado (prefix: 'baja' matches both BAJAs); `with_overdue` keeps only
    parties with overdue invoices and adds their count and PEN amount. `after` (name, id): only
    those after it in that order (the HTTP API's pages; not with `with_overdue`)."""
    from sqlalchemy import func, or_, select

    from cuentas_cli.db.models import Invoice, Party

    require(actor, "read")
    kind = normalise_kind(kind)
    query = select(Party).where(Party.kind == kind)
    if search and search.strip():
        text = search.strip()
        query = query.where(or_(func.lower(Party.name).contains(text.lower(), autoescape=True),
                                Party.doc_number.startswith(text.upper(), autoescape=True)))
    if estado and estado.strip():
        query = query.where(func.upper(Party.sunat_estado).startswith(estado.strip().upper(), autoescape=True))
    if limit is not None and limit < 1:
        raise ValidationError(_("--limit: give a number of rows, 1 or more"))
    if not with_overdue:
        if after is not None:
            from sqlalchemy import and_

            query = query.where(or_(Party.name > after[0], and_(Party.name == after[0], Party.id > after[1])))
        query = query.order_by(Party.name, Party.id)
        if limit:
            query = query.limit(limit)
        return [PartyRow(**row_values(p)) for p in session.execute(query).scalars()]
    balance = balances.cached_balance(Invoice)  # the ledger's rule within open statuses
    if balances.has_cuotas(session):
        overdue = _overdue_parts(session, today=today, scope="").subquery()
    else:
        overdue = (
            select(Invoice.party_id.label("party_id"), func.count().label("n"),
                   func.sum(balances.pen_cents(balance, Invoice.exchange_rate_e4)).label("pen"))
            .where(balances.is_open(Invoice), Invoice.due_date < today)
            .group_by(Invoice.party_id)
            .subquery()
        )
    query = (query.add_columns(overdue.c.n, overdue.c.pen).join(overdue, overdue.c.party_id == Party.id)
             .order_by(overdue.c.pen.desc(), Party.id))
    if limit:
        query = query.limit(limit)
    return [PartyOverdueRow(**row_values(p), overdue_invoices=int(n), overdue_pen=_pen(pen))
            for p, n, pen in session.execute(query).all()]


def show_party(*, session: "Session | Connection", actor: Actor | None, kind: str, ref: str, today: date) -> PartyDetail:
    """Core statements only (db/tables.py): `clients show` starts without the ORM."""
    from sqlalchemy import and_, case, func, select

    from cuentas_cli.db.tables import invoice, payment

    Invoice, Payment = invoice.c, payment.c  # the columns, named as the models' elsewhere in this module
    require(actor, "read")
    party = find_party(session, kind=kind, ref=ref)
    balance = balances.cached_balance(Invoice)  # the ledger's rule within open statuses
    is_open = balances.is_open(Invoice)
    is_overdue = and_(is_open, Invoice.due_date < today)
    weighted = balances.pen_cents(balance, Invoice.exchange_rate_e4)
    n_open, open_pen, n_overdue, overdue_pen = session.execute(
        select(
            func.coalesce(func.sum(case((is_open, 1), else_=0)), 0),
            func.coalesce(func.sum(case((is_open, weighted), else_=0)), 0),
            func.coalesce(func.sum(case((is_overdue, 1), else_=0)), 0),
            func.coalesce(func.sum(case((is_overdue, weighted), else_=0)), 0),
        ).where(Invoice.party_id == party.id)
    ).one()
    if balances.has_cuotas(session):  # in cuotas: only the cuotas past their date, the invoice counted once
        found = session.execute(_overdue_parts(session, today=today, scope=f"i.party_id = {int(party.id)}")).first()
        n_overdue, overdue_pen = (found[1], found[2]) if found else (0, 0)
    last = session.execute(
        select(Payment.paid_on, Payment.amount_cents, Invoice.currency)
        .join(invoice, Invoice.id == Payment.invoice_id)
        .where(Invoice.party_id == party.id)
        .order_by(Payment.paid_on.desc(), Payment.id.desc())
        .limit(1)
    ).first()
    return PartyDetail(
        **row_values(party), doc_type_name=doc_type_label(party.doc_type),
        open_invoices=int(n_open), open_balance_pen=_pen(open_pen),
        overdue_invoices=int(n_overdue), overdue_pen=_pen(overdue_pen),
        last_payment_date=last[0] if last else None,
        last_payment_amount=Decimal(last[1]) / 100 if last else None,
        last_payment_currency=last[2] if last else None,
        created_at=aware(party.created_at), updated_at=aware(party.updated_at),
    )


def party_invoices(*, session: "Session", actor: Actor | None, kind: str, ref: str, today: date,
                   status: str | None = None, limit: int | None = None) -> Iterator[Any]:
    """The party's invoices (the invoice rows of `cuentas invoices list --party DOC`)."""
    require(actor, "read")
    kind = normalise_kind(kind)
    party = get_party(session, kind=kind, ref=ref)
    filters = InvoiceFilter(kind="cxc" if kind == "client" else "cxp", party=party.doc_number,
                            status=status, limit=limit)
    return list_invoices(session=session, actor=actor, today=today, filters=filters)


def _overdue_parts(session: "Session | Connection", *, today: date, scope: str) -> Any:
    """Per party: the invoices with a part past its date and those parts' S/ (invoices in cuotas
    aged part by part, `balances.balances_cte(by_cuota=True)`), as a text SELECT (party_id, n, pen)."""
    from sqlalchemy import column, text

    d = balances.lit(today)
    bind = session.get_bind() if hasattr(session, "get_bind") else session
    sql = (f"{balances.balances_cte(bind.dialect.name, today, scope=scope, by_cuota=True)} "
           f"SELECT party_id, SUM(CASE WHEN due_date < {d} THEN lead ELSE 0 END) AS n, "
           f"SUM(CASE WHEN due_date < {d} THEN pen ELSE 0 END) AS pen FROM open_inv WHERE bal > 0 GROUP BY party_id "
           f"HAVING SUM(CASE WHEN due_date < {d} THEN lead ELSE 0 END) > 0")
    return text(sql).columns(column("party_id"), column("n"), column("pen"))

