"""An invoice as the rest of the ledger sees it: its row as listed, its lookup by id or
SERIE-NUMERO, its label, amounts as Decimal, and its stored status kept right after a change.

Adding, editing, notes, payments and listings all build on these; nothing here writes but
`refresh_status`, which sets the status of an invoice being changed in its caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from cuentas_cli.db.enums import CURRENCIES, INVOICE_STATUSES
from cuentas_cli.errors import NotFound, ValidationError
from cuentas_cli.ledger import balances
from cuentas_cli.ledger import documents
from cuentas_cli.ledger.statuses import status_for
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlmodel import Session

    from cuentas_cli.db.models import Invoice, Party

DIRECTION_ALIASES = {
    "cxc": "receivable", "receivable": "receivable", "receivables": "receivable", "cobrar": "receivable",
    "cxp": "payable", "payable": "payable", "payables": "payable", "pagar": "payable",
}
KIND_OF = {"receivable": "cxc", "payable": "cxp"}
PARTY_KIND = {"receivable": "client", "payable": "supplier"}


def normalise_direction(kind: str) -> str:
    """'cxc'/'receivable' -> 'receivable'; 'cxp'/'payable' -> 'payable'."""
    try:
        return DIRECTION_ALIASES[kind.strip().lower()]
    except KeyError:
        raise ValidationError(_("unknown kind {kind!r}; use cxc (receivable) or cxp (payable)")
                              .format(kind=kind)) from None


def normalise_status(status: str) -> str:
    value = status.strip().upper()
    if value not in INVOICE_STATUSES:
        raise ValidationError(_("unknown status {status!r}; use one of {join_invoice_statuses}")
                              .format(status=status, join_invoice_statuses=', '.join(INVOICE_STATUSES)))
    return value


def normalise_currency(currency: str) -> str:
    value = currency.strip().upper()
    if value in {"S/", "SOLES"}:
        value = "PEN"
    if value not in CURRENCIES:
        raise ValidationError(_("currency {currency!r}: use PEN or USD").format(currency=currency))
    return value


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
    cuotas: list[dict] = field(default_factory=list)  # forma de pago Crédito: each cuota and what it owes


def effective_status(*, stored: str, total_cents: int, adjust_cents: int, paid_cents: int, due_date: date,
                     today: date) -> str:
    """The status as of `today` (a stored status may predate today's `update-statuses`)."""
    return status_for(total_cents=total_cents, adjust_cents=adjust_cents, paid_cents=paid_cents, due_date=due_date,
                      today=today, current=stored)


def _days_overdue(status: str, due: date, today: date) -> int:
    return (today - due).days if status == "VENCIDA" else 0


def row_from_values(values: dict, today: date) -> InvoiceRow:
    balance = balances.balance_of(values)  # the ledger's rule: 0 for notes and ANULADA
    # an invoice in cuotas falls overdue with the earliest cuota it still owes (`open_due`)
    falls_due = values.get("open_due") or values["due_date"]
    if isinstance(falls_due, str):
        falls_due = date.fromisoformat(falls_due[:10])
    status = effective_status(stored=values["status"], total_cents=values["total_cents"],
                              adjust_cents=values["adjust_cents"], paid_cents=values["paid_cents"],
                              due_date=falls_due, today=today)
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
        days_overdue=_days_overdue(status, falls_due, today),
        references=document_label(ref, values["ref_numero"]) if ref else None,
    )


def invoice_values(inv: "Invoice", party: "Party", ref: "Invoice | None" = None) -> dict:
    values = {k: getattr(inv, k) for k in (
        "id", "direction", "doc_type", "serie", "numero", "issue_date", "due_date", "currency", "exchange_rate_e4",
        "total_cents", "paid_cents", "adjust_cents", "status")}
    values.update(party_doc=party.doc_number, party_name=party.name,
                  ref_serie=ref.serie if ref else None, ref_numero=ref.numero if ref else None)
    return values


