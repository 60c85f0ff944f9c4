"""Key figures per kind (outstanding, overdue, due soon, DSO/DPO, collection effectiveness,
average days late) and the financial summary every role may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.ledger.balances import NOTES_SQL, balance_as_of_sql, late_cte
from cuentas_cli.ledger.balances import lit as _lit
from cuentas_cli.db.engine import dialect_of
from cuentas_cli.reports.common import KIND_OF, amount_sql, days_between, fetch_rows, money, ratio
from cuentas_cli.reports.open_balances import LedgerRow, ledger

if TYPE_CHECKING:
    from sqlmodel import Session

SALES_WINDOW_DAYS = 90  # DSO / DPO window
CEI_WINDOW_DAYS = 30  # collection effectiveness window
LATE_WINDOW_DAYS = 90  # average days late: invoices paid off in this window
DUE_SOON_DAYS = 7

DSO_FORMULA = "DSO = CxC outstanding (S/) / CxC invoiced in the last 90 days (S/) x 90"
DPO_FORMULA = "DPO = CxP outstanding (S/) / CxP invoiced in the last 90 days (S/) x 90"
CEI_FORMULA = ("collection effectiveness (last 30 days) = (B + S - E) / (B + S - Ec) x 100, where B = CxC "
               "outstanding 30 days before, S = CxC invoiced in the 30 days, E = CxC outstanding now, "
               "Ec = the part of E not yet due")
LATE_FORMULA = ("average days late = mean over invoices paid off in the last 90 days of "
                "max(0, date of the last payment - due date)")


def sales_sql(as_of: date) -> str:
    """S/ invoiced (issued) per direction in the DSO window and in the CEI window."""
    d = _lit(as_of)
    w90 = _lit(as_of - timedelta(days=SALES_WINDOW_DAYS))
    w30 = _lit(as_of - timedelta(days=CEI_WINDOW_DAYS))
    pen = amount_sql(None, "total_cents", "exchange_rate_e4")
    return (f"SELECT direction, SUM({pen}), SUM(CASE WHEN issue_date > {w30} THEN {pen} ELSE 0 END) "
            f"FROM invoice WHERE issue_date > {w90} AND issue_date <= {d} AND status <> 'ANULADA' "
            f"AND doc_type NOT IN {NOTES_SQL} GROUP BY direction")


def days_late_sql(dialect: str, as_of: date) -> str:
    """Per direction: invoices paid off in the window and the sum of their days late."""
    d = _lit(as_of)
    since = _lit(as_of - timedelta(days=LATE_WINDOW_DAYS))
    late_days = days_between(dialect, "f.last_paid", "i.due_date")
    return (f"{late_cte(as_of)}, fin AS (SELECT invoice_id, MAX(paid_on) AS last_paid FROM payment "
            f"WHERE paid_on > {since} AND paid_on <= {d} GROUP BY invoice_id) "
            f"SELECT i.direction, COUNT(*), SUM(CASE WHEN f.last_paid > i.due_date THEN {late_days} ELSE 0 END) "
            "FROM fin f JOIN invoice i ON i.id = f.invoice_id LEFT JOIN late l ON l.invoice_id = i.id "
            f"WHERE i.status <> 'ANULADA' AND i.doc_type NOT IN {NOTES_SQL} "
            f"AND {balance_as_of_sql('i', 'l')} <= 0 "
            "GROUP BY i.direction")


@dataclass
class KindMetrics:
    kind: str
    as_of: date
    outstanding: Decimal  # S/, USD converted at each invoice's rate
    outstanding_pen: Decimal  # PEN invoices, S/
    outstanding_usd: Decimal  # USD invoices, US$
    open_count: int
    overdue: Decimal
    overdue_count: int
    overdue_share_pct: Decimal | None
    due_7d: Decimal
    due_7d_count: int
    invoiced_90d: Decimal
    days_outstanding: Decimal | None  # DSO for cxc, DPO for cxp
    collection_effectiveness_pct: Decimal | None  # cxc only
    paid_90d_count: int
    avg_days_late: Decimal | None


@dataclass
class Position:
    """Open balances of one direction as of a date, in céntimos."""

    pen_total: int = 0
    by_currency: dict[str, int] = field(default_factory=lambda: {"PEN": 0, "USD": 0})
    count: int = 0
    overdue: int = 0
    overdue_count: int = 0
    soon: int = 0
    soon_count: int = 0
    not_due: int = 0


def fold_positions(rows: list[LedgerRow], *, as_of: date, directions: tuple[str, ...]) -> dict[str, Position]:
    """Outstanding, overdue and due-soon totals per direction from ledger rows (S/ amounts)."""
    out = {d: Position() for d in directions}
    soon = as_of + timedelta(days=DUE_SOON_DAYS)
    for r in rows:
        p = out[r.direction]
        p.pen_total += r.amount
        p.by_currency[r.currency] = p.by_currency.get(r.currency, 0) + r.native
        p.count += r.count
        if r.due_date < as_of:
            p.overdue += r.amount
            p.overdue_count += r.count
        else:
            p.not_due += r.amount
            if r.due_date <= soon:
                p.soon += r.amount
                p.soon_count += r.count
    return out


def _positions(session: "Session", as_of: date, directions: tuple[str, ...] = ("receivable", "payable")) -> dict[str, Position]:
    return fold_positions(ledger(session, as_of=as_of, directions=directions), as_of=as_of, directions=directions)


def metrics(session: "Session", actor: Actor | None, *, as_of: date,
            _ledger: list[LedgerRow] | None = None) -> list[KindMetrics]:
    """Key figures per kind (formulas in DSO_FORMULA, DPO_FORMULA, CEI_FORMULA, LATE_FORMULA)."""
    require(actor, "dashboards")
    dialect = dialect_of(session)
    both = ("receivable", "payable")
    now = fold_positions(_ledger if _ledger is not None else ledger(session, as_of=as_of), as_of=as_of, directions=both)
    before = _positions(session, as_of - timedelta(days=CEI_WINDOW_DAYS), ("receivable",))["receivable"]
    sales = {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in fetch_rows(session, sales_sql(as_of))}
    late = {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in fetch_rows(session, days_late_sql(dialect, as_of))}
    out = []
    for direction in ("receivable", "payable"):
        p = now[direction]
        s90, s30 = sales.get(direction, (0, 0))
        paid_n, late_days = late.get(direction, (0, 0))
        cei = None
        if direction == "receivable":
            num = before.pen_total + s30 - p.pen_total
            den = before.pen_total + s30 - p.not_due
            cei = ratio(Decimal(num), Decimal(den), 100)
        out.append(KindMetrics(
            kind=KIND_OF[direction], as_of=as_of,
            outstanding=money(p.pen_total), outstanding_pen=money(p.by_currency.get("PEN", 0)),
            outstanding_usd=money(p.by_currency.get("USD", 0)), open_count=p.count,
            overdue=money(p.overdue), overdue_count=p.overdue_count,
            overdue_share_pct=ratio(Decimal(p.overdue), Decimal(p.pen_total), 100),
            due_7d=money(p.soon), due_7d_count=p.soon_count,
            invoiced_90d=money(s90), days_outstanding=ratio(Decimal(p.pen_total), Decimal(s90), SALES_WINDOW_DAYS),
            collection_effectiveness_pct=cei, paid_90d_count=paid_n,
            avg_days_late=ratio(Decimal(late_days), Decimal(paid_n), 1),
        ))
    return out


@dataclass
class SummaryRow:
    kind: str
    as_of: date
    outstanding: Decimal
    outstanding_pen: Decimal
    outstanding_usd: Decimal
    open_count: int
    overdue: Decimal
    overdue_count: int


def summary(session: "Session", actor: Actor | None, *, as_of: date) -> list[SummaryRow]:
    """Outstanding totals and counts per kind: the financial summary every role may see."""
    require(actor, "summary")
    positions = _positions(session, as_of)
    return [
        SummaryRow(kind=KIND_OF[d], as_of=as_of, outstanding=money(p.pen_total),
                   outstanding_pen=money(p.by_currency.get("PEN", 0)), outstanding_usd=money(p.by_currency.get("USD", 0)),
                   open_count=p.count, overdue=money(p.overdue), overdue_count=p.overdue_count)
        for d, p in positions.items()
    ]
