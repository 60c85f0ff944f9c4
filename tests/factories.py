"""Rows for tests, written straight through the models (no permission checks, no CLI)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from cuentas_cli.db.models import Invoice, Party, Payment
from cuentas_cli.rules.identity import ruc_check_digit
from cuentas_cli.ledger.statuses import status_for

_counter = itertools.count(1)


def valid_ruc(seed: int, prefix: str = "20") -> str:
    body = f"{prefix}{seed % 100_000_000:08d}"
    return body + str(ruc_check_digit(body))


def make_party(session, *, kind: str = "client", ruc: str | None = None, name: str | None = None, **fields) -> Party:
    n = next(_counter)
    party = Party(kind=kind, doc_type="6", doc_number=ruc or valid_ruc(1000 + n), name=name or f"EMPRESA {n} S.A.C.", **fields)
    session.add(party)
    session.flush()
    return party


def make_invoice(
    session,
    party: Party,
    *,
    total: str = "1180.00",
    issued: date = date(2026, 6, 1),
    due: date | None = None,
    paid: str = "0",
    today: date = date(2026, 6, 15),
    currency: str = "PEN",
    rate_e4: int = 10000,
    serie: str = "F001",
    numero: int | None = None,
    **fields,
) -> Invoice:
    total_cents = int(Decimal(total) * 100)
    paid_cents = int(Decimal(paid) * 100)
    due = due or issued + timedelta(days=30)
    invoice = Invoice(
        direction="receivable" if party.kind == "client" else "payable",
        party_id=party.id, serie=serie, numero=numero or next(_counter), issue_date=issued, due_date=due,
        currency=currency, exchange_rate_e4=rate_e4, total_cents=total_cents, **fields,
    )
    invoice.status = status_for(total_cents=total_cents, adjust_cents=0, paid_cents=paid_cents, due_date=due,
                                today=today, current="PENDIENTE")
    session.add(invoice)
    session.flush()
    if paid_cents:
        session.add(Payment(invoice_id=invoice.id, paid_on=issued, amount_cents=paid_cents))
        invoice.paid_cents = paid_cents
        session.add(invoice)
        session.flush()
    return invoice


def workbook_keys(headers) -> list[str]:  # noqa: ANN001
    """An exported workbook's headers (for people, in either language) as the columns' keys."""
    from cuentas_cli.i18n import LANGUAGES, catalog
    from cuentas_cli.rules.invoice_columns import INVOICE_COLUMNS

    by_label = {catalog(code).gettext(label): key for key, _kind, label in INVOICE_COLUMNS for code in LANGUAGES}
    return [by_label[h] for h in headers]
