"""Exchange rates: fx set/list/fetch (offline and a local provider), the rate a USD invoice
takes, permissions and the audit log."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from cuentas_cli.db.engine import open_session
from cuentas_cli.db.models import AuditLog, ExchangeRate
from cuentas_cli.errors import ValidationError
from cuentas_cli.ledger.fx import rate_text, sell_rate_e4
from tests.dbstate import snapshot as _snapshot
from tests.lookup_server import provider_server  # noqa: F401


def snapshot(url: str) -> dict:
    return {k: v for k, v in _snapshot(url).items() if k != "api_token"}


def stored(company) -> list[tuple]:
    with open_session(company.url) as s:
        return [(r.rate_date, r.currency, r.buy_e4, r.sell_e4, r.source)
                for r in s.exec(select(ExchangeRate).order_by(ExchangeRate.rate_date)).all()]


def test_set_and_list(company):
    first = company.run("fx", "set", "2026-06-12", "3.739", "--buy", "3.733", role="contador")
    assert first.exit_code == 0, first.output
    assert "USD 2026-06-12: sell 3.739, buy 3.733" in first.stderr
    assert company.run("fx", "set", "2026-06-15", "3.7415").exit_code == 0
    assert stored(company) == [(date(2026, 6, 12), "USD", 37330, 37390, "manual"),
                               (date(2026, 6, 15), "USD", None, 37415, "manual")]
    listed = company.run("fx", "list", "-f", "json", role="gerente")
    assert listed.exit_code == 0
    assert listed.json() == [
        {"date": "2026-06-15", "currency": "USD", "buy": None, "sell": "3.7415", "source": "manual"},
        {"date": "2026-06-12", "currency": "USD", "buy": "3.733", "sell": "3.739", "source": "manual"},
    ]
    ranged = company.run("fx", "list", "--from", "2026-06-13", "-f", "json").json()
    assert [r["date"] for r in ranged] == ["2026-06-15"]
    # Correcting a day replaces it and keeps the old value in the audit log.
    assert company.run("fx", "set", "2026-06-12", "3.740").exit_code == 0
    same = company.run("fx", "set", "2026-06-12", "3.740")
    assert same.exit_code == 0 and "nothing changed" in same.stderr
    with open_session(company.url) as s:
        rows = s.exec(select(AuditLog).where(AuditLog.action == "fx.set").order_by(AuditLog.id)).all()
    assert len(rows) == 3
    assert '"sell": "3.739"' in rows[-1].before and '"sell": "3.740"' in rows[-1].after


@pytest.mark.parametrize("args,code,message", [
    (("set", "2026-06-12", "3,7,39"), 3, "error: sell rate '3,7,39' is not a number"),
    (("set", "2026-06-12", "0"), 3, "error: sell rate '0': must be a positive rate like 3.739"),
    (("set", "2026-06-12", "3.73912"), 3, "error: sell rate '3.73912': at most 4 decimals"),
    (("set", "2026-06-12", "3.70", "--buy", "3.80"), 3, "error: buy rate 3.80 is above sell rate 3.70"),
    (("set", "20260612", "3.7"), 2, "error: DATE: '20260612' is not a date: use YYYY-MM-DD or DD/MM/YYYY"),
    (("set", "2026-06-12", "3.7", "--currency", "EUR"), 3, "error: currency 'EUR': rates are kept for USD"),
    (("list", "--from", "2026-06-20", "--to", "2026-06-01"), 3, "error: --from 2026-06-20 is after --to 2026-06-01"),
])
def test_bad_input_changes_nothing(company, args, code, message):
    before = snapshot(company.url)
    result = company.run("fx", *args)
    assert result.exit_code == code, result.output
    assert result.stderr.startswith(message), result.stderr
    assert snapshot(company.url) == before


def test_permissions(company):
    denied = company.run("fx", "set", "2026-06-12", "3.739", role="gerente")
    assert denied.exit_code == 5 and "fx.write" in denied.stderr
    fetch = company.run("fx", "fetch", role="gerente")
    assert fetch.exit_code == 5 and "fx.write" in fetch.stderr
    assert company.run("fx", "list", role="gerente").exit_code == 0
    assert stored(company) == []


def test_fetch_offline(company):
    today = company.run("fx", "fetch", role="contador")  # CUENTAS_TODAY = 2026-06-15, in the fixture
    assert today.exit_code == 0, today.output
    assert "USD 2026-06-15: sell 3.573, buy 3.566 from offline; stored" in today.stderr
    published = company.run("fx", "fetch", "--date", "2024-01-18", "-f", "json")
    assert published.json() == {"date": "2024-01-18", "currency": "USD", "buy": "3.733", "sell": "3.739",
                                "source": "offline"}
    before = snapshot(company.url)
    missing = company.run("fx", "fetch", "--date", "2026-06-13")
    assert missing.exit_code == 4
    assert missing.stderr.startswith("error: the USD exchange rate of 2026-06-13 is not in the offline lookup data")
    assert snapshot(company.url) == before


def test_fetch_from_the_provider(company, provider_server):
    provider_server.answer("/v2/sunat/tipo-cambio", "2026-06-15",
                           {"precioCompra": 3.566, "precioVenta": 3.573, "moneda": "USD", "fecha": "2026-06-15"})
    # A Sunday answered with Friday's publication is stored under Friday.
    provider_server.answer("/v2/sunat/tipo-cambio", "2026-06-14", {"compra": 3.561, "venta": 3.568, "fecha": "2026-06-12"})
    assert company.run("fx", "fetch", role="contador").exit_code == 0
    sunday = company.run("fx", "fetch", "--date", "2026-06-14")
    assert sunday.exit_code == 0, sunday.output
    assert "(the provider's latest for 2026-06-14)" in " ".join(sunday.stderr.split())
    assert stored(company) == [(date(2026, 6, 12), "USD", 35610, 35680, "apisnet"),
                               (date(2026, 6, 15), "USD", 35660, 35730, "apisnet")]
    before = snapshot(company.url)
    provider_server.answer("/v2/sunat/tipo-cambio", "2026-06-10", "", status=500)
    down = company.run("fx", "fetch", "--date", "2026-06-10")
    assert down.exit_code == 7
    assert down.stderr == "error: lookup provider apisnet unavailable (HTTP 500, 4 attempts); try again later\n"
    provider_server.answer("/v2/sunat/tipo-cambio", "2026-06-11", {"compra": "abc", "venta": 3.5})
    bad = company.run("fx", "fetch", "--date", "2026-06-11")
    assert bad.exit_code == 7
    assert bad.stderr.startswith("error: lookup provider apisnet sent a malformed answer for the exchange rate of 2026-06-11")
    assert snapshot(company.url) == before


def test_sell_rate_of_a_day_or_the_latest_before(company):
    assert company.run("fx", "set", "2026-06-12", "3.739", "--buy", "3.733").exit_code == 0
    with open_session(company.url) as s:
        assert sell_rate_e4(s, on=date(2026, 6, 12)) == 37390
        assert sell_rate_e4(s, on=date(2026, 6, 14)) == 37390  # weekend: Friday's rate
        assert sell_rate_e4(s, on=date(2026, 6, 14), currency="PEN") == 10000
        with pytest.raises(ValidationError, match="no USD exchange rate on or before 2026-06-11; record one with "
                                                  "`cuentas fx set 2026-06-11 3.750`"):
            sell_rate_e4(s, on=date(2026, 6, 11))


def test_rate_text():
    assert [rate_text(x) for x in (37390, 37391, 35000, 10000, None)] == ["3.739", "3.7391", "3.500", "1.000", None]
