"""--on-duplicate error and update: a row whose invoice is already stored is refused, or is
checked like `invoices edit` and its change kept for the audit log."""

from __future__ import annotations

from collections.abc import Iterator

from cuentas_cli.admin import audit
from cuentas_cli.errors import ValidationError
from cuentas_cli.imports.columns import LABELS, has_cuota_columns
from cuentas_cli.imports.context import Job
from cuentas_cli.imports.stored import RowView, as_date, find_documents
from cuentas_cli.ledger import cuotas as rules
from cuentas_cli.ledger.statuses import status_for

# The invoice columns an --on-duplicate update may change.
UPDATABLE = ("issue_date", "due_date", "currency", "exchange_rate_e4", "base_cents", "igv_cents", "total_cents",
             "detraccion_bp", "detraccion_cents", "description")
# What check_updates reads of a stored invoice (invoices.edit_view's columns and its key).
_EDIT_SELECT = ("direction", "party_id", "doc_type", "serie", "numero", "issue_date", "due_date", "currency",
                "exchange_rate_e4", "base_cents", "igv_cents", "total_cents", "detraccion_bp", "detraccion_cents",
                "retencion_cents", "description", "references_id", "status", "paid_cents", "adjust_cents")
# An invoice column refused by invoices.check_edit -> the import field (file column) to name.
_EDIT_FIELDS = {"status": "numero", "total_cents": "total", "base_cents": "base", "igv_cents": "igv",
                "currency": "currency", "exchange_rate_e4": "rate", "detraccion_bp": "detraccion",
                "detraccion_cents": "detraccion", "doc_type": "doc_type", "references_id": "ref_numero",
                "issue_date": "issue_date", "due_date": "due_date", "description": "description"}



