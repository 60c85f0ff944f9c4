"""Comprobantes: the shape rules of SUNAT documents and amounts, shared by `invoices add`,
`invoices edit` and the importer so one file and one command accept the same things.

Amounts are parsed from text to integer céntimos without passing through float.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from cuentas_cli.errors import ValidationError

DOC_TYPES = {"01": "factura", "03": "boleta", "07": "nota de crédito", "08": "nota de débito"}
NOTE_TYPES = ("07", "08")
IGV_RATE = Decimal("0.18")
MAX_NUMERO = 99_999_999
DETRACCION_THRESHOLD_CENTS = 70_000  # S/ 700.00: at or below it no detracción applies

_SERIE_ELECTRONIC = {
    "01": re.compile(r"^(F[A-Z0-9]{3}|E001)$"),
    "03": re.compile(r"^(B[A-Z0-9]{3}|EB01)$"),
    "07": re.compile(r"^([FB][A-Z0-9]{3}|E001|EB01)$"),
    "08": re.compile(r"^([FB][A-Z0-9]{3}|E001|EB01)$"),
}
_SERIE_PAPER = re.compile(r"^\d{4}$")
_AMOUNT_CLEAN = re.compile(r"^(S/\.?|US\$|\$|PEN|USD)\s*", re.IGNORECASE)


def check_doc_type(doc_type: str) -> str:
    value = doc_type.strip().zfill(2)
    if value not in DOC_TYPES:
        raise ValidationError(f"document type {doc_type!r}: use 01 (factura), 03 (boleta), 07 (nota de crédito) or 08 (nota de débito)")
    return value


def check_serie(doc_type: str, serie: str) -> str:
    value = serie.strip().upper()
    if _SERIE_PAPER.match(value) or _SERIE_ELECTRONIC[doc_type].match(value):
        return value
    examples = {"01": "F001", "03": "B001", "07": "F001 or B001", "08": "F001 or B001"}[doc_type]
    raise ValidationError(f"serie {serie!r} does not fit a {DOC_TYPES[doc_type]}: expected e.g. {examples}, or 4 digits for paper")


def check_numero(numero: str | int) -> int:
    text = str(numero).strip()
    if not text.isdigit():
        raise ValidationError(f"número {numero!r}: must be a whole number from 1 to {MAX_NUMERO:,}")
    value = int(text)  # leading zeros are not significant: F001-00000123 is F001-123
    if not 1 <= value <= MAX_NUMERO:
        raise ValidationError(f"número {numero!r}: must be from 1 to {MAX_NUMERO:,}")
    return value


def split_document(text: str) -> tuple[str, int]:
    """'F001-123' -> ('F001', 123)."""
    serie, sep, numero = text.strip().upper().partition("-")
    if not sep:
        raise ValidationError(f"document {text!r}: expected SERIE-NUMERO, e.g. F001-123")
    return serie, check_numero(numero)


def parse_amount(text: str | int | Decimal, *, field: str = "amount", allow_negative: bool = False) -> int:
    """'1,234.50', 'S/ 1,234.50', 'US$ 99.00', Decimal('12.3') -> céntimos; at most 2 decimals."""
    if isinstance(text, int):
        value = Decimal(text)
    elif isinstance(text, Decimal):
        value = text
    else:
        raw = _AMOUNT_CLEAN.sub("", str(text).strip()).replace(" ", "")
        negative = raw.startswith("(") and raw.endswith(")")
        raw = raw.strip("()")
        if "," in raw and "." in raw:
            raw = raw.replace(",", "")  # 1,234.50
        elif "," in raw and re.fullmatch(r"-?\d{1,3}(,\d{3})+", raw):
            raw = raw.replace(",", "")  # 1,234
        elif "," in raw:
            raise ValidationError(f"{field} {text!r}: use a point for decimals (1234.50)")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ValidationError(f"{field} {text!r} is not an amount") from None
        if negative:
            value = -value
    if not value.is_finite():
        raise ValidationError(f"{field} {text!r} is not an amount")
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError(f"{field} {text!r}: at most 2 decimals")
    cents = int(value * 100)
    if cents < 0 and not allow_negative:
        raise ValidationError(f"{field} {text!r}: must be greater than zero")
    if abs(cents) >= 10**15:
        raise ValidationError(f"{field} {text!r}: too large")
    return cents


def parse_rate(text: str | Decimal, *, field: str = "exchange rate") -> int:
    """An exchange rate with up to 4 decimals -> ten-thousandths (3.7391 -> 37391)."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValidationError(f"{field} {text!r} is not a number") from None
    if not value.is_finite() or value <= 0 or value > 1000:
        raise ValidationError(f"{field} {text!r}: must be a positive rate like 3.739")
    if value != value.quantize(Decimal("0.0001")):
        raise ValidationError(f"{field} {text!r}: at most 4 decimals")
    return int(value * 10000)


def split_total(*, total: int | None, base: int | None, igv: int | None, taxed: bool = True) -> tuple[int | None, int | None, int]:
    """(base, igv, total) in céntimos: total = base + igv within S/ 0.01; with only the total of a
    taxed invoice, base and IGV are derived at 18%."""
    if total is None:
        if base is None or igv is None:
            raise ValidationError("give the total (or both the base and the IGV)")
        total = base + igv
    if total <= 0:
        raise ValidationError("the total must be greater than zero")
    if base is not None and igv is not None:
        if abs(base + igv - total) > 1:
            raise ValidationError(
                f"total {total / 100:.2f} is not base {base / 100:.2f} + IGV {igv / 100:.2f} (= {(base + igv) / 100:.2f})"
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
