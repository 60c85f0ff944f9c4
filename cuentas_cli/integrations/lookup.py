"""RUC/DNI/exchange-rate lookup providers behind one small interface.

Each adapter turns one provider's URLs and field names into `PartyInfo` / `RateInfo`;
nothing else in cuentas knows a provider's field names. The HTTP adapters retry up to three
times with exponential backoff on 429, 5xx, timeouts and connection errors, and map the
provider's answers to domain errors (peru-reference.md, "Public lookup services"):

    401/403          -> TokenInvalid        (exit 7, names `cuentas settings secret set lookup-token`)
    404/422, error   -> LookupNotFound      (exit 4)
    429              -> RateLimited         (exit 7, after the retries)
    5xx, timeout     -> ProviderUnavailable (exit 7, after the retries)
    not JSON / shape -> MalformedAnswer     (exit 7)

Amounts in answers are parsed with `parse_float=Decimal`, so a rate never passes through float.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable

from cuentas_cli.errors import ExternalError, NotFound

MAX_RETRIES = 3
# Seconds before the first retry; doubled for each further one. Tests set it near zero.
BACKOFF_S = 0.5
MAX_RETRY_AFTER_S = 30.0
OFFLINE_DATA = Path(__file__).resolve().parent.parent / "data" / "offline_lookup.json"
TOKEN_HINT = "`cuentas settings secret set lookup-token`"
_DOC_WORD = {"6": "RUC", "1": "DNI"}


# --- what a provider answers -------------------------------------------------------------


@dataclass(frozen=True)
class PartyInfo:
    """A provider's answer about one RUC or DNI, in cuentas' own words."""

    doc_type: str  # catalogue 06: "6" RUC, "1" DNI
    doc_number: str
    name: str
    address: str | None = None
    estado: str | None = None  # SUNAT: ACTIVO, BAJA DE OFICIO, ... (None for a DNI)
    condicion: str | None = None  # SUNAT: HABIDO, NO HABIDO, ... (None for a DNI)
    is_retention_agent: bool = False
    is_good_taxpayer: bool = False
    ubigeo: str | None = None
    provider: str = ""


@dataclass(frozen=True)
class RateInfo:
    """An exchange rate of one day: PEN per unit of `currency` x 10,000."""

    rate_date: date
    currency: str
    sell_e4: int
    buy_e4: int | None
    provider: str = ""


# --- failures ----------------------------------------------------------------------------


class LookupFailed(ExternalError):
    """The provider could not answer; nothing stored may change because of it."""


class TokenInvalid(LookupFailed):
    pass


class TokenMissing(LookupFailed):
    pass


class RateLimited(LookupFailed):
    pass


class ProviderUnavailable(LookupFailed):
    pass


class MalformedAnswer(LookupFailed):
    pass


class LookupNotFound(NotFound):
    pass


# --- the interface -------------------------------------------------------------------------


class Provider:
    """One lookup provider. Subclasses implement the three questions."""

    name = "provider"

    def lookup(self, doc_type: str, number: str) -> PartyInfo:
        if doc_type == "6":
            return self.lookup_ruc(number)
        if doc_type == "1":
            return self.lookup_dni(number)
        raise LookupNotFound(f"document type {doc_type} cannot be looked up; only RUC (6) and DNI (1) can")

    def lookup_ruc(self, ruc: str) -> PartyInfo:
        raise NotImplementedError

    def lookup_dni(self, dni: str) -> PartyInfo:
        raise NotImplementedError

    def exchange_rate(self, on: date, currency: str = "USD") -> RateInfo:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def _not_found_body(self, data: dict, subject: str, *name_keys: str) -> None:
        """An answer with an error message and no data means "not found"."""
        if _first(data, *name_keys) is None and _first(data, "error", "message", "mensaje") is not None:
            detail = _text(_first(data, "error", "message", "mensaje"))
            raise LookupNotFound(f"{subject} not found by lookup provider {self.name} ({detail})")

    def _malformed(self, subject: str, what: str) -> MalformedAnswer:
        return MalformedAnswer(f"lookup provider {self.name} sent a malformed answer for {subject} ({what})")

    def __enter__(self) -> "Provider":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- field helpers -----------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """Provider text with SUNAT's '-' placeholders and blanks as None."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return None if text in {"", "-", "--", "null", "None"} else text


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().upper() in {"SI", "SÍ", "S", "TRUE", "1", "YES", "Y"}


def _first(data: dict, *keys: str) -> Any:
    for key in keys:
        if key in data and data[key] not in (None, ""):
            return data[key]
    return None


