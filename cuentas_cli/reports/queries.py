"""Reports computed in the database: aging, key metrics, cash-flow projection, summary, top.

Every figure is an aggregate the database computes (GROUP BY, CASE) over the invoice table.
The open balances come back grouped by kind, currency and due date (`ledger`: at most a few
thousand rows), and Python folds those into aging buckets, position figures and cash-flow
periods, so the one-screen dashboard scans the open invoices once. Amounts leave SQL as
integer céntimos (USD converted to PEN per invoice with integer arithmetic, rounded half up)
and become Decimal here, so no float ever touches money.

As-of rule (`as_of`, default today): the ledger's balance rule in `ledger/balances.py` (the one
place that defines a document's open balance as of a date; `balances_cte` and `late_cte` live
there). An invoice counts if it was issued on or before as_of and is not ANULADA; its balance is
total + adjust - paid, where payments dated after as_of and credit/debit notes issued after
as_of are added back / taken out again. That subtraction is
done from the denormalised `paid_cents` / `adjust_cents`, so the common case (as_of = today,
hardly any payment dated later) needs no join against the payment table, and a past month-end
is reproduced exactly. Only invoices with a positive balance are outstanding; notes (07/08)
are never aged themselves, they adjust the invoice they reference (a credit note's total is
positive and lowers adjust_cents by it, a debit note raises it). The open set is read by
status (PENDIENTE/PARCIAL/VENCIDA, kept right by every payment) plus the PAGADA invoices that
something dated after as_of touched, so statuses must be current for PAGADA; the balance
itself is always recomputed, never taken from the status.

Statement text inlines its dates and statuses as literals (dates come from `date` objects,
never from user text): a partial index whose WHERE lists states is only used when the query
states them literally, not through bound `IN (?, ?)` parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Iterable

from cuentas_cli.errors import UsageError
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.ledger.balances import NOTES_SQL, balance_as_of_sql, balances_cte, late_cte, pen_cents_sql
from cuentas_cli.ledger.balances import lit as _lit

if TYPE_CHECKING:
    from sqlmodel import Session

KINDS = {"cxc": "receivable", "cxp": "payable"}
KIND_OF = {v: k for k, v in KINDS.items()}
DEFAULT_BUCKETS = (30, 60, 90, 120)
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

_CENT = Decimal("0.01")


# --- small helpers ---------------------------------------------------------------------------


def money(cents: int | None) -> Decimal:
    """Integer céntimos -> Decimal soles with two places."""
    return Decimal(int(cents or 0)).scaleb(-2).quantize(_CENT)


def _ratio(num: Decimal, den: Decimal, scale: int) -> Decimal | None:
    if not den:
        return None
    return (num / den * scale).quantize(_CENT, rounding=ROUND_HALF_UP)


def _as_date(value: Any) -> date | None:
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
    raise UsageError(f"unknown kind {kind!r}; use cxc (receivable) or cxp (payable)")


def check_currency(currency: str | None) -> str | None:
    if currency is None:
        return None
    value = currency.strip().upper()
    if value not in ("PEN", "USD"):
        raise UsageError(f"unknown currency {currency!r}; use PEN or USD")
    return value


def check_buckets(buckets: Iterable[int]) -> tuple[int, ...]:
    values = tuple(int(b) for b in buckets)
    if not values or any(b < 1 for b in values) or any(b2 <= b1 for b1, b2 in zip(values, values[1:])):
        raise UsageError(f"aging buckets must be increasing whole days, e.g. 30,60,90,120 (got {values})")
    return values


def bucket_labels(buckets: tuple[int, ...]) -> list[tuple[str, str]]:
    """[(json key, column label)]: corriente, 1-30, 31-60, ..., >120."""
    out = [("corriente", "corriente")]
    low = 1
    for high in buckets:
        out.append((f"d{low}_{high}", f"{low}-{high}"))
        low = high + 1
    out.append((f"over_{buckets[-1]}", f">{buckets[-1]}"))
    return out


def _dialect(session: "Session") -> str:
    return session.get_bind().dialect.name


def _days_between(dialect: str, later: str, earlier: str) -> str:
    if dialect == "sqlite":
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
    return f"({later} - {earlier})"


def _rows(session: "Session", sql: str) -> list[tuple]:
    from sqlalchemy import text

    return [tuple(r) for r in session.execute(text(sql)).all()]


# --- SQL building blocks -----------------------------------------------------------------------


def scope_sql(session: "Session", conditions: list[Any]) -> str:
    """SQLAlchemy conditions over `Invoice` (e.g. `listing.invoice_conditions` of an export's
    filters) as SQL text over the alias `i` of `balances_cte`, values inlined as literals.
    The values come from checked filters (party ids, statuses, dates), never from free text."""
    if not conditions:
        return ""
    from sqlalchemy import and_
    from sqlalchemy.sql.util import ClauseAdapter

    from cuentas_cli.db.models import Invoice

    clause = ClauseAdapter(Invoice.__table__.alias("i")).traverse(and_(*conditions))
    return str(clause.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}))


def _amount(currency: str | None, cents: str = "bal", rate: str = "rate") -> str:
    """The amount in the report currency: PEN (converted per invoice, half up) or native."""
    if currency:
        return cents
    return pen_cents_sql(cents, rate)


def _bucket_case(as_of: date, buckets: tuple[int, ...]) -> str:
    parts = [f"WHEN due_date >= {_lit(as_of)} THEN 0"]
    for n, days in enumerate(buckets, start=1):
        parts.append(f"WHEN due_date >= {_lit(as_of - timedelta(days=days))} THEN {n}")
    return f"CASE {' '.join(parts)} ELSE {len(buckets) + 1} END"


def aging_sql(dialect: str, as_of: date, *, directions: tuple[str, ...], currency: str | None, buckets: tuple[int, ...],
              by_party: bool, scope: str = "") -> str:
    cte = balances_cte(dialect, as_of, directions=directions, currency=currency, scope=scope)
    amt = _amount(currency)
    inner = (f"SELECT direction, party_id, {_bucket_case(as_of, buckets)} AS bucket, {amt} AS amt "
             "FROM open_inv WHERE bal > 0")
    if not by_party:
        return f"{cte} SELECT direction, bucket, SUM(amt), COUNT(*) FROM ({inner}) x GROUP BY direction, bucket"
    return (f"{cte}, agg AS (SELECT direction, party_id, bucket, SUM(amt) AS amt, COUNT(*) AS n FROM ({inner}) x "
            "GROUP BY direction, party_id, bucket) "
            "SELECT a.direction, a.party_id, p.doc_number, p.name, a.bucket, a.amt, a.n "
            "FROM agg a JOIN party p ON p.id = a.party_id")


def ledger_sql(dialect: str, as_of: date, *, directions: tuple[str, ...] = ("receivable", "payable"),
               currency: str | None = None, scope: str = "") -> str:
    """Open balances as of `as_of` grouped by direction, currency and due date: amount in the
    report currency, native amount, count, and the part a client deposits as detracción.

    Aging, the position figures and the cash flow are all folds of these rows (a few thousand
    at most: one per due date), so the one-screen dashboard scans the open invoices once.
    Detracción already deposited (payments with method 'detraccion') is read through the
    partial index ix_payment_detraccion and joined once: as a correlated subquery PostgreSQL
    evaluated it once per reference, 1.2 s instead of 0.25 s on 1M invoices.
    """
    d = _lit(as_of)
    pending = "CASE WHEN o.direction = 'receivable' THEN o.detraccion_cents - COALESCE(dp.amt, 0) ELSE 0 END"
    held = "CASE WHEN pend <= 0 THEN 0 WHEN pend >= bal THEN bal ELSE pend END"
    return (f"{balances_cte(dialect, as_of, directions=directions, currency=currency, scope=scope)}, "
            "detr_paid AS (SELECT invoice_id, CAST(SUM(amount_cents) AS BIGINT) AS amt FROM payment "
            f"WHERE method = 'detraccion' AND paid_on <= {d} GROUP BY invoice_id) "
            "SELECT direction, currency, due_date, SUM(amt), SUM(bal), COUNT(*), SUM(held) FROM ("
            f"SELECT direction, currency, due_date, {_amount(currency)} AS amt, bal, {_amount(currency, held)} AS held "
            f"FROM (SELECT o.direction, o.currency, o.due_date, o.rate, o.bal, {pending} AS pend "
            "FROM open_inv o LEFT JOIN detr_paid dp ON dp.invoice_id = o.id WHERE o.bal > 0) y"
            ") z GROUP BY direction, currency, due_date")


@dataclass
class LedgerRow:
    """Open balances sharing a direction, currency and due date (amounts in céntimos)."""

    direction: str
    currency: str
    due_date: date
    amount: int  # in the report currency (S/ unless a currency was asked)
    native: int  # in the invoices' own currency
    count: int
    held: int  # detracción the client still deposits (CxC), in the report currency


def ledger(session: "Session", *, as_of: date, directions: tuple[str, ...] = ("receivable", "payable"),
           currency: str | None = None, scope: str = "") -> list[LedgerRow]:
    """The rows of ledger_sql (no permission check: callers check theirs). `scope` is an extra
    SQL condition over the invoice alias `i` (an export's filters; see `scope_sql`)."""
    sql = ledger_sql(_dialect(session), as_of, directions=directions, currency=currency, scope=scope)
    return [LedgerRow(direction, cur, _as_date(due), int(amt), int(native), int(n), int(held or 0))
            for direction, cur, due, amt, native, n, held in _rows(session, sql)]


def bucket_of(days_overdue: int, buckets: tuple[int, ...]) -> int:
    """0 = corriente (not yet due), 1.. = the bucket whose cut-off covers the days overdue."""
    if days_overdue <= 0:
        return 0
    for n, limit in enumerate(buckets, start=1):
        if days_overdue <= limit:
            return n
    return len(buckets) + 1


def sales_sql(as_of: date) -> str:
    """S/ invoiced (issued) per direction in the DSO window and in the CEI window."""
    d = _lit(as_of)
    w90 = _lit(as_of - timedelta(days=SALES_WINDOW_DAYS))
    w30 = _lit(as_of - timedelta(days=CEI_WINDOW_DAYS))
    pen = _amount(None, "total_cents", "exchange_rate_e4")
    return (f"SELECT direction, SUM({pen}), SUM(CASE WHEN issue_date > {w30} THEN {pen} ELSE 0 END) "
            f"FROM invoice WHERE issue_date > {w90} AND issue_date <= {d} AND status <> 'ANULADA' "
            f"AND doc_type NOT IN {NOTES_SQL} GROUP BY direction")


def days_late_sql(dialect: str, as_of: date) -> str:
    """Per direction: invoices paid off in the window and the sum of their days late."""
    d = _lit(as_of)
    since = _lit(as_of - timedelta(days=LATE_WINDOW_DAYS))
    late_days = _days_between(dialect, "f.last_paid", "i.due_date")
    return (f"{late_cte(as_of)}, fin AS (SELECT invoice_id, MAX(paid_on) AS last_paid FROM payment "
            f"WHERE paid_on > {since} AND paid_on <= {d} GROUP BY invoice_id) "
            f"SELECT i.direction, COUNT(*), SUM(CASE WHEN f.last_paid > i.due_date THEN {late_days} ELSE 0 END) "
            "FROM fin f JOIN invoice i ON i.id = f.invoice_id LEFT JOIN late l ON l.invoice_id = i.id "
            f"WHERE i.status <> 'ANULADA' AND i.doc_type NOT IN {NOTES_SQL} "
            f"AND {balance_as_of_sql('i', 'l')} <= 0 "
            "GROUP BY i.direction")


def cashflow_periods(as_of: date, *, weeks: int | None, months: int | None) -> list[tuple[date, date]]:
    """[(first day, first day of the next period)]: 7-day weeks from as_of, or calendar months
    (the first one from as_of to the end of its month)."""
    if weeks is not None and months is not None:
        raise UsageError("give --weeks or --months, not both")
    if months is None and weeks is None:
        weeks = 8
    periods: list[tuple[date, date]] = []
    if weeks is not None:
        if not 1 <= weeks <= 104:
            raise UsageError("--weeks must be from 1 to 104")
        for k in range(weeks):
            periods.append((as_of + timedelta(days=7 * k), as_of + timedelta(days=7 * (k + 1))))
        return periods
    if not 1 <= months <= 36:
        raise UsageError("--months must be from 1 to 36")
    start = as_of
    for _ in range(months):
        nxt = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        periods.append((start, nxt))
        start = nxt
    return periods


def top_sql(dialect: str, as_of: date, *, n: int, currency: str | None) -> str:
    amt = _amount(currency)
    return (f"{balances_cte(dialect, as_of, currency=currency)}, agg AS ("
            f"SELECT direction, party_id, SUM({amt}) AS overdue, COUNT(*) AS cnt, MIN(due_date) AS oldest FROM ("
            # The overdue test stays inside a CASE: pushed down as `due_date < X` it made SQLite walk
            # ix_invoice_due_date and fetch most of the table row by row (2.5x slower than a scan).
            f"SELECT direction, party_id, due_date, bal, rate, CASE WHEN due_date < {_lit(as_of)} THEN 1 ELSE 0 END AS late "
            "FROM open_inv WHERE bal > 0) x WHERE late = 1 GROUP BY direction, party_id), "
            "ranked AS (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY direction ORDER BY overdue DESC, party_id) AS rk "
            "FROM agg a) "
            "SELECT r.direction, r.rk, p.doc_number, p.name, r.overdue, r.cnt, r.oldest "
            f"FROM ranked r JOIN party p ON p.id = r.party_id WHERE r.rk <= {int(n)} ORDER BY r.direction DESC, r.rk")


# --- aging -----------------------------------------------------------------------------------


@dataclass
class AgingRow:
    kind: str  # cxc / cxp
    party_doc: str | None
    party_name: str | None
    amounts: dict[str, Decimal]  # json key -> amount, in bucket order
    total: Decimal
    count: int


@dataclass
class AgingReport:
    as_of: date
    currency: str  # "PEN" (USD converted per invoice) or the one currency filtered on
    converted: bool
    buckets: tuple[int, ...]
    columns: list[tuple[str, str]]  # (json key, label)
    by_party: bool
    rows: list[AgingRow]

    def records(self) -> list[dict[str, Any]]:
        out = []
        for r in self.rows:
            rec: dict[str, Any] = {"as_of": self.as_of, "kind": r.kind}
            if self.by_party:
                rec["party_doc"], rec["party_name"] = r.party_doc, r.party_name
            rec["currency"] = self.currency
            rec.update(r.amounts)
            rec["total"], rec["count"] = r.total, r.count
            out.append(rec)
        return out


def aging(session: "Session", actor: Actor | None, *, kind: str | None = None, as_of: date,
          buckets: Iterable[int] = DEFAULT_BUCKETS, by_party: bool = False, currency: str | None = None,
          scope: str = "") -> AgingReport:
    """Aging by due date as of `as_of`: corriente (not yet due) then the overdue buckets.

    One row per kind (or per kind and party with by_party); the buckets of a row always add
    up to its `total`. Without `currency` every invoice counts, in S/ (USD at each invoice's
    rate); with it, only that currency's invoices, in that currency.
    """
    require(actor, "dashboards")
    buckets = check_buckets(buckets)
    currency = check_currency(currency)
    directions = directions_for(kind)
    columns = bucket_labels(buckets)
    keys = [k for k, _ in columns]
    if by_party:
        sql = aging_sql(_dialect(session), as_of, directions=directions, currency=currency, buckets=buckets,
                        by_party=True, scope=scope)
        acc: dict[tuple, dict[str, Any]] = {}
        for direction, party_id, doc, name, bucket, amt, n in _rows(session, sql):
            row = acc.setdefault((direction, party_id), {"doc": doc, "name": name, "cents": [0] * len(keys), "n": 0})
            row["cents"][int(bucket)] += int(amt)
            row["n"] += int(n)
        return _aging_report(acc, as_of=as_of, currency=currency, buckets=buckets, by_party=True)
    rows = ledger(session, as_of=as_of, directions=directions, currency=currency, scope=scope)
    return fold_aging(rows, as_of=as_of, directions=directions, currency=currency, buckets=buckets)


def fold_aging(rows: list[LedgerRow], *, as_of: date, directions: tuple[str, ...], currency: str | None,
               buckets: tuple[int, ...]) -> AgingReport:
    """Aging totals per kind from ledger rows."""
    keys = [k for k, _ in bucket_labels(buckets)]
    acc: dict[tuple, dict[str, Any]] = {
        (direction, None): {"doc": None, "name": None, "cents": [0] * len(keys), "n": 0} for direction in directions
    }
    for r in rows:
        row = acc[(r.direction, None)]
        row["cents"][bucket_of((as_of - r.due_date).days, buckets)] += r.amount
        row["n"] += r.count
    return _aging_report(acc, as_of=as_of, currency=currency, buckets=buckets, by_party=False)


def _aging_report(acc: dict[tuple, dict[str, Any]], *, as_of: date, currency: str | None, buckets: tuple[int, ...],
                  by_party: bool) -> AgingReport:
    columns = bucket_labels(buckets)
    keys = [k for k, _ in columns]
    rows = [
        AgingRow(kind=KIND_OF[direction], party_doc=v["doc"], party_name=v["name"],
                 amounts={k: money(c) for k, c in zip(keys, v["cents"])}, total=money(sum(v["cents"])), count=v["n"])
        for (direction, _), v in acc.items()
    ]
    order = {"receivable": 0, "payable": 1}
    if by_party:
        rows.sort(key=lambda r: (order[KINDS[r.kind]], -r.total, r.party_doc or ""))
    return AgingReport(as_of=as_of, currency=currency or "PEN", converted=currency is None, buckets=buckets,
                       columns=columns, by_party=by_party, rows=rows)


# --- metrics and summary ---------------------------------------------------------------------


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
    dialect = _dialect(session)
    both = ("receivable", "payable")
    now = fold_positions(_ledger if _ledger is not None else ledger(session, as_of=as_of), as_of=as_of, directions=both)
    before = _positions(session, as_of - timedelta(days=CEI_WINDOW_DAYS), ("receivable",))["receivable"]
    sales = {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in _rows(session, sales_sql(as_of))}
    late = {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in _rows(session, days_late_sql(dialect, as_of))}
    out = []
    for direction in ("receivable", "payable"):
        p = now[direction]
        s90, s30 = sales.get(direction, (0, 0))
        paid_n, late_days = late.get(direction, (0, 0))
        cei = None
        if direction == "receivable":
            num = before.pen_total + s30 - p.pen_total
            den = before.pen_total + s30 - p.not_due
            cei = _ratio(Decimal(num), Decimal(den), 100)
        out.append(KindMetrics(
            kind=KIND_OF[direction], as_of=as_of,
            outstanding=money(p.pen_total), outstanding_pen=money(p.by_currency.get("PEN", 0)),
            outstanding_usd=money(p.by_currency.get("USD", 0)), open_count=p.count,
            overdue=money(p.overdue), overdue_count=p.overdue_count,
            overdue_share_pct=_ratio(Decimal(p.overdue), Decimal(p.pen_total), 100),
            due_7d=money(p.soon), due_7d_count=p.soon_count,
            invoiced_90d=money(s90), days_outstanding=_ratio(Decimal(p.pen_total), Decimal(s90), SALES_WINDOW_DAYS),
            collection_effectiveness_pct=cei, paid_90d_count=paid_n,
            avg_days_late=_ratio(Decimal(late_days), Decimal(paid_n), 1),
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


# --- cash flow ---------------------------------------------------------------------------------


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


# --- top debtors and creditors ---------------------------------------------------------------


@dataclass
class TopRow:
    kind: str
    rank: int
    party_doc: str
    party_name: str
    overdue: Decimal
    overdue_count: int
    oldest_due_date: date | None


def top(session: "Session", actor: Actor | None, *, as_of: date, n: int = 10, currency: str | None = None) -> list[TopRow]:
    """The n largest debtors (CxC) and creditors (CxP) by overdue amount as of `as_of`."""
    require(actor, "dashboards")
    if not 1 <= n <= 1000:
        raise UsageError("--n must be from 1 to 1000")
    currency = check_currency(currency)
    return [
        TopRow(kind=KIND_OF[direction], rank=int(rk), party_doc=doc, party_name=name, overdue=money(amt),
               overdue_count=int(cnt), oldest_due_date=_as_date(oldest))
        for direction, rk, doc, name, amt, cnt, oldest in _rows(session, top_sql(_dialect(session), as_of, n=n, currency=currency))
    ]


# --- the one-screen dashboard ------------------------------------------------------------------


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
