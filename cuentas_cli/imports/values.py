"""One cell's value, checked: dates, amounts written as numbers, currencies, identity documents,
detracción percentages, and the row error a bad cell makes.

Pure rules on a value (no database, no file); the converter (convert.py) calls them the first
time it sees a value and caches what they answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from cuentas_cli.errors import ValidationError
from cuentas_cli.imports import sources
from cuentas_cli.imports.columns import LABELS, PARTY_DOC_TYPES, cell_text
from cuentas_cli.ledger.documents import MAX_AMOUNT_DIGITS
from cuentas_cli.rules.dates import MAX_YEAR, MIN_YEAR, check_year
from cuentas_cli.rules.identity import validate_ruc
from cuentas_cli.i18n import _

_SLASH_DATE = re.compile(r"^([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})$")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ].*)?")
_EXCEL_SERIAL = re.compile(r"^[0-9]{5}(\.0+)?$")
_EXCEL_EPOCH = date(1899, 12, 30)
# Formula injection: text starting with these is neutralised with a leading apostrophe on
# export; the importer takes that apostrophe off again so a round trip gives the same text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class RowError(Exception):
    """One bad cell: the column (as the file names it), the value, and what is wrong."""

    def __init__(self, column: str, value: Any, message: str) -> None:
        super().__init__(message)
        self.column, self.value, self.message = column, value, message



def unneutralise(text: str) -> str:
    """Undo export's formula neutralisation: "'=SUMA(..)" -> "=SUMA(..)"."""
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_STARTS:
        return text[1:]
    return text


def float_cents(value: float, column: str) -> int:
    # A number cell in Excel is a binary double: 1180.4 arrives as 1180.4000000000001. Accept it
    # when it is within a millionth of a céntimo value; anything else has more than 2 decimals.
    if value != value or value in (float("inf"), float("-inf")):
        raise RowError(column, value, _("is not an amount"))
    if abs(value) >= 10**MAX_AMOUNT_DIGITS:
        raise RowError(column, value, _("too large (at most {MAX_AMOUNT_DIGITS} digits before the "
                                        "decimals)")
                                      .format(MAX_AMOUNT_DIGITS=MAX_AMOUNT_DIGITS))
    cents = round(value * 100)
    if abs(value * 100 - cents) > 1e-4:
        raise RowError(column, value, _("at most 2 decimals"))
    return int(cents)


def digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes '²' and other scripts' digits, which int() may refuse."""
    return text.isascii() and text.isdigit()


def cell_rows_text(cells: Iterable[Any]) -> list[str]:
    return [cell_text(c) if not isinstance(c, str) else c for c in cells]


class DateReader:
    """Dates of one file: ISO, DD/MM/YYYY or MM/DD/YYYY (the order from --date-format, the
    file's format, or else the file's own unambiguous dates, read when the first slash date is
    met) and Excel day numbers, within the years the ledger accepts."""

    def __init__(self, source: sources.Source, positions: dict[str, int], date_order: str | None) -> None:
        self.source = source
        self.pos = positions
        self.date_order = date_order

    def parse(self, value: Any, column: str, raw: Any) -> date | RowError:
        found = self._read(value, column, raw)
        if isinstance(found, date):
            try:
                check_year(found)
            except ValidationError:
                return RowError(column, raw, _("is outside the years {MIN_YEAR}-{MAX_YEAR}")
                                             .format(MIN_YEAR=MIN_YEAR, MAX_YEAR=MAX_YEAR))
        return found

    def _read(self, value: Any, column: str, raw: Any) -> date | RowError:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _excel_serial(value, column, raw)
        text = cell_text(value)
        if not text:
            return RowError(column, raw, _("empty: every invoice needs this date"))
        iso = _ISO_DATE.fullmatch(text)
        if iso:
            try:
                return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
            except ValueError:
                return RowError(column, raw, _("is not a valid date (YYYY-MM-DD)"))
        match = _SLASH_DATE.match(text)
        if match:
            if self.date_order is None:
                self.date_order = self._infer_date_order()
            a, b, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
            day, month = (a, b) if self.date_order != "mdy" else (b, a)
            if self.date_order == "iso":
                return RowError(column, raw, _("is not YYYY-MM-DD as --date-format says"))
            try:
                return date(year, month, day)
            except ValueError:
                fmt = "DD/MM/YYYY" if self.date_order != "mdy" else "MM/DD/YYYY"
                return RowError(column, raw, _("is not a valid date as {fmt}").format(fmt=fmt))
        if _EXCEL_SERIAL.match(text):
            return _excel_serial(float(text), column, raw)
        return RowError(column, raw, _("is not a date: use YYYY-MM-DD, DD/MM/YYYY (with --date-format if "
                                       "ambiguous) or an Excel date"))


    def _infer_date_order(self) -> str:
        """Day-first or month-first, from the file's own unambiguous dates (a day above 12);
        a file with none, or with both, needs --date-format. Never a guess."""
        dmy_at = mdy_at = None
        columns = [i for n, i in self.pos.items() if n in ("issue_date", "due_date") or n.startswith("cuota_") and
                   n.endswith("_fecha")]
        for row_no, cells in self.source.rows():
            if isinstance(cells, sources.ShortRow):
                continue
            for i in columns:
                if i >= len(cells):
                    continue
                match = _SLASH_DATE.match(cell_text(cells[i]))
                if not match:
                    continue
                a, b = int(match.group(1)), int(match.group(2))
                if a > 12 and b <= 12 and dmy_at is None:
                    dmy_at = (row_no, cell_text(cells[i]))
                elif b > 12 and a <= 12 and mdy_at is None:
                    mdy_at = (row_no, cell_text(cells[i]))
            if dmy_at and mdy_at:
                break
        if dmy_at and mdy_at:
            raise ValidationError(
                _("dates disagree: row {dmy_at_0} has {dmy_at_1} (DD/MM/YYYY) but row {mdy_at_0} has "
                  "{mdy_at_1} (MM/DD/YYYY); fix the file or pass --date-format")
                .format(dmy_at_0=dmy_at[0], dmy_at_1=dmy_at[1], mdy_at_0=mdy_at[0], mdy_at_1=mdy_at[1])
            )
        if dmy_at:
            return "dmy"
        if mdy_at:
            return "mdy"
        raise ValidationError(
            _("ambiguous dates: every date like 03/04/2026 could be DD/MM/YYYY or MM/DD/YYYY; pass "
              "--date-format DD/MM/YYYY (or MM/DD/YYYY)")
        )


