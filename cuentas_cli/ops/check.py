"""`cuentas db check`: compare every cached figure of an invoice with the ledger, and repair.

Each invoice caches `paid_cents`, `adjust_cents` and `status` (see `ledger/balances.py` for
what each must equal). The check recomputes all three from the payments and notes in one
set-based statement (`balances.truth_sql`) and lists every invoice and column where the cache
differs. The repair writes the computed values in one transaction and one audit entry that
lists what it changed.

Who may run it: the check reads every invoice's figures, like the audit log, so it needs the
`audit` permission (gerente and administrador by default); the repair changes invoices, so it
needs `invoices.edit` (administrador by default).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import CuentasError, ExitCode
from cuentas_cli.admin import audit
from cuentas_cli.ledger import balances
from cuentas_cli.admin.auth import Actor, require

if TYPE_CHECKING:
    from sqlmodel import Session

AUDIT_LIST_LIMIT = 1000  # differences listed in the repair's audit entry (the count is always exact)


class LedgerDifferences(CuentasError):
    """Cached figures differ from the ledger (exit 3, like any data that fails validation)."""

    exit_code = ExitCode.VALIDATION


@dataclass
class Difference:
    invoice_id: int
    document: str  # "01 F001-12"
    column: str  # paid_cents | adjust_cents | status
    cached: Any
    computed: Any


def _document(doc_type: str, serie: str, numero: int) -> str:
    return f"{doc_type} {serie}-{numero}"


def _rows(session: "Session", *, today: date) -> list[tuple]:
    from sqlalchemy import text

    return [tuple(r) for r in session.execute(text(balances.truth_sql(balances.has_cuotas(session))), {"today": today})]


def _differences(rows: list[tuple]) -> list[Difference]:
    out = []
    for iid, doc_type, serie, numero, c_paid, paid, c_adjust, adjust, c_status, status in rows:
        doc = _document(doc_type, serie, numero)
        if int(c_paid) != int(paid):
            out.append(Difference(int(iid), doc, "paid_cents", int(c_paid), int(paid)))
        if int(c_adjust) != int(adjust):
            out.append(Difference(int(iid), doc, "adjust_cents", int(c_adjust), int(adjust)))
        if c_status != status:
            out.append(Difference(int(iid), doc, "status", c_status, status))
    return out


def differences(session: "Session", *, today: date) -> list[Difference]:
    """Every cached figure that differs from the ledger, by invoice id (no permission check)."""
    return _differences(_rows(session, today=today))


def check(*, session: "Session", actor: Actor | None, today: date) -> list[Difference]:
    """`cuentas db check`: the differences, empty when every cache agrees with the ledger."""
    require(actor, "audit")
    return differences(session, today=today)


def repair(*, session: "Session", actor: Actor | None, today: date) -> list[Difference]:
    """Write the computed paid/adjust/status of every invoice that differs, in the caller's
    transaction, with one audit entry listing the differences; returns what was fixed."""
    from sqlalchemy import text

    from cuentas_cli.db.models import utcnow

    require(actor, "invoices.edit")
    if session.get_bind().dialect.name == "postgresql":
        # No payment or note may change an invoice between reading the ledger and writing the fix
        # (SQLite's write transaction already holds the database's write lock).
        session.execute(text("LOCK TABLE invoice IN SHARE ROW EXCLUSIVE MODE"))
    rows = _rows(session, today=today)
    found = _differences(rows)
    if not found:
        return found
    now = utcnow()
    session.execute(
        text("UPDATE invoice SET paid_cents = :paid, adjust_cents = :adjust, status = :status, updated_at = :now "
             "WHERE id = :id"),
        [{"id": int(r[0]), "paid": int(r[5]), "adjust": int(r[7]), "status": r[9], "now": now} for r in rows],
    )
    audit.record(session, actor, action="db.repair", entity="invoice",
                 after={"today": today, "invoices": len(rows), "differences": len(found),
                        "list": [asdict(d) for d in found[:AUDIT_LIST_LIMIT]]})
    return found


def invoice_count(session: "Session") -> int:
    from sqlalchemy import text

    return int(session.execute(text("SELECT COUNT(*) FROM invoice")).scalar_one())
