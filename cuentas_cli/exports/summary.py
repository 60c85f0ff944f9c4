"""The figures an XLSX or PDF export prints beside its invoices: aging and cash flow as of today,
computed by the dashboard's own report functions restricted to the export's filters, so with
the same filters they equal `cuentas dashboard --format json` figure for figure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cuentas_cli.i18n import N_, _
from cuentas_cli.ledger.listing import InvoiceFilter
from cuentas_cli.ledger.records import normalise_currency, normalise_direction
from cuentas_cli.reports.aging import AgingReport, check_buckets, fold_aging
from cuentas_cli.reports.cashflow import Cashflow, cashflow_periods, fold_cashflow
from cuentas_cli.reports.common import scope_sql
from cuentas_cli.reports.open_balances import ledger

if TYPE_CHECKING:
    from sqlmodel import Session

# Marked for the catalog here, shown in the active language by `cashflow_headers()`.
CASHFLOW_HEADERS = (N_("Period"), N_("Collections (CxC)"), N_("Detracción (CxC)"), N_("Payments (CxP)"), N_("Net"),
                    N_("Cumulative"))
RECEIVABLE, PAYABLE = N_("Receivable (CxC)"), N_("Payable (CxP)")


def cashflow_headers() -> list[str]:
    return [_(title) for title in CASHFLOW_HEADERS]

SUMMARY_WEEKS = 8  # the cash-flow periods of the Summary sheet (dashboard's default)


@dataclass
class Summary:
    """The export's report figures: `reports.aging.fold_aging` and `reports.cashflow.fold_cashflow` objects."""

    as_of: date
    aging: "AgingReport"  # one row per kind (cxc, cxp) in the filters
    cashflow: "Cashflow"
    company: str = ""
    filters: str = ""

    @property
    def currency(self) -> str:
        return self.aging.currency

    @property
    def symbol(self) -> str:
        return "US$" if self.aging.currency == "USD" else "S/"

    @property
    def buckets(self) -> list[str]:
        return [_("Not yet due") if key == "corriente" else label for key, label in self.aging.columns]

    def aging_amounts(self, kind: str) -> list[Decimal]:
        """The kind's (cxc / cxp) amount per bucket; zeros when the filters leave it out."""
        row = next((r for r in self.aging.rows if r.kind == kind), None)
        return [row.amounts[key] if row else Decimal(0) for key, _ in self.aging.columns]

    def aging_total(self, kind: str) -> Decimal:
        row = next((r for r in self.aging.rows if r.kind == kind), None)
        return row.total if row else Decimal(0)

    @property
    def periods(self) -> list[str]:
        out = []
        for r in self.cashflow.rows:
            if r.start is None:
                out.append(_("Overdue"))
            elif r.end is None:
                out.append(_("From {start}").format(start=f"{r.start:%d/%m/%Y}"))
            else:
                out.append(f"{r.start:%d/%m/%Y}-{r.end:%d/%m/%Y}")
        return out


def summary(session: "Session", *, filters: InvoiceFilter, conditions: list[Any], today: date, buckets: list[int],
            weeks: int = SUMMARY_WEEKS, company: str = "", filters_text: str = "") -> Summary:
    """Aging and cash flow as of today of the open balances of the filtered invoices, computed by
    the dashboard's own functions: the kind and currency filters are theirs (a currency filter
    reports in that currency, otherwise S/ with USD at each invoice's rate) and every other
    filter restricts the same ledger query (`reports.common.scope_sql`)."""
    directions = (normalise_direction(filters.kind),) if filters.kind else ("receivable", "payable")
    currency = normalise_currency(filters.currency) if filters.currency else None
    checked = check_buckets(buckets)
    rows = ledger(session, as_of=today, directions=directions, currency=currency,
                 scope=scope_sql(session, conditions))
    aging = fold_aging(rows, as_of=today, directions=directions, currency=currency, buckets=checked)
    flow = fold_cashflow(rows, as_of=today, periods=cashflow_periods(today, weeks=weeks, months=None),
                         opening_balance=Decimal(0), currency=currency)
    return Summary(today, aging, flow, company=company, filters=filters_text)
