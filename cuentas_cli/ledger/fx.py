"""Exchange rates (SBS/SUNAT selling rate, PEN per USD), stored x 10,000.

A USD invoice without an explicit rate takes the SELL rate of its issue date, or the latest
published before it (`sell_rate_e4`); rates are recorded by hand (`fx set`) or fetched from
the lookup provider (`fx fetch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from cuentas_cli.errors import ValidationError
from cuentas_cli.admin import audit
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.ledger.documents import parse_rate
from cuentas_cli.parties.lookup import open_provider
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlmodel import Session

    from cuentas_cli.db.models import ExchangeRate
    from cuentas_cli.integrations.lookup import RateInfo
    from cuentas_cli.parties.lookup import LookupSettings

FOREIGN_CURRENCIES = ("USD",)


def sell_rate_e4(session: "Session | Connection", *, on: date, currency: str = "USD") -> int:
    """The selling rate of `on`, or the latest published before it (x 10,000). Core: an import
    asks it on its connection, without the ORM."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import exchange_rate

    if currency == "PEN":
        return 10000
    row = session.execute(
        select(exchange_rate.c.sell_e4)
        .where(exchange_rate.c.currency == currency, exchange_rate.c.rate_date <= on)
        .order_by(exchange_rate.c.rate_date.desc())
        .limit(1)
    ).first()
    if row is None:
        raise ValidationError(
            _("no {currency} exchange rate on or before {on_isoformat}; record one with `cuentas fx set "
              "{on_isoformat} 3.750` or `cuentas fx fetch --date {on_isoformat}`, or pass --rate")
            .format(currency=currency, on_isoformat=on.isoformat())
        )
    return row.sell_e4


def rate_text(rate_e4: int | None) -> str | None:
    """37390 -> '3.739', 37391 -> '3.7391' (SBS publishes 3 decimals; 4 are kept)."""
    if rate_e4 is None:
        return None
    text = f"{Decimal(rate_e4) / 10000:.4f}"
    return text[:-1] if text.endswith("0") else text


@dataclass
class RateRow:
    """One day's rate as listed (rates as text: they are not money and keep 3-4 decimals)."""

    date: date
    currency: str
    buy: str | None
    sell: str
    source: str


def _row(rate: "ExchangeRate") -> RateRow:
    return RateRow(rate.rate_date, rate.currency, rate_text(rate.buy_e4), rate_text(rate.sell_e4), rate.source)


def check_currency(currency: str) -> str:
    value = currency.strip().upper()
    if value not in FOREIGN_CURRENCIES:
        raise ValidationError(_("currency {currency!r}: rates are kept for {join_foreign_currencies} "
                                "(PEN is 1)")
                              .format(currency=currency, join_foreign_currencies=', '.join(FOREIGN_CURRENCIES)))
    return value


def list_rates(*, session: "Session", actor: Actor | None, currency: str = "USD", date_from: date | None = None,
               date_to: date | None = None, limit: int | None = None) -> list[RateRow]:
    """Rates newest first."""
    from sqlmodel import select

    from cuentas_cli.db.models import ExchangeRate

    require(actor, "read")
    currency = check_currency(currency)
    query = select(ExchangeRate).where(ExchangeRate.currency == currency).order_by(ExchangeRate.rate_date.desc())
    if date_from:
        query = query.where(ExchangeRate.rate_date >= date_from)
    if date_to:
        query = query.where(ExchangeRate.rate_date <= date_to)
    if date_from and date_to and date_from > date_to:
        raise ValidationError(_("--from {date_from} is after --to {date_to}")
                              .format(date_from=date_from, date_to=date_to))
    if limit is not None:
        if limit < 1:
            raise ValidationError(_("--limit: give a number of rows, 1 or more"))
        query = query.limit(limit)
    return [_row(r) for r in session.exec(query).all()]


def _store(session: "Session", actor: Actor | None, *, on: date, currency: str, sell_e4: int, buy_e4: int | None,
           source: str) -> tuple[RateRow, bool]:
    """Insert or replace one day's rate; returns the row and whether anything changed."""
    from cuentas_cli.db.models import ExchangeRate, utcnow

    row = session.get(ExchangeRate, (on, currency))
    before = None
    if row is not None:
        before = {"sell": rate_text(row.sell_e4), "buy": rate_text(row.buy_e4), "source": row.source}
        if (row.sell_e4, row.buy_e4) == (sell_e4, buy_e4):
            return _row(row), False
        row.sell_e4, row.buy_e4, row.source, row.created_at = sell_e4, buy_e4, source, utcnow()
    else:
        row = ExchangeRate(rate_date=on, currency=currency, sell_e4=sell_e4, buy_e4=buy_e4, source=source)
    session.add(row)
    session.flush()
    audit.record(session, actor, action="fx.set", entity="exchange_rate", entity_id=f"{currency}:{on.isoformat()}",
                 before=before, after={"sell": rate_text(sell_e4), "buy": rate_text(buy_e4), "source": source})
    return _row(row), True


def set_rate(*, session: "Session", actor: Actor | None, on: date, sell: str, buy: str | None = None,
             currency: str = "USD") -> tuple[RateRow, bool]:
    """Record (or correct) one day's rate by hand."""
    require(actor, "fx.write")
    currency = check_currency(currency)
    sell_e4 = parse_rate(sell, field="sell rate")
    buy_e4 = parse_rate(buy, field="buy rate") if buy is not None else None
    if buy_e4 is not None and buy_e4 > sell_e4:
        raise ValidationError(_("buy rate {buy} is above sell rate {sell}; the buying rate (compra) is "
                                "the lower one").format(buy=buy, sell=sell))
    return _store(session, actor, on=on, currency=currency, sell_e4=sell_e4, buy_e4=buy_e4, source="manual")


def fetch_rate(options: "LookupSettings", *, on: date, currency: str = "USD") -> "RateInfo":
    """Ask the lookup provider for one day's rate (no database involved)."""
    currency = check_currency(currency)
    with open_provider(options) as provider:
        return provider.exchange_rate(on, currency)


def store_fetched(*, session: "Session", actor: Actor | None, info: "RateInfo") -> tuple[RateRow, bool]:
    """Store a provider's answer under the date it names (a day without publication may be
    answered with the previous one)."""
    require(actor, "fx.write")
    return _store(session, actor, on=info.rate_date, currency=info.currency, sell_e4=info.sell_e4,
                  buy_e4=info.buy_e4, source=info.provider[:20] or "provider")
