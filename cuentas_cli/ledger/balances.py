"""The ledger's balance rule: one place says what a document still owes, as of a date.

A document's open balance as of a date D is its total, minus its payments dated up to D,
plus the debit notes (08) and minus the credit notes (07) that reference it and were issued up
to D (ANULADA notes do not count). A credit or debit note itself never carries a balance (its
amount moves the document it references), and an ANULADA document has balance 0 and is never
outstanding.

For speed every invoice row caches three derived columns, kept in step by every path that
changes payments or notes (by hand, import, PLE, delete, void):

- `paid_cents`   = SUM(payment.amount_cents) of the invoice;
- `adjust_cents` = for a note (07/08): minus its own total (so its cached balance is 0);
                   otherwise the sum over its non-ANULADA notes (07 negative, 08 positive);
- `status`       = ANULADA when voided by hand, else the rule of `statuses.STATUS_CASE` as of today.

So today's balance is `total + adjust - paid` from the cached columns, and the balance as of
an earlier date adds back what is dated after it (`late_cte`). `truth_sql` recomputes the
cached columns from the payments and notes themselves; `cuentas db check` compares the two.

This module depends only on the table layout (plain SQL and the SQLModel tables), so any
surface (invoices, parties, reports, exports, reminders, completion) can take its figures
from here. Statement text inlines dates as literals built from `date` objects (never from
user text): a partial index whose WHERE lists states is only used when the query states
them literally, not through bound parameters.
"""

from __future__ import annotations

from datetime import date
from typing import Any

# The status rule (ANULADA apart: set by hand, never recomputed); both backends evaluate it in SQL.
from cuentas_cli.ledger.due import WITHHELD_SQL, has_cuotas, next_due_sql  # noqa: F401 - used by the reports
from cuentas_cli.ledger.due import next_due_expr as next_due  # noqa: F401 - the listings' and reminders' date
from cuentas_cli.ledger.statuses import STATUS_CASE, status_case

NOTE_TYPES = ("07", "08")
NOTES_SQL = "('07', '08')"
OPEN_STATUSES = ("PENDIENTE", "PARCIAL", "VENCIDA")
OPEN_SQL = "('PENDIENTE', 'PARCIAL', 'VENCIDA')"



# --- one row, in Python --------------------------------------------------------------------------


def balance_cents(*, doc_type: str, status: str, total_cents: int, adjust_cents: int, paid_cents: int) -> int:
    """The open balance today of one document from its cached columns: 0 for a note or an
    ANULADA document, else total + adjust - paid (negative when overpaid)."""
    if status == "ANULADA" or doc_type in NOTE_TYPES:
        return 0
    return int(total_cents) + int(adjust_cents) - int(paid_cents)


def balance_of(values: Any) -> int:
    """`balance_cents` of a mapping or an object with the invoice's columns."""
    get = values.get if isinstance(values, dict) else (lambda k: getattr(values, k))
    return balance_cents(doc_type=get("doc_type"), status=get("status"), total_cents=get("total_cents"),
                         adjust_cents=get("adjust_cents"), paid_cents=get("paid_cents"))


# --- SQL over the cached columns ---------------------------------------------------------------


def cached_balance(cols: Any) -> Any:
    """SQLAlchemy expression: `total + adjust - paid` of a row whose status is already known to be
    open (PENDIENTE/PARCIAL/VENCIDA). `cols` is the Invoice entity or a table's `.c`.

    Within an open status this is the whole rule: a note's cached balance is minus its payments
    (never > 0) and an ANULADA row is not open. Using only these columns keeps queries able to
    read the covering partial index ix_invoice_open."""
    return cols.total_cents + cols.adjust_cents - cols.paid_cents


def open_balance(cols: Any) -> Any:
    """SQLAlchemy expression: the open balance today of any row (0 for notes and ANULADA)."""
    from sqlalchemy import case, or_

    return case((or_(cols.status == "ANULADA", cols.doc_type.in_(NOTE_TYPES)), 0), else_=cached_balance(cols))


def is_open(cols: Any) -> Any:
    """SQLAlchemy condition: the row is outstanding today (open status and a balance left)."""
    from sqlalchemy import and_

    return and_(cols.status.in_(OPEN_STATUSES), cached_balance(cols) > 0)


def pen_cents_sql(cents: str, rate: str) -> str:
    """SQL text: a positive amount in céntimos converted to PEN at its document's own rate
    (ten-thousandths), rounded half up per document; sums of PEN figures add these, never
    convert a sum, so every surface rounds the same way."""
    return f"(({cents}) * {rate} + 5000) / 10000"


def pen_cents(cents: Any, rate: Any) -> Any:
    """SQLAlchemy expression of `pen_cents_sql` (integer division on both backends)."""
    return (cents * rate + 5000) // 10000


# --- balance as of a date ----------------------------------------------------------------------


def lit(day: date) -> str:
    """A date as an SQL literal that both SQLite (ISO text) and PostgreSQL (date) compare correctly."""
    if not isinstance(day, date):
        raise TypeError("dates in report SQL must be date objects")
    return f"'{day.isoformat()}'"


