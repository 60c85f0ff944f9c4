"""Adding a client or supplier, the whole way `cuentas clients add` and `POST /clients` take it:
the document checked, the lookup planned in a read transaction, the provider asked outside any
transaction (a slow provider never holds the database), then the party written."""

from __future__ import annotations

from typing import Any


def add_with_lookup(rt: Any, *, kind: str, doc_type: str, doc_number: str, name: str | None, email: str | None,
                    phone: str | None, address: str | None, lookup: bool) -> Any:
    """The parties.service.add_party result (party, warnings, verified_by)."""
    from cuentas_cli.parties import lookup as party_lookup
    from cuentas_cli.parties import service as parties
    from cuentas_cli.rules.identity import validate_email

    if email and email.strip():
        validate_email(email)
    parties.check_phone(phone)
    with rt.session() as session:
        _kind, code, number = parties.check_new(session, actor=rt.actor(session), kind=kind, doc_type=doc_type,
                                                doc_number=doc_number)
        plan = party_lookup.plan_lookup(session, config=rt.config, doc_type=code, doc_number=number)
    outcome = None
    if lookup and plan.lookupable:  # asked outside any transaction
        outcome = plan.cached or party_lookup.fetch_lookup(plan.settings, code, number)
    with rt.session(write=True) as session:
        return parties.add_party(session=session, actor=rt.actor(session), config=rt.config, kind=kind,
                                 doc_type=code, doc_number=number, name=name, email=email, phone=phone,
                                 address=address, lookup=lookup, outcome=outcome)
