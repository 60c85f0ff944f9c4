"""Clients and suppliers: one code path, told apart by `kind`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cuentas_cli.errors import NotFound, ValidationError

if TYPE_CHECKING:
    from sqlmodel import Session

    from cuentas_cli.db.models import Party

KIND_ALIASES = {
    "client": "client", "clients": "client", "cliente": "client", "cxc": "client", "receivable": "client",
    "supplier": "supplier", "suppliers": "supplier", "proveedor": "supplier", "cxp": "supplier", "payable": "supplier",
}
KIND_LABEL = {"client": "client", "supplier": "supplier"}


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
    if party is None and ref.isdigit() and len(ref) < 8:
        party = session.get(Party, int(ref))
        if party is not None and party.kind != kind:
            party = None
    if party is None:
        noun = "clients" if kind == "client" else "suppliers"
        raise NotFound(f"no {KIND_LABEL[kind]} with document or id {ref!r}; see `cuentas {noun} list`")
    return party
