"""The invoice state machine: every transition, by payments, dates, notes and by hand.

Today is 2026-06-15 (conftest). PENDIENTE -> PARCIAL -> PAGADA by payments; PENDIENTE/PARCIAL ->
VENCIDA the day after the due date; back by deleting payments or moving the due date;
ANULADA only by hand, and only an administrador brings an invoice back from it.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from cuentas_cli.db.engine import open_session
from cuentas_cli.db.models import Invoice
from cuentas_cli.ledger.statuses import status_for
from tests.dbstate import snapshot
from tests.factories import make_invoice, make_party
from tests.test_invoices import said, added, books, stored  # noqa: F401 (fixture)

TODAY = date(2026, 6, 15)


def status_of(company, invoice_id) -> str:
    return stored(company, invoice_id).status


def run(company, *args, role="contador", today=None):
    env = {"CUENTAS_TODAY": today} if today else None
    return company.run("invoices", *args, role=role, env=env)


def only_payment(company, invoice_id) -> int:
    [row] = run(company, "payments", str(invoice_id), "-f", "json").json()
    return row["id"]


# --- the rule itself -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "paid,adjust,due,current,expected",
    [
        (0, 0, date(2026, 6, 16), "PENDIENTE", "PENDIENTE"),
        (0, 0, TODAY, "PENDIENTE", "PENDIENTE"),  # due today is not overdue
        (0, 0, date(2026, 6, 14), "PENDIENTE", "VENCIDA"),
        (100, 0, TODAY, "PENDIENTE", "PARCIAL"),
        (100, 0, date(2026, 6, 14), "PARCIAL", "VENCIDA"),
        (1000, 0, date(2026, 6, 14), "VENCIDA", "PAGADA"),
        (900, -100, date(2026, 6, 14), "VENCIDA", "PAGADA"),  # a credit note covers the rest
        (1000, 50, TODAY, "PAGADA", "PARCIAL"),  # a debit note reopens it
        (0, 0, date(2026, 6, 14), "ANULADA", "ANULADA"),  # never recomputed
    ],
)
def test_status_for(paid, adjust, due, current, expected):
    assert status_for(total_cents=1000, adjust_cents=adjust, paid_cents=paid, due_date=due, today=TODAY,
                      current=current) == expected


# --- by payments and dates ------------------------------------------------------------------


def test_due_today_is_not_overdue(books):
    inv = added(books, due="2026-06-15")
    assert inv["status"] == "PENDIENTE"
    assert run(books, "overdue", "-f", "json").json() == []
    assert run(books, "update-statuses", "-f", "json").json()[3] == {"status": "VENCIDA", "changed": 0}
    assert status_of(books, inv["id"]) == "PENDIENTE"
    # the next day it is
    counts = run(books, "update-statuses", "-f", "json", today="2026-06-16").json()
    assert {"status": "VENCIDA", "changed": 1} in counts
    assert status_of(books, inv["id"]) == "VENCIDA"


def test_added_past_its_due_date_is_vencida(books):
    assert added(books, issued="2026-05-01", due="2026-05-31")["status"] == "VENCIDA"


def test_pendiente_parcial_pagada(books):
    inv = added(books)
    iid = str(inv["id"])
    assert run(books, "pay", iid, "180").exit_code == 0
    assert status_of(books, inv["id"]) == "PARCIAL"
    assert run(books, "pay", iid, "1000").exit_code == 0
    assert status_of(books, inv["id"]) == "PAGADA"


def test_parcial_becomes_vencida_after_the_due_date(books):
    inv = added(books, due="2026-06-20")
    run(books, "pay", str(inv["id"]), "100")
    counts = run(books, "update-statuses", "-f", "json", today="2026-06-21").json()
    assert {"status": "VENCIDA", "changed": 1} in counts
    assert status_of(books, inv["id"]) == "VENCIDA"


def test_partial_payment_of_an_overdue_invoice_keeps_it_vencida_and_full_payment_settles_it(books):
    inv = added(books, issued="2026-05-01", due="2026-05-31")
    run(books, "pay", str(inv["id"]), "100")
    assert status_of(books, inv["id"]) == "VENCIDA"
    run(books, "pay", str(inv["id"]), "1080")
    assert status_of(books, inv["id"]) == "PAGADA"


def test_payment_deleted_after_the_due_date_puts_it_back_to_vencida(books):
    inv = added(books, due="2026-06-20")
    run(books, "pay", str(inv["id"]), "1180", "--date", "2026-06-18", today="2026-06-18")
    assert status_of(books, inv["id"]) == "PAGADA"
    result = run(books, "unpay", str(only_payment(books, inv["id"])), role="administrador", today="2026-06-25")
    assert result.exit_code == 0 and "PAGADA -> VENCIDA" in said(result)
    assert status_of(books, inv["id"]) == "VENCIDA"


def test_payment_deleted_before_the_due_date_leaves_it_parcial_or_pendiente(books):
    inv = added(books)
    run(books, "pay", str(inv["id"]), "100")
    run(books, "pay", str(inv["id"]), "1080")
    first = run(books, "payments", str(inv["id"]), "-f", "json").json()[0]["id"]
    run(books, "unpay", str(first), role="administrador")
    assert status_of(books, inv["id"]) == "PARCIAL"


def test_moving_the_due_date_takes_it_out_of_vencida(books):
    inv = added(books, issued="2026-05-01", due="2026-05-31")
    assert run(books, "edit", str(inv["id"]), "--due", "2026-06-30", role="administrador").exit_code == 0
    assert status_of(books, inv["id"]) == "PENDIENTE"


# --- by hand --------------------------------------------------------------------------------


def test_set_status_pagada_records_a_payment_of_the_balance(books):
    inv = added(books)
    run(books, "pay", str(inv["id"]), "180")
    result = run(books, "set-status", str(inv["id"]), "PAGADA", "--date", "2026-06-12", "--reference", "OP-9")
    assert result.exit_code == 0 and "PARCIAL -> PAGADA; payment" in said(result) and "1,000.00" in said(result)
    rows = run(books, "payments", str(inv["id"]), "-f", "json").json()
    assert [(r["amount"], r["paid_on"], r["reference"]) for r in rows] == [
        ("1000.00", "2026-06-12", "OP-9"), ("180.00", "2026-06-15", None)]  # by payment date
    shown = run(books, "show", str(inv["id"]), "-f", "json").json()
    assert (shown["balance"], shown["status"]) == ("0.00", "PAGADA")
    again = run(books, "set-status", str(inv["id"]), "pagada")
    assert again.exit_code == 0 and "already PAGADA" in said(again)


def test_set_status_needs_invoices_operate(books):
    inv = added(books)
    before = snapshot(books.url)
    result = run(books, "set-status", str(inv["id"]), "ANULADA", role="gerente")
    assert result.exit_code == 5 and "invoices.operate" in said(result)
    assert snapshot(books.url) == before


def test_anulada_by_contador_and_back_only_by_administrador(books):
    inv = added(books, issued="2026-05-01", due="2026-05-31")
    assert run(books, "set-status", str(inv["id"]), "ANULADA").exit_code == 0
    assert status_of(books, inv["id"]) == "ANULADA"
    # out of collection: not overdue, not recomputed, not payable
    assert run(books, "overdue", "-f", "json").json() == []
    run(books, "update-statuses", today="2026-12-31")
    assert status_of(books, inv["id"]) == "ANULADA"
    before = snapshot(books.url)
    result = run(books, "set-status", str(inv["id"]), "VENCIDA")
    assert result.exit_code == 5 and "invoices.edit" in said(result) and "contador" in said(result)
    assert snapshot(books.url) == before
    result = run(books, "set-status", str(inv["id"]), "VENCIDA", role="administrador")
    assert result.exit_code == 0 and "ANULADA -> VENCIDA" in said(result)
    assert status_of(books, inv["id"]) == "VENCIDA"


def test_leaving_anulada_to_pagada_pays_the_balance(books):
    inv = added(books)
    run(books, "set-status", str(inv["id"]), "ANULADA")
    result = run(books, "set-status", str(inv["id"]), "PAGADA", role="administrador")
    assert result.exit_code == 0 and "ANULADA -> PAGADA" in said(result)
    assert stored(books, inv["id"]).paid_cents == 118000


def test_set_status_to_a_status_the_facts_contradict_is_refused(books):
    inv = added(books, issued="2026-05-01", due="2026-05-31")  # VENCIDA
    before = snapshot(books.url)
    result = run(books, "set-status", str(inv["id"]), "PENDIENTE")
    assert result.exit_code == 3 and "is VENCIDA by its payments and due date, not PENDIENTE" in said(result)
    assert "--due" in said(result)
    assert snapshot(books.url) == before
    paid = added(books, numero="124")
    run(books, "pay", str(paid["id"]), "1180")
    result = run(books, "set-status", str(paid["id"]), "PENDIENTE")
    assert result.exit_code == 3 and "unpay" in said(result)
    result = run(books, "set-status", str(paid["id"]), "ABIERTA")
    assert result.exit_code == 3 and "unknown status" in said(result)
    assert status_of(books, inv["id"]) == "VENCIDA" and status_of(books, paid["id"]) == "PAGADA"


def test_an_invoice_with_payments_cannot_be_annulled(books):
    inv = added(books)
    run(books, "pay", str(inv["id"]), "100")
    result = run(books, "set-status", str(inv["id"]), "ANULADA")
    assert result.exit_code == 6 and "has payments of 100.00" in said(result)
    assert status_of(books, inv["id"]) == "PARCIAL"


# --- by notes -------------------------------------------------------------------------------


def test_credit_note_on_a_paid_invoice_is_refused(books):
    inv = added(books)
    run(books, "pay", str(inv["id"]), "1180")
    before = snapshot(books.url)
    result = run(books, "add", "--kind", "cxc", "--party", "20131312955", "--serie", "F001", "--numero", "9",
                 "--issued", "2026-06-15", "--total", "100", "--doc-type", "07", "--references", "F001-123")
    assert result.exit_code == 3 and "a credit note on a paid invoice is refused" in said(result)
    assert snapshot(books.url) == before


def test_credit_note_covering_the_balance_settles_and_its_removal_reopens(books):
    inv = added(books)
    run(books, "pay", str(inv["id"]), "1000")
    note = added(books, "--doc-type", "07", "--references", "F001-123", numero="9", due=None, total="180")
    assert status_of(books, inv["id"]) == "PAGADA"
    assert run(books, "set-status", str(note["id"]), "ANULADA").exit_code == 0  # voiding the note withdraws it
    assert status_of(books, inv["id"]) == "PARCIAL"
    assert run(books, "set-status", str(note["id"]), "PAGADA", role="administrador").exit_code == 0  # applied again
    assert status_of(books, inv["id"]) == "PAGADA"
    assert run(books, "delete", str(note["id"]), role="administrador").exit_code == 0
    assert (status_of(books, inv["id"]), stored(books, inv["id"]).adjust_cents) == ("PARCIAL", 0)


def test_debit_note_reopens_a_paid_invoice(books):
    inv = added(books, issued="2026-05-01", due="2026-05-31")
    run(books, "pay", str(inv["id"]), "1180")
    debit = added(books, "--doc-type", "08", "--references", "F001-123", numero="10", due=None, total="20")
    assert status_of(books, inv["id"]) == "VENCIDA"
    shown = run(books, "show", str(inv["id"]), "-f", "json").json()
    assert shown["balance"] == "20.00"
    # the debit cannot be withdrawn once payments cover it
    run(books, "pay", str(inv["id"]), "20")
    result = run(books, "delete", str(debit["id"]), role="administrador")
    assert result.exit_code == 6 and "already cover part of this debit note" in said(result)


# --- update-statuses, set-based ---------------------------------------------------------------


def test_update_statuses_counts_each_change_and_fixes_stale_rows(books):
    with open_session(books.url, write=True) as s:
        party = make_party(s, ruc="20139490691", name="OTRO")
        stale = [
            make_invoice(s, party, due=date(2026, 6, 10), today=date(2026, 6, 1)),  # PENDIENTE -> VENCIDA
            make_invoice(s, party, due=date(2026, 6, 11), today=date(2026, 6, 1), paid="10"),  # PARCIAL -> VENCIDA
            make_invoice(s, party, due=date(2026, 6, 30)),  # stays PENDIENTE
            make_invoice(s, party, due=date(2026, 6, 30), paid="1180"),  # stays PAGADA
            make_invoice(s, party, due=date(2026, 6, 1)),  # VENCIDA, stays
        ]
        wrong = make_invoice(s, party, due=date(2026, 6, 30), paid="1180")
        wrong.status = "PENDIENTE"  # a stored status that disagrees with the payments
        void = make_invoice(s, party, due=date(2026, 6, 1), today=date(2026, 5, 1))
        void.status = "ANULADA"
        ids = [i.id for i in stale] + [wrong.id, void.id]
    result = run(books, "update-statuses", "-f", "json")
    assert result.exit_code == 0, result.output
    assert result.json() == [{"status": "PENDIENTE", "changed": 0}, {"status": "PARCIAL", "changed": 0},
                             {"status": "PAGADA", "changed": 1}, {"status": "VENCIDA", "changed": 2}]
    assert "3 status(es) changed as of 2026-06-15" in said(result)
    with open_session(books.url) as s:
        statuses = [s.get(Invoice, i).status for i in ids]
    assert statuses == ["VENCIDA", "VENCIDA", "PENDIENTE", "PAGADA", "VENCIDA", "PAGADA", "ANULADA"]
    assert run(books, "update-statuses", "-f", "json").json()[3]["changed"] == 0
    assert run(books, "update-statuses", role="gerente").exit_code == 5


def test_update_statuses_is_one_statement_not_one_per_invoice(books, monkeypatch):
    """A set-based refresh: the number of SQL statements does not grow with the invoices."""
    from sqlalchemy import event

    from cuentas_cli.db.engine import get_engine
    from cuentas_cli.ledger import statuses

    with open_session(books.url, write=True) as s:
        party = make_party(s, ruc="20139490691", name="OTRO")
        for n in range(40):
            make_invoice(s, party, due=date(2026, 6, 10), today=date(2026, 6, 1), numero=1000 + n)
    seen: list[str] = []
    engine = get_engine(books.url)

    def count(conn, cursor, statement, *args):  # noqa: ANN001
        if "invoice" in statement and "FROM invoice_cuota LIMIT 1" not in statement:  # not the probe for cuotas
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with open_session(books.url, write=True) as s:
            changed = statuses.refresh(s, today=TODAY)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert changed == {"VENCIDA": 40}
    assert len(seen) <= 2
    with open_session(books.url) as s:
        assert s.execute(text("SELECT COUNT(*) FROM invoice WHERE status = 'VENCIDA'")).scalar() == 40
