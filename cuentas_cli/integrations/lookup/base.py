"""What a lookup provider answers (`PartyInfo`, `RateInfo`), how it fails (domain errors with
their exit codes), the `Provider` interface, and the parsers of the apis.net.pe v2 shapes shared
by that adapter and the offline fixture."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from cuentas_cli.errors import ExternalError, NotFound
from cuentas_cli.i18n import _

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
        raise LookupNotFound(_("document type {doc_type} cannot be looked up; only RUC (6) and DNI (1) "
                               "can").format(doc_type=doc_type))

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
        if first_of(data, *name_keys) is None and first_of(data, "error", "message", "mensaje") is not None:
            detail = text_value(first_of(data, "error", "message", "mensaje"))
            raise LookupNotFound(_("{subject} not found by lookup provider {name} ({detail})")
                                 .format(subject=subject, name=self.name, detail=detail))

    def _malformed(self, subject: str, what: str) -> MalformedAnswer:
        return MalformedAnswer(_("lookup provider {name} sent a malformed answer for {subject} ({what})")
                               .format(name=self.name, subject=subject, what=what))

    def __enter__(self) -> "Provider":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- field helpers -----------------------------------------------------------------------------


def text_value(value: Any) -> str | None:
    """Provider text with SUNAT's '-' placeholders and blanks as None."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return None if text in {"", "-", "--", "null", "None"} else text


def flag_value(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().upper() in {"SI", "SÍ", "S", "TRUE", "1", "YES", "Y"}


def first_of(data: dict, *keys: str) -> Any:
    for key in keys:
        if key in data and data[key] not in (None, ""):
            return data[key]
    return None


def rate_e4(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"rate {value!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise ValueError(f"rate {value!r} is not positive")
    return int((number * 10000).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def address_of(street: Any, *places: Any) -> str | None:
    """SUNAT style: 'AV. X NRO. 1 LIMA - LIMA - LIMA'; places are appended unless already there."""
    base = text_value(street)
    tail = " - ".join(p for p in (text_value(x) for x in places) if p)
    if base and tail and not base.endswith(tail):
        return f"{base} {tail}"
    return base or (tail or None)


def person_name(nombres: Any, paterno: Any, materno: Any) -> str | None:
    """RENIEC parts in SUNAT's order for persons: PATERNO MATERNO NOMBRES."""
    parts = [p for p in (text_value(paterno), text_value(materno), text_value(nombres)) if p]
    return " ".join(parts) or None


# --- parsers shared by apisnet and the offline fixture ---------------------------------------


def parse_apisnet_ruc(data: dict, ruc: str, *, source: Provider) -> PartyInfo:
    subject = f"RUC {ruc}"
    source._not_found_body(data, subject, "razonSocial", "nombre")
    name = text_value(first_of(data, "razonSocial", "nombre"))
    if not name:
        raise source._malformed(subject, "no razonSocial")
    number = text_value(data.get("numeroDocumento")) or ruc
    if number != ruc:
        raise source._malformed(subject, f"it describes {number}")
    return PartyInfo(
        doc_type="6", doc_number=ruc, name=name,
        address=address_of(data.get("direccion"), data.get("distrito"), data.get("provincia"), data.get("departamento")),
        estado=(text_value(data.get("estado")) or "").upper() or None,
        condicion=(text_value(data.get("condicion")) or "").upper() or None,
        is_retention_agent=flag_value(data.get("EsAgenteRetencion")),
        is_good_taxpayer=flag_value(data.get("EsBuenContribuyente")),
        ubigeo=text_value(data.get("ubigeo")), provider=source.name,
    )


def parse_apisnet_dni(data: dict, dni: str, *, source: Provider) -> PartyInfo:
    subject = f"DNI {dni}"
    source._not_found_body(data, subject, "nombres", "nombre")
    name = person_name(data.get("nombres"), data.get("apellidoPaterno"), data.get("apellidoMaterno"))
    name = name or text_value(first_of(data, "nombreCompleto", "nombre"))
    if not name:
        raise source._malformed(subject, "no nombres")
    number = text_value(data.get("numeroDocumento")) or dni
    if number != dni:
        raise source._malformed(subject, f"it describes {number}")
    return PartyInfo(doc_type="1", doc_number=dni, name=name, provider=source.name)


def parse_rate(data: dict, on: date, currency: str, *, source: Provider,
               sell_keys: tuple[str, ...], buy_keys: tuple[str, ...], date_keys: tuple[str, ...]) -> RateInfo:
    subject = f"the exchange rate of {on.isoformat()}"
    source._not_found_body(data, subject, *sell_keys)
    try:
        sell = rate_e4(first_of(data, *sell_keys))
        buy = rate_e4(first_of(data, *buy_keys))
    except ValueError as exc:
        raise source._malformed(subject, str(exc)) from None
    if sell is None:
        raise source._malformed(subject, f"no {sell_keys[0]}")
    raw_date = text_value(first_of(data, *date_keys))
    rate_date = on
    if raw_date:
        try:
            rate_date = date.fromisoformat(raw_date[:10])
        except ValueError:
            raise source._malformed(subject, f"date {raw_date!r}") from None
    return RateInfo(rate_date=rate_date, currency=currency, sell_e4=sell, buy_e4=buy, provider=source.name)


def doc_word(doc_type: str) -> str:
    return _DOC_WORD.get(doc_type, "document")
