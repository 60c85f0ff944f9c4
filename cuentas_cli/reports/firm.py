"""Across a firm's companies (--all-companies): one row of figures per company, from the same
functions that give each company's own dashboard and summary, and a total that is their sum."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from cuentas_cli.admin.auth import Actor
from cuentas_cli.reports.common import ratio
from cuentas_cli.reports.metrics import SALES_WINDOW_DAYS, metrics, summary

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass
class CompanyFigures:
    """A company's position in S/: CxC and CxP outstanding, overdue and due in the next 7 days, with
    DSO and DPO (the dashboard's formulas)."""

    company_ruc: str
    company: str
    as_of: date
    cxc_outstanding: Decimal
    cxc_overdue: Decimal
    cxc_due_7d: Decimal
    dso: Decimal | None
    cxp_outstanding: Decimal
    cxp_overdue: Decimal
    cxp_due_7d: Decimal
    dpo: Decimal | None
    cxc_invoiced_90d: Decimal
    cxp_invoiced_90d: Decimal


def company_figures(session: "Session", actor: Actor | None, *, as_of: date, ruc: str, name: str) -> CompanyFigures:
    """One company's row, from `metrics` (needs the dashboards permission there)."""
    by_kind = {m.kind: m for m in metrics(session, actor, as_of=as_of)}
    cxc, cxp = by_kind["cxc"], by_kind["cxp"]
    return CompanyFigures(ruc, name, as_of, cxc.outstanding, cxc.overdue, cxc.due_7d, cxc.days_outstanding,
                          cxp.outstanding, cxp.overdue, cxp.due_7d, cxp.days_outstanding,
                          cxc.invoiced_90d, cxp.invoiced_90d)


def firm_total(rows: list[CompanyFigures], *, as_of: date, label: str) -> CompanyFigures:
    """The firm's total: every amount the sum of the companies'; DSO and DPO from the summed
    outstanding and invoiced amounts (not an average of ratios)."""
    def total(name: str) -> Decimal:
        return sum((getattr(r, name) for r in rows), Decimal("0.00"))

    cxc_out, cxp_out = total("cxc_outstanding"), total("cxp_outstanding")
    cxc_90, cxp_90 = total("cxc_invoiced_90d"), total("cxp_invoiced_90d")
    return CompanyFigures("", label, as_of, cxc_out, total("cxc_overdue"), total("cxc_due_7d"),
                          ratio(cxc_out, cxc_90, SALES_WINDOW_DAYS), cxp_out, total("cxp_overdue"), total("cxp_due_7d"),
                          ratio(cxp_out, cxp_90, SALES_WINDOW_DAYS), cxc_90, cxp_90)


@dataclass
class CompanyPosition:
    """`companies list`: a company's open CxC and CxP and what of it is overdue (S/)."""

    cxc_open: Decimal | None
    cxc_overdue: Decimal | None
    cxp_open: Decimal | None
    cxp_overdue: Decimal | None


def company_position(session: "Session", actor: Actor | None, *, as_of: date) -> CompanyPosition:
    """From `summary`, which every role may see."""
    rows = {r.kind: r for r in summary(session, actor, as_of=as_of)}
    return CompanyPosition(rows["cxc"].outstanding, rows["cxc"].overdue, rows["cxp"].outstanding, rows["cxp"].overdue)
