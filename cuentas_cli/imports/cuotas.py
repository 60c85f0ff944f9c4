"""Cuotas in an import: the forma de pago (`forma_pago`) and one column pair per cuota
(`cuota_N_fecha`, `cuota_N_monto`, N = 1..36, as the UBL source emits them) read with the file's
own date and amount readers, checked with the ledger's rules (ledger/cuotas.py), and stored once
the invoices are in.

A file without any of these columns never reaches this module (convert.converter returns its
plain row function), so a cuota-less import does no extra work per row. A row in cuotas is due
on its last one (its due-date cell may be empty; if given it must agree); a row al contado
without a due date is due on its issue date. The cuotas are stored for the invoices this import
inserted; an invoice already stored keeps its cuotas, except with --on-duplicate update where a
row that carries cuotas replaces them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import _
from cuentas_cli.imports import sources
from cuentas_cli.imports.columns import CUOTA_PAIRS, cell_text
from cuentas_cli.imports.context import Job
from cuentas_cli.imports.values import RowError
from cuentas_cli.ledger import cuotas as rules

_FORMAS = {"contado": "contado", "al contado": "contado", "cash": "contado",
           "credito": "credito", "al credito": "credito", "credit": "credito"}
_CHUNK = 900  # invoice keys per query when the cuotas are stored


_BLANK = frozenset((None, ""))  # the common empty cells, found without a call (a UBL row has 72 cuota cells)


def _empty(value: Any) -> bool:
    return value is None or (value.strip() == "" if isinstance(value, str) else False)


def with_cuotas(job: Job, convert: Callable[[list[Any]], tuple | None], *, names: dict[int, str],
                due_at: int, date_of: Callable[[list[Any], int], date],
                amount: Callable[[list[Any], int | None, str | None], int | None]) -> Callable[[list[Any]], tuple | None]:
    """`convert` for a file with forma de pago or cuota columns: the record of a row in cuotas
    carries them as one more element (a list of ledger.cuotas.Cuota)."""
    pos = job.pos
    pairs: list[tuple[int, int, int]] = []  # (number, date column, amount column) of each pair the file has
    for n, (f, m) in enumerate(CUOTA_PAIRS, start=1):
        if (f in pos) != (m in pos):
            have, lacks = (f, m) if f in pos else (m, f)
            raise ValidationError(_("column {have} has no {lacks} beside it: a cuota needs its date and its amount "
                                    "(one column pair per cuota)")
                                  .format(have=names[pos[have]], lacks=lacks))
        if f in pos:
            pairs.append((n, pos[f], pos[m]))
    i_forma = pos.get("forma_pago")
    i_issue = pos["issue_date"]
    due_column = "due_date" in pos  # else convert reads the due date one past the file's cells (due_at)

    seen_formas: dict[Any, str | None] = {}  # a file spells its forma de pago a few ways, row after row

    def forma_of(cells: list[Any]) -> str | None:
        if i_forma is None:
            return None
        raw = cells[i_forma]
        if raw in seen_formas:
            return seen_formas[raw]
        text = sources.normalise_header(cell_text(raw))
        if not text:
            return None
        found = _FORMAS.get(text)
        if found is None:
            raise RowError(names[i_forma], raw, _("use contado or credito"))
        if len(seen_formas) < 64:
            seen_formas[raw] = found
        return found

    def convert_cuotas(cells: list[Any]) -> tuple | None:
        filled = [p for p in pairs if (cells[p[1]] not in _BLANK and not _empty(cells[p[1]]))
                  or (cells[p[2]] not in _BLANK and not _empty(cells[p[2]]))]
        forma = forma_of(cells)
        due_raw = cells[due_at] if due_column else ""
        if filled and forma == "contado":
            raise RowError(names[i_forma], cells[i_forma],
                           _("al contado has no cuotas: empty the cuota columns or say credito"))
        for _n, i_date, i_amount in filled:
            for i, other in ((i_date, i_amount), (i_amount, i_date)):
                if _empty(cells[i]):
                    raise RowError(names[i], "", _("empty, but {other} is filled: a cuota needs its date and its "
                                                   "amount").format(other=names[other]))
        days = [(date_of(cells, i_date), i_date) for _n, i_date, _m in filled]
        if days:
            issued = date_of(cells, i_issue)
            first, at = min(days)
            if first < issued:  # named here: the due date it would make would be blamed otherwise
                raise RowError(names[at], cells[at], _("cuota {n} is due on {due}, before the issue date {issued}")
                               .format(n=1, due=first.isoformat(), issued=issued.isoformat()))
        row = cells
        if _empty(due_raw) and (days or forma == "contado"):
            row = list(cells) if due_column else [*cells, ""]
            row[due_at] = max(days)[0] if days else cells[i_issue]  # the last cuota's; al contado, the issue date
        elif not due_column:
            row = [*cells, ""]
        record = convert(row)
        if record is None or not filled:
            return record
        last = max(d for d, _i in days)
        if record[8] != last:
            raise RowError(names[due_at], due_raw, _("is not the last cuota's date {last}: an invoice in cuotas is due "
                                                     "on its last one (leave the due date empty)")
                                                   .format(last=last.isoformat()))
        currency = record[9]
        items = [(d, amount(cells, i_amount, currency)) for (d, _i), (_n, _d, i_amount) in zip(days, filled)]
        try:
            plan = rules.check_cuotas(items, doc_type=record[4], issued=record[7], total_cents=record[13],
                                      detraccion_cents=record[15], retencion_cents=record[21], currency=currency)
        except ValidationError as exc:
            raise RowError(*_culprit(cells, filled, items, record[7]), exc.message) from None
        return (*record, plan)

    def _culprit(cells: list[Any], filled: list, items: list, issued: date) -> tuple[str, Any]:
        """The column a broken rule names: a cuota of zero, one due before the issue date, else the
        last cuota's amount (the sum, a boleta or a note in cuotas)."""
        for (_n, i_date, i_amount), (day, cents) in zip(filled, items):
            if cents <= 0:
                return names[i_amount], cells[i_amount]
            if day < issued:
                return names[i_date], cells[i_date]
        return names[filled[-1][2]], cells[filled[-1][2]]

    return convert_cuotas


