"""`cuentas dashboard`: permissions, formats, as-of dates and bad input, through the real CLI."""

from __future__ import annotations

from datetime import date

import pytest

from cuentas_cli.db.engine import open_session
from cuentas_cli.db.models import Payment
from tests.factories import make_invoice, make_party


@pytest.fixture
def books(company):
    """Today is 2026-06-15 (conftest). Two clients, one supplier, PEN and USD."""
    with open_session(company.url, write=True) as s:
        client = make_party(s, kind="client", name="CLIENTE UNO S.A.C.")
        other = make_party(s, kind="client", name="CLIENTE DOS S.A.C.")
        supplier = make_party(s, kind="supplier", name="PROVEEDOR S.A.")
        # 45 days overdue, 1,180.00
        make_invoice(s, client, total="1180.00", issued=date(2026, 4, 1), due=date(2026, 5, 1))
        # not yet due, US$ 500.00 at 3.7500 -> S/ 1,875.00
        make_invoice(s, other, total="500.00", issued=date(2026, 6, 1), due=date(2026, 7, 1), currency="USD",
                     rate_e4=37500)
        # paid today (after the 2026-06-10 as-of date): open as of 2026-06-10, 5 days overdue then
        paid = make_invoice(s, other, total="200.00", issued=date(2026, 5, 1), due=date(2026, 6, 5))
        s.add(Payment(invoice_id=paid.id, paid_on=date(2026, 6, 15), amount_cents=20000))
        paid.paid_cents, paid.status = 20000, "PAGADA"
        s.add(paid)
        # CxP due in 3 days
        make_invoice(s, supplier, total="300.00", issued=date(2026, 6, 1), due=date(2026, 6, 18))
    return company


def test_dashboard_json_has_every_section(books):
    result = books.run("dashboard", "--format", "json", role="gerente")
    assert result.exit_code == 0, result.output
    data = result.json()
    assert data["as_of"] == "2026-06-15"
    assert {m["kind"] for m in data["metrics"]} == {"cxc", "cxp"}
    cxc = next(m for m in data["metrics"] if m["kind"] == "cxc")
    assert cxc["outstanding"] == "3055.00"  # 1,180.00 + 1,875.00
    assert cxc["outstanding_usd"] == "500.00"
    assert cxc["overdue"] == "1180.00" and cxc["overdue_count"] == 1
    aging = {row["kind"]: row for row in data["aging"]}
    assert aging["cxc"]["corriente"] == "1875.00" and aging["cxc"]["d31_60"] == "1180.00"
    assert aging["cxc"]["total"] == "3055.00"
    assert data["cashflow"][0]["period"] == "vencido" and data["cashflow"][0]["inflows"] == "1180.00"
    assert data["cashflow"][-1]["period"] == "posterior"


def test_aging_as_of_reproduces_a_past_date(books):
    now = books.run("dashboard", "aging", "--kind", "cxc", "--format", "json", role="gerente").json()
    past = books.run("dashboard", "aging", "--kind", "cxc", "--as-of", "2026-06-10", "--format", "json",
                     role="gerente").json()
    assert now[0]["total"] == "3055.00"
    # As of 2026-06-10 the 200.00 paid on 2026-06-15 was still owed (5 days overdue).
    assert past[0]["total"] == "3255.00"
    assert past[0]["d1_30"] == "200.00"
    assert past[0]["as_of"] == "2026-06-10"


def test_aging_by_party_csv_and_buckets(books):
    result = books.run("dashboard", "aging", "--by-party", "--buckets", "15,45", "--format", "csv", role="administrador")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "as_of,kind,party_doc,party_name,currency,corriente,d1_15,d16_45,over_45,total,count"
    assert any("CLIENTE UNO S.A.C." in line and ",1180.00," in line for line in lines[1:])


def test_currency_filter_reports_in_that_currency(books):
    rows = books.run("dashboard", "aging", "--currency", "usd", "--format", "json", role="gerente").json()
    cxc = next(r for r in rows if r["kind"] == "cxc")
    assert cxc["currency"] == "USD" and cxc["total"] == "500.00"


