"""The HTTP adapters (apis.net.pe v2, decolecta): httpx with a timeout, retries with exponential
backoff on 429, 5xx, timeouts and connection errors, answers mapped to domain errors."""

from __future__ import annotations

import json
import time
from datetime import date
from decimal import Decimal
from typing import Any, Callable

from cuentas_cli.integrations.lookup.base import (
    TOKEN_HINT,
    LookupFailed,
    LookupNotFound,
    MalformedAnswer,
    PartyInfo,
    Provider,
    ProviderUnavailable,
    RateInfo,
    RateLimited,
    TokenInvalid,
    TokenMissing,
    address_of,
    first_of,
    flag_value,
    parse_apisnet_dni,
    parse_apisnet_ruc,
    parse_rate,
    person_name,
    text_value,
)
from cuentas_cli.i18n import _

MAX_RETRIES = 3
# Seconds before the first retry; doubled for each further one. Tests set it near zero.
BACKOFF_S = 0.5
MAX_RETRY_AFTER_S = 30.0


# --- HTTP adapters --------------------------------------------------------------------------------


class HttpProvider(Provider):
    """Shared HTTP behaviour: bearer token, timeout, retries with backoff, status mapping."""

    default_base_url = ""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        timeout_s: float = 10.0,
        max_retries: int = MAX_RETRIES,
        backoff_s: float | None = None,
        transport: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import httpx

        if not token:
            raise TokenMissing(
                _("lookup provider {name} needs a token: store it with {TOKEN_HINT} (or use `cuentas "
                  "settings set lookup.provider offline`)")
                .format(name=self.name, TOKEN_HINT=TOKEN_HINT)
            )
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = BACKOFF_S if backoff_s is None else backoff_s
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s),
            headers=self._headers(token),
            transport=transport,
            follow_redirects=False,
        )

    def _headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", "Accept": "application/json", "User-Agent": "cuentas"}

    def close(self) -> None:
        self._client.close()

    def _wait(self, attempt: int, response: Any = None) -> None:
        delay = self.backoff_s * (2 ** attempt)
        if response is not None:
            retry_after = response.headers.get("Retry-After", "")
            if retry_after.strip().isdigit():
                delay = max(delay, min(float(retry_after), MAX_RETRY_AFTER_S))
        if delay > 0:
            self._sleep(delay)

    def _get(self, path: str, params: dict[str, str], *, subject: str) -> Any:
        """GET and decode JSON, retrying transient failures; `subject` names what was asked."""
        import httpx

        attempts = self.max_retries + 1
        last: LookupFailed | None = None
        for attempt in range(attempts):
            if attempt:
                self._wait(attempt - 1, getattr(last, "response", None))
            try:
                response = self._client.get(path, params=params)
            except httpx.TimeoutException:
                last = ProviderUnavailable(
                    _("lookup provider {name} unavailable: no answer for {subject} within {timeout_s:g} "
                      "s ({attempts} attempts); try again later or raise lookup.timeout_s")
                    .format(name=self.name, subject=subject, timeout_s=self.timeout_s, attempts=attempts)
                )
                continue
            except httpx.TransportError as exc:
                last = ProviderUnavailable(
                    _("lookup provider {name} unavailable: cannot connect to {base_url} ({__name__}) "
                      "after {attempts} attempts; check lookup.base_url or try again later")
                    .format(name=self.name, base_url=self.base_url, __name__=type(exc).__name__, attempts=attempts)
                )
                continue
            status = response.status_code
            if status in (401, 403):
                raise TokenInvalid(
                    _("lookup provider {name} refused the token (HTTP {status}); store a valid one with "
                      "{TOKEN_HINT}")
                    .format(name=self.name, status=status, TOKEN_HINT=TOKEN_HINT)
                )
            if status == 429:
                last = RateLimited(
                    _("lookup provider {name} is rate limiting requests (HTTP 429, {attempts} attempts); "
                      "try again later").format(name=self.name, attempts=attempts)
                )
                last.response = response  # type: ignore[attr-defined]
                continue
            if status >= 500:
                last = ProviderUnavailable(
                    _("lookup provider {name} unavailable (HTTP {status}, {attempts} attempts); try "
                      "again later")
                    .format(name=self.name, status=status, attempts=attempts)
                )
                last.response = response  # type: ignore[attr-defined]
                continue
            if status in (400, 404, 422):
                raise LookupNotFound(_("{subject} not found by lookup provider {name} (HTTP {status})")
                                     .format(subject=subject, name=self.name, status=status))
            if status >= 300:
                raise LookupFailed(_("lookup provider {name} answered HTTP {status} for {subject}; try "
                                     "again later")
                                   .format(name=self.name, status=status, subject=subject))
            try:
                data = json.loads(response.content, parse_float=Decimal)
            except (ValueError, UnicodeDecodeError):
                raise MalformedAnswer(
                    _("lookup provider {name} sent a malformed answer for {subject} (not JSON); try "
                      "again later").format(name=self.name, subject=subject)
                ) from None
            if not isinstance(data, dict):
                raise MalformedAnswer(
                    _("lookup provider {name} sent a malformed answer for {subject} (not a JSON object)")
                    .format(name=self.name, subject=subject)
                )
            return data
        assert last is not None
        raise last


