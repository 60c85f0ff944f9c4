"""The one-screen dashboard: metrics, aging and cash flow from one scan of the open balances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Iterable

from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.reports.aging import DEFAULT_BUCKETS, AgingReport, check_buckets, fold_aging
from cuentas_cli.reports.cashflow import Cashflow, cashflow_periods, fold_cashflow
from cuentas_cli.reports.metrics import CEI_WINDOW_DAYS, KindMetrics, days_late_sql, metrics, sales_sql
from cuentas_cli.reports.open_balances import ledger, ledger_sql

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass
class Dashboard:
    as_of: date
    metrics: list[KindMetrics]
    aging: AgingReport
    cashflow: Cashflow


def dashboard(session: "Session", actor: Actor | None, *, as_of: date, buckets: Iterable[int] = DEFAULT_BUCKETS,
              weeks: int | None = None, months: int | None = None,
              opening_balance: Decimal = Decimal(0)) -> Dashboard:
    """Metrics, aging of CxC and CxP, and the cash-flow projection, in one call: the open
    invoices are scanned once (ledger) and folded three ways."""
    require(actor, "dashboards")
    buckets = check_buckets(buckets)
    periods = cashflow_periods(as_of, weeks=weeks, months=months)
    rows = ledger(session, as_of=as_of)
    both = ("receivable", "payable")
    return Dashboard(
        as_of=as_of,
        metrics=metrics(session, actor, as_of=as_of, _ledger=rows),
        aging=fold_aging(rows, as_of=as_of, directions=both, currency=None, buckets=buckets),
        cashflow=fold_cashflow(rows, as_of=as_of, periods=periods, opening_balance=opening_balance, currency=None),
    )


def dashboard_statements(dialect: str, *, as_of: date, buckets: Iterable[int] = DEFAULT_BUCKETS,
                         weeks: int | None = None, months: int | None = None) -> list[str]:
    """The SQL `dashboard` runs, in order (the benchmark's baseline runs exactly these)."""
    check_buckets(buckets)
    cashflow_periods(as_of, weeks=weeks, months=months)
    return [
        ledger_sql(dialect, as_of),
        ledger_sql(dialect, as_of - timedelta(days=CEI_WINDOW_DAYS), directions=("receivable",)),
        sales_sql(as_of),
        days_late_sql(dialect, as_of),
    ]