def _unindexed(dialect: str, column: str) -> str:
    """The column in a form SQLite cannot search an index for (the unary plus SQLite documents
    for this). `issue_date <= as_of` keeps nearly every row, yet SQLite, which keeps no
    histograms, preferred ix_invoice_issue_date for it over ix_invoice_open: 3-4x slower.
    PostgreSQL's planner has histograms and needs no hint."""
    return f"+{column}" if dialect == "sqlite" else column


def scope_filters(directions: tuple[str, ...], currency: str | None) -> str:
    out = ""
    if len(directions) == 1:
        out += f" AND i.direction = '{directions[0]}'"
    if currency:
        out += f" AND i.currency = '{currency}'"
    return out


def late_cte(as_of: date) -> str:
    """`WITH late AS (...)`: per invoice, what to add back to today's balance to get the balance
    as of `as_of`: payments dated after it, credit notes (07) issued after it (less debit notes, 08)."""
    d = lit(as_of)
    return (
        "WITH late AS ("
        "SELECT invoice_id, CAST(SUM(amt) AS BIGINT) AS amt FROM ("
        f"SELECT invoice_id, amount_cents AS amt FROM payment WHERE paid_on > {d} "
        "UNION ALL "
        "SELECT references_id AS invoice_id, CASE WHEN doc_type = '07' THEN total_cents ELSE -total_cents END AS amt "
        f"FROM invoice WHERE references_id > 0 AND doc_type IN {NOTES_SQL} AND issue_date > {d} "
        "AND status <> 'ANULADA'"
        ") late_rows GROUP BY invoice_id)"
    )


def balance_as_of_sql(alias: str = "i", late: str = "l") -> str:
    """SQL: the balance as of the late CTE's date of a non-note, non-ANULADA row joined to `late`."""
    return f"{alias}.total_cents + {alias}.adjust_cents - {alias}.paid_cents + COALESCE({late}.amt, 0)"


def balances_cte(dialect: str, as_of: date, *, directions: tuple[str, ...] = ("receivable", "payable"),
                 currency: str | None = None, scope: str = "", by_cuota: bool = False) -> str:
    """`WITH late AS (...), open_inv AS (...)`: every invoice with its balance as of `as_of`.

    An invoice counts if it was issued on or before as_of, is not a note and is not ANULADA.
    open_inv holds invoices whose status is open today plus PAGADA ones that something dated
    after as_of (a payment or a note) touched; `bal` may be <= 0, callers keep `bal > 0`.
    `scope` is an extra SQL condition over the alias `i` (e.g. an export's filters).

    With `by_cuota` (when any invoice has cuotas, see `has_cuotas`) open_inv holds the parts of
    each balance by due date instead (`cuota_parts_sql`): `bal` is the part's amount, `due_date`
    its date, `pen` its S/, `lead` 1 on one part of each invoice (its earliest open one, so
    SUM(lead) counts invoices) and `part` what it is.
    """
    d = lit(as_of)
    cols = ("i.id, i.direction, i.party_id, i.currency, i.exchange_rate_e4 AS rate, i.due_date, i.detraccion_cents"
            + (", i.retencion_cents" if by_cuota else ""))
    bal = balance_as_of_sql("i", "l")
    where = (f"i.doc_type NOT IN {NOTES_SQL} AND {_unindexed(dialect, 'i.issue_date')} <= {d}"
             f"{scope_filters(directions, currency)}{f' AND ({scope})' if scope else ''}")
    whole = (
        f"SELECT {cols}, {bal} AS bal FROM invoice i LEFT JOIN late l ON l.invoice_id = i.id "
        f"WHERE i.status IN {OPEN_SQL} AND {where} "
        "UNION ALL "
        f"SELECT {cols}, {bal} AS bal FROM late l JOIN invoice i ON i.id = l.invoice_id "
        f"WHERE i.status = 'PAGADA' AND {where}"
    )
    if not by_cuota:
        return f"{late_cte(as_of)}, open_inv AS ({whole})"
    return f"{late_cte(as_of)}, open_all AS ({whole}), {cuota_parts_sql(as_of)}"


# --- cuotas: which part of a balance is due when ------------------------------------------------
#
# An invoice in cuotas (table invoice_cuota, each row with the sum of the cuotas after it in
# after_cents) owes its balance in parts: the detracción and retención not yet recorded (`w`,
# due with the first cuota: they are deposited or withheld at the first payment), then the
# cuotas, the latest holding what is left (payments settle the oldest first), and whatever a
# debit note raised above the cuotas' sum (`e`, due with the last). An invoice without cuotas is
# one part (`x`). The S/ of a part telescopes from the latest (pen of the amount from it on less
# pen of the amount after it), so an invoice's parts add up to its own S/ exactly.

