"""`cuentas fx`: exchange rates (SBS/SUNAT, PEN per USD) by hand or from the lookup provider."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import FormatOpt, parse_date, runtime
from cuentas_cli.render import emit, emit_record, info, success
from cuentas_cli.i18n import _

app = typer.Typer(
    help="Exchange rates: list, set, fetch. A USD invoice without --rate takes the SELL rate of its issue date "
    "(or the latest before it).\n\nExample: cuentas fx set 2026-06-15 3.739 --buy 3.733",
    no_args_is_help=True,
)

CurrencyOpt = Annotated[str, typer.Option("--currency", help="Currency of the rate (USD).")]


@app.command("list")
def list_(
    date_from: Annotated[Optional[str], typer.Option("--from", help="From this date (YYYY-MM-DD or DD/MM/YYYY).", metavar="DATE")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Up to this date (YYYY-MM-DD or DD/MM/YYYY).", metavar="DATE")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="At most this many rows.")] = None,
    currency: CurrencyOpt = "USD",
    fmt: FormatOpt = None,
) -> None:
    """List stored rates, newest first.

    Example: cuentas fx list --from 2026-06-01 --format csv
    """
    from cuentas_cli.ledger import fx

    rt = runtime()
    with rt.session() as session:
        rows = fx.list_rates(session=session, actor=rt.actor(session), currency=currency,
                             date_from=parse_date(date_from, "--from"), date_to=parse_date(date_to, "--to"), limit=limit)
    emit(rows, fmt)


@app.command("set")
def set_(
    day: Annotated[str, typer.Argument(help="The date (YYYY-MM-DD or DD/MM/YYYY).", metavar="DATE")],
    sell: Annotated[str, typer.Argument(help="Selling rate (venta), e.g. 3.739.", metavar="SELL")],
    buy: Annotated[Optional[str], typer.Option("--buy", help="Buying rate (compra), e.g. 3.733.", metavar="BUY")] = None,
    currency: CurrencyOpt = "USD",
) -> None:
    """Record or correct one day's rate.

    Example: cuentas fx set 2026-06-15 3.739 --buy 3.733
    """
    from cuentas_cli.ledger import fx

    on = parse_date(day, "DATE")
    rt = runtime()
    with rt.session(write=True) as session:
        row, changed = fx.set_rate(session=session, actor=rt.actor(session), on=on, sell=sell, buy=buy,
                                   currency=currency)
    if changed:
        success(_rate_line(row))
    else:
        info(_("{currency} {row_date_isoformat}: already sell {sell}; nothing changed")
             .format(currency=row.currency, row_date_isoformat=row.date.isoformat(), sell=row.sell))


def _rate_line(row) -> str:  # noqa: ANN001 - a RateRow
    if row.buy:
        return _("{currency} {day}: sell {sell}, buy {buy}").format(currency=row.currency, day=row.date.isoformat(),
                                                                  sell=row.sell, buy=row.buy)
    return _("{currency} {day}: sell {sell}").format(currency=row.currency, day=row.date.isoformat(), sell=row.sell)


@app.command("fetch")
def fetch(
    day: Annotated[Optional[str], typer.Option("--date", help="The date (default: today).", metavar="DATE")] = None,
    currency: CurrencyOpt = "USD",
    fmt: FormatOpt = None,
) -> None:
    """Fetch one day's rate from the lookup provider and store it.

    Example: cuentas fx fetch --date 2026-06-15
    """
    from cuentas_cli.ledger import fx
    from cuentas_cli.parties.lookup import lookup_settings
    from cuentas_cli.admin.auth import require

    rt = runtime()
    on = parse_date(day, "--date") or rt.today
    with rt.session() as session:
        require(rt.actor(session), "fx.write")
        options = lookup_settings(session, rt.config)
    answer = fx.fetch_rate(options, on=on, currency=currency)  # outside any transaction
    with rt.session(write=True) as session:
        row, changed = fx.store_fetched(session=session, actor=rt.actor(session), info=answer)
    line = (_("{rate} from {source}; stored") if changed else _("{rate} from {source}; unchanged")) if row.date == on \
        else (_("{rate} from {source} (the provider's latest for {day}); stored") if changed
              else _("{rate} from {source} (the provider's latest for {day}); unchanged"))
    success(line.format(rate=_rate_line(row), source=row.source, day=on.isoformat()))
    if fmt is not None:
        emit_record(row, fmt)
