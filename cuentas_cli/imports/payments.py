"""Payments in bulk: `cuentas payments import FILE` (CSV or XLSX), the payments a spreadsheet or a
bank's download lists, recorded as `invoices pay` records one.

Each row names its invoice by id, or by serie-número (with the party's RUC/DNI or the kind when
two invoices share it), and gives the amount and the date, optionally the method and the
reference. The checks are `invoices pay`'s own (ledger/payments.check_payable, check_payment: no
overpayment, no future date, none before the invoice was issued, no payment on a note or an
ANULADA invoice), applied in the file's order so two rows on one invoice are checked against
what the first leaves. All rows or none unless `--partial`; `--dry-run` writes nothing.

Idempotent: a row equal to a payment already recorded (same invoice, date, amount, method and
reference) is skipped, counted as a multiset, so a second import of the file adds nothing while
two equal payments in one file are two payments. Set-based: the invoices are read in chunks, the
payments inserted with one executemany, the invoices' paid amounts and statuses written with
another, and one audit row tells the import.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cuentas_cli.admin import audit
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.errors import UsageError, ValidationError
from cuentas_cli.i18n import _
from cuentas_cli.imports import sources
from cuentas_cli.imports.columns import FIELDS, KIND_TO_DIRECTION, cell_text, date_order, load_mapping
from cuentas_cli.imports.context import ImportResult, Job, Options, check_partial
from cuentas_cli.imports.values import DateReader, RowError, currency_code, float_cents, unneutralise
from cuentas_cli.ledger.documents import (
    DECIMAL_STYLES,
    MARK_NAMES,
    MAX_AMOUNT_DIGITS,
    AmountStyleError,
    amount_style,
    check_numero,
    parse_amount,
    split_document,
)
from cuentas_cli.ledger.payments import normalise_method

if TYPE_CHECKING:
    from sqlmodel import Session

# Field -> accepted headers (after sources.normalise_header). The invoice's own fields take the
# invoice importer's names; the payment's are these.
PAYMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "invoice_id": ("invoice id", "id factura", "factura id", "id comprobante", "id"),
    "document": FIELDS["document"],
    "serie": FIELDS["serie"],
    "numero": FIELDS["numero"],
    "party_doc": FIELDS["party_doc"],
    "kind": FIELDS["kind"],
    "amount": ("monto", "importe", "amount", "pago", "monto pagado", "importe pagado", "monto del pago", "abono",
               "paid", "payment", "payment amount", "cobro", "monto cobrado"),
    "paid_on": ("fecha", "fecha pago", "fecha de pago", "fecha de cobro", "fecha cobro", "date", "paid on",
                "payment date", "fecha operacion", "fecha de operacion"),
    "currency": FIELDS["currency"],
    "method": ("metodo", "metodo de pago", "medio de pago", "forma de pago", "medio", "method", "payment method"),
    "reference": ("referencia", "reference", "nro operacion", "numero de operacion", "n operacion", "operacion",
                  "nro de operacion", "voucher", "constancia"),
}
_INDEX = {alias: name for name, aliases in PAYMENT_FIELDS.items() for alias in aliases}
LOOKUP_CHUNK = 500
DECIMAL_SCAN_ROWS = 10_000


def known_header(text: str) -> bool:
    return text in _INDEX


@dataclass(slots=True)
class Row:
    row_no: int
    cells: list[Any]
    invoice_id: int | None
    serie: str | None
    numero: int | None
    party_doc: str | None
    direction: str | None
    cents: int
    paid_on: date
    method: str
    reference: str | None
    currency: str | None


def resolve_payment_columns(header: list[str], mapping: dict[str, Any] | None) -> tuple[dict[str, int], list[str]]:
    """Field -> column index; an error naming what is missing and what was found."""
    positions: dict[str, int] = {}
    if mapping:
        for name, target in mapping["columns"].items():
            if name not in PAYMENT_FIELDS:
                raise ValidationError(_("mapping: {name} is not a payment field; use {fields}")
                                      .format(name=name, fields=", ".join(PAYMENT_FIELDS)))
            wanted = sources.normalise_header(target) if isinstance(target, str) else None
            found = [i for i, h in enumerate(header) if sources.normalise_header(h) == wanted] if wanted else []
            index = target - 1 if isinstance(target, int) and not isinstance(target, bool) else (found[0] if found else -1)
            if not 0 <= index < len(header):
                raise ValidationError(_("mapping: {name} = {target!r} is not a column of the file")
                                      .format(name=name, target=target))
            positions[name] = index
    ignored = []
    for index, text in enumerate(header):
        if index in positions.values():
            continue
        name = _INDEX.get(sources.normalise_header(text))
        if name is None or name in positions:
            if str(text or "").strip():
                ignored.append(sources.printable(str(text).strip()))
            continue
        positions[name] = index
    missing = [n for n in ("amount", "paid_on") if n not in positions]
    if not ({"invoice_id", "document"} & set(positions) or {"serie", "numero"} <= set(positions)):
        missing.append("document")
    if missing:
        found = ", ".join(sources.printable(str(h).strip()) for h in header if h and str(h).strip()) or "(no header)"
        expected = "; ".join(f"{n} ({', '.join(PAYMENT_FIELDS[n][:3])})" for n in missing)
        raise ValidationError(_("missing required column(s): {expected}. Found: {found}. Use --mapping FILE to name "
                                "them").format(expected=expected, found=found))
    return positions, ignored


def _plain_amount(text: str, style: str) -> int | None:
    """`1.234,56` / `1234,56` (comma) or `1,234.56` / `1234.56` (point) in céntimos, the amounts
    every bank and spreadsheet writes, without the general parser; None for anything else
    (signs, currency symbols, other groupings: the shared rule reads or refuses those)."""
    mark, group = (",", ".") if style == "comma" else (".", ",")
    whole, sep, frac = text.partition(mark)
    if sep and (len(frac) != 2 or not frac.isdigit()):
        return None
    if group in whole:
        parts = whole.split(group)
        if not (1 <= len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:])):
            return None
        whole = "".join(parts)
    if not (whole.isascii() and whole.isdigit()) or len(whole) > MAX_AMOUNT_DIGITS:
        return None
    return int(whole) * 100 + (int(frac) if sep else 0)


class AmountReader:
    """The amounts of one file: the decimal mark from --decimal-comma/--decimal-point, else from
    the first amount that shows it, else from the first DECIMAL_SCAN_ROWS rows; never a guess."""

    def __init__(self, source: sources.Source, column: int, style: str | None) -> None:
        self.source, self.column, self.style = source, column, style
        self.why = _("as --decimal-{style} says").format(style=style) if style else ""
        self.scanned = False

    def read(self, raw: Any, name: str, *, allow_negative: bool = False) -> int:
        if isinstance(raw, bool) or raw is None or raw == "":
            raise RowError(name, raw, _("empty: every payment needs an amount"))
        if isinstance(raw, int):
            return raw * 100
        if isinstance(raw, float):
            return float_cents(raw, name)
        text = unneutralise(str(raw).strip())
        if self.style is not None:
            fast = _plain_amount(text, self.style)
            if fast is not None:
                return fast
        if self.style is None:
            shown = amount_style(text)
            if shown in DECIMAL_STYLES:
                self.style, self.why = shown, _("as {value!r} shows").format(value=text)
            elif shown == "ambiguous" and not self.scanned:
                self.scanned = True
                self._scan()
        try:
            return parse_amount(text, field=name, decimal=self.style, allow_negative=allow_negative)
        except AmountStyleError as exc:
            if exc.ambiguous and self.style is None:
                raise RowError(name, raw, _("{reading}, and the first {rows:,} rows have no amount that shows the "
                                            "decimal mark: pass --decimal-comma or --decimal-point")
                               .format(reading=exc.reading, rows=DECIMAL_SCAN_ROWS)) from None
            raise RowError(name, raw, _("{detail}, but this file's amounts have a decimal {style} ({why})")
                           .format(detail=exc.detail, style=_(MARK_NAMES[self.style]), why=self.why)) from None
        except ValidationError as exc:
            raise RowError(name, raw, exc.message) from None

    def _scan(self) -> None:
        for seen, (row_no, cells) in enumerate(self.source.rows()):
            if seen >= DECIMAL_SCAN_ROWS:
                return
            if isinstance(cells, sources.ShortRow) or self.column >= len(cells) or not isinstance(cells[self.column], str):
                continue
            shown = amount_style(cells[self.column])
            if shown in DECIMAL_STYLES:
                self.style = shown
                self.why = _("as {value!r} in row {row} shows").format(value=cells[self.column].strip(), row=row_no)
                return


def _parse_rows(job: Job, dates: DateReader, amounts: AmountReader) -> Iterator[Row]:
    """Each row as a Row, or its row error recorded (the per-value caches: a file has a few hundred
    distinct dates, methods and kinds, not a hundred thousand)."""
    pos, header = job.pos, job.header
    names = {n: (str(header[i] or "").strip() or n) for n, i in pos.items()}
    default_direction = job.default_direction
    i_amount, i_date = pos["amount"], pos["paid_on"]
    date_cache: dict[Any, date | RowError] = {}
    word_cache: dict[tuple[str, Any], Any] = {}

    optional = ("invoice_id", "document", "serie", "numero", "party_doc", "kind", "method", "reference", "currency")
    at = [pos.get(name) for name in optional]

    def pick(cells: list[Any]) -> list[Any]:
        """The optional fields' cells of a row (stripped text, None for an empty or missing cell)."""
        n = len(cells)
        out = []
        for i in at:
            value = cells[i] if i is not None and i < n else None
            if value.__class__ is str:
                value = unneutralise(value.strip()) or None
            out.append(value)
        return out

    def word(name: str, raw: Any) -> Any:
        """A kind, method or currency cell read once per distinct value (a RowError when bad)."""
        key = (name, raw)
        found = word_cache.get(key)
        if found is None:
            text = cell_text(raw)
            if name == "kind":
                found = KIND_TO_DIRECTION.get(text.lower()) or RowError(names[name], raw, _("is not cxc or cxp"))
            elif name == "currency":
                found = currency_code(text) or RowError(names[name], raw, _("is not PEN or USD"))
            else:
                try:
                    found = normalise_method(text)
                except ValidationError as exc:
                    found = RowError(names[name], raw, exc.message)
            word_cache[key] = found
        if isinstance(found, RowError):
            raise found
        return found

    for row_no, cells in job.source.rows():
        if isinstance(cells, sources.ShortRow):
            job.result.rows += 1
            job.error(row_no, "", "", cells.message, cells)
            continue
        amount_cell = cells[i_amount] if i_amount < len(cells) else None
        if (amount_cell is None or amount_cell == "") and all(c is None or (isinstance(c, str) and not c.strip())
                                                              for c in cells):
            continue
        job.result.rows += 1
        try:
            invoice_id = serie = numero = None
            raw_id, raw_doc, raw_serie, raw_num, doc, raw_kind, raw_method, raw_ref, raw_currency = pick(cells)
            if raw_id is not None:
                text = cell_text(raw_id)
                if not (text.isascii() and text.isdigit()):
                    raise RowError(names["invoice_id"], raw_id, _("is not an invoice id (a whole number)"))
                invoice_id = int(text)
            elif raw_doc is not None:
                try:
                    serie, numero = split_document(cell_text(raw_doc))
                except ValidationError as exc:
                    raise RowError(names["document"], raw_doc, exc.message) from None
            else:
                if raw_serie is None or raw_num is None:
                    raise RowError(names.get("document") or names.get("serie", "serie"), "",
                                   _("empty: every payment names its invoice (id, or serie and número)"))
                serie = cell_text(raw_serie).upper()
                try:
                    numero = check_numero(cell_text(raw_num))
                except ValidationError as exc:
                    raise RowError(names["numero"], raw_num, exc.message) from None
            party_doc = cell_text(doc) if doc is not None else None
            direction = word("kind", raw_kind) if raw_kind is not None else default_direction
            cents = amounts.read(amount_cell, names["amount"])
            raw_date = cells[i_date] if i_date < len(cells) else None
            paid_on = date_cache.get(raw_date)
            if paid_on is None:
                if raw_date is None or cell_text(raw_date) == "":
                    paid_on = RowError(names["paid_on"], "", _("empty: every payment needs its date"))
                else:
                    paid_on = dates.parse(raw_date, names["paid_on"], raw_date)
                date_cache[raw_date] = paid_on
            if isinstance(paid_on, RowError):
                raise paid_on
            method = word("method", raw_method) if raw_method is not None else "transferencia"
            reference = cell_text(raw_ref) if raw_ref is not None else None
            currency = word("currency", raw_currency) if raw_currency is not None else None
        except RowError as exc:
            job.error(row_no, exc.column, exc.value, exc.message, cells)
            continue
        yield Row(row_no, cells, invoice_id, serie, numero, party_doc, direction, cents, paid_on, method, reference,
                  currency)