def test_cashflow_weeks_and_opening_balance(books):
    result = books.run("dashboard", "cashflow", "--weeks", "2", "--opening-balance", "1000", "--format", "jsonl",
                       role="gerente")
    assert result.exit_code == 0, result.output
    rows = result.jsonl()
    assert [r["period"] for r in rows] == ["vencido", "2026-06-15..2026-06-21", "2026-06-22..2026-06-28", "posterior"]
    assert rows[1]["outflows"] == "300.00"
    assert rows[0]["cumulative"] == "2180.00"  # 1,000.00 + 1,180.00 overdue CxC
    assert rows[-1]["cumulative"] == "3755.00"  # + 1,875.00 (July) - 300.00


def test_summary_for_every_role_the_rest_for_managers(books):
    summary = books.run("dashboard", "summary", "--format", "json", role="contador")
    assert summary.exit_code == 0, summary.output
    assert {r["kind"]: r["open_count"] for r in summary.json()} == {"cxc": 2, "cxp": 1}
    for args in (["dashboard"], ["dashboard", "metrics"], ["dashboard", "aging"], ["dashboard", "cashflow"],
                 ["dashboard", "top"]):
        denied = books.run(*args, "--format", "json", role="contador")
        assert denied.exit_code == 5, (args, denied.output)
        assert denied.stderr.startswith("error: permission denied: dashboards")
        assert denied.stdout == ""


def test_top_lists_debtors_by_overdue(books):
    rows = books.run("dashboard", "top", "--n", "1", "--format", "json", role="gerente").json()
    assert rows == [{"kind": "cxc", "rank": 1, "party_doc": rows[0]["party_doc"], "party_name": "CLIENTE UNO S.A.C.",
                     "overdue": "1180.00", "overdue_count": 1, "oldest_due_date": "2026-05-01"}]


def test_table_output_has_charts(books):
    result = books.run("dashboard", "--format", "table", role="gerente")
    assert result.exit_code == 0, result.output
    for text in ("Key figures as of 15/06/2026", "current", "CXC aging", "overdue", "15/06–21/06/2026", "collections",
                 "█"):
        assert text in result.stdout


def test_metrics_help_states_the_formulas(cli):
    result = cli("dashboard", "metrics", "--help")
    assert result.exit_code == 0
    flat = " ".join(result.stdout.split())
    assert "DSO = CxC outstanding (S/) / CxC invoiced in the last 90 days (S/) x 90" in flat
    assert "Collection effectiveness" in flat and "Example: cuentas dashboard metrics" in flat


@pytest.mark.parametrize("args,message", [
    (["dashboard", "aging", "--as-of", "2026-W23"], "--as-of: '2026-W23' is not a date"),
    (["dashboard", "cashflow", "--weeks", "2", "--months", "1"], "give --weeks or --months, not both"),
    (["dashboard", "aging", "--buckets", "60,30"], "--buckets: invalid value '60,30'"),
    (["dashboard", "aging", "--kind", "ventas"], "unknown kind 'ventas'"),
    (["dashboard", "top", "--currency", "EUR"], "unknown currency 'EUR'"),
])
def test_bad_input_is_a_usage_error(books, args, message):
    result = books.run(*args, role="gerente")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stdout == ""


def test_bad_opening_balance_is_a_validation_error(books):
    result = books.run("dashboard", "cashflow", "--opening-balance", "12.500", role="gerente")
    assert result.exit_code == 3
    assert "could be 12500 (decimal comma" in result.stderr


def test_dashboard_csv_and_jsonl_are_long_and_tagged(books):
    csv_out = books.run("dashboard", "--format", "csv", role="gerente")
    assert csv_out.exit_code == 0, csv_out.output
    lines = csv_out.stdout.splitlines()
    assert lines[0] == "section,row,field,value"
    assert "metrics,cxc,outstanding,3055.00" in lines
    assert "aging,cxc,total,3055.00" in lines
    jsonl = books.run("dashboard", "--format", "jsonl", role="gerente").jsonl()
    assert {row["section"] for row in jsonl} == {"metrics", "aging", "cashflow"}
