"""Cash-flow projection: expected inflows (CxC, net of detracción deposits) and outflows (CxP)
per week or month from a date, with net and cumulative."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import UsageError
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.reports.common import check_currency, directions_for, money
from cuentas_cli.reports.open_balances import LedgerRow, ledger
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session


def cashflow_periods(as_of: date, *, weeks: int | None, months: int | None) -> list[tuple[date, date]]:
    """[(first day, first day of the next period)]: 7-day weeks from as_of, or calendar months
    (the first one from as_of to the end of its month)."""
    if weeks is not None and months is not None:
        raise UsageError(_("give --weeks or --months, not both"))
    if months is None and weeks is None:
        weeks = 8
    periods: list[tuple[date, date]] = []
    if weeks is not None:
        if not 1 <= weeks <= 104:
            raise UsageError(_("--weeks must be from 1 to 104"))
        for k in range(weeks):
            periods.append((as_of + timedelta(days=7 * k), as_of + timedelta(days=7 * (k + 1))))
        return periods
    if not 1 <= months <= 36:
        raise UsageError(_("--months must be from 1 to 36"))
    start = as_of
    for _month in range(months):
        nxt = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        periods.append((start, nxt))
        start = nxt
    return periods



@dataclass
class CashflowRow:
    period: str  # "vencido", "YYYY-MM-DD..YYYY-MM-DD", "posterior"
    start: date | None
    end: date | None  # inclusive
    inflows: Decimal  # CxC expected cash, net of detracción deposits
    detraccion: Decimal  # CxC part the clients deposit in the Banco de la Nación account
    outflows: Decimal  # CxP
    net: Decimal
    cumulative: Decimal  # opening balance + net of this and every earlier row


@dataclass
class Cashflow:
    as_of: date
    currency: str
    opening_balance: Decimal
    rows: list[CashflowRow]

    def records(self) -> list[dict[str, Any]]:
        return [{"as_of": self.as_of, "currency": self.currency,
                 **{k: getattr(r, k) for k in CashflowRow.__dataclass_fields__}} for r in self.rows]


def cashflow(session: "Session", actor: Actor | None, *, as_of: date, weeks: int | None = None,
             months: int | None = None, opening_balance: Decimal = Decimal(0), currency: str | None = None,
             kind: str | None = None, scope: str = "") -> Cashflow:
    """Expected inflows (CxC balances by due date, net of pending detracción deposits) and
    outflows (CxP) per period from as_of, with net and cumulative. Overdue balances come first in
    their own "vencido" row; balances due after the last period in a "posterior" row, so the
    rows always add up to every open balance. `kind` keeps one side (the other reads 0)."""
    require(actor, "dashboards")
    currency = check_currency(currency)
    periods = cashflow_periods(as_of, weeks=weeks, months=months)
    rows = ledger(session, as_of=as_of, directions=directions_for(kind), currency=currency, scope=scope)
    return fold_cashflow(rows, as_of=as_of, periods=periods, opening_balance=opening_balance, currency=currency)


def fold_cashflow(rows: list[LedgerRow], *, as_of: date, periods: list[tuple[date, date]],
                  opening_balance: Decimal, currency: str | None) -> Cashflow:
    """Cash-flow rows from ledger rows: vencido, one per period, posterior."""
    n = len(periods)
    cash = {k: [0, 0, 0] for k in range(-1, n + 1)}  # inflow, detraccion, outflow
    for r in rows:
        if r.due_date < as_of:
            k = -1
        else:
            k = next((i for i, (_, end) in enumerate(periods) if r.due_date < end), n)
        slot = cash[k]
        if r.direction == "receivable":
            slot[0] += r.amount - r.held
            slot[1] += r.held
        else:
            slot[2] += r.amount
    opening_cents = int((Decimal(opening_balance) * 100).to_integral_value(rounding=ROUND_HALF_UP))
    running = opening_cents
    out = []
    for k in range(-1, n + 1):
        inflow, held, outflow = cash[k]
        if k == -1:
            label, start, end = "vencido", None, as_of - timedelta(days=1)
        elif k == n:
            label, start, end = "posterior", periods[-1][1], None
        else:
            start, end = periods[k][0], periods[k][1] - timedelta(days=1)
            label = f"{start.isoformat()}..{end.isoformat()}"
        net = inflow - outflow
        running += net
        out.append(CashflowRow(period=label, start=start, end=end, inflows=money(inflow), detraccion=money(held),
                               outflows=money(outflow), net=money(net), cumulative=money(running)))
    return Cashflow(as_of=as_of, currency=currency or "PEN", opening_balance=money(opening_cents), rows=out)