class ApisNetV2(HttpProvider):
    """apis.net.pe v2: Bearer token; camelCase Spanish fields."""

    name = "apisnet"
    default_base_url = "https://api.apis.net.pe"

    def lookup_ruc(self, ruc: str) -> PartyInfo:
        subject = f"RUC {ruc}"
        data = self._get("/v2/sunat/ruc", {"numero": ruc}, subject=subject)
        return parse_apisnet_ruc(data, ruc, source=self)

    def lookup_dni(self, dni: str) -> PartyInfo:
        subject = f"DNI {dni}"
        data = self._get("/v2/reniec/dni", {"numero": dni}, subject=subject)
        return parse_apisnet_dni(data, dni, source=self)

    def exchange_rate(self, on: date, currency: str = "USD") -> RateInfo:
        subject = f"the exchange rate of {on.isoformat()}"
        data = self._get("/v2/sunat/tipo-cambio", {"date": on.isoformat()}, subject=subject)
        return parse_rate(data, on, currency, source=self,
                          sell_keys=("venta", "precioVenta"), buy_keys=("compra", "precioCompra"),
                          date_keys=("fecha", "date"))


class Decolecta(HttpProvider):
    """decolecta (apis.net.pe's successor): Bearer token; snake_case and English fields.

    Field names follow what its published clients show (`razon_social`, `full_name`,
    `sell_price`); they are read defensively because the service's documentation is not
    verified here.
    """

    name = "decolecta"
    default_base_url = "https://api.decolecta.com"

    def lookup_ruc(self, ruc: str) -> PartyInfo:
        subject = f"RUC {ruc}"
        data = self._get("/v1/sunat/ruc", {"numero": ruc}, subject=subject)
        self._not_found_body(data, subject, "razon_social", "name")
        name = text_value(first_of(data, "razon_social", "name"))
        if not name:
            raise self._malformed(subject, "no razon_social")
        number = text_value(first_of(data, "numero_documento", "document_number")) or ruc
        if number != ruc:
            raise self._malformed(subject, f"it describes {number}")
        return PartyInfo(
            doc_type="6", doc_number=ruc, name=name,
            address=address_of(first_of(data, "direccion", "address"), first_of(data, "distrito", "district"),
                             first_of(data, "provincia", "province"), first_of(data, "departamento", "department")),
            estado=(text_value(first_of(data, "estado", "status")) or "").upper() or None,
            condicion=(text_value(first_of(data, "condicion", "condition")) or "").upper() or None,
            is_retention_agent=flag_value(first_of(data, "es_agente_retencion", "is_retention_agent")),
            is_good_taxpayer=flag_value(first_of(data, "es_buen_contribuyente", "is_good_taxpayer")),
            ubigeo=text_value(data.get("ubigeo")), provider=self.name,
        )

    def lookup_dni(self, dni: str) -> PartyInfo:
        subject = f"DNI {dni}"
        data = self._get("/v1/reniec/dni", {"numero": dni}, subject=subject)
        self._not_found_body(data, subject, "full_name", "first_name")
        name = person_name(data.get("first_name"), data.get("first_last_name"), data.get("second_last_name"))
        name = name or text_value(data.get("full_name"))
        if not name:
            raise self._malformed(subject, "no full_name")
        number = text_value(data.get("document_number")) or dni
        if number != dni:
            raise self._malformed(subject, f"it describes {number}")
        return PartyInfo(doc_type="1", doc_number=dni, name=name, provider=self.name)

    def exchange_rate(self, on: date, currency: str = "USD") -> RateInfo:
        subject = f"the exchange rate of {on.isoformat()}"
        data = self._get("/v1/tipo-cambio/sunat", {"date": on.isoformat()}, subject=subject)
        return parse_rate(data, on, currency, source=self,
                          sell_keys=("sell_price", "venta"), buy_keys=("buy_price", "compra"),
                          date_keys=("date", "fecha"))