def row_of(session: "Session | Connection", inv: Any, *, today: date) -> InvoiceRow:
    """The listing row of an invoice (ORM object or record), its party and reference read by Core."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import invoice, party

    who = session.execute(select(party.c.doc_number, party.c.name).where(party.c.id == inv.party_id)).one()
    ref = None
    if inv.references_id:
        ref = session.execute(select(invoice.c.serie, invoice.c.numero)
                              .where(invoice.c.id == inv.references_id)).one()
    values = invoice_values(inv, who, ref)
    from cuentas_cli.ledger.due import status_due

    values["open_due"] = status_due(session, inv)
    return row_from_values(values, today)


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


def _ref_condition(cols: Any, text: str) -> Any:
    """WHERE of an invoice named by id or by SERIE-NUMERO (`cols`: the Invoice entity or a
    table's `.c`)."""
    from sqlalchemy import and_

    if text.isascii() and text.isdigit():
        return cols.id == int(text)
    serie, numero = documents.split_document(text)
    return and_(cols.serie == serie, cols.numero == numero)


def _one_named(found: list, text: str) -> Any:
    if not found:
        raise NotFound(_("no invoice {text!r}; see `cuentas invoices list`").format(text=text))
    if len(found) > 1:
        ids = ", ".join(str(i.id) for i in found)
        raise ValidationError(_("{text} names several invoices (ids {ids}); give the numeric id")
                              .format(text=text, ids=ids))
    return found[0]


def get_invoice(session: "Session", ref: str | int, *, lock: bool = False) -> "Invoice":
    """An invoice (ORM object) by id, or by SERIE-NUMERO when that names exactly one. `lock`
    takes the row lock (SELECT ... FOR UPDATE on PostgreSQL; SQLite writers already hold the
    database)."""
    from sqlmodel import select

    from cuentas_cli.db.models import Invoice

    text = str(ref).strip()
    query = select(Invoice).where(_ref_condition(Invoice, text))
    if lock:
        query = query.with_for_update()
    return _one_named(session.exec(query.execution_options(populate_existing=True).limit(3)).all(), text)


class InvoiceRecord(SimpleNamespace):
    """An invoice's stored columns read by Core (`find_invoice`), as attributes the ledger's rules
    read and change like those of the ORM object; `store_invoice` writes changes back."""


def find_invoice(db: "Session | Connection", ref: str | int, *, lock: bool = False) -> InvoiceRecord:
    """As `get_invoice`, without the ORM: for the fast commands (payments, show)."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import invoice

    text = str(ref).strip()
    query = select(invoice).where(_ref_condition(invoice.c, text)).limit(3)
    if lock:
        query = query.with_for_update()
    return InvoiceRecord(**_one_named(db.execute(query).all(), text)._asdict())


def store_invoice(db: "Session | Connection", inv: Any, **values: Any) -> None:
    """Set `values` on the invoice and write them: an ORM object through its session (added and
    flushed), an InvoiceRecord with one Core UPDATE."""
    for name, value in values.items():
        setattr(inv, name, value)
    if isinstance(inv, InvoiceRecord):
        from sqlalchemy import update

        from cuentas_cli.db.tables import invoice

        db.execute(update(invoice).where(invoice.c.id == inv.id).values(**values))
        if hasattr(db, "identity_map"):
            # An ORM session may hold this invoice as an object (read earlier in the transaction):
            # expired, it reloads the values just written instead of showing the old ones.
            from sqlalchemy.orm.util import identity_key

            from cuentas_cli.db.models import Invoice

            held = db.identity_map.get(identity_key(Invoice, inv.id))
            if held is not None:
                db.expire(held)
    else:
        db.add(inv)
        db.flush()


def refresh_status(inv: "Invoice", *, today: date) -> None:
    """The status of an invoice being changed; one in cuotas goes by the earliest cuota it still owes."""
    due = inv.due_date
    if inv.id is not None:
        from sqlalchemy.orm import object_session

        session = object_session(inv)
        if session is not None:
            from cuentas_cli.ledger.due import status_due

            due = status_due(session, inv)
    inv.status = status_for(total_cents=inv.total_cents, adjust_cents=inv.adjust_cents, paid_cents=inv.paid_cents,
                            due_date=due, today=today, current=inv.status)

