"""Conversion: one row of cells -> the record of an invoice (a plain tuple), or a RowError.

`converter(job)` builds the function the import calls a million times: a closure over the
column positions and per-value caches (a file has a few thousand distinct RUCs, series and
dates, not a million), with inline fast paths for the plain values every system writes and the
shared document rules (ledger/documents.py, rules/identity.py) for everything else. The record:

    (direction, party doc type, party doc, name, doc type, serie, número, issue date, due date,
     currency, rate e4, base, igv, total, detracción bp, detracción cents, description,
     reference (type, serie, número) or None, status, party key, document key part + número[, cuotas])
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from cuentas_cli.errors import UsageError, ValidationError
from cuentas_cli.imports import sources
from cuentas_cli.imports.columns import KIND_TO_DIRECTION, LABELS, cell_text, has_cuota_columns
from cuentas_cli.imports.context import Job
from cuentas_cli.imports.parties import document_key_part, party_kind
from cuentas_cli.imports.values import (DateReader, RowError, check_party_doc, currency_code, detraccion_bp, digits,
                                        float_cents, retencion_cents, unneutralise)
from cuentas_cli.ledger.documents import (
    DECIMAL_STYLES,
    DETRACCION_THRESHOLD_CENTS,
    MARK_NAMES,
    MAX_AMOUNT_DIGITS,
    AmountStyleError,
    amount_style,
    check_doc_type,
    check_numero,
    check_serie,
    parse_amount,
    parse_rate,
    percentage_cents,
    split_document,
    split_total,
)
from cuentas_cli.ledger.statuses import status_for
from cuentas_cli.i18n import N_, _

# Amounts whose decimal mark could be a point or a comma ("1.180") are read by the evidence of
# the file's other amounts; this many rows from the top are looked at, never the whole file.
DECIMAL_SCAN_ROWS = 10_000
_DECIMAL_OPTIONS = N_("pass --decimal-comma or --decimal-point")


def converter(job: Job, dates: DateReader) -> Callable[[list[Any]], tuple | None]:
    """The row -> record function of one import (None for a row the register marks anulado)."""
    pos = job.pos
    header = job.header

    def col(name: str) -> int | None:
        return pos.get(name)

    i_kind, i_doc, i_doctype_party, i_name = col("kind"), col("party_doc"), col("party_doc_type"), col("party_name")
    i_type, i_serie, i_num, i_document = col("doc_type"), col("serie"), col("numero"), col("document")
    i_issue, i_due, i_cur, i_rate = col("issue_date"), col("due_date"), col("currency"), col("rate")
    i_base, i_igv, i_total, i_desc = col("base"), col("igv"), col("total"), col("description")
    i_det, i_rtype, i_rserie, i_rnum = col("detraccion"), col("ref_doc_type"), col("ref_serie"), col("ref_numero")
    i_ple, i_ret = col("ple_status"), col("retencion")
    names = {i: (header[i].strip() or LABELS.get(n, n)) for n, i in pos.items()}
    if i_due is None:  # a file in cuotas without a due-date column: imports/cuotas.py appends it to the row
        i_due = len(header)
        names[i_due] = LABELS["due_date"]
    default_direction = job.default_direction
    is_ple = job.source.format == "ple"
    today = job.today

    parse_date = dates.parse
    rates: dict[tuple[str, date], int | str] = {}

    def fx_rate(currency: str, issued: date, column: str) -> int:
        from cuentas_cli.ledger.fx import sell_rate_e4

        key = (currency, issued)
        found = rates.get(key)
        if found is None:
            try:
                found = sell_rate_e4(job.session, on=issued, currency=currency)
            except ValidationError as exc:
                found = exc.message
            rates[key] = found
        if isinstance(found, str):
            raise RowError(column, "", _("empty and {found}").format(found=found))
        return found

    kind_cache: dict[str, str] = {}
    doc_cache: dict[tuple[str, str], tuple[str, str] | RowError] = {}
    type_cache: dict[str, str | RowError] = {}
    serie_cache: dict[tuple[str, str], str | RowError] = {}
    date_cache: dict[Any, date | RowError] = {}
    cur_cache: dict[str, str] = {}
    rate_cache: dict[Any, int | RowError] = {}
    status_cache: dict[date, str] = {}

    def get(cells: list[Any], i: int | None) -> Any:
        if i is None:
            return ""
        value = cells[i]
        return value.strip() if isinstance(value, str) else value

    def direction_of(cells: list[Any]) -> str:
        raw = cells[i_kind]
        value = raw.strip() if isinstance(raw, str) else cell_text(raw)
        if not value:
            if default_direction:
                return default_direction
            raise RowError(names[i_kind], raw, _("empty: cxc (receivable) or cxp (payable)"))
        found = kind_cache.get(value)
        if found is None:
            found = KIND_TO_DIRECTION.get(sources.normalise_header(value))
            if found is None:
                raise RowError(names[i_kind], raw, _("use cxc (receivable) or cxp (payable)"))
            kind_cache[value] = found
        return found

    def party_doc(cells: list[Any]) -> tuple[str, str]:
        raw = cells[i_doc]
        doc = raw.strip() if isinstance(raw, str) else cell_text(raw)
        declared = cell_text(cells[i_doctype_party]) if i_doctype_party is not None else ""
        key = (declared, doc)
        found = doc_cache.get(key)
        if found is None:
            found = check_party_doc(declared, doc, names[i_doc], raw)
            doc_cache[key] = found
        if isinstance(found, RowError):
            raise found
        return found

    def doc_type_of(cells: list[Any]) -> str:
        if i_type is None:
            return "01"
        raw = cells[i_type]
        value = raw.strip() if isinstance(raw, str) else cell_text(raw)
        if not value:
            return "01"
        found = type_cache.get(value)
        if found is None:
            try:
                found = check_doc_type(value)
            except ValidationError as exc:
                found = RowError(names[i_type], raw, exc.message)
            type_cache[value] = found
        if isinstance(found, RowError):
            raise found
        return found

    def serie_numero(cells: list[Any], doc_type: str) -> tuple[str, int]:
        if i_serie is not None and i_num is not None:
            raw_serie, raw_num = cells[i_serie], cells[i_num]
            serie_text = raw_serie.strip() if isinstance(raw_serie, str) else cell_text(raw_serie)
            num_text = raw_num.strip() if isinstance(raw_num, str) else cell_text(raw_num)
        else:
            raw = cells[i_document]
            try:
                serie_text, number = split_document(cell_text(raw))
            except ValidationError as exc:
                raise RowError(names[i_document], raw, exc.message) from None
            num_text = str(number)
            raw_serie = raw_num = raw
        key = (doc_type, serie_text)
        serie = serie_cache.get(key)
        if serie is None:
            try:
                serie = check_serie(doc_type, serie_text.zfill(4) if digits(serie_text) else serie_text)
            except ValidationError as exc:
                serie = RowError(names[i_serie if i_serie is not None else i_document], raw_serie, exc.message)
            serie_cache[key] = serie
        if isinstance(serie, RowError):
            raise serie
        if digits(num_text) and 0 < len(num_text) <= 8 and num_text != "0" * len(num_text):
            return serie, int(num_text)
        try:
            return serie, check_numero(num_text)
        except ValidationError as exc:
            raise RowError(names[i_num if i_num is not None else i_document], raw_num, exc.message) from None

    def date_of(cells: list[Any], i: int) -> date:
        raw = cells[i]
        key = raw.strip() if isinstance(raw, str) else raw
        found = date_cache.get(key)
        if found is None:
            found = parse_date(key, names[i], raw)
            if not isinstance(found, RowError) and not isinstance(key, (list, dict)):
                date_cache[key] = found
        if isinstance(found, RowError):
            raise found
        return found

    # The decimal mark of the file's amounts: from --decimal-comma/--decimal-point, else from
    # the first amount that shows it (1,180.50 / 1.180,50 / 350,75); an amount that could be
    # either (1.180) while nothing has shown it looks at the first DECIMAL_SCAN_ROWS rows.
    style = job.options.decimal
    if style is not None and style not in DECIMAL_STYLES:
        raise UsageError(_("decimal style {style!r}: use --decimal-comma or --decimal-point")
                         .format(style=style))
    style_why = _("as --decimal-{style} says").format(style=style) if style else ""
    point_fast = style == "point"  # the inline "1234.50" paths of convert() apply
    scanned = False

    def decide(found: str, why: str) -> None:
        nonlocal style, style_why, point_fast
        style, style_why, point_fast = found, why, found == "point"

    def amount(cells: list[Any], i: int | None, currency: str | None = None) -> int | None:
        nonlocal scanned
        if i is None:
            return None
        raw = cells[i]
        if isinstance(raw, str):
            s = raw.strip()
            if not s:
                return None
            # Fast paths for the plain "1234.50" / "1234,50" every system writes; anything else
            # goes through the shared rule (thousands separators, S/ and US$, parentheses).
            if len(s) > 3 and s.isascii() and s[:-3].isdigit() and s[-2:].isdigit():
                if s[-3] == "." and point_fast or s[-3] == "," and style == "comma":
                    return int(s[:-3]) * 100 + int(s[-2:])
            if style is None:
                shown = amount_style(s)
                if shown in DECIMAL_STYLES:
                    decide(shown, _("as {value!r} shows").format(value=s))
                elif shown == "ambiguous" and not scanned:
                    scanned = True
                    found = _infer_decimal(job)
                    if found is not None:
                        decide(found[0], _("as {value!r} in row {row} shows").format(value=found[2], row=found[1]))
            prefix = f"{names[i]} {s!r}"
            try:
                return parse_amount(s, field=names[i], allow_negative=True, decimal=style, currency=currency)
            except AmountStyleError as exc:
                if exc.ambiguous and style is None:
                    message = _("{reading}, and the first {rows:,} rows have no amount that shows the decimal "
                                "mark: {options}").format(reading=exc.reading, rows=DECIMAL_SCAN_ROWS,
                                                          options=_(_DECIMAL_OPTIONS))
                else:
                    detail = exc.detail
                    message = _("{detail}, but this file's amounts have a decimal {style} ({why}): fix the "
                                "value, or {options}").format(detail=detail, style=_(MARK_NAMES[style]), why=style_why,
                                                              options=_(_DECIMAL_OPTIONS))
                raise RowError(names[i], raw, message) from None
            except ValidationError as exc:
                message = exc.message[len(prefix):].lstrip(": ") if exc.message.startswith(prefix) else exc.message
                raise RowError(names[i], raw, message) from None
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise RowError(names[i], raw, _("is not an amount"))
        if isinstance(raw, int):
            if abs(raw) >= 10**MAX_AMOUNT_DIGITS:
                raise RowError(names[i], raw, _("too large (at most {MAX_AMOUNT_DIGITS} digits before "
                                                "the decimals)")
                                              .format(MAX_AMOUNT_DIGITS=MAX_AMOUNT_DIGITS))
            return raw * 100
        return float_cents(raw, names[i])

    def currency_of(cells: list[Any]) -> str:
        if i_cur is None:
            return "PEN"
        raw = cells[i_cur]
        value = raw.strip() if isinstance(raw, str) else cell_text(raw)
        found = cur_cache.get(value)
        if found is None:
            found = currency_code(value)
            if found is None:
                raise RowError(names[i_cur], raw, _("use PEN (soles) or USD"))
            cur_cache[value] = found
        return found

    def rate_of(cells: list[Any], currency: str, issued: date) -> int:
        if currency == "PEN":
            return 10000
        raw = cells[i_rate] if i_rate is not None else ""
        key = raw.strip() if isinstance(raw, str) else raw
        if key in ("", None):
            return fx_rate(currency, issued, names.get(i_rate, "tipo_cambio"))
        found = rate_cache.get(key)
        if found is None:
            try:
                value = repr(key) if isinstance(key, float) else str(key)
                found = parse_rate(value)
            except ValidationError as exc:
                found = RowError(names[i_rate], raw, exc.message)
            rate_cache[key] = found
        if isinstance(found, RowError):
            raise found
        return found

    def text_of(cells: list[Any], i: int | None, limit: int) -> str | None:
        if i is None:
            return None
        value = cell_text(cells[i])
        return unneutralise(value)[:limit] if value else None

    # Fast paths: a raw cell value seen before maps straight to its checked value (a file
    # of a million rows has a few thousand distinct RUCs, series and dates).
    fast_kind: dict[Any, str] = {}
    fast_doc: dict[Any, tuple[str, str]] = {}
    fast_type: dict[Any, str] = {}
    fast_date: dict[Any, date] = {}
    fast_serie: dict[tuple, tuple[str, int]] = {}  # (doc type, raw serie) -> (serie, its part of the key)
    party_keys: dict[str, dict[Any, tuple[str, str, str]]] = {"receivable": {}, "payable": {}}
    fast_cur: dict[Any, str] = {}
    fast_name: dict[Any, str] = {}
    total_col = names[i_total] if i_total is not None else names.get(i_base, "total")

    def convert(cells: list[Any]) -> tuple | None:
        if i_ple is not None and is_ple and cell_text(cells[i_ple]) == "2":
            return None  # anulado in the register
        if i_kind is not None:
            direction = fast_kind.get(cells[i_kind])
            if direction is None:
                direction = direction_of(cells)
                if cells[i_kind].__hash__ is not None:
                    fast_kind[cells[i_kind]] = direction
        else:
            direction = default_direction
        if i_doctype_party is None:
            party = fast_doc.get(cells[i_doc])
            if party is None:
                party = party_doc(cells)
                fast_doc[cells[i_doc]] = party
            known_keys = party_keys[direction]
            party_key = known_keys.get(cells[i_doc])
            if party_key is None:
                party_key = known_keys[cells[i_doc]] = (party_kind(direction), party[0], party[1])
        else:
            party = party_doc(cells)
            party_key = (party_kind(direction), party[0], party[1])
        if i_name is not None:
            name = fast_name.get(cells[i_name])
            if name is None:
                name = text_of(cells, i_name, 255) or ""
                fast_name[cells[i_name]] = name
        else:
            name = ""
        if i_type is None:
            doc_type = "01"
        else:
            doc_type = fast_type.get(cells[i_type])
            if doc_type is None:
                doc_type = doc_type_of(cells)
                fast_type[cells[i_type]] = doc_type
        if i_serie is not None and i_num is not None:
            found = fast_serie.get((doc_type, cells[i_serie]))
            num_text = cells[i_num]
            if found is not None and num_text.__class__ is str and num_text.isascii() and num_text.isdigit() \
                    and 0 < len(num_text) <= 8 and int(num_text) > 0:
                serie, key_part = found
                numero = int(num_text)
            elif found is not None and num_text.__class__ is float and num_text.is_integer() and 0 < num_text < 1e8:
                serie, key_part = found
                numero = int(num_text)  # a number cell of a workbook
            else:
                serie, numero = serie_numero(cells, doc_type)
                key_part = document_key_part(doc_type, serie)
                fast_serie[(doc_type, cells[i_serie])] = (serie, key_part)
        else:
            serie, numero = serie_numero(cells, doc_type)
            key_part = document_key_part(doc_type, serie)
        issued = fast_date.get(cells[i_issue])
        if issued is None:
            issued = date_of(cells, i_issue)
            fast_date[cells[i_issue]] = issued
        due_raw = cells[i_due]
        due = fast_date.get(due_raw)
        if due is None:
            if is_ple and cell_text(due_raw) in ("", "01/01/0001"):
                due = issued  # PLE: no due date means paid or due on issue (al contado)
            else:
                due = date_of(cells, i_due)
                fast_date[due_raw] = due
        if due < issued:
            raise RowError(names[i_due], due_raw, _("due date {due_isoformat} is before the issue date "
                                                    "{issued_isoformat}")
                                                  .format(due_isoformat=due.isoformat(), issued_isoformat=issued.isoformat()))
        if i_cur is None:
            currency = "PEN"
        else:
            currency = fast_cur.get(cells[i_cur])
            if currency is None:
                currency = currency_of(cells)
                fast_cur[cells[i_cur]] = currency
        # The plain "1234.50" every system writes, parsed inline (this runs a million times);
        # anything else goes through the shared rule in amount().
        s = cells[i_total] if i_total is not None else None
        if point_fast and s.__class__ is str and len(s) > 3 and s[-3] == "." and s.isascii() and s[:-3].isdigit() \
                and s[-2:].isdigit():
            total = int(s[:-3]) * 100 + int(s[-2:])
        elif s.__class__ is float and -1e15 < (c := s * 100) < 1e15 and -1e-4 <= c - (r := round(c)) <= 1e-4:
            total = r  # a number cell (see values.float_cents)
        else:
            total = amount(cells, i_total, currency)
        s = cells[i_base] if i_base is not None else None
        if point_fast and s.__class__ is str and len(s) > 3 and s[-3] == "." and s.isascii() and s[:-3].isdigit() \
                and s[-2:].isdigit():
            base = int(s[:-3]) * 100 + int(s[-2:])
        elif s.__class__ is float and -1e15 < (c := s * 100) < 1e15 and -1e-4 <= c - (r := round(c)) <= 1e-4:
            base = r  # a number cell (see values.float_cents)
        else:
            base = amount(cells, i_base, currency)
        s = cells[i_igv] if i_igv is not None else None
        if point_fast and s.__class__ is str and len(s) > 3 and s[-3] == "." and s.isascii() and s[:-3].isdigit() \
                and s[-2:].isdigit():
            igv = int(s[:-3]) * 100 + int(s[-2:])
        elif s.__class__ is float and -1e15 < (c := s * 100) < 1e15 and -1e-4 <= c - (r := round(c)) <= 1e-4:
            igv = r  # a number cell (see values.float_cents)
        else:
            igv = amount(cells, i_igv, currency)
        if (total is not None and total < 0) or (base is not None and base < 0) or (igv is not None and igv < 0):
            if doc_type != "07":
                raise RowError(total_col, cells[i_total] if i_total is not None else cells[i_base],
                               _("negative amount on a document that is not a nota de crédito (07)"))
            total, base, igv = (None if v is None else -v for v in (total, base, igv))
        if total is None:
            if base is None or igv is None:
                raise RowError(total_col, "", _("empty: give the total (or the base and the IGV)"))
            total = base + igv
        if total <= 0 or total >= 10**15:
            raise RowError(total_col, cells[i_total] if i_total is not None else "",
                           "the total must be greater than zero" if total <= 0 else "too large")
        if base is not None:
            if igv is None:
                igv = total - base
            elif abs(base + igv - total) > 1:
                raise RowError(total_col, cells[i_total] if i_total is not None else "",
                               _("total {total_100:.2f} is not base {base_100:.2f} + IGV {igv_100:.2f}")
                               .format(total_100=total / 100, base_100=base / 100, igv_100=igv / 100))
        elif igv is not None:
            base = total - igv
        else:
            base, igv, total = split_total(total=total, base=None, igv=None)  # the shared 18% derivation
        if base < 0 or igv < 0:  # e.g. a base above the total: the IGV would come out negative
            raise RowError(total_col, cells[i_total] if i_total is not None else "",
                           _("total {total_100:.2f} cannot be base {base_100:.2f} + IGV {igv_100:.2f}: "
                             "neither can be negative")
                           .format(total_100=total / 100, base_100=base / 100, igv_100=igv / 100))
        rate = 10000 if currency == "PEN" else rate_of(cells, currency, issued)
        det_bp = det_cents = None
        if i_det is not None:
            det_bp = detraccion_bp(cells[i_det], names[i_det])
            if det_bp:
                total_pen = total * rate // 10000
                det_cents = percentage_cents(total, det_bp) if total_pen > DETRACCION_THRESHOLD_CENTS else 0
        ret_cents = 0 if i_ret is None else retencion_cents(amount(cells, i_ret, currency), column=names[i_ret],
                                                            raw=cells[i_ret], doc_type=doc_type, total=total,
                                                            rate_e4=rate, detraccion_bp=det_bp)
        ref = None
        if i_rserie is not None and i_rnum is not None and (doc_type == "07" or doc_type == "08"):
            rserie, rnum = cell_text(cells[i_rserie]), cell_text(cells[i_rnum])
            if rserie and rserie != "-" and rnum and rnum != "-":
                rtype_raw = cell_text(cells[i_rtype]) if i_rtype is not None else "01"
                try:
                    rtype = check_doc_type(rtype_raw or "01")
                    ref = (rtype, rserie.upper(), check_numero(rnum))
                except ValidationError as exc:
                    raise RowError(names[i_rnum], rnum, _("reference: {message}")
                                                        .format(message=exc.message)) from None
        status = status_cache.get(due)
        if status is None:
            status = status_for(total_cents=1, adjust_cents=0, paid_cents=0, due_date=due, today=today, current="PENDIENTE")
            status_cache[due] = status
        description = text_of(cells, i_desc, 10_000) if i_desc is not None else None
        return (direction, party[0], party[1], name, doc_type, serie, numero, issued, due, currency, rate, base, igv,
                total, det_bp, det_cents or 0, description, ref, status, party_key, key_part + numero, ret_cents)

    if has_cuota_columns(pos):  # else no extra work per row
        from cuentas_cli.imports.cuotas import with_cuotas

        return with_cuotas(job, convert, names=names, due_at=i_due, date_of=date_of, amount=amount)
    return convert


def _infer_decimal(job: Job) -> tuple[str, int, str] | None:
    """(style, row, value) of the first amount in the first DECIMAL_SCAN_ROWS rows that shows
    its decimal mark (1,180.50 / 1.180,50 / 350,75), or None."""
    columns = [job.pos[n] for n in ("total", "base", "igv") if n in job.pos]
    for seen, (row_no, cells) in enumerate(job.source.rows()):
        if seen >= DECIMAL_SCAN_ROWS:
            break
        if isinstance(cells, sources.ShortRow):
            continue
        for i in columns:
            if i < len(cells) and isinstance(cells[i], str):
                shown = amount_style(cells[i])
                if shown in DECIMAL_STYLES:
                    return shown, row_no, cells[i].strip()
    return None