def import_payments(*, session: "Session", actor: Actor | None, path: Path, options: Options, today: date,
                    progress: Callable[[int, int, int], None] | None = None, config: Any = None) -> ImportResult:
    """Record the payments of one file in the session's transaction; raises ImportRejected
    (nothing written) on row errors unless `options.partial`."""
    from cuentas_cli.imports.payments_load import CHUNK_ROWS, Recorder
    from cuentas_cli.imports.pipeline import ImportRejected, file_sha256

    require(actor, "invoices.operate")
    started = time.perf_counter()
    check_partial(options)
    sources.check_input(path)
    mapping = load_mapping(options.mapping_path) if options.mapping_path else None
    fmt = sources.detect_format(path, options.format)
    if fmt == "ple":
        raise UsageError(_("{name}: a PLE register lists invoices, not payments; import it with `cuentas import`")
                         .format(name=path.name))
    order = date_order(options.date_format)
    source = sources.open_source(path, fmt, known=known_header, encoding=options.encoding,
                                 delimiter=options.delimiter, sheet=options.sheet)
    try:
        positions, ignored = resolve_payment_columns(source.header, mapping)
        result = ImportResult(file=path.name, sha256=file_sha256(path), format=source.format, dry_run=options.dry_run,
                              ignored_columns=ignored)
        direction = KIND_TO_DIRECTION.get(options.kind.lower()) if options.kind else None
        job = Job(session=session, actor=actor, source=source, positions=positions, options=options, today=today,
                  default_direction=direction, result=result, config=config)
        dates = DateReader(source, {"issue_date": positions["paid_on"]}, order)
        recorder = Recorder(job)
        try:
            pending: list[Row] = []
            for row in _parse_rows(job, dates, AmountReader(source, positions["amount"], options.decimal)):
                pending.append(row)
                if len(pending) >= CHUNK_ROWS:
                    recorder.chunk(pending)
                    pending = []
                    if progress:
                        progress(result.rows, source.position(), source.size)
            recorder.chunk(pending)
            recorder.finish()
            job.close_errors_file(keep=True)
        finally:
            job.close_errors_file(keep=False)
            recorder.close()
        if progress:
            progress(result.rows, source.size, source.size)
        result.rejected = job.all_errors_count
        result.seconds = time.perf_counter() - started
        if job.all_errors_count and not options.partial:
            first = result.errors[0].line() if result.errors else ""
            where = (_("; all of them in {path}").format(path=options.errors_path) if options.errors_path
                     else _("; pass --errors FILE for the full list"))
            raise ImportRejected(
                _("{n} row error(s) in {name}; no payment was recorded (first: {first}){where}. Fix the file, or "
                  "record the valid rows with --partial --errors FILE")
                .format(n=job.all_errors_count, name=path.name, first=first, where=where), result)
        summary = {k: v for k, v in result.summary().items()
                   if k not in ("committed", "updated", "anulados", "parties_created")}
        audit.record(session, actor, action="payments.import.dry_run" if options.dry_run else "payments.import",
                     entity="import", entity_id=result.sha256[:16],
                     after={**summary, "user": actor.username if actor else None})
        return result
    finally:
        source.close()
