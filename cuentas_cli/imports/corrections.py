"""Credit notes of type 13 in a UBL import (catalogue 09: corrección del monto neto pendiente
y/o de las fechas de vencimiento, total 0.00): each replaces the cuotas of the invoice it
references by its own, once the import's invoices are in (so the invoice may come in the same
import), in the import's transaction, by the ledger's rule (ledger/cuotas.apply_correction).

Notes are applied in the order SUNAT issued them. A note applied before is skipped (a re-import
changes nothing); one issued before a note already applied to that invoice is skipped with a
notice, so an older note never undoes a newer one. A note whose invoice is not in the books, is
ANULADA or whose cuotas break SUNAT's rules for it is a row error naming the file.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import _
from cuentas_cli.imports.columns import KIND_TO_DIRECTION
from cuentas_cli.imports.context import Job
from cuentas_cli.imports.parties import party_kind
from cuentas_cli.imports.stored import RowView, find_documents
from cuentas_cli.ledger import cuotas as rules
from cuentas_cli.ledger.documents import check_numero, parse_amount

_COLUMNS = ("id", "status", "doc_type", "serie", "numero", "issue_date", "due_date", "total_cents",
            "detraccion_cents", "retencion_cents", "currency")


def apply(job: Job, corrections: list[tuple[int, Any, list[str]]]) -> None:
    """(row number, ubl_document.CuotaCorrection, cells) of the notes met, applied in issue order."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import party

    result = job.result
    ordered = sorted(corrections, key=lambda c: (c[1].issued, c[1].note))
    for row_no, note, cells in ordered:
        result.rows += 1
        label = f"{note.note[0]}-{note.note[1]}"
        try:
            issued = _day(note.issued, "cbc:IssueDate")
            numero = check_numero(note.note[1])
            ref_numero = check_numero(note.reference[2])
            items = [(_day(when, "Cuota/PaymentDueDate"), parse_amount(amount, field="Cuota/Amount"))
                     for when, amount in note.cuotas]
        except ValidationError as exc:
            job.error(row_no, "", "", exc.message, cells)
            continue
        direction = KIND_TO_DIRECTION[note.direction]
        party_id = job.session.execute(select(party.c.id).where(
            party.c.kind == party_kind(direction), party.c.doc_type == note.party[0],
            party.c.doc_number == note.party[1])).scalar()
        ref_type, ref_serie = note.reference[0], note.reference[1].upper()
        key = (direction, party_id, ref_type, ref_serie, ref_numero)
        found = find_documents(job, [key], _COLUMNS).get(key) if party_id is not None else None
        if found is None:
            job.error(row_no, "ref_numero", f"{ref_serie}-{ref_numero}",
                      _("credit note {note} (type 13) corrects the cuotas of {ref_type} {invoice} of {doc}, which is "
                        "not in the books: import that invoice first, or in the same import")
                      .format(note=label, ref_type=ref_type, invoice=f"{ref_serie}-{ref_numero}", doc=note.party[1]),
                      cells)
            continue
        try:
            outcome = rules.apply_correction(job.session, RowView(found), note=(note.note[0].upper(), numero),
                                             issued=issued, items=items, actor=job.actor, stamp=job.stamp)
        except ValidationError as exc:
            job.error(row_no, "cuota_1_monto", "", _("credit note {note} (type 13): {message}")
                      .format(note=label, message=exc.message), cells)
            continue
        if outcome == "applied":
            result.cuotas_corrected += 1
        else:
            result.skipped += 1
            if outcome == "superseded":
                job.source.notices.append(
                    _("{name}: credit note {note} (type 13) not applied: {invoice} has a later cuota correction")
                    .format(name=cells[0], note=label, invoice=f"{ref_serie}-{ref_numero}"))


def _day(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(_("{where} {value!r} is not a date (YYYY-MM-DD)").format(where=where, value=text[:40])) \
            from None