def _rate_e4(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"rate {value!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise ValueError(f"rate {value!r} is not positive")
    return int((number * 10000).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _address(street: Any, *places: Any) -> str | None:
    """SUNAT style: 'AV. X NRO. 1 LIMA - LIMA - LIMA'; places are appended unless already there."""
    base = _text(street)
    tail = " - ".join(p for p in (_text(x) for x in places) if p)
    if base and tail and not base.endswith(tail):
        return f"{base} {tail}"
    return base or (tail or None)


def _person_name(nombres: Any, paterno: Any, materno: Any) -> str | None:
    """RENIEC parts in SUNAT's order for persons: PATERNO MATERNO NOMBRES."""
    parts = [p for p in (_text(paterno), _text(materno), _text(nombres)) if p]
    return " ".join(parts) or None


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
                f"lookup provider {self.name} needs a token: store it with {TOKEN_HINT} "
                "(or use `cuentas settings set lookup.provider offline`)"
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
                    f"lookup provider {self.name} unavailable: no answer for {subject} within {self.timeout_s:g} s "
                    f"({attempts} attempts); try again later or raise lookup.timeout_s"
                )
                continue
            except httpx.TransportError as exc:
                last = ProviderUnavailable(
                    f"lookup provider {self.name} unavailable: cannot connect to {self.base_url} "
                    f"({type(exc).__name__}) after {attempts} attempts; check lookup.base_url or try again later"
                )
                continue
            status = response.status_code
            if status in (401, 403):
                raise TokenInvalid(
                    f"lookup provider {self.name} refused the token (HTTP {status}); "
                    f"store a valid one with {TOKEN_HINT}"
                )
            if status == 429:
                last = RateLimited(
                    f"lookup provider {self.name} is rate limiting requests (HTTP 429, {attempts} attempts); "
                    "try again later"
                )
                last.response = response  # type: ignore[attr-defined]
                continue
            if status >= 500:
                last = ProviderUnavailable(
                    f"lookup provider {self.name} unavailable (HTTP {status}, {attempts} attempts); try again later"
                )
                last.response = response  # type: ignore[attr-defined]
                continue
            if status in (400, 404, 422):
                raise LookupNotFound(f"{subject} not found by lookup provider {self.name} (HTTP {status})")
            if status >= 300:
                raise LookupFailed(f"lookup provider {self.name} answered HTTP {status} for {subject}; try again later")
            try:
                data = json.loads(response.content, parse_float=Decimal)
            except (ValueError, UnicodeDecodeError):
                raise MalformedAnswer(
                    f"lookup provider {self.name} sent a malformed answer for {subject} (not JSON); try again later"
                ) from None
            if not isinstance(data, dict):
                raise MalformedAnswer(
                    f"lookup provider {self.name} sent a malformed answer for {subject} (not a JSON object)"
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
        name = _text(_first(data, "razon_social", "name"))
        if not name:
            raise self._malformed(subject, "no razon_social")
        number = _text(_first(data, "numero_documento", "document_number")) or ruc
        if number != ruc:
            raise self._malformed(subject, f"it describes {number}")
        return PartyInfo(
            doc_type="6", doc_number=ruc, name=name,
            address=_address(_first(data, "direccion", "address"), _first(data, "distrito", "district"),
                             _first(data, "provincia", "province"), _first(data, "departamento", "department")),
            estado=(_text(_first(data, "estado", "status")) or "").upper() or None,
            condicion=(_text(_first(data, "condicion", "condition")) or "").upper() or None,
            is_retention_agent=_flag(_first(data, "es_agente_retencion", "is_retention_agent")),
            is_good_taxpayer=_flag(_first(data, "es_buen_contribuyente", "is_good_taxpayer")),
            ubigeo=_text(data.get("ubigeo")), provider=self.name,
        )

    def lookup_dni(self, dni: str) -> PartyInfo:
        subject = f"DNI {dni}"
        data = self._get("/v1/reniec/dni", {"numero": dni}, subject=subject)
        self._not_found_body(data, subject, "full_name", "first_name")
        name = _person_name(data.get("first_name"), data.get("first_last_name"), data.get("second_last_name"))
        name = name or _text(data.get("full_name"))
        if not name:
            raise self._malformed(subject, "no full_name")
        number = _text(data.get("document_number")) or dni
        if number != dni:
            raise self._malformed(subject, f"it describes {number}")
        return PartyInfo(doc_type="1", doc_number=dni, name=name, provider=self.name)

    def exchange_rate(self, on: date, currency: str = "USD") -> RateInfo:
        subject = f"the exchange rate of {on.isoformat()}"
        data = self._get("/v1/tipo-cambio/sunat", {"date": on.isoformat()}, subject=subject)
        return parse_rate(data, on, currency, source=self,
                          sell_keys=("sell_price", "venta"), buy_keys=("buy_price", "compra"),
                          date_keys=("date", "fecha"))


# --- parsers shared by apisnet and the offline fixture ---------------------------------------


def parse_apisnet_ruc(data: dict, ruc: str, *, source: Provider) -> PartyInfo:
    subject = f"RUC {ruc}"
    source._not_found_body(data, subject, "razonSocial", "nombre")
    name = _text(_first(data, "razonSocial", "nombre"))
    if not name:
        raise source._malformed(subject, "no razonSocial")
    number = _text(data.get("numeroDocumento")) or ruc
    if number != ruc:
        raise source._malformed(subject, f"it describes {number}")
    return PartyInfo(
        doc_type="6", doc_number=ruc, name=name,
        address=_address(data.get("direccion"), data.get("distrito"), data.get("provincia"), data.get("departamento")),
        estado=(_text(data.get("estado")) or "").upper() or None,
        condicion=(_text(data.get("condicion")) or "").upper() or None,
        is_retention_agent=_flag(data.get("EsAgenteRetencion")),
        is_good_taxpayer=_flag(data.get("EsBuenContribuyente")),
        ubigeo=_text(data.get("ubigeo")), provider=source.name,
    )


def parse_apisnet_dni(data: dict, dni: str, *, source: Provider) -> PartyInfo:
    subject = f"DNI {dni}"
    source._not_found_body(data, subject, "nombres", "nombre")
    name = _person_name(data.get("nombres"), data.get("apellidoPaterno"), data.get("apellidoMaterno"))
    name = name or _text(_first(data, "nombreCompleto", "nombre"))
    if not name:
        raise source._malformed(subject, "no nombres")
    number = _text(data.get("numeroDocumento")) or dni
    if number != dni:
        raise source._malformed(subject, f"it describes {number}")
    return PartyInfo(doc_type="1", doc_number=dni, name=name, provider=source.name)


def parse_rate(data: dict, on: date, currency: str, *, source: Provider,
               sell_keys: tuple[str, ...], buy_keys: tuple[str, ...], date_keys: tuple[str, ...]) -> RateInfo:
    subject = f"the exchange rate of {on.isoformat()}"
    source._not_found_body(data, subject, *sell_keys)
    try:
        sell = _rate_e4(_first(data, *sell_keys))
        buy = _rate_e4(_first(data, *buy_keys))
    except ValueError as exc:
        raise source._malformed(subject, str(exc)) from None
    if sell is None:
        raise source._malformed(subject, f"no {sell_keys[0]}")
    raw_date = _text(_first(data, *date_keys))
    rate_date = on
    if raw_date:
        try:
            rate_date = date.fromisoformat(raw_date[:10])
        except ValueError:
            raise source._malformed(subject, f"date {raw_date!r}") from None
    return RateInfo(rate_date=rate_date, currency=currency, sell_e4=sell, buy_e4=buy, provider=source.name)


# --- offline -----------------------------------------------------------------------------------


class Offline(Provider):
    """Answers from a static fixture (apis.net.pe v2 shapes) for development and demos.

    The data are fictitious except SUNAT's own RUC; see docs/parties.md.
    """

    name = "offline"

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path or OFFLINE_DATA)
        try:
            self._data = json.loads(self.path.read_text(encoding="utf-8"), parse_float=Decimal)
        except (OSError, ValueError) as exc:
            raise MalformedAnswer(f"offline lookup data {self.path} is unreadable: {exc}") from None

    def _missing(self, subject: str) -> LookupNotFound:
        return LookupNotFound(
            f"{subject} is not in the offline lookup data; for real lookups run "
            f"`cuentas settings set lookup.provider apisnet` and {TOKEN_HINT}"
        )

    def lookup_ruc(self, ruc: str) -> PartyInfo:
        data = self._data.get("ruc", {}).get(ruc)
        if data is None:
            raise self._missing(f"RUC {ruc}")
        return parse_apisnet_ruc(data, ruc, source=self)

    def lookup_dni(self, dni: str) -> PartyInfo:
        data = self._data.get("dni", {}).get(dni)
        if data is None:
            raise self._missing(f"DNI {dni}")
        return parse_apisnet_dni(data, dni, source=self)

    def exchange_rate(self, on: date, currency: str = "USD") -> RateInfo:
        data = self._data.get("tipo_cambio", {}).get(on.isoformat())
        if data is None or currency != "USD":
            raise self._missing(f"the {currency} exchange rate of {on.isoformat()}")
        return parse_rate(data, on, currency, source=self,
                          sell_keys=("venta", "precioVenta"), buy_keys=("compra", "precioCompra"),
                          date_keys=("fecha", "date"))


# --- choosing one ----------------------------------------------------------------------------------

PROVIDERS: dict[str, type[Provider]] = {"apisnet": ApisNetV2, "decolecta": Decolecta, "offline": Offline}


def make_provider(name: str, *, base_url: str | None = None, token: str | None = None, timeout_s: float = 10.0,
                  transport: Any = None, backoff_s: float | None = None) -> Provider:
    """The provider called `name`; HTTP ones need a token."""
    if name == "offline":
        return Offline()
    try:
        cls = PROVIDERS[name]
    except KeyError:
        raise LookupFailed(f"unknown lookup provider {name!r}; use one of {', '.join(PROVIDERS)}") from None
    return cls(base_url=base_url, token=token, timeout_s=timeout_s, transport=transport, backoff_s=backoff_s)  # type: ignore[call-arg]


def doc_word(doc_type: str) -> str:
    return _DOC_WORD.get(doc_type, "document")
