"""What a client or supplier is to the rest of the code: its kind, how it is named in messages,
its row as listed and its stored fields for the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import ValidationError
from cuentas_cli.rules.identity import doc_type_label
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from cuentas_cli.db.models import Party

KIND_ALIASES = {
    "client": "client", "clients": "client", "cliente": "client", "cxc": "client", "receivable": "client",
    "supplier": "supplier", "suppliers": "supplier", "proveedor": "supplier", "cxp": "supplier", "payable": "supplier",
}
KIND_LABEL = {"client": "client", "supplier": "supplier"}
KIND_NOUN = {"client": "clients", "supplier": "suppliers"}
DIRECTION = {"client": "receivable", "supplier": "payable"}


def normalise_kind(kind: str) -> str:
    try:
        return KIND_ALIASES[kind.strip().lower()]
    except KeyError:
        raise ValidationError(_("unknown party kind {kind!r}; use client or supplier").format(kind=kind)) from None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def doc_word(doc_type: str) -> str:
    return {"6": "RUC", "1": "DNI"}.get(doc_type, doc_type_label(doc_type))


def party_label(party: "Party") -> str:
    return f"{KIND_LABEL[party.kind]} {doc_word(party.doc_type)} {party.doc_number}"


def audit_view(party: "Party") -> dict[str, Any]:
    """The stored fields, for the audit log."""
    return {k: getattr(party, k) for k in (
        "kind", "doc_type", "doc_number", "name", "address", "email", "phone", "sunat_estado", "sunat_condicion",
        "is_retention_agent", "is_good_taxpayer", "source", "verified_at")}


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


LIST_COLUMNS = ["id", "doc_type", "doc_number", "name", "sunat_estado", "sunat_condicion", "email", "phone", "verified_at"]


def row_values(party: "Party") -> dict[str, Any]:
    return dict(
        id=party.id, kind=party.kind, doc_type=party.doc_type, doc_number=party.doc_number, name=party.name,
        email=party.email, phone=party.phone, address=party.address, sunat_estado=party.sunat_estado,
        sunat_condicion=party.sunat_condicion, is_retention_agent=party.is_retention_agent,
        is_good_taxpayer=party.is_good_taxpayer, source=party.source, verified_at=aware(party.verified_at),
    )


def row_of(party: "Party") -> PartyRow:
    return PartyRow(**row_values(party))
