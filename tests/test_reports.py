"""Report figures against an independent pandas computation over the same generated data.

The pandas side never reads the denormalised columns (paid_cents, adjust_cents, status other
than ANULADA): it rebuilds every balance from the payment rows and the note rows, as of the
date asked. Extra rows add USD invoices, payments made after a past as-of date, a credit
note issued after it, an ANULADA invoice and detracción deposits.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import text

from benchmarks.generate import Dataset
from benchmarks.scenarios.dashboard import load
from cuentas_cli.db.engine import get_engine, open_session
from cuentas_cli.errors import PermissionDenied, UsageError
from cuentas_cli.reports import aging, cashflow, common, dashboard, top
from cuentas_cli.reports import metrics as metrics_report
from cuentas_cli.admin.auth import Actor

MANAGER = Actor(user_id=1, username="gerente", role="gerente", permissions=frozenset({"dashboards", "summary"}))
CLERK = Actor(user_id=2, username="contador", role="contador", permissions=frozenset({"summary"}))
PAST = date(2026, 5, 31)
NOW = date(2026, 11, 1)
BUCKETS = (30, 60, 90, 120)

# Extra invoices: (id, direction, party, doc_type, issued, due, currency, rate, total, detraccion, status, references)
EXTRA_INVOICES = [
    # USD receivable, partly paid before PAST and the rest after it.
    (900001, "receivable", 1, "01", date(2026, 3, 1), date(2026, 4, 15), "USD", 37500, 1_000_000, 0, "PAGADA", None),
    # USD payable paid after PAST: open (corriente) as of PAST, paid now.
    (900002, "payable", 3, "01", date(2026, 5, 1), date(2026, 7, 1), "USD", 38000, 500_000, 0, "PAGADA", None),
    # Issued after PAST: not in the past report.
    (900003, "receivable", 1, "01", date(2026, 6, 5), date(2026, 7, 5), "PEN", 10000, 250_000, 0, "VENCIDA", None),
    # Reduced by a credit note issued after PAST (adjust_cents -100,000 today, 0 as of PAST).
    (900004, "receivable", 2, "01", date(2026, 4, 1), date(2026, 5, 1), "PEN", 10000, 300_000, 0, "VENCIDA", None),
    (900005, "receivable", 2, "07", date(2026, 6, 5), date(2026, 6, 5), "PEN", 10000, 100_000, 0, "PENDIENTE", 900004),
    # ANULADA: never counts.
    (900006, "receivable", 4, "01", date(2026, 5, 2), date(2026, 6, 1), "PEN", 10000, 700_000, 0, "ANULADA", None),
    # Detracción already deposited before PAST; the transfer part pending.
    (900007, "receivable", 5, "01", date(2026, 5, 20), date(2026, 6, 20), "PEN", 10000, 118_000, 14_160, "VENCIDA", None),
    # Detracción pending, in USD.
    (900008, "receivable", 5, "01", date(2026, 5, 25), date(2026, 6, 24), "USD", 37000, 200_000, 24_000, "VENCIDA", None),
]
EXTRA_PAYMENTS = [  # (invoice, paid_on, amount, method)
    (900001, date(2026, 3, 20), 200_000, "transferencia"),
    (900001, date(2026, 6, 10), 800_000, "transferencia"),
    (900002, date(2026, 6, 1), 500_000, "transferencia"),
    (900007, date(2026, 5, 25), 14_160, "detraccion"),
]


def _insert_extras(url: str) -> None:
    engine = get_engine(url)
    stamp = "2026-11-01 00:00:00"
    with engine.begin() as conn:
        for (iid, direction, party, doc, issued, due, cur, rate, total, detr, status, ref) in EXTRA_INVOICES:
            paid = sum(p[2] for p in EXTRA_PAYMENTS if p[0] == iid)
            adjust = -100_000 if iid == 900004 else 0
            conn.execute(text(
                "INSERT INTO invoice (id, direction, party_id, doc_type, serie, numero, issue_date, due_date, currency, "
                "exchange_rate_e4, total_cents, detraccion_cents, retencion_cents, paid_cents, adjust_cents, "
                "references_id, status, created_at, updated_at) VALUES (:id, :dir, :party, :doc, 'X001', :num, "
                ":issued, :due, :cur, :rate, :total, :detr, 0, :paid, :adjust, :ref, :status, :stamp, :stamp)"),
                {"id": iid, "dir": direction, "party": party, "doc": doc, "num": iid - 900000, "issued": issued,
                 "due": due, "cur": cur, "rate": rate, "total": total, "detr": detr, "paid": paid, "adjust": adjust,
                 "ref": ref, "status": status, "stamp": stamp})
        for iid, paid_on, amount, method in EXTRA_PAYMENTS:
            conn.execute(text("INSERT INTO payment (invoice_id, paid_on, amount_cents, method, created_at) "
                              "VALUES (:i, :d, :a, :m, :s)"), {"i": iid, "d": paid_on, "a": amount, "m": method, "s": stamp})


@pytest.fixture
def data_url(db_url):
    load(db_url, Dataset(1500))
    _insert_extras(db_url)
    return db_url


# --- the independent computation -----------------------------------------------------------


class Expected:
    """Balances as of a date, rebuilt in pandas from payment rows and note rows."""

    def __init__(self, url: str, as_of: date) -> None:
        engine = get_engine(url)
        with engine.connect() as conn:
            inv = pd.read_sql(text("SELECT id, direction, party_id, doc_type, issue_date, due_date, currency, "
                                   "exchange_rate_e4, total_cents, detraccion_cents, status, references_id FROM invoice"), conn)
            pay = pd.read_sql(text("SELECT invoice_id, paid_on, amount_cents, method FROM payment"), conn)
        for col in ("issue_date", "due_date"):
            inv[col] = pd.to_datetime(inv[col])
        pay["paid_on"] = pd.to_datetime(pay["paid_on"])
        d = pd.Timestamp(as_of)
        self.as_of, self.d, self.inv, self.pay = as_of, d, inv, pay
        paid = pay[pay.paid_on <= d].groupby("invoice_id").amount_cents.sum()
        notes = inv[inv.doc_type.isin(["07", "08"]) & (inv.issue_date <= d) & (inv.status != "ANULADA")]
        signed = notes.total_cents.where(notes.doc_type == "08", -notes.total_cents)
        adjust = signed.groupby(notes.references_id.astype("int64")).sum()
        base = inv[(inv.status != "ANULADA") & ~inv.doc_type.isin(["07", "08"])].copy()
        base["adj"] = base.id.map(adjust).fillna(0).astype("int64")
        base["paid"] = base.id.map(paid).fillna(0).astype("int64")
        self.everyone = base
        base = base[base.issue_date <= d].copy()
        base["bal"] = base.total_cents + base.adj - base.paid
        base = base[base.bal > 0].copy()
        base["pen"] = (base.bal * base.exchange_rate_e4 + 5000) // 10000
        base["days"] = (d - base.due_date).dt.days
        self.open = base

    @staticmethod
    def bucket(days: int, buckets=BUCKETS) -> int:
        if days <= 0:
            return 0
        for n, limit in enumerate(buckets, start=1):
            if days <= limit:
                return n
        return len(buckets) + 1

    def aging(self, direction: str) -> list[int]:
        rows = self.open[self.open.direction == direction]
        out = [0] * (len(BUCKETS) + 2)
        for days, pen in zip(rows.days, rows.pen):
            out[self.bucket(int(days))] += int(pen)
        return out

    def outstanding(self, direction: str) -> int:
        return int(self.open[self.open.direction == direction].pen.sum())

    def sales(self, direction: str, days: int) -> int:
        inv = self.inv
        rows = inv[(inv.direction == direction) & (inv.status != "ANULADA") & ~inv.doc_type.isin(["07", "08"])
                   & (inv.issue_date > self.d - pd.Timedelta(days=days)) & (inv.issue_date <= self.d)]
        return int(((rows.total_cents * rows.exchange_rate_e4 + 5000) // 10000).sum())

    def avg_days_late(self, direction: str) -> Decimal | None:
        since = self.d - pd.Timedelta(days=90)
        pay = self.pay[self.pay.paid_on <= self.d]
        last = pay.groupby("invoice_id").paid_on.max()
        b = self.everyone[(self.everyone.direction == direction)].copy()
        b["last"] = b.id.map(last)
        b = b[(b.last > since) & (b.total_cents + b.adj - b.paid <= 0)]
        if b.empty:
            return None
        late = (b["last"] - b.due_date).dt.days.clip(lower=0)
        return (Decimal(int(late.sum())) / len(late)).quantize(Decimal("0.01"))


def cents(amount: Decimal) -> int:
    return int(amount * 100)


def dso(outstanding: int, sales: int) -> Decimal:
    return (Decimal(outstanding) / Decimal(sales) * 90).quantize(Decimal("0.01"))


# --- aging ---------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", [PAST, NOW], ids=["past", "now"])
def test_aging_matches_pandas(data_url, as_of):
    exp = Expected(data_url, as_of)
    with open_session(data_url) as s:
        report = aging.aging(s, MANAGER, as_of=as_of, buckets=BUCKETS)
    assert [k for k, _ in report.columns] == ["corriente", "d1_30", "d31_60", "d61_90", "d91_120", "over_120"]
    for row in report.rows:
        direction = common.KINDS[row.kind]
        assert [cents(v) for v in row.amounts.values()] == exp.aging(direction)
        assert sum(row.amounts.values()) == row.total
        assert cents(row.total) == exp.outstanding(direction)
        assert row.count == int((exp.open.direction == direction).sum())


def test_past_as_of_counts_later_payments_and_notes_back(data_url):
    with open_session(data_url) as s:
        past = aging.aging(s, MANAGER, kind="cxc", as_of=PAST, by_party=True, currency="USD")
        now = aging.aging(s, MANAGER, kind="cxc", as_of=NOW, currency="USD")
    # Invoice 900001 (party 1, USD): 10,000.00 total, 2,000.00 paid before PAST, 46 days overdue then.
    exp = Expected(data_url, PAST)
    row = exp.open[exp.open.id == 900001].iloc[0]
    assert int(row.bal) == 800_000 and exp.bucket(int(row.days)) == 2
    party1 = [r for r in past.rows if r.party_doc == _doc(data_url, 1)][0]
    assert party1.amounts["d31_60"] >= Decimal("8000.00")
    # Invoice 900004: the credit note of 1,000.00 was issued after PAST, so as of PAST it owes 3,000.00.
    assert int(exp.open[exp.open.id == 900004].bal.iloc[0]) == 300_000
    assert 900003 not in set(exp.open.id)  # issued after PAST
    assert 900006 not in set(exp.open.id)  # ANULADA
    assert now.rows[0].total != past.rows[0].total


def _doc(url: str, party_id: int) -> str:
    with get_engine(url).connect() as conn:
        return conn.execute(text("SELECT doc_number FROM party WHERE id = :i"), {"i": party_id}).scalar()


def test_aging_by_party_adds_up_to_the_totals(data_url):
    with open_session(data_url) as s:
        by_party = aging.aging(s, MANAGER, as_of=PAST, by_party=True, buckets=(15, 45))
        totals = aging.aging(s, MANAGER, as_of=PAST, buckets=(15, 45))
    assert [label for _, label in totals.columns] == ["corriente", "1-15", "16-45", ">45"]
    for total in totals.rows:
        rows = [r for r in by_party.rows if r.kind == total.kind]
        for key in total.amounts:
            assert sum(r.amounts[key] for r in rows) == total.amounts[key]
        assert all(sum(r.amounts.values()) == r.total for r in rows)


# --- metrics -------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", [PAST, NOW], ids=["past", "now"])
def test_metrics_match_pandas(data_url, as_of):
    exp = Expected(data_url, as_of)
    with open_session(data_url) as s:
        rows = {m.kind: m for m in metrics_report.metrics(s, MANAGER, as_of=as_of)}
    for kind, direction in common.KINDS.items():
        m = rows[kind]
        open_ = exp.open[exp.open.direction == direction]
        assert cents(m.outstanding) == exp.outstanding(direction)
        assert cents(m.outstanding_pen) == int(open_[open_.currency == "PEN"].bal.sum())
        assert cents(m.outstanding_usd) == int(open_[open_.currency == "USD"].bal.sum())
        assert cents(m.overdue) == int(open_[open_.days > 0].pen.sum())
        assert m.overdue_count == int((open_.days > 0).sum())
        assert cents(m.due_7d) == int(open_[(open_.days <= 0) & (open_.days >= -7)].pen.sum())
        sales = exp.sales(direction, 90)
        assert cents(m.invoiced_90d) == sales
        assert m.days_outstanding == dso(exp.outstanding(direction), sales)
        assert m.avg_days_late == exp.avg_days_late(direction)
    # Collection effectiveness from two independent as-of computations.
    before = Expected(data_url, as_of - timedelta(days=30))
    b, s30, e = before.outstanding("receivable"), exp.sales("receivable", 30), exp.outstanding("receivable")
    ec = int(exp.open[(exp.open.direction == "receivable") & (exp.open.days <= 0)].pen.sum())
    assert rows["cxc"].collection_effectiveness_pct == (Decimal(b + s30 - e) / Decimal(b + s30 - ec) * 100).quantize(Decimal("0.01"))
    assert rows["cxp"].collection_effectiveness_pct is None


def test_summary_is_open_to_every_role_and_agrees_with_metrics(data_url):
    with open_session(data_url) as s:
        summary = {r.kind: r for r in metrics_report.summary(s, CLERK, as_of=NOW)}
        metrics = {m.kind: m for m in metrics_report.metrics(s, MANAGER, as_of=NOW)}
        with pytest.raises(PermissionDenied, match="dashboards"):
            metrics_report.metrics(s, CLERK, as_of=NOW)
        with pytest.raises(PermissionDenied, match="dashboards"):
            aging.aging(s, CLERK, as_of=NOW)
    for kind in ("cxc", "cxp"):
        assert summary[kind].outstanding == metrics[kind].outstanding
        assert summary[kind].open_count == metrics[kind].open_count


# --- cash flow -----------------------------------------------------------------------------


@pytest.mark.parametrize("as_of,weeks,months", [(PAST, 6, None), (NOW, None, 3)], ids=["past-weeks", "now-months"])
def test_cashflow_matches_pandas(data_url, as_of, weeks, months):
    exp = Expected(data_url, as_of)
    with open_session(data_url) as s:
        flow = cashflow.cashflow(s, MANAGER, as_of=as_of, weeks=weeks, months=months, opening_balance=Decimal("1000.50"))
    periods = cashflow.cashflow_periods(as_of, weeks=weeks, months=months)
    edges = [pd.Timestamp(as_of)] + [pd.Timestamp(end) for _, end in periods]
    o = exp.open.copy()
    detr_paid = exp.pay[(exp.pay.method == "detraccion") & (exp.pay.paid_on <= exp.d)].groupby("invoice_id").amount_cents.sum()
    pend = (o.detraccion_cents - o.id.map(detr_paid).fillna(0)).clip(lower=0)
    o["held"] = pend.where(o.direction == "receivable", 0).clip(upper=o.bal)
    o["held_pen"] = (o.held * o.exchange_rate_e4 + 5000) // 10000
    o["cash"] = o.pen - o.held_pen
    o["slot"] = [(-1 if due < edges[0] else next((k for k in range(len(periods)) if due < edges[k + 1]), len(periods)))
                 for due in o.due_date]
    assert [r.period for r in flow.rows][0] == "vencido" and flow.rows[-1].period == "posterior"
    running = 100_050
    for k, row in zip(range(-1, len(periods) + 1), flow.rows):
        part = o[o.slot == k]
        inflow = int(part[part.direction == "receivable"].cash.sum())
        outflow = int(part[part.direction == "payable"].pen.sum())
        assert cents(row.inflows) == inflow
        assert cents(row.detraccion) == int(part[part.direction == "receivable"].held_pen.sum())
        assert cents(row.outflows) == outflow
        running += inflow - outflow
        assert cents(row.cumulative) == running
    # Nothing dropped: inflows + detracción add up to the CxC aging total, outflows to CxP.
    assert sum(cents(r.inflows) + cents(r.detraccion) for r in flow.rows) == exp.outstanding("receivable")
    assert sum(cents(r.outflows) for r in flow.rows) == exp.outstanding("payable")


def test_cashflow_nets_out_pending_detraccion(db_url):
    load(db_url, Dataset(0))  # parties only
    _insert_extras(db_url)
    with open_session(db_url) as s:
        usd = cashflow.cashflow(s, MANAGER, as_of=PAST, weeks=4, currency="USD")
        pen = cashflow.cashflow(s, MANAGER, as_of=PAST, weeks=4, currency="PEN")
    # USD as of PAST: 900001 owes 8,000.00 (no detracción); 900008 owes 2,000.00 of which the
    # client deposits 240.00 as detracción -> 9,760.00 expected cash, 240.00 held.
    assert sum(r.detraccion for r in usd.rows) == Decimal("240.00")
    assert sum(r.inflows for r in usd.rows) == Decimal("9760.00")
    # PEN as of PAST: 900004 owes 3,000.00 (its credit note came later); 900007's 141.60
    # detracción was already deposited, so all of its 1,038.40 is cash.
    assert sum(r.detraccion for r in pen.rows) == Decimal("0.00")
    assert sum(r.inflows for r in pen.rows) == Decimal("4038.40")
    assert [r.period for r in pen.rows if r.inflows] == ["vencido", "2026-06-14..2026-06-20"]


def test_top_ranks_by_overdue(data_url):
    exp = Expected(data_url, NOW)
    with open_session(data_url) as s:
        rows = top.top(s, MANAGER, as_of=NOW, n=3)
    for kind, direction in common.KINDS.items():
        overdue = exp.open[(exp.open.direction == direction) & (exp.open.days > 0)]
        want = overdue.groupby("party_id").pen.sum().sort_values(ascending=False).head(3).tolist()
        got = [cents(r.overdue) for r in rows if r.kind == kind]
        assert got == want
        assert [r.rank for r in rows if r.kind == kind] == [1, 2, 3]


def test_bad_arguments_are_usage_errors(data_url):
    with open_session(data_url) as s:
        with pytest.raises(UsageError, match="--weeks or --months"):
            cashflow.cashflow(s, MANAGER, as_of=NOW, weeks=2, months=2)
        with pytest.raises(UsageError, match="increasing"):
            aging.aging(s, MANAGER, as_of=NOW, buckets=(60, 30))
        with pytest.raises(UsageError, match="unknown kind"):
            aging.aging(s, MANAGER, as_of=NOW, kind="ventas")
        with pytest.raises(UsageError, match="currency"):
            top.top(s, MANAGER, as_of=NOW, currency="EUR")


def test_dashboard_folds_one_scan_into_the_same_figures(data_url):
    with open_session(data_url) as s:
        board = dashboard.dashboard(s, MANAGER, as_of=PAST, buckets=(30, 60), months=2, opening_balance=Decimal("5"))
        assert board.metrics == metrics_report.metrics(s, MANAGER, as_of=PAST)
        assert board.aging == aging.aging(s, MANAGER, as_of=PAST, buckets=(30, 60))
        assert board.cashflow == cashflow.cashflow(s, MANAGER, as_of=PAST, months=2, opening_balance=Decimal("5"))
    assert len(dashboard.dashboard_statements("sqlite", as_of=PAST)) == 4
