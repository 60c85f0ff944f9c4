"""`cuentas db check [--repair]`: every cached figure against the ledger, on both backends.

The demo company (built through the real services: parties, imports of sales, purchases, PLE
and a legacy file with notes, then payments) agrees with the ledger; a cached column corrupted
by SQL is listed exactly, exit 3; `--repair` fixes it in one transaction with one audit entry.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from cuentas_cli.db.engine import open_session
from cuentas_cli.ledger import balances
from cuentas_cli.ops import demo
from cuentas_cli.ops import demo_data
from tests.factories import make_invoice, make_party

TODAY = demo_data.DEMO_TODAY.isoformat()


@pytest.fixture
def books(company, tmp_path):
    """The demo company's data in the `company` database (either backend)."""
    today = demo_data.DEMO_TODAY
    config = demo.demo_config(company.url, today)
    examples = demo.examples_folder(tmp_path / "demo")
    with open_session(company.url, write=True) as s:
        actor = demo._actor(s, "admin")
        demo._record_rates(s, actor, today)
        demo._add_parties(s, actor, config, examples / demo_data.PARTIES_FILE)
    for name, options in demo._imports(examples):
        with open_session(company.url, write=True) as s:
            demo._import(s, demo._actor(s, "admin"), config, examples / name, options, today)
    with open_session(company.url, write=True) as s:
        demo._record_payments(s, demo._actor(s, "admin"), examples / demo_data.PAYMENTS_FILE, today)
    return company


def run(company, *args, role="administrador"):
    return company.run("--today", TODAY, "db", "check", *args, role=role)


def one(url: str, sql: str, **params):
    with open_session(url) as s:
        return s.execute(text(sql), params).one()


def execute(url: str, sql: str, **params) -> None:
    with open_session(url, write=True) as s:
        s.execute(text(sql), params)


def test_demo_company_agrees_then_a_corruption_is_listed_exactly_and_repaired(books):
    url = books.url
    clean = run(books, "--format", "json")
    assert clean.exit_code == 0, clean.output
    assert clean.json() == [] and "0 differences" in clean.stderr
    counts = one(url, "SELECT COUNT(*), SUM(CASE WHEN doc_type IN ('07', '08') THEN 1 ELSE 0 END) FROM invoice")
    assert counts[0] > 100 and counts[1] >= 1  # the demo has notes, so adjust_cents is exercised
    paid_id, numero, paid = one(url, "SELECT id, numero, paid_cents FROM invoice WHERE paid_cents > 0 "
                                     "AND doc_type = '01' ORDER BY id LIMIT 1")
    target_id, adjust = one(url, "SELECT references_id, 0 FROM invoice WHERE doc_type IN ('07', '08') "
                                 "AND status <> 'ANULADA' ORDER BY id LIMIT 1")
    adjust = one(url, "SELECT adjust_cents FROM invoice WHERE id = :i", i=target_id)[0]
    status_id, status = one(url, "SELECT id, status FROM invoice WHERE status = 'VENCIDA' ORDER BY id LIMIT 1")
    execute(url, "UPDATE invoice SET paid_cents = paid_cents + 12345 WHERE id = :i", i=paid_id)
    execute(url, "UPDATE invoice SET adjust_cents = adjust_cents - 500 WHERE id = :i", i=target_id)
    execute(url, "UPDATE invoice SET status = 'PAGADA' WHERE id = :i", i=status_id)

    found = run(books, "--format", "json")
    assert found.exit_code == 3, found.output
    assert "3 difference(s) on 3 invoice(s)" in found.stderr and "cuentas db check --repair" in found.stderr
    rows = {(r["invoice_id"], r["column"]): (r["cached"], r["computed"]) for r in found.json()}
    assert rows == {
        (paid_id, "paid_cents"): (paid + 12345, paid),
        (target_id, "adjust_cents"): (adjust - 500, adjust),
        (status_id, "status"): ("PAGADA", status),
    }
    listed = next(r for r in found.json() if r["invoice_id"] == paid_id)
    assert listed["document"].endswith(f"-{numero}")
    # a gerente may read the check, not repair; the contador neither
    assert run(books, "--format", "json", role="gerente").exit_code == 3
    assert run(books, role="contador").exit_code == 5
    denied = run(books, "--repair", role="gerente")
    assert denied.exit_code == 5 and "invoices.edit" in denied.stderr
    assert one(url, "SELECT paid_cents FROM invoice WHERE id = :i", i=paid_id)[0] == paid + 12345

    repaired = run(books, "--repair", "--format", "json")
    assert repaired.exit_code == 0, repaired.output
    assert len(repaired.json()) == 3 and "repaired 3 difference(s) on 3 invoice(s)" in repaired.stderr
    assert run(books, "--format", "json").json() == []
    assert one(url, "SELECT paid_cents FROM invoice WHERE id = :i", i=paid_id)[0] == paid
    assert one(url, "SELECT status FROM invoice WHERE id = :i", i=status_id)[0] == status
    entries = books.run("audit", "list", "--format", "json", "--limit", "5").json()
    entry = next(e for e in entries if e["action"] == "db.repair")
    assert entry["user"] == "admin"
    assert '"differences": 3' in entry["after"] and f'"invoice_id": {paid_id}' in entry["after"]
    assert sum(1 for e in entries if e["action"] == "db.repair") == 1
    again = run(books, "--repair")
    assert again.exit_code == 0 and "nothing changed" in again.stderr


