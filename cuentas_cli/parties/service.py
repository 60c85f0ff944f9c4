"""Clients and suppliers: one code path, told apart by `kind`.

`cuentas clients ...` and `cuentas suppliers ...` are the same commands over these functions.
A party's document is validated (RUC/DNI check digits, catalogue 06 shapes) and, where a
provider can answer (RUC, DNI), looked up; the answer is stored on the party with
`source='provider'` and `verified_at`, and reused while younger than `lookup.max_age_days`.

Network calls never run inside a write transaction: commands look up first (`plan_lookup`,
`fetch_lookup`) and then write (`add_party`), and the bulk refresh writes in short batches
while a bounded pool of threads asks the provider. A failed lookup never changes stored data.

With `validation.strict = true` a RUC must be ACTIVO and HABIDO at the provider, and a DNI
known to it, before the party is added (`check_strict`); the importer calls `ensure_party`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import Conflict, CuentasError, ExternalError, NotFound, ValidationError
from cuentas_cli.admin import audit
from cuentas_cli.ledger import balances
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.rules.identity import (
    LOOKUP_DOC_TYPES,
    doc_type_label,
    guess_doc_type,
    normalise_doc_type,
    validate_document,
    validate_email,
)

if TYPE_CHECKING:
    from sqlmodel import Session

    from cuentas_cli.config import Config
    from cuentas_cli.db.models import Party
    from cuentas_cli.integrations.lookup import PartyInfo, Provider

KIND_ALIASES = {
    "client": "client", "clients": "client", "cliente": "client", "cxc": "client", "receivable": "client",
    "supplier": "supplier", "suppliers": "supplier", "proveedor": "supplier", "cxp": "supplier", "payable": "supplier",
}
KIND_LABEL = {"client": "client", "supplier": "supplier"}
KIND_NOUN = {"client": "clients", "supplier": "suppliers"}
DIRECTION = {"client": "receivable", "supplier": "payable"}
LOOKUP_TOKEN = "lookup-token"
LOOKUP_TOKEN_ENV = "CUENTAS_LOOKUP_TOKEN"
DEFAULT_WORKERS = 6
MAX_WORKERS = 16
_INFO_FIELDS = ("name", "address", "sunat_estado", "sunat_condicion", "is_retention_agent", "is_good_taxpayer")


def normalise_kind(kind: str) -> str:
    try:
        return KIND_ALIASES[kind.strip().lower()]
    except KeyError:
        raise ValidationError(f"unknown party kind {kind!r}; use client or supplier") from None


def get_party(session: "Session", *, kind: str, ref: str) -> "Party":
    """A party by document number (RUC, DNI, ...) or by numeric id."""
    from sqlmodel import select

    from cuentas_cli.db.models import Party

    kind = normalise_kind(kind)
    ref = ref.strip()
    party = session.exec(select(Party).where(Party.kind == kind, Party.doc_number == ref)).first()
    if party is None and ref.isascii() and ref.isdigit() and len(ref) < 8:
        party = session.get(Party, int(ref))
        if party is not None and party.kind != kind:
            party = None
    if party is None:
        noun = "clients" if kind == "client" else "suppliers"
        raise NotFound(f"no {KIND_LABEL[kind]} with document or id {ref!r}; see `cuentas {noun} list`")
    return party


def suggest_documents(*, session: "Session", actor: Actor | None, kind: str, prefix: str,
                      limit: int = 50) -> list[tuple[str, str]]:
    """(document, name) of the parties of `kind` whose document starts with `prefix`, for
    shell completion."""
    from sqlalchemy import select

    from cuentas_cli.db.models import Party

    require(actor, "read")
    rows = session.execute(
        select(Party.doc_number, Party.name)
        .where(Party.kind == normalise_kind(kind), Party.doc_number.startswith(prefix.strip()))
        .order_by(Party.doc_number).limit(limit)
    )
    return [(doc, name) for doc, name in rows]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def _word(doc_type: str) -> str:
    return {"6": "RUC", "1": "DNI"}.get(doc_type, doc_type_label(doc_type))


def _label(party: "Party") -> str:
    return f"{KIND_LABEL[party.kind]} {_word(party.doc_type)} {party.doc_number}"


def _view(party: "Party") -> dict[str, Any]:
    """The stored fields, for the audit log."""
    return {k: getattr(party, k) for k in (
        "kind", "doc_type", "doc_number", "name", "address", "email", "phone", "sunat_estado", "sunat_condicion",
        "is_retention_agent", "is_good_taxpayer", "source", "verified_at")}


# --- lookup settings and provider ------------------------------------------------------------


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


def _fresh(verified_at: datetime | None, max_age_days: int, now: datetime) -> bool:
    verified_at = _aware(verified_at)
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
    now = now or _utcnow()
    cached = None
    if doc_type in LOOKUP_DOC_TYPES:
        rows = session.exec(select(Party).where(
            Party.doc_type == doc_type, Party.doc_number == doc_number, Party.source == "provider")).all()
        for row in rows:
            if _fresh(row.verified_at, options.max_age_days, now):
                cached = LookupOutcome(info=_info_of(row), reused_from=_label(row))
                break
    if cached is None and doc_type == "6":
        cached = padron_outcome(session, doc_number)
    return LookupPlan(options, doc_type, doc_number, cached)


def padron_outcome(session: "Session", ruc: str) -> LookupOutcome | None:
    """The offline RUC register (SUNAT's padrón reducido, `cuentas padron import`) answers a
    RUC before any HTTP provider: no token, no network. None when the RUC is not in it."""
    from cuentas_cli.integrations.lookup import PartyInfo
    from cuentas_cli.parties import padron

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
        raise ValidationError(f"{doc.strip()!r}: give a RUC (11 digits) or a DNI (8 digits)")
    code, number = validate_document(code, doc)
    if code not in LOOKUP_DOC_TYPES:
        raise ValidationError(f"{doc_type_label(code)} {number}: only a RUC or a DNI can be looked up")
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
    word = f"{_word(doc_type)} {doc_number}"
    if outcome is None:
        raise ValidationError(f"validation.strict is on: {word} must be verified by a lookup; drop --no-lookup")
    if outcome.error is not None:
        if isinstance(outcome.error, NotFound):
            raise ValidationError(f"validation.strict is on: {word} is unknown to the lookup provider "
                                  f"({outcome.error.message}); not added")
        raise type(outcome.error)(f"validation.strict is on and the lookup of {word} failed: {outcome.error.message}")
    info = outcome.info
    if doc_type == "6":
        if info.estado != "ACTIVO":
            raise ValidationError(f"validation.strict is on: {word} has SUNAT estado {info.estado or 'unknown'}, "
                                  "not ACTIVO; not added")
        if info.condicion != "HABIDO":
            raise ValidationError(f"validation.strict is on: {word} has SUNAT condición {info.condicion or 'unknown'}, "
                                  "not HABIDO; not added")


def _warnings_for(info: "PartyInfo") -> list[str]:
    out = []
    if info.doc_type == "6" and info.estado and info.estado != "ACTIVO":
        out.append(f"RUC {info.doc_number}: SUNAT estado is {info.estado}")
    if info.doc_type == "6" and info.condicion and info.condicion != "HABIDO":
        out.append(f"RUC {info.doc_number}: SUNAT condición is {info.condicion}")
    return out


# --- applying an answer ------------------------------------------------------------------------------


def _apply_info(party: "Party", info: "PartyInfo", now: datetime) -> dict[str, tuple[Any, Any]]:
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


# --- list, show, invoices ------------------------------------------------------------------------------


@dataclass
class PartyRow:
    """A client or supplier as listed (stable JSON keys)."""

    id: int
    kind: str
    doc_type: str
    doc_number: str
    name: str
    email: str | None
    phone: str | None
    address: str | None
    sunat_estado: str | None
    sunat_condicion: str | None
    is_retention_agent: bool
    is_good_taxpayer: bool
    source: str
    verified_at: datetime | None


@dataclass
class PartyOverdueRow(PartyRow):
    overdue_invoices: int = 0
    overdue_pen: Decimal = Decimal(0)


@dataclass
class PartyDetail(PartyRow):
    """`show`: the party plus its open and overdue invoices and its last payment."""

    doc_type_name: str = ""
    open_invoices: int = 0
    open_balance_pen: Decimal = Decimal(0)
    overdue_invoices: int = 0
    overdue_pen: Decimal = Decimal(0)
    last_payment_date: date | None = None
    last_payment_amount: Decimal | None = None
    last_payment_currency: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


LIST_COLUMNS = ["id", "doc_type", "doc_number", "name", "sunat_estado", "sunat_condicion", "email", "phone", "verified_at"]
OVERDUE_COLUMNS = ["id", "doc_number", "name", "sunat_estado", "overdue_invoices", "overdue_pen"]


def _row_values(party: "Party") -> dict[str, Any]:
    return dict(
        id=party.id, kind=party.kind, doc_type=party.doc_type, doc_number=party.doc_number, name=party.name,
        email=party.email, phone=party.phone, address=party.address, sunat_estado=party.sunat_estado,
        sunat_condicion=party.sunat_condicion, is_retention_agent=party.is_retention_agent,
        is_good_taxpayer=party.is_good_taxpayer, source=party.source, verified_at=_aware(party.verified_at),
    )


def row_of(party: "Party") -> PartyRow:
    return PartyRow(**_row_values(party))


def _pen(cents: int | None) -> Decimal:
    """A sum of per-document PEN céntimos (balances.pen_cents) -> soles with two decimals."""
    return Decimal(int(cents or 0)).scaleb(-2).quantize(Decimal("0.01"))


def list_parties(*, session: "Session", actor: Actor | None, kind: str, today: date, search: str | None = None,
                 estado: str | None = None, with_overdue: bool = False, limit: int | None = None) -> list[PartyRow]:
    """Parties of one kind by name; `search` matches the name (anywhere) or the document (prefix);
    `estado` the SUNAT estado (prefix: 'baja' matches both BAJAs); `with_overdue` keeps only
    parties with overdue invoices and adds their count and PEN amount."""
    from sqlalchemy import func, or_, select

    from cuentas_cli.db.models import Invoice, Party

    require(actor, "read")
    kind = normalise_kind(kind)
    query = select(Party).where(Party.kind == kind)
    if search and search.strip():
        text = search.strip()
        query = query.where(or_(func.lower(Party.name).contains(text.lower(), autoescape=True),
                                Party.doc_number.startswith(text.upper(), autoescape=True)))
    if estado and estado.strip():
        query = query.where(func.upper(Party.sunat_estado).startswith(estado.strip().upper(), autoescape=True))
    if limit is not None and limit < 1:
        raise ValidationError("--limit: give a number of rows, 1 or more")
    if not with_overdue:
        query = query.order_by(Party.name, Party.id)
        if limit:
            query = query.limit(limit)
        return [PartyRow(**_row_values(p)) for p in session.execute(query).scalars()]
    balance = balances.cached_balance(Invoice)  # the ledger's rule within open statuses
    overdue = (
        select(Invoice.party_id.label("party_id"), func.count().label("n"),
               func.sum(balances.pen_cents(balance, Invoice.exchange_rate_e4)).label("pen"))
        .where(balances.is_open(Invoice), Invoice.due_date < today)
        .group_by(Invoice.party_id)
        .subquery()
    )
    query = (query.add_columns(overdue.c.n, overdue.c.pen).join(overdue, overdue.c.party_id == Party.id)
             .order_by(overdue.c.pen.desc(), Party.id))
    if limit:
        query = query.limit(limit)
    return [PartyOverdueRow(**_row_values(p), overdue_invoices=int(n), overdue_pen=_pen(pen))
            for p, n, pen in session.execute(query).all()]


def show_party(*, session: "Session", actor: Actor | None, kind: str, ref: str, today: date) -> PartyDetail:
    from sqlalchemy import and_, case, func, select

    from cuentas_cli.db.models import Invoice, Payment

    require(actor, "read")
    party = get_party(session, kind=kind, ref=ref)
    balance = balances.cached_balance(Invoice)  # the ledger's rule within open statuses
    is_open = balances.is_open(Invoice)
    is_overdue = and_(is_open, Invoice.due_date < today)
    weighted = balances.pen_cents(balance, Invoice.exchange_rate_e4)
    n_open, open_pen, n_overdue, overdue_pen = session.execute(
        select(
            func.coalesce(func.sum(case((is_open, 1), else_=0)), 0),
            func.coalesce(func.sum(case((is_open, weighted), else_=0)), 0),
            func.coalesce(func.sum(case((is_overdue, 1), else_=0)), 0),
            func.coalesce(func.sum(case((is_overdue, weighted), else_=0)), 0),
        ).where(Invoice.party_id == party.id)
    ).one()
    last = session.execute(
        select(Payment.paid_on, Payment.amount_cents, Invoice.currency)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Invoice.party_id == party.id)
        .order_by(Payment.paid_on.desc(), Payment.id.desc())
        .limit(1)
    ).first()
    return PartyDetail(
        **_row_values(party), doc_type_name=doc_type_label(party.doc_type),
        open_invoices=int(n_open), open_balance_pen=_pen(open_pen),
        overdue_invoices=int(n_overdue), overdue_pen=_pen(overdue_pen),
        last_payment_date=last[0] if last else None,
        last_payment_amount=Decimal(last[1]) / 100 if last else None,
        last_payment_currency=last[2] if last else None,
        created_at=_aware(party.created_at), updated_at=_aware(party.updated_at),
    )


def party_invoices(*, session: "Session", actor: Actor | None, kind: str, ref: str, today: date,
                   status: str | None = None, limit: int | None = None) -> Iterator[Any]:
    """The party's invoices (the invoice rows of `cuentas invoices list --party DOC`)."""
    from cuentas_cli.ledger import invoices

    require(actor, "read")
    kind = normalise_kind(kind)
    party = get_party(session, kind=kind, ref=ref)
    filters = invoices.InvoiceFilter(kind="cxc" if kind == "client" else "cxp", party=party.doc_number,
                                     status=status, limit=limit)
    return invoices.list_invoices(session=session, actor=actor, today=today, filters=filters)


# --- add, ensure, edit, delete --------------------------------------------------------------------------


def _clean(text: str | None, *, field_name: str, longest: int) -> str | None:
    if text is None:
        return None
    value = " ".join(text.split())
    if len(value) > longest:
        raise ValidationError(f"{field_name}: at most {longest} characters")
    return value or None


def check_phone(phone: str | None) -> str | None:
    value = _clean(phone, field_name="phone", longest=40)
    if value is not None and not all(c.isdigit() or c in "+-() #" for c in value):
        raise ValidationError(f"phone {value!r}: use digits, spaces and + - ( ) #")
    return value


def _existing(session: "Session", kind: str, doc_type: str, doc_number: str) -> "Party | None":
    from sqlmodel import select

    from cuentas_cli.db.models import Party

    return session.exec(select(Party).where(
        Party.kind == kind, Party.doc_type == doc_type, Party.doc_number == doc_number)).first()


def check_new(session: "Session", *, actor: Actor | None, kind: str, doc_type: str, doc_number: str) -> tuple[str, str, str]:
    """Validate a party to be added: (kind, catalogue 06 code, number); refuses duplicates."""
    require(actor, "parties.write")
    kind = normalise_kind(kind)
    code, number = validate_document(doc_type, doc_number)
    found = _existing(session, kind, code, number)
    if found is not None:
        raise Conflict(f"{_label(found)} already exists ({found.name}, id {found.id}); "
                       f"change it with `cuentas {KIND_NOUN[kind]} edit {number}`")
    return kind, code, number


@dataclass
class AddResult:
    party: "Party"
    warnings: list[str] = field(default_factory=list)
    verified_by: str | None = None  # provider name, or "client 20..." when a stored answer was reused


def add_party(*, session: "Session", actor: Actor | None, config: "Config", kind: str, doc_type: str,
              doc_number: str, name: str | None = None, email: str | None = None, phone: str | None = None,
              address: str | None = None, lookup: bool = True, outcome: LookupOutcome | None = None,
              provider: "Provider | None" = None, source: str = "manual", now: datetime | None = None) -> AddResult:
    """Add a client or supplier.

    With `lookup` (and a RUC or DNI) the provider's answer fills name, address, estado,
    condición and flags; pass `outcome` when the lookup was made outside the transaction
    (the commands do), otherwise it is made here. Strict mode refuses what `check_strict`
    refuses; otherwise a failed lookup is a warning when a name was given.
    """
    from cuentas_cli.db.models import Party

    kind, code, number = check_new(session, actor=actor, kind=kind, doc_type=doc_type, doc_number=doc_number)
    now = now or _utcnow()
    name = _clean(name, field_name="name", longest=255)
    email = validate_email(email) if email and email.strip() else None
    phone = check_phone(phone)
    address = _clean(address, field_name="address", longest=500)
    plan = plan_lookup(session, config=config, doc_type=code, doc_number=number, now=now)
    if lookup and plan.lookupable and outcome is None:
        outcome = plan.cached or fetch_lookup(plan.settings, code, number, provider=provider)
    if not lookup or not plan.lookupable:
        outcome = None
    if plan.settings.strict:
        check_strict(code, number, outcome)
    warnings: list[str] = []
    info = outcome.info if outcome else None
    if outcome is not None and outcome.error is not None:
        if not name:
            raise type(outcome.error)(f"{outcome.error.message}; give --name to add it without the lookup")
        warnings.append(f"lookup failed, added with the data given: {outcome.error.message}")
    if info is None and not name:
        hint = " (or drop --no-lookup to take it from the provider)" if plan.lookupable else ""
        raise ValidationError(f"{_word(code)} {number}: give --name{hint}")
    party = Party(kind=kind, doc_type=code, doc_number=number, name=name or "", email=email, phone=phone,
                  address=address, source=source, created_at=now, updated_at=now)
    verified_by = None
    if info is not None:
        if name and name.upper() != info.name.upper():
            warnings.append(f"using the registered name {info.name!r} instead of {name!r}")
        _apply_info(party, info, now)
        if info.provider.startswith("padrón"):
            party.source = "padron"  # the offline register answered (plan_lookup)
        if outcome.reused_from:
            verified_by = outcome.reused_from
            # The answer's age is that of the reused one, not now.
            party.verified_at = _reused_verified_at(session, code, number) or now
        else:
            verified_by = info.provider
        if address and not info.address:
            party.address = address
        warnings.extend(_warnings_for(info))
    session.add(party)
    session.flush()
    audit.record(session, actor, action="party.add", entity="party", entity_id=party.id, after=_view(party))
    return AddResult(party, warnings, verified_by)


def _reused_verified_at(session: "Session", doc_type: str, doc_number: str) -> datetime | None:
    from sqlalchemy import func, select

    from cuentas_cli.db.models import Party

    return _aware(session.execute(select(func.max(Party.verified_at)).where(
        Party.doc_type == doc_type, Party.doc_number == doc_number, Party.source == "provider")).scalar())


@dataclass
class EnsureResult:
    party: "Party"
    created: bool
    warnings: list[str] = field(default_factory=list)


def ensure_party(session: "Session", actor: Actor | None, *, config: "Config", kind: str, doc_type: str,
                 doc_number: str, name: str | None = None, lookup: bool = True,
                 outcome: LookupOutcome | None = None, provider: "Provider | None" = None,
                 source: str = "import") -> EnsureResult:
    """The party of (kind, document) for the importer: the existing one, or a new one added
    under the same rules as `clients add` (validation, lookup, strict mode).

    Raises ValidationError (bad document, strict refusal: exit 3), NotFound / ExternalError
    (lookup failed and no name to fall back on), PermissionDenied. The lookup, when needed,
    happens inside the caller's transaction unless `outcome` is passed; for many rows give
    one `provider` (from `open_provider(lookup_settings(session, config))`) to reuse its
    connections, or prefetch with `fetch_lookup` before opening the write transaction.
    """
    kind = normalise_kind(kind)
    code, number = validate_document(doc_type, doc_number)
    found = _existing(session, kind, code, number)
    if found is not None:
        require(actor, "read")
        return EnsureResult(found, False)
    result = add_party(session=session, actor=actor, config=config, kind=kind, doc_type=code, doc_number=number,
                       name=name, lookup=lookup, outcome=outcome, provider=provider, source=source)
    return EnsureResult(result.party, True, result.warnings)


def edit_party(*, session: "Session", actor: Actor | None, kind: str, ref: str, name: str | None = None,
               email: str | None = None, phone: str | None = None, address: str | None = None,
               retention_agent: bool | None = None,
               now: datetime | None = None) -> tuple["Party", list[str]]:
    """Change name, e-mail, phone, address ('' clears all but the name) or the retention-agent
    flag (set by hand where no lookup provider says it); returns the party and the names of
    the fields changed."""
    require(actor, "parties.write")
    party = get_party(session, kind=kind, ref=ref)
    before = _view(party)
    wanted: dict[str, Any] = {}
    if name is not None:
        value = _clean(name, field_name="name", longest=255)
        if not value:
            raise ValidationError("name: must not be empty")
        wanted["name"] = value
    if email is not None:
        wanted["email"] = validate_email(email) if email.strip() else None
    if phone is not None:
        wanted["phone"] = check_phone(phone)
    if address is not None:
        wanted["address"] = _clean(address, field_name="address", longest=500)
    if retention_agent is not None:
        wanted["is_retention_agent"] = bool(retention_agent)
    if not wanted:
        raise ValidationError("nothing to change: give --name, --email, --phone, --address or "
                              "--retention-agent/--no-retention-agent")
    changed = [k for k, v in wanted.items() if getattr(party, k) != v]
    for key in changed:
        setattr(party, key, wanted[key])
    if changed:
        if {"name", "address"} & set(changed):
            party.source = "manual"  # no longer the provider's word
        party.updated_at = now or _utcnow()
        session.add(party)
        audit.record(session, actor, action="party.edit", entity="party", entity_id=party.id, before=before,
                     after=_view(party))
    return party, changed


def delete_party(*, session: "Session", actor: Actor | None, kind: str, ref: str) -> dict[str, Any]:
    """Delete a party without invoices; refused (Conflict) while it has any."""
    from sqlalchemy import func, select

    from cuentas_cli.db.models import Invoice

    require(actor, "parties.delete")
    party = get_party(session, kind=kind, ref=ref)
    count = session.execute(select(func.count()).select_from(Invoice).where(Invoice.party_id == party.id)).scalar()
    if count:
        noun = "invoice" if count == 1 else "invoices"
        raise Conflict(f"{_label(party)} ({party.name}) has {count} {noun}; it cannot be deleted while they exist "
                       f"(see `cuentas {KIND_NOUN[party.kind]} invoices {party.doc_number}`)")
    before = _view(party)
    session.delete(party)
    audit.record(session, actor, action="party.delete", entity="party", entity_id=party.id, before=before)
    return before


# --- refresh ---------------------------------------------------------------------------------------------


@dataclass
class RefreshItem:
    """One party's refresh result: updated, unchanged, skipped or failed (with the reason)."""

    id: int
    kind: str
    doc_type: str
    doc_number: str
    name: str
    result: str
    reason: str | None = None
    changed: str | None = None  # the fields that changed, comma separated


@dataclass
class RefreshSummary:
    items: list[RefreshItem] = field(default_factory=list)
    errors: dict[int, CuentasError] = field(default_factory=dict)  # party id -> the lookup's error
    provider: str = ""

    def count(self, result: str) -> int:
        return sum(1 for i in self.items if i.result == result)

    @property
    def failed(self) -> list[RefreshItem]:
        return [i for i in self.items if i.result == "failed"]


@dataclass(frozen=True)
class _Target:
    id: int
    kind: str
    doc_type: str
    doc_number: str
    name: str


SessionFactory = Callable[..., AbstractContextManager["Session"]]


def refresh_parties(
    *,
    sessions: SessionFactory,
    actor: Actor | None,
    config: "Config",
    kind: str,
    refs: list[str] | None = None,
    all_parties: bool = False,
    older_than_days: int | None = None,
    force: bool = False,
    workers: int = DEFAULT_WORKERS,
    provider: "Provider | None" = None,
    now: datetime | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    batch_size: int = 200,
) -> RefreshSummary:
    """Ask the provider again about some parties (`refs`) or all of a kind, in a pool of
    `workers` threads, and store the answers in short write transactions of `batch_size`.

    Stored answers younger than `older_than_days` (default lookup.max_age_days) are kept
    unless `force`. A party whose lookup fails keeps everything it had; the failure and its
    reason are in the summary. A refused token stops the run at once (every later lookup
    would fail the same way) after storing what was already answered.
    `sessions(write=...)` opens a transaction (the runtime's `session`).
    """
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from sqlalchemy import or_, select

    from cuentas_cli.db.models import Party
    from cuentas_cli.integrations.lookup import TokenInvalid, TokenMissing

    if not refs and not all_parties:
        raise ValidationError("give one or more documents, or --all")
    if refs and all_parties:
        raise ValidationError("give documents or --all, not both")
    if not 1 <= workers <= MAX_WORKERS:
        raise ValidationError(f"--workers: from 1 to {MAX_WORKERS}")
    if older_than_days is not None and older_than_days < 0:
        raise ValidationError("--older-than: give a number of days, 0 or more")
    kind = normalise_kind(kind)
    now = now or _utcnow()
    summary = RefreshSummary()
    targets: list[_Target] = []
    with sessions() as session:
        require(actor, "parties.write")
        options = lookup_settings(session, config)
        max_age = options.max_age_days if older_than_days is None else older_than_days
        if refs:
            for ref in dict.fromkeys(r.strip() for r in refs):
                party = get_party(session, kind=kind, ref=ref)
                target = _Target(party.id, party.kind, party.doc_type, party.doc_number, party.name)
                if party.doc_type not in LOOKUP_DOC_TYPES:
                    summary.items.append(_item(target, "skipped", f"a {doc_type_label(party.doc_type)} cannot be looked up"))
                elif not force and party.source == "provider" and _fresh(party.verified_at, max_age, now):
                    age = (now - _aware(party.verified_at)).days
                    summary.items.append(_item(target, "unchanged",
                                               f"verified {age} days ago (younger than {max_age}); --force asks again"))
                else:
                    targets.append(target)
        else:
            query = select(Party.id, Party.kind, Party.doc_type, Party.doc_number, Party.name).where(
                Party.kind == kind, Party.doc_type.in_(LOOKUP_DOC_TYPES)).order_by(Party.id)
            if not force:
                cutoff = now - timedelta(days=max_age)
                query = query.where(or_(Party.verified_at.is_(None), Party.source != "provider",
                                        Party.verified_at < cutoff))
            targets = [_Target(*row) for row in session.execute(query).all()]
    if not targets:
        return summary
    owned = provider is None
    provider = provider or open_provider(options)
    summary.provider = provider.name
    pending: list[tuple[_Target, "PartyInfo"]] = []
    stop: CuentasError | None = None
    done = 0
    try:
        with ThreadPoolExecutor(max_workers=min(workers, len(targets)), thread_name_prefix="lookup") as pool:
            futures = {pool.submit(provider.lookup, t.doc_type, t.doc_number): t for t in targets}
            for future in as_completed(futures):
                target = futures[future]
                done += 1
                try:
                    pending.append((target, future.result()))
                except (TokenInvalid, TokenMissing) as exc:
                    summary.items.append(_item(target, "failed", exc.message))
                    summary.errors[target.id] = exc
                    stop = exc
                    for other in futures:
                        other.cancel()
                    break
                except CuentasError as exc:
                    summary.items.append(_item(target, "failed", exc.message))
                    summary.errors[target.id] = exc
                if len(pending) >= batch_size:
                    _store_batch(sessions, actor, pending, summary, now, provider.name)
                    pending = []
                if on_progress is not None:
                    on_progress(done, len(targets))
        if pending:
            _store_batch(sessions, actor, pending, summary, now, provider.name)
    finally:
        if owned:
            provider.close()
    if stop is not None:
        asked = {i.id for i in summary.items}
        for target in targets:
            if target.id not in asked:
                summary.items.append(_item(target, "failed", "not asked: the provider refused the token"))
        raise stop
    return summary


def _item(target: _Target, result: str, reason: str | None = None, changed: str | None = None) -> RefreshItem:
    return RefreshItem(target.id, target.kind, target.doc_type, target.doc_number, target.name, result, reason, changed)


def _store_batch(sessions: SessionFactory, actor: Actor | None, answers: list[tuple[_Target, "PartyInfo"]],
                 summary: RefreshSummary, now: datetime, provider_name: str) -> None:
    """Store one batch of answers in one short write transaction."""
    from cuentas_cli.db.models import Party

    items: list[RefreshItem] = []
    from sqlmodel import select

    with sessions(write=True) as session:
        ids = [target.id for target, _ in answers]
        loaded = {p.id: p for p in session.exec(select(Party).where(Party.id.in_(ids))).all()}
        for target, info in answers:
            party = loaded.get(target.id)
            if party is None:
                items.append(_item(target, "failed", "deleted while the refresh ran"))
                continue
            before = _view(party)
            changes = _apply_info(party, info, now)
            session.add(party)
            if changes:
                audit.record(session, actor, action="party.refresh", entity="party", entity_id=party.id,
                             before={k: before[k] for k in changes}, after={k: v[1] for k, v in changes.items()})
                items.append(_item(target, "updated", None, ",".join(changes)))
            else:
                items.append(_item(target, "unchanged"))
        counts = {r: sum(1 for i in items if i.result == r) for r in ("updated", "unchanged")}
        audit.record(session, actor, action="party.verify", entity="party", entity_id=None,
                     after={"provider": provider_name, "verified": len(answers), **counts})
    summary.items.extend(items)


def refresh_exit_error(summary: RefreshSummary, noun: str) -> CuentasError | None:
    """The error a command ends with when some lookups failed (None when none did)."""
    failed = summary.failed
    if not failed:
        return None
    if len(summary.items) == 1:
        return summary.errors.get(failed[0].id) or ExternalError(failed[0].reason or "lookup failed")
    total = len(summary.items)
    all_not_found = all(isinstance(summary.errors.get(i.id), NotFound) for i in failed)
    cls = NotFound if all_not_found else ExternalError
    return cls(f"{len(failed)} of {total} lookups failed; their stored data was kept; "
               f"run `cuentas {noun} refresh --all` again later")
