"""Lookup providers against a local HTTP server that answers like them: success, 401/403, 404,
429 then success, 5xx, timeouts and malformed answers. Each failure gives its documented
message and exit code, and changes nothing stored."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from cuentas_cli.db.engine import open_session
from cuentas_cli.db.models import AuditLog, Party
from cuentas_cli.integrations import lookup
from tests.dbstate import snapshot as _snapshot
from tests.factories import make_party
from tests.lookup_server import TOKEN, apisnet_ruc, provider_server  # noqa: F401

RUC = "20131312955"
OLD = datetime(2020, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def stored(company):
    """A client whose data came from an old lookup."""
    with open_session(company.url, write=True) as s:
        make_party(s, ruc=RUC, name="NOMBRE GUARDADO S.A.", address="DIRECCION GUARDADA", sunat_estado="ACTIVO",
                   sunat_condicion="HABIDO", is_retention_agent=True, source="provider", verified_at=OLD)
    return company


def snapshot(url: str) -> dict:
    """Every table but api_token (whose last use a command may record)."""
    return {k: v for k, v in _snapshot(url).items() if k != "api_token"}


def party(company, doc=RUC, kind="client") -> Party:
    from sqlmodel import select

    with open_session(company.url) as s:
        return s.exec(select(Party).where(Party.doc_number == doc, Party.kind == kind)).one()


# --- success -------------------------------------------------------------------------------------


def test_lookup_success_reads_the_provider_and_stores_nothing(stored, provider_server):
    provider_server.ruc(RUC, name="SUNAT", estado="ACTIVO", condicion="HABIDO", retention=True, good=True)
    before = snapshot(stored.url)
    result = stored.run("clients", "lookup", RUC, "-f", "json", role="gerente")
    assert result.exit_code == 0, result.output
    data = result.json()
    assert data == {
        "doc_type": "6", "doc_number": RUC, "name": "SUNAT", "address": "AV. PRUEBA NRO. 1 LIMA - LIMA - LIMA",
        "estado": "ACTIVO", "condicion": "HABIDO", "is_retention_agent": True, "is_good_taxpayer": True,
        "ubigeo": "150101", "provider": "apisnet",
    }
    assert provider_server.requests == [("/v2/sunat/ruc", RUC, f"Bearer {TOKEN}")]
    assert snapshot(stored.url) == before


def test_refresh_success_stores_the_answer_and_audits_it(stored, provider_server):
    provider_server.ruc(RUC, name="SUNAT", estado="ACTIVO", condicion="HABIDO", direccion="AV. NUEVA 1")
    result = stored.run("clients", "refresh", RUC, "-f", "json", role="contador")
    assert result.exit_code == 0, result.output
    [item] = result.json()
    assert item["result"] == "updated"
    assert item["changed"] == "name,address,is_retention_agent"
    p = party(stored)
    assert (p.name, p.address, p.is_retention_agent, p.source) == ("SUNAT", "AV. NUEVA 1 LIMA - LIMA - LIMA", False, "provider")
    assert p.verified_at.replace(tzinfo=timezone.utc) > OLD
    with open_session(stored.url) as s:
        from sqlmodel import select

        row = s.exec(select(AuditLog).where(AuditLog.action == "party.refresh")).one()
    assert '"NOMBRE GUARDADO S.A."' in row.before and '"SUNAT"' in row.after


def test_dni_lookup_composes_the_name(company, provider_server):
    provider_server.answer("/v2/reniec/dni", "10117410", {
        "nombres": "ROSA ELENA", "apellidoPaterno": "QUISPE", "apellidoMaterno": "MAMANI",
        "numeroDocumento": "10117410", "digitoVerificador": "2"})
    result = company.run("clients", "add", "--dni", "10117410G", "-f", "json", role="contador")
    assert result.exit_code == 0, result.output
    assert result.json()["name"] == "QUISPE MAMANI ROSA ELENA"
    assert provider_server.requests[-1][:2] == ("/v2/reniec/dni", "10117410")


# --- failures: message, exit code, nothing changed -------------------------------------------------

T = "lookup provider apisnet"
FAILURES = {
    "401": (lambda f: setattr(f, "token", "otro-token"), 7, 1,
            f"error: {T} refused the token (HTTP 401); store a valid one with `cuentas settings secret set lookup-token`"),
    "403": (lambda f: f.answer("/v2/sunat/ruc", RUC, {"message": "prohibido"}, status=403), 7, 1,
            f"error: {T} refused the token (HTTP 403); store a valid one with `cuentas settings secret set lookup-token`"),
    "404": (lambda f: None, 4, 1, f"error: RUC {RUC} not found by {T} (HTTP 404)"),
    "error-body": (lambda f: f.answer("/v2/sunat/ruc", RUC, {"error": "RUC no existe"}), 4, 1,
                   f"error: RUC {RUC} not found by {T} (RUC no existe)"),
    "429": (lambda f: f.answer("/v2/sunat/ruc", RUC, {}, status=429), 7, 4,
            f"error: {T} is rate limiting requests (HTTP 429, 4 attempts); try again later"),
    "500": (lambda f: f.answer("/v2/sunat/ruc", RUC, "Internal Server Error", status=500), 7, 4,
            f"error: {T} unavailable (HTTP 500, 4 attempts); try again later"),
    "503": (lambda f: f.answer("/v2/sunat/ruc", RUC, "", status=503), 7, 4,
            f"error: {T} unavailable (HTTP 503, 4 attempts); try again later"),
    "timeout": (lambda f: f.answer("/v2/sunat/ruc", RUC, apisnet_ruc(RUC), delay=1.0), 7, 4,
                f"error: {T} unavailable: no answer for RUC {RUC} within 0.3 s (4 attempts); "
                "try again later or raise lookup.timeout_s"),
    "malformed-json": (lambda f: f.answer("/v2/sunat/ruc", RUC, '{"razonSocial": "SUNAT", '), 7, 1,
                       f"error: {T} sent a malformed answer for RUC {RUC} (not JSON); try again later"),
    "html": (lambda f: f.answer("/v2/sunat/ruc", RUC, "<html>mantenimiento</html>"), 7, 1,
             f"error: {T} sent a malformed answer for RUC {RUC} (not JSON); try again later"),
    "wrong-shape": (lambda f: f.answer("/v2/sunat/ruc", RUC, {"data": {"ruc": RUC}}), 7, 1,
                    f"error: {T} sent a malformed answer for RUC {RUC} (no razonSocial)"),
    "other-ruc": (lambda f: f.answer("/v2/sunat/ruc", RUC, apisnet_ruc("20512333797")), 7, 1,
                  f"error: {T} sent a malformed answer for RUC {RUC} (it describes 20512333797)"),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_failure_is_one_documented_line_and_changes_nothing(stored, provider_server, monkeypatch, case):
    setup, code, requests, message = FAILURES[case]
    monkeypatch.setenv("CUENTAS_LOOKUP_TIMEOUT_S", "0.3")
    setup(provider_server)
    before = snapshot(stored.url)
    for args in (("clients", "lookup", RUC), ("clients", "refresh", RUC, "--force")):
        start = provider_server.count()
        result = stored.run(*args, role="contador")
        assert result.exit_code == code, (args, result.output)
        assert result.stderr.splitlines()[-1] == message
        assert "Traceback" not in result.output
        assert provider_server.count() - start == requests
    assert snapshot(stored.url) == before
    p = party(stored)
    assert (p.name, p.address, p.is_retention_agent, p.verified_at.replace(tzinfo=timezone.utc)) == (
        "NOMBRE GUARDADO S.A.", "DIRECCION GUARDADA", True, OLD)


def test_429_then_success(stored, provider_server):
    provider_server.answer("/v2/sunat/ruc", RUC, {"message": "too many"}, status=429, times=1)
    provider_server.ruc(RUC, name="SUNAT")
    result = stored.run("clients", "refresh", RUC, "--force", role="contador")
    assert result.exit_code == 0, result.output
    assert provider_server.count(RUC) == 2
    assert party(stored).name == "SUNAT"


def test_500_twice_then_success(stored, provider_server):
    provider_server.answer("/v2/sunat/ruc", RUC, "", status=500, times=2)
    provider_server.ruc(RUC, name="SUNAT")
    result = stored.run("clients", "lookup", RUC, "-f", "json", role="contador")
    assert result.exit_code == 0, result.output
    assert result.json()["name"] == "SUNAT"
    assert provider_server.count(RUC) == 3


def test_unreachable_provider(stored, monkeypatch, provider_server):
    monkeypatch.setenv("CUENTAS_LOOKUP_BASE_URL", "http://127.0.0.1:9")
    result = stored.run("clients", "lookup", RUC, role="contador")
    assert result.exit_code == 7
    assert result.stderr.startswith("error: lookup provider apisnet unavailable: cannot connect to http://127.0.0.1:9")
    assert result.stderr.count("\n") == 1


def test_add_when_the_lookup_fails(company, provider_server):
    provider_server.answer("/v2/sunat/ruc", RUC, "", status=500)
    before = snapshot(company.url)
    refused = company.run("clients", "add", "--ruc", RUC, role="contador")
    assert refused.exit_code == 7
    assert refused.stderr == ("error: lookup provider apisnet unavailable (HTTP 500, 4 attempts); try again later; "
                              "give --name to add it without the lookup\n")
    assert snapshot(company.url) == before
    added = company.run("clients", "add", "--ruc", RUC, "--name", "SUNAT A MANO", role="contador")
    assert added.exit_code == 0, added.output
    assert "warning: lookup failed, added with the data given: lookup provider apisnet unavailable" in added.stderr
    p = party(company)
    assert (p.name, p.source, p.verified_at, p.sunat_estado) == ("SUNAT A MANO", "manual", None, None)


# --- choosing the provider and its token -------------------------------------------------------------


def test_token_from_the_cli_secret_and_default_provider(company, provider_server, monkeypatch, isolated_home):
    from cuentas_cli.integrations import keyring_store

    monkeypatch.delenv("CUENTAS_LOOKUP_PROVIDER")
    keyring_store.delete_secret("lookup-token")
    offline = company.run("clients", "lookup", "20999990011", "-f", "json")
    assert offline.exit_code == 0 and offline.json()["provider"] == "offline"
    assert provider_server.count() == 0
    stored_secret = company.run("settings", "secret", "set", "lookup-token", "--stdin", input=TOKEN + "\n")
    assert stored_secret.exit_code == 0, stored_secret.output
    provider_server.ruc(RUC, name="SUNAT")
    online = company.run("clients", "lookup", RUC, "-f", "json")
    assert online.exit_code == 0, online.output
    assert online.json()["provider"] == "apisnet"
    assert provider_server.requests[-1][2] == f"Bearer {TOKEN}"


def test_explicit_provider_without_token(company, provider_server):
    from cuentas_cli.integrations import keyring_store

    keyring_store.delete_secret("lookup-token")
    result = company.run("clients", "lookup", RUC)
    assert result.exit_code == 7
    assert result.stderr == ("error: lookup provider apisnet needs a token: store it with `cuentas settings secret set "
                             "lookup-token` (or use `cuentas settings set lookup.provider offline`)\n")


def test_offline_unknown_ruc(company):
    result = company.run("clients", "lookup", "20512333797")
    assert result.exit_code == 4
    assert result.stderr.startswith("error: RUC 20512333797 is not in the offline lookup data;")


def test_lookup_validates_first(company, provider_server):
    result = company.run("clients", "lookup", "20123456789")
    assert result.exit_code == 3
    assert result.stderr == "error: RUC 20123456789: check digit should be 6, not 9\n"
    assert provider_server.count() == 0


# --- the second adapter: decolecta's English/snake_case shapes -------------------------------------------


def test_decolecta_adapter(company, provider_server, monkeypatch):
    monkeypatch.setenv("CUENTAS_LOOKUP_PROVIDER", "decolecta")
    provider_server.answer("/v1/sunat/ruc", RUC, {
        "razon_social": "SUNAT", "numero_documento": RUC, "estado": "ACTIVO", "condicion": "HABIDO",
        "direccion": "AV. GARCILASO DE LA VEGA NRO. 1472", "distrito": "LIMA", "provincia": "LIMA",
        "departamento": "LIMA", "es_agente_retencion": "SI", "es_buen_contribuyente": False})
    provider_server.answer("/v1/reniec/dni", "10117410", {
        "first_name": "ROSA ELENA", "first_last_name": "QUISPE", "second_last_name": "MAMANI",
        "full_name": "QUISPE MAMANI ROSA ELENA", "document_number": "10117410"})
    ruc = company.run("clients", "lookup", RUC, "-f", "json")
    assert ruc.exit_code == 0, ruc.output
    assert ruc.json()["name"] == "SUNAT" and ruc.json()["is_retention_agent"] is True
    assert ruc.json()["address"] == "AV. GARCILASO DE LA VEGA NRO. 1472 LIMA - LIMA - LIMA"
    assert ruc.json()["provider"] == "decolecta"
    dni = company.run("clients", "lookup", "10117410", "-f", "json")
    assert dni.json()["name"] == "QUISPE MAMANI ROSA ELENA"
    missing = company.run("clients", "lookup", "20512333797")
    assert missing.exit_code == 4
    assert missing.stderr == "error: RUC 20512333797 not found by lookup provider decolecta (HTTP 404)\n"


# --- retries and backoff, without a server -----------------------------------------------------------------


def _transport(statuses: list[int], body: dict, headers: dict | None = None):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        status = statuses.pop(0) if statuses else 200
        return httpx.Response(status, json=body if status == 200 else {}, headers=headers if status != 200 else None)

    return httpx.MockTransport(handler), calls


def test_exponential_backoff_between_retries():
    transport, calls = _transport([503, 500, 429], apisnet_ruc(RUC))
    sleeps: list[float] = []
    provider = lookup.ApisNetV2(base_url="http://proveedor", token="t", transport=transport, backoff_s=0.5,
                                sleep=sleeps.append)
    assert provider.lookup_ruc(RUC).name == "EMPRESA DE PRUEBA S.A.C."
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(calls) == 4
    assert calls[0].headers["Authorization"] == "Bearer t"


def test_retry_after_is_honoured_up_to_a_cap():
    transport, _ = _transport([429, 429], apisnet_ruc(RUC), headers={"Retry-After": "3"})
    sleeps: list[float] = []
    provider = lookup.ApisNetV2(base_url="http://proveedor", token="t", transport=transport, backoff_s=0.5,
                                sleep=sleeps.append)
    provider.lookup_ruc(RUC)
    assert sleeps == [3.0, 3.0]


def test_no_retry_after_the_last_attempt():
    transport, calls = _transport([500, 500, 500, 500, 500], {})
    sleeps: list[float] = []
    provider = lookup.ApisNetV2(base_url="http://p", token="t", transport=transport, backoff_s=0.5, sleep=sleeps.append)
    with pytest.raises(lookup.ProviderUnavailable):
        provider.lookup_ruc(RUC)
    assert len(calls) == 4 and sleeps == [0.5, 1.0, 2.0]


def test_rates_never_pass_through_float():
    transport, _ = _transport([], {"precioCompra": 3.733, "precioVenta": 3.7395, "fecha": "2024-01-18"})
    provider = lookup.ApisNetV2(base_url="http://p", token="t", transport=transport)
    from datetime import date

    rate = provider.exchange_rate(date(2024, 1, 18))
    assert (rate.sell_e4, rate.buy_e4, rate.rate_date) == (37395, 37330, date(2024, 1, 18))
