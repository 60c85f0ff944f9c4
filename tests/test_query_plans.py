"""The query plans the report indexes were chosen for (measured on 1M invoices; see
docs/dashboard.md), guarded with EXPLAIN QUERY PLAN on SQLite and EXPLAIN on PostgreSQL.

- Every report scans the open invoices through the partial covering index ix_invoice_open,
  never through ix_invoice_due_date or ix_invoice_issue_date (both made the scans 2.5-4x
  slower on SQLite), and states the statuses literally so the partial index qualifies.
- Credit sales (DSO/DPO) read a date range through ix_invoice_issue_date.
- The cash flow reads detracción deposits through the partial ix_payment_detraccion.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from benchmarks.generate import Dataset
from benchmarks.listing import LIST_FILTERS, list_statement
from benchmarks.scenarios.dashboard import load
from cuentas_cli.db.engine import get_engine
from cuentas_cli.reports.aging import aging_sql
from cuentas_cli.reports.metrics import sales_sql
from cuentas_cli.reports.open_balances import ledger_sql
from cuentas_cli.reports.top import top_sql

AS_OF = date(2026, 11, 1)
BOTH = ("receivable", "payable")


@pytest.fixture
def engine(db_url):
    load(db_url, Dataset(3000))  # also ANALYZE
    return get_engine(db_url)


def _plan(engine, sql: str) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "\n".join(row[-1] for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
        # Small tables make any scan cheap for PostgreSQL; without sequential scans the plan
        # shows which index the statement *can* use, which is what a literal IN list decides.
        conn.execute(text("SET enable_seqscan = off"))
        return "\n".join(row[0] for row in conn.execute(text("EXPLAIN " + sql)))


def _statements(dialect: str) -> dict[str, str]:
    return {
        "aging": aging_sql(dialect, AS_OF, directions=BOTH, currency=None, buckets=(30, 60, 90, 120),
                                   by_party=False),
        "aging_cxc_by_party": aging_sql(dialect, AS_OF, directions=("receivable",), currency="USD",
                                                buckets=(30, 60, 90, 120), by_party=True),
        "ledger": ledger_sql(dialect, AS_OF),
        "ledger_cxc_usd": ledger_sql(dialect, AS_OF, directions=("receivable",), currency="USD"),
        "top": top_sql(dialect, AS_OF, n=10, currency=None),
    }


@pytest.mark.parametrize("name", ["ledger", "ledger_cxc_usd", "aging", "aging_cxc_by_party", "top"])
def test_open_invoices_are_read_through_the_partial_index(engine, name):
    sql = _statements(engine.dialect.name)[name]
    plan = _plan(engine, sql)
    assert "ix_invoice_open" in plan, plan
    assert "ix_invoice_due_date" not in plan, plan
    if engine.dialect.name == "sqlite":
        # the open-invoice scan must not be a search on issue_date (only the rare notes are)
        assert "ix_invoice_issue_date (issue_date<" not in plan, plan
        assert "SCAN i\n" not in plan + "\n", plan
    else:
        assert "Index Only Scan using ix_invoice_open" in plan or "Index Scan using ix_invoice_open" in plan, plan


def test_payments_after_the_as_of_date_use_the_date_index(engine):
    plan = _plan(engine, ledger_sql(engine.dialect.name, date(2026, 5, 31)))
    assert "ix_payment_paid_on" in plan, plan


def test_sales_window_uses_the_issue_date_index(engine):
    plan = _plan(engine, sales_sql(AS_OF))
    assert "ix_invoice_issue_date" in plan, plan


def test_cashflow_reads_detraccion_deposits_through_their_partial_index(engine):
    plan = _plan(engine, _statements(engine.dialect.name)["ledger"])
    assert "ix_payment_detraccion" in plan, plan


def test_a_bound_status_list_would_lose_the_partial_index(engine):
    """Why the statuses are inlined: the same filter with bound parameters cannot use it."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans a bound list per execution; the SQLite planner decides once")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT direction, SUM(total_cents) FROM invoice "
            "WHERE status IN (?, ?, ?) GROUP BY direction", ("PENDIENTE", "PARCIAL", "VENCIDA")).all()
        literal = conn.execute(text(
            "EXPLAIN QUERY PLAN SELECT direction, SUM(total_cents) FROM invoice "
            "WHERE status IN ('PENDIENTE', 'PARCIAL', 'VENCIDA') GROUP BY direction")).all()
    assert not any("ix_invoice_open" in r[-1] for r in rows)
    assert any("ix_invoice_open" in r[-1] for r in literal)


# `invoices list` with the filters an accountant types (benchmarks/listing.py), first 50 rows
# by due date: each must be read through an index on invoice, never a whole-table scan.
@pytest.mark.parametrize("name", sorted(LIST_FILTERS))
def test_invoices_list_filters_read_an_index_of_invoice(engine, name):
    plan = _plan(engine, list_statement(engine, LIST_FILTERS[name]))
    if engine.dialect.name == "sqlite":
        lines = [line.strip() for line in plan.splitlines()]
        invoice_reads = [line for line in lines if line.startswith(("SCAN invoice", "SEARCH invoice"))]
        assert invoice_reads, plan
        assert all("INDEX" in line or "PRIMARY KEY" in line for line in invoice_reads), plan
    else:
        assert "Seq Scan on invoice" not in plan, plan
        assert "Index Scan" in plan or "Index Only Scan" in plan or "Bitmap Index Scan" in plan, plan


# The listings' order is (due_date, id): a listing that walks the due-date index must get its rows
# in that order from the index and stop at the 50th, never sort what it read. With the due date
# alone in the index PostgreSQL sorted every invoice of a due date by id first (an Incremental
# Sort): on 10M invoices 128 ms of server time for `--from 2026-03-01 --to 2026-03-31`, 0.6-1.2 ms
# with (due_date, id) (migration 20261207_0010; `python -m benchmarks.listing URL`).
@pytest.mark.parametrize("name", sorted(LIST_FILTERS))
def test_invoices_list_in_due_date_order_needs_no_sort(engine, name):
    plan = _plan(engine, list_statement(engine, LIST_FILTERS[name]))
    if engine.dialect.name == "sqlite":
        if "USING INDEX ix_invoice_due_date" in plan:
            assert "TEMP B-TREE" not in plan, plan
    elif "Index Scan using ix_invoice_due_date" in plan:
        # (a bitmap scan, which the planner picks for the few rows of a small table, reads in no
        # order and sorts the few rows it finds: that is fine)
        assert "Sort" not in plan, plan