class Updates:
    """The stored invoices an import meets, by --on-duplicate mode."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.updates: list[tuple[int, dict, dict]] = []  # (invoice id, columns before, after) of --on-duplicate update

    def reject_existing(self, rows: list[tuple]) -> list[tuple]:
        """--on-duplicate error: rows whose invoice already existed before this import."""
        found = find_documents(self.job, [(rec[0], party_id, rec[4], rec[5], rec[6]) for _, party_id, rec, _ in rows], ("id",))
        existing = {key for key, columns in found.items() if columns["id"] <= self.job.max_before}
        kept = []
        for row in rows:
            row_no, party_id, rec, cells = row
            if (rec[0], party_id, rec[4], rec[5], rec[6]) in existing:
                self.job.error(row_no, LABELS["numero"], f"{rec[5]}-{rec[6]}",
                               f"invoice {rec[4]} {rec[5]}-{rec[6]} of {rec[2]} already exists (--on-duplicate error)", cells)
            else:
                kept.append(row)
        return kept

    def check_updates(self, rows: list[tuple]) -> list[tuple]:
        """--on-duplicate update: a row that would change a stored invoice is validated like
        `invoices edit` (invoices.check_edit) and kept, with its before/after, for the audit
        log; a row that breaks a rule is a row error and is not written."""
        from cuentas_cli.ledger.invoices import EditRefused, check_edit

        found = find_documents(self.job, [(rec[0], party_id, rec[4], rec[5], rec[6]) for _, party_id, rec, _ in rows],
                               ("id", *_EDIT_SELECT))
        for old in found.values():
            old["issue_date"], old["due_date"] = as_date(old["issue_date"]), as_date(old["due_date"])
        if not found:
            return rows
        kept = []
        plans: dict[int, list] | None = None  # the stored invoices' cuotas, read once when a row changes one
        for row in rows:
            row_no, party_id, rec, cells = row
            old = found.get((rec[0], party_id, rec[4], rec[5], rec[6]))
            if old is None or old["id"] > self.job.max_before:
                kept.append(row)
                continue
            new = dict(old)
            new.update(zip(UPDATABLE, (rec[7], rec[8], rec[9], rec[10], rec[11], rec[12], rec[13], rec[14],
                                             rec[15] or 0, rec[16])))
            if all(new[c] == old[c] for c in UPDATABLE):
                kept.append(row)  # nothing to change: the upsert leaves it as it is
                continue
            try:
                check_edit(old, new, invoice_id=old["id"])
            except EditRefused as exc:
                field = _EDIT_FIELDS.get(exc.column, "numero")
                if field == "total" and "total" not in self.job.pos:
                    field = "base"
                index = self.job.pos.get(field)
                self.job.error(row_no, self.job.column(field), cells[index] if index is not None else "",
                               f"cannot update invoice {old['id']}: {exc.message}", cells)
                continue
            if plans is None:
                plans = self._stored_cuotas([o["id"] for o in found.values() if o["id"] <= self.job.max_before])
            problem = self._breaks_cuotas(new, plans.get(old["id"]))
            if problem:
                index = self.job.pos.get("total")
                self.job.error(row_no, self.job.column("total"), cells[index] if index is not None else "",
                               f"cannot update invoice {old['id']}: {problem}", cells)
                continue
            new["status"] = status_for(total_cents=new["total_cents"], adjust_cents=new["adjust_cents"],
                                       paid_cents=new["paid_cents"], due_date=new["due_date"], today=self.job.today,
                                       current=old["status"])
            self.updates.append((old["id"], old, new))
            kept.append(row)
        return kept

    def _stored_cuotas(self, ids: list[int]) -> dict[int, list]:
        from sqlalchemy import bindparam, select

        from cuentas_cli.db.tables import invoice_cuota

        if not ids or has_cuota_columns(self.job.pos):
            return {}  # a file with cuota columns gives the new cuotas (imports/cuotas.py checks them)
        t = invoice_cuota.c
        out: dict[int, list] = {}
        query = (select(t.invoice_id, t.number, t.due_date, t.amount_cents).where(t.invoice_id.in_(bindparam("ids", expanding=True)))
                 .order_by(t.invoice_id, t.number))
        for start in range(0, len(ids), 5000):
            for r in self.job.session.execute(query, {"ids": ids[start:start + 5000]}):
                out.setdefault(r.invoice_id, []).append(rules.Cuota(r.number, as_date(r.due_date), int(r.amount_cents)))
        return out

    @staticmethod
    def _breaks_cuotas(new: dict, plan: list | None) -> str | None:
        """Why a changed stored invoice would no longer fit the cuotas it keeps (a file without
        cuota columns leaves them as they are), or None."""
        if not plan:
            return None
        if new["due_date"] != plan[-1].due_date:
            return (f"it is due in cuotas, the last on {plan[-1].due_date.isoformat()}: its due date stays that one "
                    "(give the cuota columns to change them)")
        try:
            rules.check_cuotas([(c.due_date, c.amount_cents) for c in plan], doc_type=new["doc_type"],
                               issued=new["issue_date"], total_cents=new["total_cents"],
                               detraccion_cents=new["detraccion_cents"], retencion_cents=new["retencion_cents"],
                               currency=new["currency"])
        except ValidationError as exc:
            return f"{exc.message} (give the cuota columns to change them)"
        return None

    def audit(self) -> None:
        """Each invoice an --on-duplicate update changed, in the audit log with its before/after
        (the changed fields only), as `invoices edit` records it."""
        from cuentas_cli.ledger.records import audit_view

        def changes() -> Iterator[tuple[int, dict, dict]]:
            for invoice_id, old, new in self.updates:
                before, after = audit_view(RowView(old)), audit_view(RowView(new))
                changed = [k for k in after if after[k] != before[k]]
                if changed:
                    yield invoice_id, {k: before[k] for k in changed}, {k: after[k] for k in changed}

        audit.record_many(self.job.session, self.job.actor, action="invoice.import_update", entity="invoice", items=changes())


# --- helpers -------------------------------------------------------------------------------
