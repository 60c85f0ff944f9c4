"""What every report shares: kinds, amounts as Decimal, the checks of report options, and the
small SQL helpers (dialect, fetching rows, an export's filters as SQL, the S/ amount).

Amounts leave SQL as integer céntimos (USD converted to PEN per invoice with integer arithmetic,
rounded half up) and become Decimal here (`money`), so no float ever touches money.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import UsageError
from cuentas_cli.ledger.balances import pen_cents_sql
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

KINDS = {"cxc": "receivable", "cxp": "payable"}
KIND_OF = {v: k for k, v in KINDS.items()}

_CENT = Decimal("0.01")


# --- small helpers ---------------------------------------------------------------------------


def money(cents: int | None) -> Decimal:
    """Integer céntimos -> Decimal soles with two places."""
    return Decimal(int(cents or 0)).scaleb(-2).quantize(_CENT)


def ratio(num: Decimal, den: Decimal, scale: int) -> Decimal | None:
    if not den:
        return None
    return (num / den * scale).quantize(_CENT, rounding=ROUND_HALF_UP)


def as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def directions_for(kind: str | None) -> tuple[str, ...]:
    """'cxc'/'receivable' -> ('receivable',); None or 'all' -> both."""
    if kind is None or kind == "all":
        return ("receivable", "payable")
    value = kind.strip().lower()
    if value in KINDS:
        return (KINDS[value],)
    if value in KIND_OF:
        return (value,)
    raise UsageError(_("unknown kind {kind!r}; use cxc (receivable) or cxp (payable)").format(kind=kind))


def check_currency(currency: str | None) -> str | None:
    if currency is None:
        return None
    value = currency.strip().upper()
    if value not in ("PEN", "USD"):
        raise UsageError(_("unknown currency {currency!r}; use PEN or USD").format(currency=currency))
    return value


def _bind(db: Any) -> Any:
    return db.get_bind() if hasattr(db, "get_bind") else db


def days_between(dialect: str, later: str, earlier: str) -> str:
    if dialect == "sqlite":
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


def fetch_rows(session: "Session", sql: str) -> list[tuple]:
    from sqlalchemy import text

    return [tuple(r) for r in session.execute(text(sql)).all()]


# --- SQL building blocks -----------------------------------------------------------------------


def scope_sql(session: "Session", conditions: list[Any]) -> str:
    """SQLAlchemy conditions over the Core `invoice` table (db/tables.py; e.g. `listing.invoice_conditions` of an export's
    filters) as SQL text over the alias `i` of `balances_cte`, values inlined as literals.
    The values come from checked filters (party ids, statuses, dates), never from free text."""
    if not conditions:
        return ""
    from sqlalchemy import and_
    from sqlalchemy.sql.util import ClauseAdapter

    from cuentas_cli.db.tables import invoice

    clause = ClauseAdapter(invoice.alias("i")).traverse(and_(*conditions))
    return str(clause.compile(dialect=_bind(session).dialect, compile_kwargs={"literal_binds": True}))


def amount_sql(currency: str | None, cents: str = "bal", rate: str = "rate", *, by_cuota: bool = False) -> str:
    """The amount in the report currency: PEN (converted per invoice, half up) or native. Over
    the parts of `balances_cte(by_cuota=True)` the S/ of `bal` is their `pen` column."""
    if currency:
        return cents
    if by_cuota and cents == "bal":
        return "pen"
    return pen_cents_sql(cents, rate)


def count_sql(by_cuota: bool) -> str:
    """How many invoices a group of `balances_cte` rows holds (its parts count once)."""
    return "SUM(lead)" if by_cuota else "COUNT(*)"
