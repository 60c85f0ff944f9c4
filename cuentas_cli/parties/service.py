"""Clients and suppliers: one code path, told apart by `kind`.

`cuentas clients ...` and `cuentas suppliers ...` are the same commands over these functions.
A party's document is validated (RUC/DNI check digits, catalogue 06 shapes) and, where a
provider can answer (RUC, DNI), looked up (`parties.lookup`); the answer is stored on the party
with `source='provider'` and `verified_at`, and reused while younger than `lookup.max_age_days`.
The importer calls `ensure_party`; the bulk refresh is `parties.refresh`. A party's account
(its invoices and balances) is a ledger view: `ledger.accounts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import Conflict, NotFound, ValidationError
from cuentas_cli.admin import audit
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.parties.lookup import (
    LookupOutcome,
    apply_info,
    check_strict,
    fetch_lookup,
    plan_lookup,
    warnings_for,
)
from cuentas_cli.parties.records import KIND_LABEL, KIND_NOUN, audit_view, aware, doc_word, normalise_kind, party_label, utcnow
from cuentas_cli.rules.identity import validate_document, validate_email
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlmodel import Session

    from cuentas_cli.config import Config
    from cuentas_cli.db.models import Party
    from cuentas_cli.integrations.lookup import Provider

def find_party(db: "Session | Connection", *, kind: str, ref: str) -> Any:
    """A party's row (Core, every column) by document number (RUC, DNI, ...) or by numeric id."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import party as parties

    kind = normalise_kind(kind)
    ref = ref.strip()
    found = db.execute(select(parties).where(parties.c.kind == kind, parties.c.doc_number == ref)).first()
    if found is None and ref.isascii() and ref.isdigit() and len(ref) < 8:
        found = db.execute(select(parties).where(parties.c.kind == kind, parties.c.id == int(ref))).first()
    if found is None:
        noun = "clients" if kind == "client" else "suppliers"
        raise NotFound(_("no {kind_label_kind} with document or id {ref!r}; see `cuentas {noun} list`")
                       .format(kind_label_kind=KIND_LABEL[kind], ref=ref, noun=noun))
    return found


def get_party(session: "Session", *, kind: str, ref: str) -> "Party":
    """A party (ORM object) by document number (RUC, DNI, ...) or by numeric id."""
    from cuentas_cli.db.models import Party

    return session.get(Party, find_party(session, kind=kind, ref=ref).id)


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


# --- add, ensure, edit, delete --------------------------------------------------------------------------


def _clean(text: str | None, *, field_name: str, longest: int) -> str | None:
    if text is None:
        return None
    value = " ".join(text.split())
    if len(value) > longest:
        raise ValidationError(_("{field_name}: at most {longest} characters")
                              .format(field_name=field_name, longest=longest))
    return value or None


def check_phone(phone: str | None) -> str | None:
    value = _clean(phone, field_name="phone", longest=40)
    if value is not None and not all(c.isdigit() or c in "+-() #" for c in value):
        raise ValidationError(_("phone {value!r}: use digits, spaces and + - ( ) #").format(value=value))
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
        raise Conflict(_("{party_label_found} already exists ({name}, id {id}); change it with `cuentas "
                         "{kind_noun_kind} edit {number}`")
                       .format(party_label_found=party_label(found), name=found.name, id=found.id, kind_noun_kind=KIND_NOUN[kind], number=number))
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
    now = now or utcnow()
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
        raise ValidationError(_("{doc_word_code} {number}: give --name{hint}")
                              .format(doc_word_code=doc_word(code), number=number, hint=hint))
    party = Party(kind=kind, doc_type=code, doc_number=number, name=name or "", email=email, phone=phone,
                  address=address, source=source, created_at=now, updated_at=now)
    verified_by = None
    if info is not None:
        if name and name.upper() != info.name.upper():
            warnings.append(f"using the registered name {info.name!r} instead of {name!r}")
        apply_info(party, info, now)
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
        warnings.extend(warnings_for(info))
    session.add(party)
    session.flush()
    audit.record(session, actor, action="party.add", entity="party", entity_id=party.id, after=audit_view(party))
    return AddResult(party, warnings, verified_by)


def _reused_verified_at(session: "Session", doc_type: str, doc_number: str) -> datetime | None:
    from sqlalchemy import func, select

    from cuentas_cli.db.models import Party

    return aware(session.execute(select(func.max(Party.verified_at)).where(
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
    before = audit_view(party)
    wanted: dict[str, Any] = {}
    if name is not None:
        value = _clean(name, field_name="name", longest=255)
        if not value:
            raise ValidationError(_("name: must not be empty"))
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
        raise ValidationError(_("nothing to change: give --name, --email, --phone, --address or "
                                "--retention-agent/--no-retention-agent"))
    changed = [k for k, v in wanted.items() if getattr(party, k) != v]
    for key in changed:
        setattr(party, key, wanted[key])
    if changed:
        if {"name", "address"} & set(changed):
            party.source = "manual"  # no longer the provider's word
        party.updated_at = now or utcnow()
        session.add(party)
        audit.record(session, actor, action="party.edit", entity="party", entity_id=party.id, before=before,
                     after=audit_view(party))
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
        raise Conflict(_("{party_label_party} ({name}) has {count} {noun}; it cannot be deleted while "
                         "they exist (see `cuentas {kind_noun_party_kind} invoices {doc_number}`)")
                       .format(party_label_party=party_label(party), name=party.name, count=count, noun=noun, kind_noun_party_kind=KIND_NOUN[party.kind], doc_number=party.doc_number))
    before = audit_view(party)
    session.delete(party)
    audit.record(session, actor, action="party.delete", entity="party", entity_id=party.id, before=before)
    return before
