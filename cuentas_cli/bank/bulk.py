"""`bank match --auto`'s writes, for thousands of movements at once: the invoices the chosen
proposals pay are read once (locked on PostgreSQL), every payment is checked by `invoices pay`'s
rules against what the movements before it left, and the payments, the invoices' paid amounts
and statuses, the movements' state and one audit row per movement go in a few executemany
statements, in the caller's transaction. A movement one of whose payments fails a check is left
unmatched (for review); the others are recorded.

One movement at a time (bank/reconcile.py `_record`) costs six statements; ten thousand of them
cost about 11 s on SQLite where this path takes well under one (benchmarks/scenarios/bankmatch.py).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Sequence

from cuentas_cli.admin import audit
from cuentas_cli.admin.auth import Actor
from cuentas_cli.bank import matching
from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import _
from cuentas_cli.ledger.balances import balance_cents
from cuentas_cli.ledger import statuses
from cuentas_cli.ledger.payments import InvoiceState, check_payable, check_payment, new_status, state_query
from cuentas_cli.ledger.records import money

if TYPE_CHECKING:
    from sqlmodel import Session

CHUNK = 5000


def reference_of(movement: matching.Movement) -> str:
    """A reconciled payment's reference: the bank's operation number, else the line."""
    return (movement.operation or _("bank line {line}").format(line=movement.id))[:100]


def _invoices(session: "Session", ids: Sequence[int]) -> dict[int, InvoiceState]:
    from cuentas_cli.db.tables import invoice

    out: dict[int, InvoiceState] = {}
    ordered = sorted(set(ids))
    postgres = session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(ordered), CHUNK):
        query = state_query().where(invoice.c.id.in_(ordered[start:start + CHUNK]))
        if postgres:
            query = query.with_for_update(of=invoice)
        for row in session.execute(query):
            out[row.id] = InvoiceState(*row)
    return out


def record_many(session: "Session", actor: Actor | None, today: date,
                chosen: Sequence[tuple[matching.Movement, matching.Proposal]]) -> tuple[set[int], int]:
    """Record the chosen proposals; returns the movements recorded and the payments written."""
    from sqlalchemy import bindparam, insert, update

    from cuentas_cli.db.enums import utcnow
    from cuentas_cli.db.tables import bank_line, invoice, payment

    invs = _invoices(session, [a.invoice_id for _m, p in chosen for a in p.allocations])
    paid: dict[int, int] = {}
    now = utcnow()
    user_id = actor.user_id if actor else None
    payments: list[dict[str, Any]] = []
    done: set[int] = set()
    audits = []
    for movement, proposal in sorted(chosen, key=lambda c: (c[0].line_date, c[0].id)):
        direction = "receivable" if movement.amount > 0 else "payable"
        tentative: dict[int, int] = {}  # this movement's payments on top of `paid`
        rows = []
        if any(a.invoice_id not in invs or invs[a.invoice_id].direction != direction
               or invs[a.invoice_id].currency != movement.currency for a in proposal.allocations):
            continue  # changed since the proposal was made: left for review
        try:
            for a in proposal.allocations:
                inv = invs[a.invoice_id]
                check_payable(inv)
                so_far = tentative.get(inv.id, paid.get(inv.id, inv.paid_cents))
                balance = balance_cents(doc_type=inv.doc_type, status=inv.status, total_cents=inv.total_cents,
                                        adjust_cents=inv.adjust_cents, paid_cents=so_far)
                check_payment(inv, balance=balance, cents=a.cents,
                              paid_on=movement.line_date, today=today, reference=None)
                tentative[inv.id] = so_far + a.cents
                rows.append({"invoice_id": inv.id, "paid_on": movement.line_date, "amount_cents": a.cents,
                             "method": a.method, "reference": reference_of(movement),
                             "recorded_by": user_id, "created_at": now, "bank_line_id": movement.id})
        except ValidationError:
            continue  # left for review: `bank confirm` says what is wrong
        paid.update(tentative)
        payments.extend(rows)
        done.add(movement.id)
        audits.append((movement.id, None, {"how": "auto", "score": proposal.score,
                                           "amount": f"{money(movement.amount):.2f}",
                                           "payments": [{"invoice_id": a.invoice_id, "amount": f"{money(a.cents):.2f}",
                                                         "method": a.method} for a in proposal.allocations]}))
    if not done:
        return done, 0
    for start in range(0, len(payments), CHUNK):
        session.execute(insert(payment), payments[start:start + CHUNK])
    changes = [{"b_id": inv_id, "b_paid": cents, "b_status": new_status(invs[inv_id], paid_cents=cents, today=today),
                "b_now": now} for inv_id, cents in paid.items()]
    session.execute(update(invoice).where(invoice.c.id == bindparam("b_id"))
                    .values(paid_cents=bindparam("b_paid"), status=bindparam("b_status"),
                            updated_at=bindparam("b_now")), changes)
    lines = [{"b_id": line_id} for line_id in sorted(done)]
    session.execute(update(bank_line).where(bank_line.c.id == bindparam("b_id"), bank_line.c.state == "unmatched")
                    .values(state="matched"), lines)
    statuses.refresh(session, today=today, only_cuotas=True)  # in cuotas: by their earliest open cuota
    audit.record_many(session, actor, action="bank.confirm", entity="bank_line", items=audits)
    return done, len(payments)
