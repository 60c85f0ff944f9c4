"""Invoice statuses, recomputed set-based from each invoice's own columns.

PAGADA when payments (and notes) cover the total; VENCIDA when a balance remains and the due
date is before today (a due date equal to today is not overdue; for an invoice in cuotas, the
date of the earliest cuota it still owes, `due.next_due_sql`); PARCIAL when partly paid
and not overdue; PENDIENTE otherwise. ANULADA is set only by hand and never recomputed.

A credit or debit note (07/08) carries `adjust_cents = -total_cents` (its amount moves the
invoice it references instead), so the same rule reads it as PAGADA: applied, nothing to collect.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from sqlmodel import Session

def status_case(due: str = "due_date") -> str:
    """The one definition of a status, in SQL both backends evaluate; `due` is the date an open
    balance falls overdue on: the due date, or for invoices in cuotas `due.next_due_sql`."""
    return (
        "CASE WHEN total_cents + adjust_cents - paid_cents <= 0 THEN 'PAGADA' "
        f"WHEN {due} < :today THEN 'VENCIDA' "
        "WHEN paid_cents > 0 THEN 'PARCIAL' "
        "ELSE 'PENDIENTE' END"
    )


STATUS_CASE = status_case()


def status_for(*, total_cents: int, adjust_cents: int, paid_cents: int, due_date: date, today: date, current: str) -> str:
    """The same rule in Python, for one invoice being changed (`due_date`: for an invoice in
    cuotas, that of the earliest cuota it still owes; `due.next_due`)."""
    if current == "ANULADA":
        return "ANULADA"
    if total_cents + adjust_cents - paid_cents <= 0:
        return "PAGADA"
    if due_date < today:
        return "VENCIDA"
    return "PARCIAL" if paid_cents > 0 else "PENDIENTE"


def refresh(session: "Session", *, today: date, invoice_ids: Iterable[int] | None = None,
            only_cuotas: bool = False) -> dict[str, int]:
    """Recompute statuses (all, or those of `invoice_ids`, or with `only_cuotas` those of the
    invoices in cuotas); returns how many changed to each. Invoices in cuotas fall overdue with
    the earliest cuota they still owe."""
    from sqlalchemy import bindparam, text

    from cuentas_cli.ledger.due import has_cuotas, next_due_sql

    by_cuota = has_cuotas(session)
    if only_cuotas and not by_cuota:
        return {}
    case = status_case(next_due_sql("invoice")) if by_cuota else STATUS_CASE
    params: dict = {"today": today}
    scope = " AND id IN (SELECT invoice_id FROM invoice_cuota)" if only_cuotas else ""
    if invoice_ids is not None:
        ids = list(invoice_ids)
        if not ids:
            return {}
        scope += " AND id IN :ids"
        params["ids"] = ids
    where = f"status <> 'ANULADA' AND status <> ({case}){scope}"
    counts_sql = text(f"SELECT {case} AS new_status, COUNT(*) FROM invoice WHERE {where} GROUP BY 1")
    update_sql = text(f"UPDATE invoice SET status = {case} WHERE {where}")
    if invoice_ids is not None:
        counts_sql = counts_sql.bindparams(bindparam("ids", expanding=True))
        update_sql = update_sql.bindparams(bindparam("ids", expanding=True))
    changed = {row[0]: int(row[1]) for row in session.execute(counts_sql, params)}
    if changed:
        session.execute(update_sql, params)
    return changed
