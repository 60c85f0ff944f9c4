"""Looking a document up: the lookup settings and provider, a stored or padrón answer reused
before any network call, strict mode's checks, and storing an answer on a party.

Network calls never run inside a write transaction: commands look up first (`plan_lookup`,
`fetch_lookup`) and then write (`parties.service.add_party`). A failed lookup never changes
stored data. With `validation.strict = true` a RUC must be ACTIVO and HABIDO at the provider,
and a DNI known to it, before the party is added (`check_strict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import CuentasError, NotFound, ValidationError
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.parties import padron
from cuentas_cli.parties.records import aware, doc_word, party_label, utcnow
from cuentas_cli.rules.identity import (
    LOOKUP_DOC_TYPES,
    doc_type_label,
    guess_doc_type,
    normalise_doc_type,
    validate_document,
)
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

    from cuentas_cli.config import Config
    from cuentas_cli.db.models import Party
    from cuentas_cli.integrations.lookup import PartyInfo, Provider

LOOKUP_TOKEN = "lookup-token"
LOOKUP_TOKEN_ENV = "CUENTAS_LOOKUP_TOKEN"


@dataclass(frozen=True)
class LookupSettings:
    provider: str
    base_url: str | None  # None: the adapter's own default
    timeout_s: float
    max_age_days: int
    strict: bool
    token: str | None


def _lookup_token() -> str | None:
    """CUENTAS_LOOKUP_TOKEN (for machines without a keyring), else the keyring's lookup-token."""
    import os

    from cuentas_cli.integrations import keyring_store

    if os.environ.get(LOOKUP_TOKEN_ENV):
        return os.environ[LOOKUP_TOKEN_ENV].strip()
    try:
        return keyring_store.get_secret(LOOKUP_TOKEN)
    except keyring_store.KeyringUnavailable:
        return None


def lookup_settings(session: "Session", config: "Config") -> LookupSettings:
    """The lookup.* and validation.strict settings. With lookup.provider left at its default,
    apis.net.pe is used when a token is stored and the offline fixture otherwise."""
    from cuentas_cli.config import parse_value
    from cuentas_cli.admin import settings

    values = settings.effective(session, config)

    def get(key: str) -> Any:
        return parse_value(key, values[key].value)

    token = _lookup_token()
    provider = get("lookup.provider")
    if values["lookup.provider"].source == "default" and token:
        provider = "apisnet"
    base_url = get("lookup.base_url") if values["lookup.base_url"].source != "default" else None
    return LookupSettings(
        provider=provider, base_url=base_url or None, timeout_s=get("lookup.timeout_s"),
        max_age_days=get("lookup.max_age_days"), strict=get("validation.strict"), token=token,
    )


def open_provider(options: LookupSettings) -> "Provider":
    """The configured provider; close it (or use it as a context manager) when done."""
    from cuentas_cli.integrations import lookup

    return lookup.make_provider(options.provider, base_url=options.base_url, token=options.token,
                                timeout_s=options.timeout_s)


@dataclass
class LookupOutcome:
    """What a lookup gave: the answer, or the error that stopped it (never both)."""

    info: "PartyInfo | None" = None
    error: CuentasError | None = None
    reused_from: str | None = None  # "client 20..." when a fresh stored answer was reused


def fetch_lookup(options: LookupSettings, doc_type: str, number: str, *, provider: "Provider | None" = None) -> LookupOutcome:
    """Ask the provider (no database involved); failures come back in `error`."""
    from cuentas_cli.integrations.lookup import LookupFailed, LookupNotFound

    owned = provider is None
    try:
        provider = provider or open_provider(options)
    except LookupFailed as exc:
        return LookupOutcome(error=exc)
    try:
        return LookupOutcome(info=provider.lookup(doc_type, number))
    except (LookupFailed, LookupNotFound) as exc:
        return LookupOutcome(error=exc)
    finally:
        if owned:
            provider.close()


def is_fresh(verified_at: datetime | None, max_age_days: int, now: datetime) -> bool:
    verified_at = aware(verified_at)
    return verified_at is not None and now - verified_at < timedelta(days=max_age_days)


def _info_of(party: "Party") -> "PartyInfo":
    from cuentas_cli.integrations.lookup import PartyInfo

    return PartyInfo(
        doc_type=party.doc_type, doc_number=party.doc_number, name=party.name, address=party.address,
        estado=party.sunat_estado, condicion=party.sunat_condicion, is_retention_agent=party.is_retention_agent,
        is_good_taxpayer=party.is_good_taxpayer, provider="stored",
    )


@dataclass
class LookupPlan:
    settings: LookupSettings
    doc_type: str
    doc_number: str
    cached: LookupOutcome | None  # a fresh stored answer (the same document as the other kind)

    @property
    def lookupable(self) -> bool:
        return self.doc_type in LOOKUP_DOC_TYPES


def plan_lookup(session: "Session", *, config: "Config", doc_type: str, doc_number: str,
                now: datetime | None = None) -> LookupPlan:
    """Settings plus a stored answer younger than lookup.max_age_days, if one exists (e.g. a
    supplier being added who is already a verified client)."""
    from sqlmodel import select

    from cuentas_cli.db.models import Party

    options = lookup_settings(session, config)
    now = now or utcnow()
    cached = None
    if doc_type in LOOKUP_DOC_TYPES:
        rows = session.exec(select(Party).where(
            Party.doc_type == doc_type, Party.doc_number == doc_number, Party.source == "provider")).all()
        for row in rows:
            if is_fresh(row.verified_at, options.max_age_days, now):
                cached = LookupOutcome(info=_info_of(row), reused_from=party_label(row))
                break
    if cached is None and doc_type == "6":
        cached = padron_outcome(session, doc_number)
    return LookupPlan(options, doc_type, doc_number, cached)


