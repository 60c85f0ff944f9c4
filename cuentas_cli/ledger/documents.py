"""Comprobantes: the shape rules of SUNAT documents and amounts, shared by `invoices add`,
`invoices edit` and the importer so one file and one command accept the same things.

Amounts are parsed from text to integer céntimos without passing through float.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import N_, _

DOC_TYPES = {"01": "factura", "03": "boleta", "07": "nota de crédito", "08": "nota de débito"}
NOTE_TYPES = ("07", "08")
IGV_RATE = Decimal("0.18")
MAX_NUMERO = 99_999_999
DETRACCION_THRESHOLD_CENTS = 70_000  # S/ 700.00: at or below it no detracción applies
RETENCION_BP = 300  # retención IGV: 3% of the total (above the same S/ 700)

_SERIE_ELECTRONIC = {
    "01": re.compile(r"^(F[A-Z0-9]{3}|E001)$"),
    "03": re.compile(r"^(B[A-Z0-9]{3}|EB01)$"),
    "07": re.compile(r"^([FB][A-Z0-9]{3}|E001|EB01)$"),
    "08": re.compile(r"^([FB][A-Z0-9]{3}|E001|EB01)$"),
}
_SERIE_PAPER = re.compile(r"^\d{4}$")


def check_doc_type(doc_type: str) -> str:
    value = doc_type.strip().zfill(2)
    if value not in DOC_TYPES:
        raise ValidationError(_("document type {doc_type!r}: use 01 (factura), 03 (boleta), 07 (nota de "
                                "crédito) or 08 (nota de débito)")
                              .format(doc_type=doc_type))
    return value


def check_serie(doc_type: str, serie: str) -> str:
    value = serie.strip().upper()
    if _SERIE_PAPER.match(value) or _SERIE_ELECTRONIC[doc_type].match(value):
        return value
    examples = {"01": "F001", "03": "B001"}.get(doc_type) or _("F001 or B001")
    raise ValidationError(_("serie {serie!r} does not fit a {doc_types_doc_type}: expected e.g. "
                            "{examples}, or 4 digits for paper")
                          .format(serie=serie, doc_types_doc_type=DOC_TYPES[doc_type], examples=examples))


def check_numero(numero: str | int) -> int:
    text = str(numero).strip()
    if not re.fullmatch(r"[0-9]+", text):
        raise ValidationError(_("número {numero!r}: must be a whole number from 1 to {MAX_NUMERO:,}")
                              .format(numero=numero, MAX_NUMERO=MAX_NUMERO))
    value = int(text)  # leading zeros are not significant: F001-00000123 is F001-123
    if not 1 <= value <= MAX_NUMERO:
        raise ValidationError(_("número {numero!r}: must be from 1 to {MAX_NUMERO:,}")
                              .format(numero=numero, MAX_NUMERO=MAX_NUMERO))
    return value


def split_document(text: str) -> tuple[str, int]:
    """'F001-123' -> ('F001', 123)."""
    serie, sep, numero = text.strip().upper().partition("-")
    if not sep:
        raise ValidationError(_("document {text!r}: expected SERIE-NUMERO, e.g. F001-123").format(text=text))
    return serie, check_numero(numero)


# --- amounts ----------------------------------------------------------------------------------
#
# An amount is digits with at most one decimal mark and, before it, optional thousands groups of
# three. The decimal mark is the point ("1,180.50", the style of SUNAT and of Peruvian systems) or
# the comma ("1.180,50", as Excel writes in a Spanish locale). A value shows its own style when it
# has both marks, a mark followed by 1-2 (or 4+) digits, or the same mark twice (thousands); a
# value such as "1.180" or "1,180" (one mark, three digits after it) could be either, and is read
# only when the caller says which (a file's evidence, --decimal-comma / --decimal-point).

DECIMAL_STYLES = ("point", "comma")
MAX_AMOUNT_DIGITS = 13  # integer digits: céntimos stay below 10**15
_MARK = {"point": ".", "comma": ","}
_SYMBOL_PREFIX = (("US$", "USD"), ("USD", "USD"), ("S/.", "PEN"), ("S/", "PEN"), ("PEN", "PEN"), ("$", "USD"))
_SYMBOL_SUFFIX = (("USD", "USD"), ("PEN", "PEN"))
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009")
_BODY = re.compile(r"[0-9.,]+")
_RATE = re.compile(r"[0-9]+(?:[.,][0-9]+)?")
_DIGITS = frozenset("0123456789")
_GROUPED = {".": re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+"), ",": re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")}
_AMBIGUOUS_INT = re.compile(r"[1-9][0-9]{0,2}")
CURRENCY_NAMES = {"PEN": N_("soles (S/)"), "USD": N_("dollars (US$)")}
MARK_NAMES = {"point": N_("point"), "comma": N_("comma")}


class AmountStyleError(ValidationError):
    """An amount whose decimal mark is ambiguous, or contradicts the style it is read with."""

    def __init__(self, message: str, *, ambiguous: bool, reading: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.ambiguous = ambiguous
        self.detail = detail  # for a contradiction: how the value is written ("written with a decimal comma")
        self.reading = reading  # for an ambiguous value: its two readings ("could be 1180 (...) or 1.18 (...)")


def _split_symbol(text: str) -> tuple[str | None, bool, str]:
    """'-S/ 1,180.00' -> ('PEN', True, '1,180.00'): the currency its symbol names, the sign,
    and the number without spaces."""
    s = text.strip()
    if s[:1] in _DIGITS and s[-1:] in _DIGITS and s.isascii() and " " not in s:
        return None, False, s  # the plain number most values are
    negative = False
    if len(s) > 1 and s[0] == "(" and s[-1] == ")":
        negative, s = True, s[1:-1].strip()
    if s[:1] == "-":
        if negative:
            return None, True, "(-)"  # a sign inside brackets: no amount, refused by the caller
        negative, s = True, s[1:].lstrip()
    symbol = None
    upper = s.upper()
    for mark, code in _SYMBOL_PREFIX:
        if upper.startswith(mark):
            symbol, s = code, s[len(mark):].lstrip()
            break
    else:
        upper = s.upper().rstrip()
        for mark, code in _SYMBOL_SUFFIX:
            if upper.endswith(mark):
                symbol, s = code, s.rstrip()[: -len(mark)].rstrip()
                break
    if s[:1] == "-" and not negative:
        negative, s = True, s[1:].lstrip()
    return symbol, negative, s.translate(_SPACES)


def _number_style(body: str) -> tuple[str | None, str, str]:
    """A number's own decimal style ('point', 'comma', None for none, 'ambiguous'), and its
    integer and fraction digits under that style (under the point reading when ambiguous).
    Raises ValueError when it is not a number at all."""
    if not _BODY.fullmatch(body) or body[-1] in ".,":
        raise ValueError(body)
    points, commas = body.count("."), body.count(",")
    if not points and not commas:
        return None, body, ""
    if points and commas:
        mark = "." if body.rfind(".") > body.rfind(",") else ","
        other = "," if mark == "." else "."
        whole, _, frac = body.rpartition(mark)
        if mark in whole or not (_GROUPED[other].fullmatch(whole) or whole.isdigit()):
            raise ValueError(body)
        return ("point" if mark == "." else "comma"), whole.replace(other, ""), frac
    mark = "." if points else ","
    if points + commas > 1:  # the same mark twice: thousands groups, no decimals
        if not _GROUPED[mark].fullmatch(body):
            raise ValueError(body)
        return ("comma" if mark == "." else "point"), body.replace(mark, ""), ""
    whole, _, frac = body.partition(mark)
    if len(frac) == 3 and _AMBIGUOUS_INT.fullmatch(whole):
        return "ambiguous", whole, frac
    return ("point" if mark == "." else "comma"), whole or "0", frac


def amount_style(text: str) -> str | None:
    """The decimal style an amount shows by itself: 'point' ('1,180.00', '1180.5'), 'comma'
    ('1.180,00', '350,75', '1.180.000'), 'ambiguous' ('1.180', '1,180') or None (no mark, or
    not a number)."""
    try:
        return _number_style(_split_symbol(str(text))[2])[0]
    except ValueError:
        return None


def _readings(whole: str, frac: str, mark: str) -> str:
    as_thousands = str(int(whole + frac))
    as_decimal = f"{whole}.{frac}".rstrip("0").rstrip(".")
    if mark == ".":
        return _("could be {thousands} (decimal comma, the point separating thousands) or {decimal} "
                 "(decimal point)").format(thousands=as_thousands, decimal=as_decimal)
    return _("could be {thousands} (decimal point, the comma separating thousands) or {decimal} "
             "(decimal comma)").format(thousands=as_thousands, decimal=as_decimal)


def parse_amount(text: str | int | Decimal, *, field: str = "amount", allow_negative: bool = False,
                 decimal: str | None = None, currency: str | None = None) -> int:
    """'1,234.50', 'S/ 1,234.50', 'US$ 99.00', '1.234,50', '350,75', Decimal('12.3') -> céntimos.

    `decimal` is the style the text is read with: 'point', 'comma', or None for the value's own
    evidence (an ambiguous '1.180' is then refused). A value written in the other style is an
    AmountStyleError. With `currency`, a symbol naming another currency ('US$ 10' for PEN) is an
    error. At most 2 decimals and MAX_AMOUNT_DIGITS integer digits; no exponents, NaN or infinity."""
    if isinstance(text, bool):
        raise ValidationError(_("{field} {text!r} is not an amount").format(field=field, text=text))
    if isinstance(text, int):
        if abs(text) >= 10 ** MAX_AMOUNT_DIGITS:
            raise ValidationError(_("{field} {text!r}: too large (at most {MAX_AMOUNT_DIGITS} digits "
                                    "before the decimals)")
                                  .format(field=field, text=text, MAX_AMOUNT_DIGITS=MAX_AMOUNT_DIGITS))
        cents = text * 100
    elif isinstance(text, Decimal):
        if not text.is_finite():
            raise ValidationError(_("{field} {text!r} is not an amount").format(field=field, text=text))
        if abs(text) >= 10 ** MAX_AMOUNT_DIGITS:
            raise ValidationError(_("{field} {text!r}: too large (at most {MAX_AMOUNT_DIGITS} digits "
                                    "before the decimals)")
                                  .format(field=field, text=text, MAX_AMOUNT_DIGITS=MAX_AMOUNT_DIGITS))
        if text != text.quantize(Decimal("0.01")):
            raise ValidationError(_("{field} {text!r}: at most 2 decimals").format(field=field, text=text))
        cents = int(text * 100)
    else:
        cents = _parse_amount_text(str(text), field=field, decimal=decimal, currency=currency)
    if cents < 0 and not allow_negative:
        raise ValidationError(_("{field} {text!r}: must be greater than zero")
                              .format(field=field, text=text))
    return cents


def _parse_amount_text(text: str, *, field: str, decimal: str | None, currency: str | None) -> int:
    if decimal is not None and decimal not in DECIMAL_STYLES:
        raise ValueError(f"decimal style {decimal!r}")
    symbol, negative, body = _split_symbol(text)
    if not body:
        raise ValidationError(_("{field} {text!r} is not an amount").format(field=field, text=text))
    try:
        style, whole, frac = _number_style(body)
    except ValueError:
        raise ValidationError(_("{field} {text!r} is not an amount: write digits with a decimal point or "
                                "comma, e.g. 1180.50, 1,180.50 or 1.180,50")
                              .format(field=field, text=text)) from None
    if symbol is not None and currency is not None and symbol != currency.upper():
        raise ValidationError(_("{field} {text!r} is in {currency_names_symbol}, but the document is in "
                                "{currency_names_get_curre}")
                              .format(field=field, text=text, currency_names_symbol=_(CURRENCY_NAMES[symbol]),
                                      currency_names_get_curre=_(CURRENCY_NAMES.get(currency.upper(), currency))))
    if style == "ambiguous":
        mark = body[len(whole)]
        if decimal is None and frac[2:].strip("0"):
            raise AmountStyleError(_("{field} {text!r}: at most 2 decimals (if the "
                                     "{point_if_mark_else_comma} separates thousands, write "
                                     "{int_whole_frac})")
                                   .format(field=field, text=text, point_if_mark_else_comma=_(MARK_NAMES['point' if mark == '.' else 'comma']), int_whole_frac=int(whole + frac)), ambiguous=True,
                                   reading=_readings(whole, frac, mark))
        if decimal is None:
            reading = _readings(whole, frac, mark)
            raise AmountStyleError(_("{field} {text!r}: {reading}; write it with its decimals (1,180.00 "
                                     "or 1.180,00) or without a separator (1180)")
                                   .format(field=field, text=text, reading=reading), ambiguous=True, reading=reading)
        if _MARK[decimal] != mark:  # the mark is this style's thousands separator
            whole, frac = whole + frac, ""
    elif style is not None and decimal is not None and style != decimal:
        written = _("written with a decimal {style}").format(style=_(MARK_NAMES[style]))
        raise AmountStyleError(_("{field} {text!r}: {written}, but the amounts are read with a decimal {decimal}")
                               .format(field=field, text=text, written=written, decimal=_(MARK_NAMES[decimal])),
                               ambiguous=False, detail=written)
    whole = whole.lstrip("0")
    if len(whole) > MAX_AMOUNT_DIGITS:
        raise ValidationError(_("{field} {text!r}: too large (at most {MAX_AMOUNT_DIGITS} digits before "
                                "the decimals)")
                              .format(field=field, text=text, MAX_AMOUNT_DIGITS=MAX_AMOUNT_DIGITS))
    if frac[2:].strip("0"):
        raise ValidationError(_("{field} {text!r}: at most 2 decimals").format(field=field, text=text))
    cents = int(whole or "0") * 100 + int((frac + "00")[:2])
    return -cents if negative else cents


def parse_rate(text: str | Decimal, *, field: str = "exchange rate") -> int:
    """An exchange rate with up to 4 decimals -> ten-thousandths (3.7391 -> 37391). The decimal
    mark may be a point or a comma ("3,7391", as Spanish-locale files write it): a rate is below
    1000 and has no thousands, so the comma can only be the decimal mark."""
    raw = str(text).strip()
    if not _RATE.fullmatch(raw):
        raise ValidationError(_("{field} {text!r} is not a number").format(field=field, text=text))
    value = Decimal(raw.replace(",", "."))
    if not value.is_finite() or value <= 0 or value > 1000:
        raise ValidationError(_("{field} {text!r}: must be a positive rate like 3.739")
                              .format(field=field, text=text))
    if value != value.quantize(Decimal("0.0001")):
        raise ValidationError(_("{field} {text!r}: at most 4 decimals").format(field=field, text=text))
    return int(value * 10000)


def split_total(*, total: int | None, base: int | None, igv: int | None, taxed: bool = True) -> tuple[int | None, int | None, int]:
    """(base, igv, total) in céntimos: total = base + igv within S/ 0.01; with only the total of a
    taxed invoice, base and IGV are derived at 18%."""
    if total is None:
        if base is None or igv is None:
            raise ValidationError(_("give the total (or both the base and the IGV)"))
        total = base + igv
    if total <= 0:
        raise ValidationError(_("the total must be greater than zero"))
    if base is not None and igv is not None:
        if abs(base + igv - total) > 1:
            raise ValidationError(
                _("total {total_100:.2f} is not base {base_100:.2f} + IGV {igv_100:.2f} (= "
                  "{base_igv_100:.2f})")
                .format(total_100=total / 100, base_100=base / 100, igv_100=igv / 100, base_igv_100=(base + igv) / 100)
            )
        return base, igv, total
    if base is not None:
        return base, total - base, total
    if igv is not None:
        return total - igv, igv, total
    if not taxed:
        return total, 0, total
    derived_base = int((Decimal(total) / (1 + IGV_RATE)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    return derived_base, total - derived_base, total


def percentage_cents(total_cents: int, basis_points: int) -> int:
    """A percentage (in basis points: 1200 = 12%) of an amount, rounded half up to the céntimo."""
    return int((Decimal(total_cents) * basis_points / 10000).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
