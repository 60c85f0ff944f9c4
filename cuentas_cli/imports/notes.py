"""Credit and debit notes (07/08) in an import: each row names the document it modifies, and
once the rows are in, each note is linked to that document as `invoices add` links one."""

from __future__ import annotations

from typing import Any

from cuentas_cli.errors import ValidationError
from cuentas_cli.imports.context import Job
from cuentas_cli.imports.stored import RowView, as_date, find_documents
from cuentas_cli.ledger.statuses import status_for

NOTE_TYPES = ("07", "08")
_NOTE_TARGET_TYPES = ("01", "03")


class Notes:
    """The notes of one import, checked row by row and linked at the end."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.notes: list[tuple] = []
        self.touched_refs: set[int] = set()

    def fields_ok(self, row_no: int, rec: tuple, cells: list[Any]) -> bool:
        """A credit/debit note row follows the rules of `invoices add --doc-type 07/08`: it names
        the factura or boleta it modifies and carries no withholdings of its own."""
        ref = rec[17]
        if ref is None:
            self.job.error(row_no, self.job.column("ref_numero"), "",
                           f"{rec[4]} {rec[5]}-{rec[6]} is a credit or debit note: give the document it modifies "
                           "(ref_tipo, ref_serie and ref_numero columns; fields 29-31 of a PLE register)", cells)
            return False
        if ref[0] not in _NOTE_TARGET_TYPES:
            self.job.error(row_no, self.job.column("ref_doc_type"), ref[0],
                           "a credit or debit note modifies a factura (01) or a boleta (03)", cells)
            return False
        if rec[14] or rec[15]:  # (a retención on a note is refused as its row is read: convert.py)
            self.job.error(row_no, self.job.column("detraccion"), rec[14],
                           "detracción and retención apply to the invoice, not to a credit or debit note", cells)
            return False
        return True

    def link(self) -> None:
        """Credit/debit notes of this import, applied exactly as `invoices add` applies one: each
        is linked to the document it modifies (references_id) and carries adjust_cents = -total
        (no balance of its own; set when it was moved in), the modified document's adjust_cents
        is the sum of its non-ANULADA notes (07 -, 08 +) and its status is refreshed with the
        one rule. A note that does not fit (document missing, ANULADA or paid, another currency,
        a credit above the open balance) is a row error, by the shared rules of invoices.py.

        The notes and their documents are read set-based; the per-note work is in Python, in
        file order, so two credit notes on one invoice are checked against the balance the
        first one leaves."""
        from sqlalchemy import bindparam, text

        from cuentas_cli.ledger.notes import check_note_applies, check_note_fits
        from cuentas_cli.ledger.statuses import refresh

        if not self.notes:
            return
        note_rows = find_documents(self.job, [(n[1], n[2], n[3], n[4], n[5]) for n in self.notes],
                                   ("id", "total_cents", "currency", "references_id"))
        targets = find_documents(self.job, [(n[1], n[2], *n[6]) for n in self.notes],
                                 ("id", "doc_type", "serie", "numero", "status", "currency", "total_cents",
                                  "adjust_cents", "paid_cents", "due_date"))
        views: dict[int, RowView] = {}
        links: list[dict[str, int]] = []
        dropped: list[int] = []
        for row_no, direction, party_id, doc_type, serie, numero, ref, cells in self.notes:
            note = note_rows.get((direction, party_id, doc_type, serie, numero))
            if note is None:
                continue
            target = targets.get((direction, party_id, *ref))
            if target is None:
                problem = f"the modified document {ref[0]} {ref[1]}-{ref[2]} is neither in the database nor in this file"
            elif note["references_id"] == target["id"]:
                links.append({"n": note["id"], "t": target["id"]})  # applied by an earlier import
                continue
            elif note["references_id"] is not None:
                problem = (f"{doc_type} {serie}-{numero} already modifies invoice {note['references_id']}; a note cannot "
                           f"move to {ref[1]}-{ref[2]} (delete it and import it again)")
            else:
                view = views.get(target["id"])
                if view is None:
                    view = views[target["id"]] = RowView({**target, "due_date": as_date(target["due_date"])})
                try:
                    check_note_fits(doc_type=doc_type, serie=serie, currency=note["currency"], target=view)
                    check_note_applies(doc_type=doc_type, total_cents=note["total_cents"], target=view)
                except ValidationError as exc:
                    problem = exc.message
                else:
                    view.adjust_cents += -note["total_cents"] if doc_type == "07" else note["total_cents"]
                    view.status = status_for(total_cents=view.total_cents, adjust_cents=view.adjust_cents,
                                             paid_cents=view.paid_cents, due_date=view.due_date, today=self.job.today,
                                             current=view.status)
                    links.append({"n": note["id"], "t": target["id"]})
                    continue
            self.job.error(row_no, self.job.column("ref_numero"), f"{ref[1]}-{ref[2]}", problem, cells)
            if self.job.options.partial and note["id"] > self.job.max_before:
                dropped.append(note["id"])
        if dropped:
            self.job.session.execute(text("DELETE FROM invoice WHERE id IN :ids").bindparams(bindparam("ids", expanding=True)),
                                     {"ids": dropped})
            self.job.result.new -= len(dropped)
        if not links:
            return
        # The note's own adjust_cents is set again too: a note imported before this rule carried 0.
        self.job.session.execute(text("UPDATE invoice SET references_id = :t, adjust_cents = -total_cents WHERE id = :n"), links)
        self.touched_refs.update(link["t"] for link in links)
        ids = sorted(self.touched_refs)
        note_ids = sorted({link["n"] for link in links})
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            marks = ", ".join(str(int(i)) for i in part)
            self.job.session.execute(text(
                "UPDATE invoice SET adjust_cents = COALESCE((SELECT SUM(CASE WHEN n.doc_type = '07' THEN -n.total_cents "
                "ELSE n.total_cents END) FROM invoice n WHERE n.references_id = invoice.id AND n.status <> 'ANULADA'), 0) "
                f"WHERE id IN ({marks})"
            ))
            refresh(self.job.session, today=self.job.today, invoice_ids=part)
        for start in range(0, len(note_ids), 500):
            refresh(self.job.session, today=self.job.today, invoice_ids=note_ids[start:start + 500])