class Cuotas:
    """The cuotas of the rows written, kept (only rows that carry cuotas) until the invoices are
    in, then stored in bulk."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.kept: list[tuple[int, tuple, list[rules.Cuota], list[Any]]] = []  # (row, invoice key, cuotas, cells)

    def keep(self, rows: list[tuple]) -> None:
        """(row number, party id, record, cells) of a written chunk."""
        for row_no, party_id, rec, cells in rows:
            if len(rec) > 22:
                self.kept.append((row_no, (rec[0], party_id, rec[4], rec[5], rec[6]), rec[22], cells))

    def drop(self, rows: set[int]) -> None:
        self.kept = [k for k in self.kept if k[0] not in rows]

    def store(self) -> None:
        """After the move into `invoice`: the cuotas of the invoices this import inserted (and,
        with --on-duplicate update, of the stored ones a row gives cuotas to), one query per
        chunk of keys and one executemany per chunk of cuotas."""
        from sqlalchemy import bindparam, delete, insert

        from cuentas_cli.db.tables import invoice_cuota
        from cuentas_cli.imports.stored import find_documents

        job = self.job
        update = job.options.on_duplicate == "update"
        columns = ("id", "status", "doc_type", "issue_date", "due_date", "total_cents", "detraccion_cents",
                   "retencion_cents", "currency")
        for start in range(0, len(self.kept), _CHUNK):
            part = self.kept[start:start + _CHUNK]
            found = find_documents(job, [k[1] for k in part], columns)
            values: list[dict[str, Any]] = []
            replaced: list[int] = []
            for row_no, key, plan, cells in part:
                inv = found.get(key)
                if inv is None or row_no in job.error_rows:
                    continue
                if inv["id"] <= job.max_before:
                    if not update or inv["status"] == "ANULADA" or not self._fits(row_no, inv, plan, cells):
                        continue  # already stored: its cuotas stay as they are
                    replaced.append(inv["id"])
                values.extend(rules.stored_rows(inv["id"], plan))
            if replaced:
                job.session.execute(delete(invoice_cuota).where(invoice_cuota.c.invoice_id.in_(
                    bindparam("ids", expanding=True))), {"ids": replaced})
            if values:
                job.session.execute(insert(invoice_cuota), values)
        self.kept = []

    def _fits(self, row_no: int, inv: dict[str, Any], plan: list[rules.Cuota], cells: list[Any]) -> bool:
        """A stored invoice's new cuotas against what it now holds (its retención too)."""
        from cuentas_cli.imports.stored import as_date

        try:
            if as_date(inv["due_date"]) != plan[-1].due_date:
                raise ValidationError(_("the stored invoice is due on {due}, not on the last cuota's date {last}")
                                      .format(due=as_date(inv["due_date"]).isoformat(),
                                              last=plan[-1].due_date.isoformat()))
            rules.check_cuotas([(c.due_date, c.amount_cents) for c in plan], doc_type=inv["doc_type"],
                               issued=as_date(inv["issue_date"]), total_cents=int(inv["total_cents"]),
                               detraccion_cents=int(inv["detraccion_cents"]),
                               retencion_cents=int(inv["retencion_cents"]), currency=inv["currency"])
        except ValidationError as exc:
            self.job.error(row_no, self.job.column("cuota_1_monto"), "",
                           _("cannot replace the cuotas of invoice {id}: {message}")
                           .format(id=inv["id"], message=exc.message), cells)
            return False
        return True