def padron_outcome(session: "Session", ruc: str) -> LookupOutcome | None:
    """The offline RUC register (SUNAT's padrón reducido, `cuentas padron import`) answers a
    RUC before any HTTP provider: no token, no network. None when the RUC is not in it."""
    from cuentas_cli.integrations.lookup import PartyInfo

    entry = padron.lookup(session, ruc)
    if entry is None:
        return None
    when = entry.padron_date.isoformat() if entry.padron_date else "unknown date"
    return LookupOutcome(info=PartyInfo(
        doc_type="6", doc_number=ruc, name=entry.name, address=entry.address, estado=entry.estado,
        condicion=entry.condicion, ubigeo=entry.ubigeo, provider=f"{padron.PROVIDER_PREFIX}{when}"))


def lookup_document(*, session: "Session", actor: Actor | None, config: "Config", doc: str,
                    doc_type: str | None = None) -> "PartyInfo":
    """`clients lookup DOC`: ask the provider; nothing is stored."""
    require(actor, "read")
    code = normalise_doc_type(doc_type) if doc_type else guess_doc_type(doc)
    if code is None:
        raise ValidationError(_("{doc_strip!r}: give a RUC (11 digits) or a DNI (8 digits)")
                              .format(doc_strip=doc.strip()))
    code, number = validate_document(code, doc)
    if code not in LOOKUP_DOC_TYPES:
        raise ValidationError(_("{doc_type_label_code} {number}: only a RUC or a DNI can be looked up")
                              .format(doc_type_label_code=doc_type_label(code), number=number))
    outcome = fetch_lookup(lookup_settings(session, config), code, number)
    if outcome.error is not None:
        raise outcome.error
    return outcome.info


# --- strict mode -------------------------------------------------------------------------------------


def check_strict(doc_type: str, doc_number: str, outcome: LookupOutcome | None) -> None:
    """validation.strict: a RUC must be ACTIVO and HABIDO at the provider, a DNI known to it.

    Carné de extranjería, passport and other documents cannot be verified by any provider
    and are accepted on their shape. A provider failure (token, outage) keeps its own exit
    code 7; an unknown, inactive or not-habido document is a validation error (exit 3).
    """
    if doc_type not in LOOKUP_DOC_TYPES:
        return
    word = f"{doc_word(doc_type)} {doc_number}"
    if outcome is None:
        raise ValidationError(_("validation.strict is on: {word} must be verified by a lookup; drop "
                                "--no-lookup").format(word=word))
    if outcome.error is not None:
        if isinstance(outcome.error, NotFound):
            raise ValidationError(_("validation.strict is on: {word} is unknown to the lookup provider "
                                    "({message}); not added")
                                  .format(word=word, message=outcome.error.message))
        raise type(outcome.error)(f"validation.strict is on and the lookup of {word} failed: {outcome.error.message}")
    info = outcome.info
    if doc_type == "6":
        if info.estado != "ACTIVO":
            raise ValidationError(_("validation.strict is on: {word} has SUNAT estado "
                                    "{info_estado_or_unknown}, not ACTIVO; not added")
                                  .format(word=word, info_estado_or_unknown=info.estado or 'unknown'))
        if info.condicion != "HABIDO":
            raise ValidationError(_("validation.strict is on: {word} has SUNAT condición "
                                    "{info_condicion_or_unknow}, not HABIDO; not added")
                                  .format(word=word, info_condicion_or_unknow=info.condicion or 'unknown'))


def warnings_for(info: "PartyInfo") -> list[str]:
    out = []
    if info.doc_type == "6" and info.estado and info.estado != "ACTIVO":
        out.append(f"RUC {info.doc_number}: SUNAT estado is {info.estado}")
    if info.doc_type == "6" and info.condicion and info.condicion != "HABIDO":
        out.append(f"RUC {info.doc_number}: SUNAT condición is {info.condicion}")
    return out


# --- applying an answer ------------------------------------------------------------------------------


def apply_info(party: "Party", info: "PartyInfo", now: datetime) -> dict[str, tuple[Any, Any]]:
    """Store a successful answer on the party; returns the fields that changed (old, new).

    Values the answer lacks (None) never blank what is stored; flags are the provider's word.
    """
    new = {
        "name": info.name[:255] if info.name else None,
        "address": info.address[:500] if info.address else None,
        "sunat_estado": info.estado,
        "sunat_condicion": info.condicion,
        "is_retention_agent": info.is_retention_agent,
        "is_good_taxpayer": info.is_good_taxpayer,
    }
    changes: dict[str, tuple[Any, Any]] = {}
    for name, value in new.items():
        if value is None and not isinstance(getattr(party, name), bool):
            continue
        if getattr(party, name) != value:
            changes[name] = (getattr(party, name), value)
            setattr(party, name, value)
    if changes or party.source != "provider":
        party.updated_at = now
    party.source = "provider"
    party.verified_at = now
    return changes
