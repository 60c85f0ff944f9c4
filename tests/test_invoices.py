"""Invoices: add (validation, currencies, detracción/retención, notes), list filters, show,
edit, delete, permissions and the audit log."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import text

from cuentas_cli.db.engine import open_session
from cuentas_cli.db.models import AuditLog, ExchangeRate, Invoice, Notification
from tests.dbstate import snapshot
from tests.factories import make_invoice, make_party

CLIENT = "20131312955"
CLIENT2 = "20512333797"
SUPPLIER = "20100070970"
INVOICE_KEYS = {"id", "kind", "party_doc", "party_name", "doc_type", "serie", "numero", "issue_date", "due_date",
                "currency", "total", "paid", "balance", "status"}


@pytest.fixture
def books(company):
    """The company with two clients and one supplier."""
    with open_session(company.url, write=True) as s:
        make_party(s, ruc=CLIENT, name="SUNAT")
        make_party(s, ruc=CLIENT2, name="CLIENTE DOS S.A.C.")
        make_party(s, kind="supplier", ruc=SUPPLIER, name="PROVEEDOR S.A.")
    return company


def add(company, *extra, role="contador", kind="cxc", party=CLIENT, serie="F001", numero="123",
        issued="2026-06-01", due="2026-07-01", total="1180.00"):
    args = ["invoices", "add", "--kind", kind, "--party", party, "--serie", serie, "--numero", numero,
            "--issued", issued]
    if due is not None:
        args += ["--due", due]
    if total is not None:
        args += ["--total", total]
    result = company.run(*args, *extra, "-f", "json", role=role)
    return result


def said(result) -> str:
    """stderr with line wrapping undone (Rich wraps messages at the console width)."""
    return " ".join(result.stderr.split())


def added(company, *extra, **kw) -> dict:
    result = add(company, *extra, **kw)
    assert result.exit_code == 0, result.output
    return result.json()


def stored(company, invoice_id: int) -> Invoice:
    with open_session(company.url) as s:
        return s.get(Invoice, invoice_id)


def audit_rows(company, action: str) -> list[AuditLog]:
    from sqlmodel import select

    with open_session(company.url) as s:
        return list(s.exec(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all())


# --- add --------------------------------------------------------------------------------


def test_add_derives_igv_and_prints_the_json_contract(books):
    row = added(books)
    assert INVOICE_KEYS <= set(row)
    assert row["kind"] == "cxc" and row["party_doc"] == CLIENT and row["party_name"] == "SUNAT"
    assert (row["doc_type"], row["serie"], row["numero"]) == ("01", "F001", 123)
    assert (row["total"], row["paid"], row["balance"], row["status"]) == ("1180.00", "0.00", "1180.00", "PENDIENTE")
    inv = stored(books, row["id"])
    assert (inv.base_cents, inv.igv_cents, inv.total_cents) == (100000, 18000, 118000)
    assert inv.direction == "receivable" and inv.currency == "PEN" and inv.exchange_rate_e4 == 10000
    [entry] = audit_rows(books, "invoice.add")
    assert entry.username == "contador" and json.loads(entry.after)["total"] == "1180.00"


def test_add_accepts_synonyms_leading_zeros_and_base_plus_igv(books):
    row = added(books, "--base", "1000", "--igv", "180", kind="receivable", numero="00000123", total=None)
    assert row["numero"] == 123 and row["total"] == "1180.00"
    row = added(books, kind="payable", party=SUPPLIER, serie="E001", numero="9", total="590.00")
    assert row["kind"] == "cxp" and stored(books, row["id"]).direction == "payable"


@pytest.mark.parametrize(
    "extra,overrides,fragment",
    [
        ((), {"serie": "X001"}, "serie 'X001' does not fit a factura"),
        (("--doc-type", "03"), {"serie": "F001"}, "does not fit a boleta"),
        ((), {"numero": "0"}, "must be from 1 to 99,999,999"),
        ((), {"numero": "100000000"}, "must be from 1 to 99,999,999"),
        ((), {"numero": "12a"}, "whole number"),
        ((), {"due": "2026-05-01"}, "due date 2026-05-01 is before the issue date 2026-06-01"),
        ((), {"total": "1180.005"}, "at most 2 decimals"),
        ((), {"total": "0"}, "greater than zero"),
        ((), {"total": "-5"}, "greater than zero"),
        (("--base", "1000", "--igv", "100"), {}, "is not base 1000.00 + IGV 100.00"),
        (("--currency", "EUR"), {}, "use PEN or USD"),
        (("--rate", "3.7"), {}, "--rate is only for USD invoices"),
        (("--doc-type", "05"), {}, "document type '05'"),
        (("--detraccion", "12", "--retencion"), {}, "retención does not apply where detracción"),
        (("--detraccion", "150"), {}, "less than 100"),
        (("--references", "F001-1"), {}, "--references is only for credit (07) and debit (08) notes"),
    ],
)
def test_add_refuses_invalid_input_and_changes_nothing(books, extra, overrides, fragment):
    before = snapshot(books.url)
    result = add(books, *extra, **overrides)
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("error: ") and fragment in said(result)
    assert result.stderr.count("\n") == 1
    assert snapshot(books.url) == before


def test_add_detraccion_not_at_or_below_700(books):
    result = add(books, "--detraccion", "12", total="700.00")
    assert result.exit_code == 3 and "does not apply at or below S/ 700.00" in said(result)
    assert add(books, "--detraccion", "12", total="700.01").exit_code == 0


def test_add_bad_date_is_a_usage_error(books):
    result = add(books, issued="2026-W23")
    assert result.exit_code == 2 and "--issued: '2026-W23' is not a date" in said(result)


def test_add_unknown_or_wrong_kind_party_is_not_found(books):
    assert add(books, party="20139490691").exit_code == 4
    result = add(books, party=SUPPLIER)  # a supplier is not a client
    assert result.exit_code == 4 and "no client with document" in said(result)


def test_add_duplicate_is_a_conflict(books):
    first = added(books)
    result = add(books, numero="0000123")
    assert result.exit_code == 6
    assert f"already exists as invoice {first['id']}" in said(result)


def test_add_needs_invoices_create(books):
    before = snapshot(books.url)
    result = add(books, role="gerente")
    assert result.exit_code == 5 and "invoices.create" in said(result) and "gerente" in said(result)
    assert snapshot(books.url) == before


def test_usd_invoice_takes_the_selling_rate_of_its_issue_date(books):
    result = add(books, "--currency", "USD", total="1000")
    assert result.exit_code == 3 and "cuentas fx" in said(result)
    with open_session(books.url, write=True) as s:
        s.add(ExchangeRate(rate_date=date(2026, 5, 29), sell_e4=37391, buy_e4=37300))
        s.add(ExchangeRate(rate_date=date(2026, 6, 2), sell_e4=38000))
    row = added(books, "--currency", "USD", total="1000")  # issued 2026-06-01: the 29 May rate (last published)
    assert row["currency"] == "USD" and row["exchange_rate"] == "3.7391"
    assert row["balance"] == "1000.00" and row["balance_pen"] == "3739.10"
    row = added(books, "--currency", "usd", "--rate", "3.8", numero="124", total="100.00")
    assert row["exchange_rate"] == "3.8000" and row["balance_pen"] == "380.00"


def test_credit_note_lowers_and_debit_note_raises_the_balance(books):
    inv = added(books)
    note = added(books, "--doc-type", "07", "--references", "F001-123", serie="F001", numero="9", due=None,
                 total="180.00")
    assert note["status"] == "PAGADA" and note["balance"] == "0.00" and note["references"] == "F001-123"
    assert stored(books, inv["id"]).adjust_cents == -18000
    debit = added(books, "--doc-type", "08", "--references", "F001-123", numero="10", due=None, total="50.00")
    shown = books.run("invoices", "show", str(inv["id"]), "-f", "json").json()
    assert shown["balance"] == "1050.00" and shown["adjustments"] == "-130.00"
    assert [n["amount"] for n in shown["notes"]] == ["-180.00", "50.00"]
    # deleting a note takes its effect back
    assert books.run("invoices", "delete", str(debit["id"])).exit_code == 0
    assert stored(books, inv["id"]).adjust_cents == -18000
    # an invoice with notes cannot be deleted before them
    result = books.run("invoices", "delete", str(inv["id"]))
    assert result.exit_code == 6 and "F001-9" in said(result)


def test_credit_note_larger_than_the_balance_is_refused(books):
    inv = added(books)
    books.run("invoices", "pay", str(inv["id"]), "1000")
    before = snapshot(books.url)
    result = add(books, "--doc-type", "07", "--references", "F001-123", numero="9", due=None, total="180.01")
    assert result.exit_code == 3
    assert "credit note of 180.01 is more than the balance 180.00 PEN of F001-123" in said(result)
    assert snapshot(books.url) == before


def test_note_must_reference_an_invoice_of_the_same_party_and_currency(books):
    added(books)
    result = add(books, "--doc-type", "07", numero="9", due=None, total="10")
    assert result.exit_code == 3 and "needs --references" in said(result)
    result = add(books, "--doc-type", "07", "--references", "F001-123", party=CLIENT2, numero="9", due=None, total="10")
    assert result.exit_code == 4 and "no invoice F001-123 of CLIENTE DOS" in said(result)
    result = add(books, "--doc-type", "07", "--references", "F001-123", "--currency", "USD", "--rate", "3.7",
                 numero="9", due=None, total="10")
    assert result.exit_code == 3 and "notes keep the invoice's currency" in said(result)


# --- list -------------------------------------------------------------------------------


@pytest.fixture
def ledger(books):
    """Invoices across kinds, statuses, currencies and dates (today is 2026-06-15)."""
    ids = {}
    with open_session(books.url, write=True) as s:
        from sqlmodel import select

        from cuentas_cli.db.models import Party

        client = s.exec(select(Party).where(Party.doc_number == CLIENT)).one()
        client2 = s.exec(select(Party).where(Party.doc_number == CLIENT2)).one()
        supplier = s.exec(select(Party).where(Party.doc_number == SUPPLIER)).one()
        ids["overdue"] = make_invoice(s, client, issued=date(2026, 4, 1), due=date(2026, 5, 1), numero=1).id
        ids["partial_overdue"] = make_invoice(s, client, issued=date(2026, 4, 1), due=date(2026, 6, 14), numero=2,
                                              paid="100").id
        ids["due_today"] = make_invoice(s, client2, issued=date(2026, 6, 1), due=date(2026, 6, 15), numero=3).id
        ids["partial"] = make_invoice(s, client2, issued=date(2026, 6, 1), due=date(2026, 6, 20), numero=4,
                                      paid="500").id
        ids["paid"] = make_invoice(s, client, issued=date(2026, 5, 1), due=date(2026, 5, 20), numero=5,
                                   paid="1180.00").id
        ids["usd"] = make_invoice(s, client, issued=date(2026, 6, 10), due=date(2026, 7, 10), numero=6,
                                  currency="USD", rate_e4=37500).id
        ids["payable"] = make_invoice(s, supplier, issued=date(2026, 6, 1), due=date(2026, 6, 22), numero=7,
                                      serie="E001").id
        ids["void"] = make_invoice(s, supplier, issued=date(2026, 3, 1), due=date(2026, 3, 31), numero=8).id
        s.get(Invoice, ids["void"]).status = "ANULADA"
    books.ids = ids
    return books


def listed(company, *args, role="gerente") -> list[dict]:
    result = company.run("invoices", "list", *args, "-f", "json", role=role)
    assert result.exit_code == 0, result.output
    return result.json()


def ids_of(company, rows, *names) -> list[int]:
    return [company.ids[n] for n in names]


def test_list_sorted_by_due_date_with_amounts_as_strings(ledger):
    rows = listed(ledger)
    dues = [r["due_date"] for r in rows]
    assert dues == sorted(dues) and len(rows) == 8
    for row in rows:
        assert INVOICE_KEYS <= set(row)
        for key in ("total", "paid", "balance"):
            assert isinstance(row[key], str) and row[key].count(".") == 1 and len(row[key].split(".")[1]) == 2
    by_id = {r["id"]: r for r in rows}
    assert by_id[ledger.ids["partial"]]["paid"] == "500.00" and by_id[ledger.ids["partial"]]["balance"] == "680.00"
    assert by_id[ledger.ids["usd"]]["balance_pen"] == "4425.00"


@pytest.mark.parametrize(
    "args,expected",
    [
        (("--kind", "cxp"), ["void", "payable"]),
        (("--kind", "receivable", "--status", "VENCIDA"), ["overdue", "partial_overdue"]),
        (("--status", "pendiente"), ["due_today", "payable", "usd"]),
        (("--status", "PARCIAL"), ["partial"]),
        (("--status", "PAGADA"), ["paid"]),
        (("--status", "ANULADA"), ["void"]),
        (("--overdue",), ["overdue", "partial_overdue"]),
        (("--due-within", "5"), ["due_today", "partial"]),
        (("--due-within", "0"), ["due_today"]),
        (("--party", CLIENT2), ["due_today", "partial"]),
        (("--party", SUPPLIER, "--kind", "cxp"), ["void", "payable"]),
        (("--from", "2026-06-01", "--to", "2026-06-09"), ["due_today", "partial", "payable"]),
        (("--currency", "USD"), ["usd"]),
        (("--limit", "2"), ["void", "overdue"]),
    ],
)
def test_list_filters(ledger, args, expected):
    assert [r["id"] for r in listed(ledger, *args)] == [ledger.ids[n] for n in expected]


def test_list_statuses_are_as_of_today_even_before_update_statuses(ledger, cli):
    rows = listed(ledger, "--status", "VENCIDA")
    assert {r["status"] for r in rows} == {"VENCIDA"}
    later = ledger.run("invoices", "list", "--overdue", "-f", "json", role="gerente", env={"CUENTAS_TODAY": "2026-06-16"})
    assert ledger.ids["due_today"] in [r["id"] for r in later.json()]


def test_list_every_format(ledger):
    jsonl = ledger.run("invoices", "list", "--limit", "3", "-f", "jsonl").jsonl()
    assert len(jsonl) == 3 and jsonl[0]["total"] == "1180.00"
    csv_text = ledger.run("invoices", "list", "--limit", "2", "-f", "csv").stdout.splitlines()
    assert csv_text[0].startswith("id,kind,party_doc,party_name") and len(csv_text) == 3
    table = ledger.run("invoices", "list", "-f", "table", env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "VENCIDA" in table.stdout and "1,180.00" in table.stdout


def test_list_bad_filters(ledger):
    assert ledger.run("invoices", "list", "--status", "OPEN").exit_code == 2
    assert ledger.run("invoices", "list", "--kind", "both").exit_code == 2
    assert ledger.run("invoices", "list", "--party", "20139490691").exit_code == 4
    assert ledger.run("invoices", "list", "--from", "2026-13-01").exit_code == 2


def test_overdue_and_upcoming(ledger):
    overdue = ledger.run("invoices", "overdue", "-f", "json", role="gerente").json()
    assert [r["id"] for r in overdue] == [ledger.ids["overdue"], ledger.ids["partial_overdue"]]
    assert [r["days_overdue"] for r in overdue] == [45, 1]
    upcoming = ledger.run("invoices", "upcoming", "-f", "json").json()
    assert [r["id"] for r in upcoming] == [ledger.ids[n] for n in ("due_today", "partial", "payable")]
    upcoming = ledger.run("invoices", "upcoming", "--days", "30", "--kind", "cxc", "-f", "json").json()
    assert [r["id"] for r in upcoming] == [ledger.ids[n] for n in ("due_today", "partial", "usd")]


# --- show -------------------------------------------------------------------------------


def test_show_detraccion_example_of_the_reference(books):
    inv = added(books, "--detraccion", "12")
    shown = books.run("invoices", "show", str(inv["id"]), "-f", "json").json()
    assert (shown["detraccion_pct"], shown["detraccion"], shown["paid_directly_expected"]) == ("12.00", "141.60", "1038.40")
    books.run("invoices", "pay", str(inv["id"]), "1038.40", "--reference", "OP-1", role="contador")
    books.run("invoices", "pay", str(inv["id"]), "141.60", "--method", "detraccion", "--reference", "constancia 77",
              role="contador")
    shown = books.run("invoices", "show", str(inv["id"]), "-f", "json").json()
    assert shown["status"] == "PAGADA" and shown["balance"] == "0.00"
    assert shown["paid_directly"] == "1038.40" and shown["detraccion_recorded"] == "141.60"
    assert [(p["amount"], p["method"], p["recorded_by"]) for p in shown["payments"]] == [
        ("1038.40", "transferencia", "contador"), ("141.60", "detraccion", "contador")]


def test_show_retencion_example_of_the_reference(books):
    inv = added(books, "--retencion")
    shown = books.run("invoices", "show", str(inv["id"]), "-f", "json").json()
    assert (shown["retencion"], shown["paid_directly_expected"]) == ("35.40", "1144.60")
    books.run("invoices", "pay", str(inv["id"]), "1144.60")
    books.run("invoices", "pay", str(inv["id"]), "35.40", "--method", "retencion")
    assert stored(books, inv["id"]).status == "PAGADA"


def test_show_days_overdue_and_reminders_sent(books):
    inv = added(books, issued="2026-05-01", due="2026-05-31")
    with open_session(books.url, write=True) as s:
        for level, status in ((0, "sent"), (7, "sent"), (15, "pending"), (30, "failed")):
            s.add(Notification(invoice_id=inv["id"], level=level, channel="email", recipient="a@b.pe", status=status))
    shown = books.run("invoices", "show", "F001-123", "-f", "json", role="gerente").json()
    assert shown["id"] == inv["id"] and shown["status"] == "VENCIDA" and shown["days_overdue"] == 15
    assert shown["reminders_sent"] == 2
    table = books.run("invoices", "show", str(inv["id"]), "-f", "table", env={"COLUMNS": "150"})
    assert "Days overdue" in table.stdout and "Reminders sent" in table.stdout  # headers for people


def test_show_unknown_invoice(books):
    result = books.run("invoices", "show", "999")
    assert result.exit_code == 4 and "no invoice '999'" in said(result)


# --- edit, delete ------------------------------------------------------------------------


def test_edit_is_for_administrador_and_audited(books):
    inv = added(books)
    before = snapshot(books.url)
    denied = books.run("invoices", "edit", str(inv["id"]), "--due", "2026-08-01", role="contador")
    assert denied.exit_code == 5 and "invoices.edit" in said(denied)
    assert snapshot(books.url) == before
    result = books.run("invoices", "edit", str(inv["id"]), "--due", "2026-08-01", "--total", "2360", "--description", "x")
    assert result.exit_code == 0, result.output
    inv_row = stored(books, inv["id"])
    assert inv_row.due_date == date(2026, 8, 1) and (inv_row.base_cents, inv_row.igv_cents) == (200000, 36000)
    [entry] = audit_rows(books, "invoice.edit")
    assert json.loads(entry.before)["due_date"] == "2026-07-01" and json.loads(entry.after)["total"] == "2360.00"


def test_edit_validates_like_add(books):
    inv = added(books)
    books.run("invoices", "pay", str(inv["id"]), "1000")
    before = snapshot(books.url)
    for args, fragment in (
        (("--due", "2026-05-01"), "before the issue date"),
        (("--total", "999.99"), "already exceed the new total"),
        (("--serie", "B001"), "does not fit a factura"),
        (("--rate", "3.5"), "only for USD"),
    ):
        result = books.run("invoices", "edit", str(inv["id"]), *args)
        assert result.exit_code == 3 and fragment in said(result), (args, result.output)
    added(books, numero="124")
    assert books.run("invoices", "edit", str(inv["id"]), "--numero", "124").exit_code == 6
    assert snapshot(books.url)["invoice"][0] == before["invoice"][0] + 1


def test_delete_refused_with_payments_unless_asked(books):
    inv = added(books)
    books.run("invoices", "pay", str(inv["id"]), "100")
    assert books.run("invoices", "delete", str(inv["id"]), role="contador").exit_code == 5
    result = books.run("invoices", "delete", str(inv["id"]))
    assert result.exit_code == 6 and "--with-payments" in said(result)
    assert stored(books, inv["id"]) is not None
    result = books.run("invoices", "delete", str(inv["id"]), "--with-payments")
    assert result.exit_code == 0 and "with 1 payment(s) of 100.00" in said(result)
    with open_session(books.url) as s:
        assert s.get(Invoice, inv["id"]) is None
        assert s.execute(text("SELECT COUNT(*) FROM payment")).scalar() == 0
    [entry] = audit_rows(books, "invoice.delete")
    assert json.loads(entry.before)["payments"] == 1


def test_every_write_is_audited(books):
    inv = added(books)
    iid = str(inv["id"])
    books.run("invoices", "pay", iid, "100", role="contador")
    pid = books.run("invoices", "payments", iid, "-f", "json").json()[0]["id"]
    books.run("invoices", "unpay", str(pid))
    books.run("invoices", "set-status", iid, "ANULADA", role="contador")
    books.run("invoices", "set-status", iid, "PENDIENTE")
    books.run("invoices", "edit", iid, "--description", "otro")
    books.run("invoices", "update-statuses", role="contador")
    books.run("invoices", "delete", iid)
    with open_session(books.url) as s:
        actions = [r[0] for r in s.execute(text("SELECT action FROM audit_log WHERE entity = 'invoice' ORDER BY id"))]
    assert actions == ["invoice.add", "payment.add", "payment.delete", "invoice.set_status", "invoice.set_status",
                       "invoice.edit", "invoice.update_statuses", "invoice.delete"]


def test_invoices_help_has_examples(cli):
    for sub in ("list", "add", "show", "edit", "set-status", "delete", "pay", "payments", "unpay", "overdue",
                "upcoming", "update-statuses"):
        result = cli("invoices", sub, "--help")
        assert result.exit_code == 0 and "Example: cuentas" in result.stdout, sub
