"""Days as people write them in Peru: ISO (2026-06-15) or day first (15/06/2026), within the years
the ledger accepts. Pure text rules, used by configuration, commands, the ledger and the importer."""

from __future__ import annotations

import re
from datetime import date, datetime

from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import N_, _

MIN_YEAR, MAX_YEAR = 1900, 2199
DATE_FORMS = N_("YYYY-MM-DD or DD/MM/YYYY")
_ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DMY_DAY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")


def check_year(day: date, *, field: str = "date", raw: object = None) -> date:
    """A date within the years MIN_YEAR-MAX_YEAR; a ValidationError naming the value otherwise."""
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        shown = raw if raw is not None else day.isoformat()
        raise ValidationError(_("{field} {shown!r}: must be within the years {MIN_YEAR}-{MAX_YEAR}")
                              .format(field=field, shown=shown, MIN_YEAR=MIN_YEAR, MAX_YEAR=MAX_YEAR))
    return day


def parse_day(text: str, *, field: str = "date") -> date:
    """'2026-06-15' or '15/06/2026' -> date, within the years MIN_YEAR-MAX_YEAR. Nothing else:
    not ISO week dates (2026-W23) nor basic ISO (20260601), which date.fromisoformat accepts."""
    value = str(text).strip()
    iso = _ISO_DAY.fullmatch(value)
    dmy = None if iso else _DMY_DAY.fullmatch(value)
    if iso:
        year, month, day = (int(g) for g in iso.groups())
    elif dmy:
        day, month, year = (int(g) for g in dmy.groups())
    else:
        raise ValidationError(_("{field} {text!r} is not a date: use {DATE_FORMS}")
                              .format(field=field, text=text, DATE_FORMS=_(DATE_FORMS)))
    try:
        result = date(year, month, day)
    except ValueError:
        raise ValidationError(_("{field} {text!r} is not a date: no such day ({DATE_FORMS})")
                              .format(field=field, text=text, DATE_FORMS=_(DATE_FORMS))) from None
    return check_year(result, field=field, raw=text)


def as_date(value: object) -> date:
    """A date column's value as a date: SQLite through plain SQL gives its text, a timestamp its date."""
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
