"""Exchange rates (SBS/SUNAT selling rate, PEN per USD)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from cuentas_cli.errors import ValidationError

if TYPE_CHECKING:
    from sqlmodel import Session


def sell_rate_e4(session: "Session", *, on: date, currency: str = "USD") -> int:
    """The selling rate of `on`, or the latest published before it (x 10,000)."""
    from sqlmodel import select

    from cuentas_cli.db.models import ExchangeRate

    if currency == "PEN":
        return 10000
    row = session.exec(
        select(ExchangeRate)
        .where(ExchangeRate.currency == currency, ExchangeRate.rate_date <= on)
        .order_by(ExchangeRate.rate_date.desc())
        .limit(1)
    ).first()
    if row is None:
        raise ValidationError(
            f"no {currency} exchange rate on or before {on.isoformat()}; record one with "
            f"`cuentas fx set {on.isoformat()} 3.750` or `cuentas fx fetch --date {on.isoformat()}`, or pass --rate"
        )
    return row.sell_e4
