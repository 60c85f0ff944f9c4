"""When an invoice's balance falls due: its due date, or for an invoice in cuotas the date of the
earliest part it still owes (ledger/cuotas.py has the rules of the cuotas themselves).

Payments settle the oldest cuota first, so the latest cuotas hold what is left of the balance
and what a debit note raised above their sum is owed with the last; the detracción and
retención not yet recorded are due with the first cuota (deposited or withheld at the first
payment). The status, the overdue and upcoming lists and the reminders go by the earliest part
still owed (`next_due` in Python, `next_due_sql` / `next_due_expr` in SQL); the reports age
each part by its own date (`balances.cuota_parts_sql`). Without any cuota in the database every
query keeps its one-date form (`has_cuotas`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlmodel import Session


@dataclass(frozen=True)
class Cuota:
    number: int
    due_date: date
    amount_cents: int


def cuotas_of(db: "Session | Connection", invoice_id: int) -> list[Cuota]:
    from sqlalchemy import select

    from cuentas_cli.db.tables import invoice_cuota

    t = invoice_cuota.c
    return [Cuota(r.number, r.due_date, int(r.amount_cents))
            for r in db.execute(select(t.number, t.due_date, t.amount_cents).where(t.invoice_id == invoice_id)
                                .order_by(t.number))]


def open_amounts(cuotas: Sequence[Cuota], pending_cents: int) -> list[int]:
    """What each cuota still owes when `pending_cents` of them is unpaid: the oldest are paid
    first, so the latest hold what is left (an overpaid or settled invoice owes 0 on each);
    what exceeds their sum (a debit note raised the balance) is owed with the last one."""
    left = max(0, pending_cents)
    out = [0] * len(cuotas)
    for k in range(len(cuotas) - 1, -1, -1):
        out[k] = min(cuotas[k].amount_cents, left)
        left -= out[k]
    if out and left > 0:
        out[-1] += left
    return out


def withheld_open(inv: Any, withheld_recorded_cents: int) -> int:
    """The detracción and retención of an invoice not yet recorded (as payments of those methods)."""
    return max(0, int(inv.detraccion_cents) + int(inv.retencion_cents) - withheld_recorded_cents)


def pending_of(inv: Any, *, balance_cents: int, withheld_recorded_cents: int) -> int:
    """The part of an invoice's balance its cuotas owe: the balance less the detracción and the
    retención still to be recorded (those are settled apart, not by the cuotas)."""
    return max(0, balance_cents - withheld_open(inv, withheld_recorded_cents))


def next_due(cuotas: Sequence[Cuota], *, balance_cents: int, withheld_open_cents: int, default: date) -> date:
    """The due date of the earliest part of a balance still owed (`next_due_sql` in
    Python): the first cuota's while detracción or retención is unrecorded, else the earliest
    cuota the balance reaches; `default` (the invoice's due date) without cuotas or balance."""
    if not cuotas or balance_cents <= 0:
        return default
    if withheld_open_cents > 0:
        return cuotas[0].due_date
    for c, left in zip(cuotas, open_amounts(cuotas, balance_cents)):
        if left > 0:
            return c.due_date
    return default


def withheld_recorded(db: "Session | Connection", invoice_id: int) -> int:
    """The payments of an invoice recorded as its detracción or retención (céntimos)."""
    from sqlalchemy import func, select

    from cuentas_cli.db.tables import payment

    t = payment.c
    return int(db.execute(select(func.coalesce(func.sum(t.amount_cents), 0))
                          .where(t.invoice_id == invoice_id, t.method.in_(("detraccion", "retencion")))).scalar_one())


def status_due(db: "Session | Connection", inv: Any, *, paid_cents: int | None = None) -> date:
    """The date an invoice's open balance falls overdue on, for its status: its due date, or in
    cuotas that of the earliest cuota it still owes (with `paid_cents` as the paid amount about
    to be stored). One query without cuotas."""
    plan = cuotas_of(db, inv.id)
    if not plan:
        return inv.due_date
    paid = inv.paid_cents if paid_cents is None else paid_cents
    balance = int(inv.total_cents) + int(inv.adjust_cents) - int(paid)
    return next_due(plan, balance_cents=balance, withheld_open_cents=withheld_open(inv, withheld_recorded(db, inv.id)),
                    default=inv.due_date)


WITHHELD_SQL = "('detraccion', 'retencion')"


def has_cuotas(db: Any) -> bool:
    """Whether any invoice has cuotas: without them every query keeps its one-part form."""
    from sqlalchemy import text

    return db.execute(text("SELECT 1 FROM invoice_cuota LIMIT 1")).first() is not None


def withheld_open_sql(t: str = "invoice") -> str:
    """SQL: the detracción and retención of row `t` not yet recorded as payments of those methods."""
    return (f"({t}.detraccion_cents + {t}.retencion_cents - COALESCE((SELECT SUM(w.amount_cents) FROM payment w "
            f"WHERE w.invoice_id = {t}.id AND w.method IN {WITHHELD_SQL}), 0))")


def _earliest_open(t: str, column: str) -> str:
    bal = f"{t}.total_cents + {t}.adjust_cents - {t}.paid_cents"
    first = f"(SELECT MIN(c.{column}) FROM invoice_cuota c WHERE c.invoice_id = {t}.id)"
    owed = f"(SELECT MIN(c.{column}) FROM invoice_cuota c WHERE c.invoice_id = {t}.id AND c.after_cents < {bal})"
    return (f"CASE WHEN {t}.detraccion_cents + {t}.retencion_cents > 0 AND {withheld_open_sql(t)} > 0 "
            f"THEN {first} ELSE {owed} END")


def next_due_sql(t: str = "invoice") -> str:
    """SQL: the due date of the earliest part row `t` still owes today: its due date without
    cuotas; with them, the first cuota's while detracción/retención is unrecorded, else the
    earliest cuota the balance reaches. What the status, the overdue and upcoming lists and the
    reminders go by."""
    return f"COALESCE({_earliest_open(t, 'due_date')}, {t}.due_date)"


def next_due_expr(cols: Any, *, number: bool = False) -> Any:
    """SQLAlchemy expression of `next_due_sql` (with `number`, the number of the cuota it falls on, 0 without cuotas) over the Core
    `invoice` table's columns or an alias's, so ClauseAdapter can move it onto another alias as
    the export's filters do."""
    from sqlalchemy import and_, case, func, select

    from cuentas_cli.db.tables import invoice_cuota, payment

    c, w = invoice_cuota.alias("c"), payment.alias("w")
    which = c.c.number if number else c.c.due_date
    withheld = cols.detraccion_cents + cols.retencion_cents
    recorded = (select(func.coalesce(func.sum(w.c.amount_cents), 0))
                .where(w.c.invoice_id == cols.id, w.c.method.in_(("detraccion", "retencion"))).scalar_subquery())
    first = select(func.min(which)).where(c.c.invoice_id == cols.id).scalar_subquery()
    owed = (select(func.min(which))
            .where(c.c.invoice_id == cols.id, c.c.after_cents < (cols.total_cents + cols.adjust_cents - cols.paid_cents)).scalar_subquery())
    earliest = case((and_(withheld > 0, withheld - recorded > 0), first), else_=owed)
    return func.coalesce(earliest, 0) if number else func.coalesce(earliest, cols.due_date)