def currency_code(value: str) -> str | None:
    v = value.strip().upper().replace(".", "").replace(" ", "")
    if v in ("", "PEN", "S/", "SOLES", "SOL", "S", "1", "MN"):
        return "PEN"
    if v in ("USD", "US$", "$", "DOLARES", "DÓLARES", "DOLAR", "2", "ME", "US"):
        return "USD"
    return None


def check_party_doc(declared: str, doc: str, column: str, raw: Any) -> tuple[str, str] | RowError:
    if not doc:
        return RowError(column, raw, _("empty: every invoice needs the RUC or DNI of its client or "
                                       "supplier"))
    kind = PARTY_DOC_TYPES.get(declared.strip().lower()) if declared else None
    if declared and kind is None:
        return RowError(LABELS["party_doc_type"], declared, _("identity document type: use 6 (RUC), 1 "
                                                              "(DNI), 4, 7, A or 0"))
    if kind is None:
        if len(doc) == 11 and doc.isdigit():
            kind = "6"
        elif len(doc) == 8 and doc.isdigit():
            kind = "1"
        else:
            return RowError(column, raw, _("is not a RUC (11 digits) or a DNI (8 digits); add a "
                                           "tipo_doc_identidad column for other documents"))
    if kind == "6":
        try:
            validate_ruc(doc)
        except ValidationError as exc:
            return RowError(column, raw, exc.message.split(": ", 1)[-1])
    elif kind == "1":
        if len(doc) != 8 or not doc.isdigit():
            return RowError(column, raw, _("DNI must be 8 digits"))
    elif not doc.isalnum() or len(doc) > 15:
        return RowError(column, raw, _("document number: letters and digits, at most 15"))
    return kind, doc.upper()


def detraccion_bp(raw: Any, column: str) -> int | None:
    value = cell_text(raw).rstrip("%").strip()
    if not value or value == "0":
        return None
    try:
        pct = Decimal(value)
    except InvalidOperation:
        raise RowError(column, raw, _("is not a percentage (e.g. 12)")) from None
    if not pct.is_finite() or pct <= 0 or pct > 100 or pct != pct.quantize(Decimal("0.01")):
        raise RowError(column, raw, _("is not a percentage from 0.01 to 100 (e.g. 12)"))
    return int(pct * 100)


def _excel_serial(value: float, column: str, raw: Any) -> date | RowError:
    if value != int(value) or not 1 <= value <= 2_958_465:
        return RowError(column, raw, _("is not a date (an Excel date is a whole day number)"))
    if not 20_000 <= value <= 80_000:
        return RowError(column, raw, _("is not a plausible Excel date (1954-2119)"))
    return _EXCEL_EPOCH + timedelta(days=int(value))



def retencion_cents(cents: int | None, *, column: str, raw: Any, doc_type: str, total: int, rate_e4: int,
                    detraccion_bp: int | None) -> int:
    """A retención column's amount, by the rules of `invoices add --retencion`: 3% of the total
    (to the céntimo either way, as systems round it), on an invoice above S/ 700 without
    detracción; 0 for an empty or zero cell."""
    from cuentas_cli.ledger.documents import DETRACCION_THRESHOLD_CENTS, RETENCION_BP, percentage_cents

    if not cents:
        return 0
    if doc_type in ("07", "08"):
        raise RowError(column, raw, _("detracción and retención apply to the invoice, not to a credit or debit note"))
    if detraccion_bp:
        raise RowError(column, raw, _("retención does not apply where detracción (SPOT) applies; choose one"))
    if total * rate_e4 // 10000 <= DETRACCION_THRESHOLD_CENTS:
        raise RowError(column, raw, _("retención does not apply at or below S/ {threshold:.2f}")
                       .format(threshold=DETRACCION_THRESHOLD_CENTS / 100))
    expected = percentage_cents(total, RETENCION_BP)
    if abs(cents - expected) > 1:
        raise RowError(column, raw, _("the retención is 3% of the total, {expected:.2f}").format(expected=expected / 100))
    return cents
