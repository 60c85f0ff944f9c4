"""Peruvian identity documents: RUC and DNI check digits, the other document shapes of SUNAT
catalogue 06, and e-mail addresses (facts in peru-reference.md).

Every validator returns the normalised value or raises ValidationError with a message that
says exactly what is wrong, e.g. `RUC 20123456789: check digit should be 6, not 9`.
"""

from __future__ import annotations

import re

from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import _

RUC_PREFIXES = ("10", "15", "16", "17", "20")
_RUC_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_DNI_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
_DNI_DIGITS = "65432110987"
_DNI_LETTERS = "KJIHGFEDCBA"

# SUNAT catalogue 06: code -> (label, longest number)
DOC_TYPES: dict[str, tuple[str, int]] = {
    "0": ("otros / no domiciliado", 15),
    "1": ("DNI", 8),
    "4": ("carné de extranjería", 12),
    "6": ("RUC", 11),
    "7": ("pasaporte", 12),
    "A": ("cédula diplomática", 15),
}
DOC_TYPE_ALIASES = {
    "00": "0", "otros": "0", "other": "0",
    "01": "1", "dni": "1",
    "04": "4", "ce": "4", "carne": "4", "carnet": "4",
    "06": "6", "ruc": "6",
    "07": "7", "pasaporte": "7", "passport": "7", "pas": "7",
    "a": "A", "0a": "A", "diplomatico": "A",
}
# Types a lookup provider can verify (SUNAT for RUC, RENIEC for DNI).
LOOKUP_DOC_TYPES = ("1", "6")

_ALNUM = re.compile(r"^[A-Z0-9]+$")
_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


def ruc_check_digit(first_ten: str) -> int:
    total = sum(int(d) * w for d, w in zip(first_ten, _RUC_WEIGHTS))
    return (11 - total % 11) % 10


def _ascii_digits(text: str) -> bool:
    """0-9 only: str.isdigit() also takes '²' and other scripts' digits, which int() refuses."""
    return text.isascii() and text.isdigit()


def validate_ruc(value: str) -> str:
    """Return the RUC if valid; otherwise say exactly what is wrong."""
    ruc = value.strip()
    if len(ruc) != 11 or not _ascii_digits(ruc):
        raise ValidationError(_("RUC {ruc}: must be 11 digits").format(ruc=ruc))
    if ruc[:2] not in RUC_PREFIXES:
        raise ValidationError(_("RUC {ruc}: prefix {ruc_2} is not one of {join_ruc_prefixes}")
                              .format(ruc=ruc, ruc_2=ruc[:2], join_ruc_prefixes=', '.join(RUC_PREFIXES)))
    expected = ruc_check_digit(ruc[:10])
    if int(ruc[10]) != expected:
        raise ValidationError(_("RUC {ruc}: check digit should be {expected}, not {ruc_10}")
                              .format(ruc=ruc, expected=expected, ruc_10=ruc[10]))
    return ruc


def ruc_kind(ruc: str) -> str | None:
    """'persona natural' (10), 'persona jurídica' (20); other prefixes are left unlabelled."""
    return {"10": "persona natural", "20": "persona jurídica"}.get(ruc[:2])


def dni_check_chars(dni: str) -> tuple[str, str]:
    """The two accepted forms of a DNI's check character: (digit, letter)."""
    c = sum(int(d) * w for d, w in zip(dni, _DNI_WEIGHTS)) % 11
    return _DNI_DIGITS[c], _DNI_LETTERS[c]


def validate_dni(value: str) -> str:
    """8 digits, optionally followed by the check character (digit or letter, '-' allowed);
    returns the 8 digits."""
    raw = value.strip().upper()
    text = raw.replace("-", "").replace(" ", "")
    if len(text) == 9 and _ascii_digits(text[:8]):
        dni, check = text[:8], text[8]
        digit, letter = dni_check_chars(dni)
        if check not in (digit, letter):
            raise ValidationError(_("DNI {raw}: check character should be {digit} or {letter}, not "
                                    "{check}")
                                  .format(raw=raw, digit=digit, letter=letter, check=check))
        return dni
    if len(text) != 8 or not _ascii_digits(text):
        raise ValidationError(_("DNI {raw}: must be 8 digits (optionally followed by its check character)")
                              .format(raw=raw))
    return text


def dni_to_ruc(dni: str) -> str:
    """A person's RUC: '10' + DNI + RUC check digit (10117410 -> 10101174102)."""
    dni = validate_dni(dni)
    body = "10" + dni
    return body + str(ruc_check_digit(body))


def ruc_to_dni(ruc: str) -> str:
    ruc = validate_ruc(ruc)
    if not ruc.startswith("10"):
        raise ValidationError(_("RUC {ruc}: only a RUC starting with 10 holds a DNI").format(ruc=ruc))
    return ruc[2:10]


def _validate_alnum(value: str, label: str, longest: int, *, shortest: int = 1) -> str:
    text = value.strip().upper().replace(" ", "").replace("-", "")
    if not text:
        raise ValidationError(_("{label}: the number is empty").format(label=label))
    if not _ALNUM.match(text):
        raise ValidationError(_("{label} {value_strip}: only letters and digits are allowed")
                              .format(label=label, value_strip=value.strip()))
    if not shortest <= len(text) <= longest:
        raise ValidationError(_("{label} {value_strip}: must be {shortest} to {longest} characters, not "
                                "{n_text}")
                              .format(label=label, value_strip=value.strip(), shortest=shortest, longest=longest, n_text=len(text)))
    return text


def validate_ce(value: str) -> str:
    """Carné de extranjería: letters and digits, up to 12."""
    return _validate_alnum(value, "carné de extranjería", 12)


def validate_passport(value: str) -> str:
    """Passport: letters and digits, up to 12."""
    return _validate_alnum(value, "pasaporte", 12)


def normalise_doc_type(code: str) -> str:
    """A catalogue 06 code from '6', '06', 'RUC', 'dni', 'A', ..."""
    raw = str(code).strip()
    if raw in DOC_TYPES:
        return raw
    alias = DOC_TYPE_ALIASES.get(raw.lower())
    if alias is None:
        listed = ", ".join(f"{k} ({v[0]})" for k, v in DOC_TYPES.items())
        raise ValidationError(_("document type {code!r}: use a SUNAT catalogue 06 code: {listed}")
                              .format(code=code, listed=listed))
    return alias


def doc_type_label(code: str) -> str:
    return DOC_TYPES.get(code, (code, 0))[0]


def validate_document(doc_type: str, number: str) -> tuple[str, str]:
    """(catalogue 06 code, normalised number) or a ValidationError saying what is wrong."""
    code = normalise_doc_type(doc_type)
    if code == "6":
        return code, validate_ruc(number)
    if code == "1":
        return code, validate_dni(number)
    if code == "4":
        return code, validate_ce(number)
    if code == "7":
        return code, validate_passport(number)
    label, longest = DOC_TYPES[code]
    return code, _validate_alnum(number, label, longest)


def guess_doc_type(number: str) -> str | None:
    """'6' for 11 digits, '1' for 8 digits (or 8 + check character), else None."""
    text = number.strip().upper().replace("-", "")
    if len(text) == 11 and _ascii_digits(text):
        return "6"
    if _ascii_digits(text) and len(text) == 8 or len(text) == 9 and _ascii_digits(text[:8]):
        return "1"
    return None


def validate_email(value: str) -> str:
    text = value.strip()
    if len(text) > 254 or not _EMAIL_RE.match(text):
        raise ValidationError(_("e-mail {text!r}: expected an address like cobranzas@empresa.pe")
                              .format(text=text))
    return text
