"""Peruvian identity documents: RUC and DNI check digits (peru-reference.md)."""

from __future__ import annotations

from cuentas_cli.errors import ValidationError

RUC_PREFIXES = ("10", "15", "16", "17", "20")
_RUC_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def ruc_check_digit(first_ten: str) -> int:
    total = sum(int(d) * w for d, w in zip(first_ten, _RUC_WEIGHTS))
    return (11 - total % 11) % 10


def validate_ruc(value: str) -> str:
    """Return the RUC if valid; otherwise say exactly what is wrong."""
    ruc = value.strip()
    if len(ruc) != 11 or not ruc.isdigit():
        raise ValidationError(f"RUC {ruc}: must be 11 digits")
    if ruc[:2] not in RUC_PREFIXES:
        raise ValidationError(f"RUC {ruc}: prefix {ruc[:2]} is not one of {', '.join(RUC_PREFIXES)}")
    expected = ruc_check_digit(ruc[:10])
    if int(ruc[10]) != expected:
        raise ValidationError(f"RUC {ruc}: check digit should be {expected}, not {ruc[10]}")
    return ruc