def cuota_parts_sql(as_of: date) -> str:
    """The CTEs after `open_all` (balances_cte's invoices) that make `open_inv` its parts by due date."""
    d = lit(as_of)
    keep = "id, direction, party_id, currency, rate, detraccion_cents"

    def pen(hi: str, lo: str) -> str:
        return f"{pen_cents_sql(hi, 'rate')} - {pen_cents_sql(lo, 'rate')}"

    open_k = ("CASE WHEN p.pend - p.excess - c.after_cents >= c.amount_cents THEN c.amount_cents "
              "ELSE p.pend - p.excess - c.after_cents END")
    after_k = "p.excess + CASE WHEN p.pend - p.excess < c.after_cents THEN p.pend - p.excess ELSE c.after_cents END"
    return (
        "cn AS (SELECT invoice_id, CAST(SUM(amount_cents) AS BIGINT) AS net, MIN(due_date) AS first_due "
        "FROM invoice_cuota GROUP BY invoice_id), "
        "wp AS (SELECT invoice_id, CAST(SUM(amount_cents) AS BIGINT) AS amt FROM payment "
        f"WHERE method IN {WITHHELD_SQL} AND paid_on <= {d} "
        "AND invoice_id IN (SELECT invoice_id FROM invoice_cuota) GROUP BY invoice_id), "
        "cw AS (SELECT o.*, cn.net, cn.first_due, o.detraccion_cents + o.retencion_cents - COALESCE(wp.amt, 0) AS w "
        "FROM open_all o JOIN cn ON cn.invoice_id = o.id LEFT JOIN wp ON wp.invoice_id = o.id WHERE o.bal > 0), "
        "cq AS (SELECT cw.*, CASE WHEN w <= 0 THEN 0 WHEN w >= bal THEN bal ELSE w END AS held FROM cw), "
        "cp AS (SELECT cq.*, bal - held AS pend, CASE WHEN bal - held > net THEN bal - held - net ELSE 0 END AS excess "
        "FROM cq), "
        "ck AS (SELECT p.id, p.direction, p.party_id, p.currency, p.rate, p.detraccion_cents, c.due_date, "
        f"{open_k} AS bal, {after_k} AS lo, CASE WHEN p.held = 0 AND p.pend - p.excess <= c.after_cents + c.amount_cents "
        "THEN 1 ELSE 0 END AS lead FROM cp p JOIN invoice_cuota c ON c.invoice_id = p.id), "
        "open_inv AS ("
        f"SELECT {keep}, due_date, bal, 1 AS lead, 'x' AS part, {pen('bal', '0')} AS pen FROM open_all "
        "WHERE id NOT IN (SELECT invoice_id FROM invoice_cuota) "
        "UNION ALL "
        f"SELECT {keep}, first_due, held, 1, 'w', {pen('bal', 'pend')} FROM cp WHERE held > 0 "
        "UNION ALL "
        f"SELECT {keep}, due_date, excess, 0, 'e', {pen('excess', '0')} FROM cp WHERE excess > 0 "
        "UNION ALL "
        f"SELECT {keep}, due_date, bal, lead, 'c', {pen('lo + bal', 'lo')} FROM ck WHERE bal > 0)"
    )


# --- the truth: cached columns recomputed from payments and notes --------------------------------

def truth_sql(by_cuota: bool = False) -> str:
    """SQL (bind `:today`): one row per invoice whose cached paid/adjust/status differ from what its
    payments and notes give: id, doc_type, serie, numero, then cached and computed paid, adjust
    and status. Set-based: payments and notes are aggregated once and joined."""
    recomputed = (
        "SELECT i.id, i.doc_type, i.serie, i.numero, i.total_cents, i.due_date, i.detraccion_cents, i.retencion_cents, "
        "i.paid_cents AS cached_paid, i.adjust_cents AS cached_adjust, i.status AS cached_status, "
        "CAST(COALESCE(p.amt, 0) AS BIGINT) AS paid_cents, "
        f"CAST(CASE WHEN i.doc_type IN {NOTES_SQL} THEN -i.total_cents ELSE COALESCE(n.amt, 0) END AS BIGINT) "
        "AS adjust_cents "
        "FROM invoice i "
        "LEFT JOIN (SELECT invoice_id, SUM(amount_cents) AS amt FROM payment GROUP BY invoice_id) p "
        "ON p.invoice_id = i.id "
        "LEFT JOIN (SELECT references_id, SUM(CASE WHEN doc_type = '07' THEN -total_cents ELSE total_cents END) AS amt "
        f"FROM invoice WHERE references_id IS NOT NULL AND doc_type IN {NOTES_SQL} AND status <> 'ANULADA' "
        "GROUP BY references_id) n ON n.references_id = i.id"
    )
    with_status = (
        "SELECT t.*, CASE WHEN t.cached_status = 'ANULADA' THEN 'ANULADA' ELSE "
        f"{status_case(next_due_sql('t')) if by_cuota else STATUS_CASE} END AS computed_status FROM ({recomputed}) t"
    )
    return (
        "SELECT id, doc_type, serie, numero, cached_paid, paid_cents, cached_adjust, adjust_cents, "
        f"cached_status, computed_status FROM ({with_status}) c "
        "WHERE cached_paid <> paid_cents OR cached_adjust <> adjust_cents OR cached_status <> computed_status "
        "ORDER BY id"
    )
