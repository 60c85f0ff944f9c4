"""Aging by due date: corriente (not yet due) then the overdue buckets, per kind or per party.
An invoice in cuotas is aged part by part, each by its own due date, and counted once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable

from cuentas_cli.errors import UsageError
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.ledger.balances import balances_cte, has_cuotas
from cuentas_cli.ledger.balances import lit as _lit
from cuentas_cli.db.engine import dialect_of
from cuentas_cli.reports.common import (KIND_OF, KINDS, amount_sql, check_currency, directions_for,
                                        fetch_rows, money)
from cuentas_cli.reports.open_balances import LedgerRow, ledger
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

DEFAULT_BUCKETS = (30, 60, 90, 120)


def check_buckets(buckets: Iterable[int]) -> tuple[int, ...]:
    values = tuple(int(b) for b in buckets)
    if not values or any(b < 1 for b in values) or any(b2 <= b1 for b1, b2 in zip(values, values[1:])):
        raise UsageError(_("aging buckets must be increasing whole days, e.g. 30,60,90,120 (got {values})")
                         .format(values=values))
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


def _bucket_case(as_of: date, buckets: tuple[int, ...]) -> str:
    parts = [f"WHEN due_date >= {_lit(as_of)} THEN 0"]
    for n, days in enumerate(buckets, start=1):
        parts.append(f"WHEN due_date >= {_lit(as_of - timedelta(days=days))} THEN {n}")
    return f"CASE {' '.join(parts)} ELSE {len(buckets) + 1} END"


def aging_sql(dialect: str, as_of: date, *, directions: tuple[str, ...], currency: str | None, buckets: tuple[int, ...],
              by_party: bool, scope: str = "", by_cuota: bool = False) -> str:
    cte = balances_cte(dialect, as_of, directions=directions, currency=currency, scope=scope, by_cuota=by_cuota)
    amt = amount_sql(currency, by_cuota=by_cuota)
    lead = "lead" if by_cuota else "1"
    inner = (f"SELECT direction, party_id, {_bucket_case(as_of, buckets)} AS bucket, {amt} AS amt, {lead} AS lead "
             "FROM open_inv WHERE bal > 0")
    if not by_party:
        return f"{cte} SELECT direction, bucket, SUM(amt), SUM(lead) FROM ({inner}) x GROUP BY direction, bucket"
    return (f"{cte}, agg AS (SELECT direction, party_id, bucket, SUM(amt) AS amt, SUM(lead) AS n FROM ({inner}) x "
            "GROUP BY direction, party_id, bucket) "
            "SELECT a.direction, a.party_id, p.doc_number, p.name, a.bucket, a.amt, a.n "
            "FROM agg a JOIN party p ON p.id = a.party_id")


def bucket_of(days_overdue: int, buckets: tuple[int, ...]) -> int:
    """0 = corriente (not yet due), 1.. = the bucket whose cut-off covers the days overdue."""
    if days_overdue <= 0:
        return 0
    for n, limit in enumerate(buckets, start=1):
        if days_overdue <= limit:
            return n
    return len(buckets) + 1


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
    if by_party:
        return _by_party(session, as_of=as_of, directions=directions, currency=currency, buckets=buckets, scope=scope)
    rows = ledger(session, as_of=as_of, directions=directions, currency=currency, scope=scope)
    return fold_aging(rows, as_of=as_of, directions=directions, currency=currency, buckets=buckets)


def _by_party(session: "Session", *, as_of: date, directions: tuple[str, ...], currency: str | None,
              buckets: tuple[int, ...], scope: str) -> AgingReport:
    keys = [k for k, _ in bucket_labels(buckets)]
    sql = aging_sql(dialect_of(session), as_of, directions=directions, currency=currency, buckets=buckets,
                    by_party=True, scope=scope, by_cuota=has_cuotas(session))
    acc: dict[tuple, dict[str, Any]] = {}
    for direction, party_id, doc, name, bucket, amt, n in fetch_rows(session, sql):
        row = acc.setdefault((direction, party_id), {"doc": doc, "name": name, "cents": [0] * len(keys), "n": 0})
        row["cents"][int(bucket)] += int(amt)
        row["n"] += int(n)
    return _aging_report(acc, as_of=as_of, currency=currency, buckets=buckets, by_party=True)


def party_aging(session: "Session", *, party_id: int, direction: str, as_of: date, currency: str | None,
                buckets: Iterable[int] = DEFAULT_BUCKETS) -> AgingReport:
    """One party's row of `aging(by_party=True)`: the same SQL and fold, scoped to the party, so its
    figures are that party's row of `cuentas dashboard aging --by-party` (with the same --currency).

    No permission check of its own: a caller that shows one party's account (a statement, with
    `read`) checks its permission; the whole-company aging stays the dashboards'."""
    return _by_party(session, as_of=as_of, directions=directions_for(direction), currency=check_currency(currency),
                     buckets=check_buckets(buckets), scope=f"i.party_id = {int(party_id)}")


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