def test_a_note_and_an_annulled_invoice_have_no_balance_and_the_check_knows_their_rule(company):
    with open_session(company.url, write=True) as s:
        client = make_party(s, ruc="20131312955", name="Cliente Uno S.A.C.")
        make_invoice(s, client, serie="F001", numero=1, total="1180.00", issued=date(2026, 5, 1), due=date(2026, 5, 31))
        make_invoice(s, client, serie="F001", numero=2, total="500.00", issued=date(2026, 5, 1), due=date(2026, 7, 31))
    added = company.run("--today", TODAY, "invoices", "add", "--kind", "cxc", "--party", "20131312955",
                        "--doc-type", "07", "--serie", "F001", "--numero", "3", "--issued", "2026-06-01",
                        "--total", "180.00", "--references", "F001-1", "--format", "json")
    assert added.exit_code == 0, added.output
    voided = company.run("--today", TODAY, "invoices", "set-status", "F001-2", "ANULADA")
    assert voided.exit_code == 0, voided.output
    listing = {r["numero"]: r for r in company.run("--today", TODAY, "invoices", "list", "--format", "json").json()}
    assert listing[1]["balance"] == "1000.00"
    assert listing[3]["balance"] == "0.00"  # the note moves F001-1 and owes nothing itself
    assert listing[2]["balance"] == "0.00" and listing[2]["status"] == "ANULADA"
    assert run(company, "--format", "json").json() == []
    # the truth of a note's adjust_cents is minus its total, whatever its status
    execute(company.url, "UPDATE invoice SET adjust_cents = 0 WHERE numero = 3")
    found = run(company, "--format", "json")
    assert found.exit_code == 3
    assert [(r["column"], r["cached"], r["computed"]) for r in found.json()] == [("adjust_cents", 0, -18000)]


def test_balance_rule_in_python():
    assert balances.balance_cents(doc_type="01", status="PARCIAL", total_cents=1000, adjust_cents=-100,
                                  paid_cents=300) == 600
    assert balances.balance_cents(doc_type="07", status="PAGADA", total_cents=1000, adjust_cents=-1000,
                                  paid_cents=0) == 0
    assert balances.balance_cents(doc_type="01", status="ANULADA", total_cents=1000, adjust_cents=0,
                                  paid_cents=0) == 0


def test_doctor_runs_the_check_on_a_small_database(books):
    from tests.test_doctor import checks

    ok = checks(books.run("--today", TODAY, "doctor", "--offline", "--format", "json"))["ledger"]
    assert ok["status"] == "ok" and "agree with the ledger" in ok["detail"]
    execute(books.url, "UPDATE invoice SET paid_cents = paid_cents + 1 WHERE id = "
                       "(SELECT MIN(id) FROM invoice WHERE paid_cents > 0)")
    bad = checks(books.run("--today", TODAY, "doctor", "--offline", "--format", "json"))["ledger"]
    assert bad["status"] == "fail" and "paid_cents" in bad["detail"] and "cuentas db check --repair" in bad["fix"]


def test_doctor_says_how_to_run_the_check_on_a_large_database(books, monkeypatch):
    from cuentas_cli.ops import doctor
    from tests.test_doctor import checks

    monkeypatch.setattr(doctor, "LEDGER_CHECK_MAX_INVOICES", 10)
    found = checks(books.run("--today", TODAY, "doctor", "--offline", "--format", "json"))["ledger"]
    assert found["status"] == "skip" and "run `cuentas db check`" in found["fix"]
