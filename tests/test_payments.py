"""Payments: partial and full, over-balance refusals, methods, deletion, permissions, and money
that never passes through float."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import text

from cuentas_cli.db.engine import open_session
from cuentas_cli.db.models import Invoice
from tests.dbstate import snapshot
from tests.test_invoices import said, CLIENT, added, audit_rows, books, stored  # noqa: F401 (fixture)


@pytest.fixture
def invoice(books) -> dict:
    return added(books)  # F001-123, 1180.00, issued 2026-06-01, due 2026-07-01


def pay(company, invoice_id, amount, *extra, role="contador"):
    return company.run("invoices", "pay", str(invoice_id), amount, *extra, role=role)


def test_partial_then_full_payment(books, invoice):
    result = pay(books, invoice["id"], "180.00", "--date", "2026-06-10", "--method", "efectivo", "--reference", "caja 3")
    assert result.exit_code == 0, result.output
    assert "balance 1,000.00, PARCIAL" in said(result)
    inv = stored(books, invoice["id"])
    assert (inv.paid_cents, inv.status) == (18000, "PARCIAL")
    result = pay(books, invoice["id"], "1000")
    assert result.exit_code == 0 and "balance 0.00, PAGADA" in said(result)
    rows = books.run("invoices", "payments", str(invoice["id"]), "-f", "json", role="gerente").json()
    assert [(r["amount"], r["method"], r["reference"], r["paid_on"], r["recorded_by"]) for r in rows] == [
        ("180.00", "efectivo", "caja 3", "2026-06-10", "contador"),
        ("1000.00", "transferencia", None, "2026-06-15", "contador"),
    ]
    [first, second] = audit_rows(books, "payment.add")
    assert json.loads(first.before) == {"paid": "0.00", "status": "PENDIENTE"}
    assert json.loads(second.after)["status"] == "PAGADA" and second.username == "contador"


def test_amount_over_the_balance_is_refused_with_the_balance(books, invoice):
    pay(books, invoice["id"], "1000")
    before = snapshot(books.url)
    result = pay(books, invoice["id"], "180.01")
    assert result.exit_code == 3
    assert result.stderr == "error: payment of 180.01 is more than the balance 180.00 PEN of F001-123\n"
    assert snapshot(books.url) == before


@pytest.mark.parametrize(
    "amount,extra,code,fragment",
    [
        ("0", (), 3, "greater than zero"),
        ("(10.00)", (), 3, "greater than zero"),
        ("10.001", (), 3, "at most 2 decimals"),
        ("abc", (), 3, "is not an amount"),
        ("10", ("--method", "bitcoin"), 3, "unknown payment method 'bitcoin'"),
        ("10", ("--date", "2026-05-31"), 3, "before F001-123 was issued (2026-06-01)"),
        ("10", ("--date", "20260531"), 2, "is not a date"),
    ],
)
def test_bad_payments_change_nothing(books, invoice, amount, extra, code, fragment):
    before = snapshot(books.url)
    result = pay(books, invoice["id"], amount, *extra)
    assert result.exit_code == code and fragment in said(result), result.output
    assert snapshot(books.url) == before


def test_paying_needs_invoices_operate(books, invoice):
    before = snapshot(books.url)
    result = pay(books, invoice["id"], "10", role="gerente")
    assert result.exit_code == 5 and "invoices.operate" in said(result)
    assert snapshot(books.url) == before
    assert pay(books, 999, "10").exit_code == 4


def test_annulled_invoice_and_notes_take_no_payments(books, invoice):
    books.run("invoices", "set-status", str(invoice["id"]), "ANULADA", role="contador")
    result = pay(books, invoice["id"], "10")
    assert result.exit_code == 3 and "is ANULADA; it takes no payments" in said(result)
    other = added(books, numero="124")
    note = added(books, "--doc-type", "07", "--references", "F001-124", numero="9", due=None, total="100")
    result = pay(books, note["id"], "10")
    assert result.exit_code == 3 and "record payments there" in said(result)
    assert stored(books, other["id"]).adjust_cents == -10000


def test_detraccion_and_retencion_methods_warn_on_unexpected_amounts(books, invoice):
    result = pay(books, invoice["id"], "50", "--method", "detraccion")
    assert result.exit_code == 0 and "warning: F001-123 carries no detracción" in said(result)


def test_unpay_restores_balance_and_status(books, invoice):
    pay(books, invoice["id"], "1180")
    [payment] = books.run("invoices", "payments", str(invoice["id"]), "-f", "json").json()
    before = snapshot(books.url)
    denied = books.run("invoices", "unpay", str(payment["id"]), role="contador")
    assert denied.exit_code == 5 and "invoices.delete" in said(denied)
    assert snapshot(books.url) == before
    result = books.run("invoices", "unpay", str(payment["id"]))
    assert result.exit_code == 0 and "PAGADA -> PENDIENTE" in said(result)
    inv = stored(books, invoice["id"])
    assert (inv.paid_cents, inv.status) == (0, "PENDIENTE")
    [entry] = audit_rows(books, "payment.delete")
    assert json.loads(entry.before)["amount"] == "1180.00" and json.loads(entry.after)["status"] == "PENDIENTE"
    assert books.run("invoices", "unpay", str(payment["id"])).exit_code == 4


def test_payments_json_amounts_are_two_decimal_strings(books, invoice):
    pay(books, invoice["id"], "0.1")
    [row] = books.run("invoices", "payments", str(invoice["id"]), "-f", "json").json()
    assert row["amount"] == "0.10" and row["currency"] == "PEN"
    shown = books.run("invoices", "show", str(invoice["id"]), "-f", "json").json()
    assert (shown["paid"], shown["balance"]) == ("0.10", "1179.90")


def test_ten_centimos_one_hundred_thousand_times_is_exactly_ten_thousand(books):
    """Money is never float: 0.10 added 100,000 times through payments is 10000.00 exactly."""
    from sqlmodel import select

    from cuentas_cli.db.models import User
    from cuentas_cli.admin import auth
    from cuentas_cli.ledger import payments

    inv = added(books, total="10000.00")
    with open_session(books.url, write=True) as s:
        actor = auth.actor_for(s, s.exec(select(User).where(User.username == "contador")).one())
        for _ in range(10):  # ten batches, so the invoice's paid amount accumulates across calls
            result = payments.pay_many(session=s, actor=actor, today=date(2026, 6, 15), ref=str(inv["id"]),
                                       items=[("0.10", None, "efectivo", None)] * 10_000)
        assert result.count == 10_000
    with open_session(books.url) as s:
        row = s.get(Invoice, inv["id"])
        assert (row.paid_cents, row.status) == (1_000_000, "PAGADA")
        count, total = s.execute(text("SELECT COUNT(*), SUM(amount_cents) FROM payment")).one()
        assert (count, total) == (100_000, 1_000_000)
    shown = books.run("invoices", "show", str(inv["id"]), "-f", "json").json()
    assert (shown["paid"], shown["balance"], shown["status"]) == ("10000.00", "0.00", "PAGADA")
    # and one céntimo more is refused
    assert pay(books, inv["id"], "0.01").exit_code == 3
    # the same sum in float drifts, which is why amounts are integers of céntimos
    drift = 0.0
    for _ in range(100_000):
        drift += 0.10
    assert drift != 10000.0


def test_bulk_payments_are_all_or_nothing(books, invoice):
    from sqlmodel import select

    from cuentas_cli.db.models import User
    from cuentas_cli.errors import ValidationError
    from cuentas_cli.admin import auth
    from cuentas_cli.ledger import payments

    before = snapshot(books.url)
    with pytest.raises(ValidationError, match="more than the balance 180.00"):
        with open_session(books.url, write=True) as s:
            actor = auth.actor_for(s, s.exec(select(User).where(User.username == "admin")).one())
            payments.pay_many(session=s, actor=actor, today=date(2026, 6, 15), ref=str(invoice["id"]),
                              items=[("1000", None, "transferencia", None), ("180.01", None, "transferencia", None)])
    assert snapshot(books.url) == before
    with open_session(books.url) as s:
        assert s.execute(text("SELECT COUNT(*) FROM payment")).scalar() == 0


def test_a_payment_dated_after_today_is_refused_everywhere(books, invoice):
    """Issue 15.3: a post-dated payment was stored; `invoices list` then said PAGADA 0.00 while
    `dashboard aging` still counted the invoice outstanding. Today is 2026-06-15 in the tests."""
    before = snapshot(books.url)
    result = pay(books, invoice["id"], "1180.00", "--date", "2026-06-16")
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("error: payment date 2026-06-16 is after today (2026-06-15)")
    marked = books.run("invoices", "set-status", str(invoice["id"]), "PAGADA", "--date", "2026-07-01")
    assert marked.exit_code == 3 and "after today" in marked.stderr
    assert snapshot(books.url) == before
    listed = books.run("invoices", "list", "-f", "json", role="gerente").json()
    aging = books.run("dashboard", "aging", "-f", "json", role="gerente")
    assert [(r["status"], r["balance"]) for r in listed] == [("PENDIENTE", "1180.00")]
    assert aging.exit_code == 0 and "1180" in aging.stdout.replace(",", "")
    assert pay(books, invoice["id"], "1180.00", "--date", "2026-06-15").exit_code == 0


def test_a_payment_through_an_orm_session_refreshes_the_invoice_object_it_holds(company):
    """pay() writes with Core; an Invoice object the same session read before shows the new
    paid amount and status afterwards, never the stale ones."""
    from datetime import date

    from cuentas_cli.admin import auth
    from cuentas_cli.db.engine import open_session
    from cuentas_cli.db.models import Invoice
    from cuentas_cli.ledger import payments as service
    from tests.factories import make_invoice, make_party

    with open_session(company.url, write=True) as s:
        inv = make_invoice(s, make_party(s, ruc="20131312955", name="SUNAT"), serie="F001", numero=9,
                           total="1180.00", issued=date(2026, 6, 1), due=date(2026, 7, 1))
        held = s.get(Invoice, inv.id)
        assert held.paid_cents == 0
        actor, _ = auth.resolve_token(s, company.tokens["contador"])
        service.pay(session=s, actor=actor, today=date(2026, 6, 15), ref=str(inv.id), amount="180.00")
        assert (held.paid_cents, held.status) == (18_000, "PARCIAL")
