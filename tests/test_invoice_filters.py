"""`invoices list` and `export` share one filter implementation: the same filters select the
same invoices (with the same statuses as of today) and a bad value fails the same way."""

from __future__ import annotations

from datetime import date

import pytest

from cuentas_cli.db.engine import open_session
from cuentas_cli.db.models import Invoice
from tests.factories import make_invoice, make_party

BOTH = "20131312955"  # a client that is also a supplier
CLIENT = "20512333797"
STALE = date(2026, 5, 1)  # statuses stored as of this day: update-statuses has not run since


@pytest.fixture
def ledger(company):
    """Invoices whose stored statuses predate today (2026-06-15), of every kind and status."""
    with open_session(company.url, write=True) as s:
        both_c = make_party(s, ruc=BOTH, name="AMBOS S.A.C.")
        both_s = make_party(s, kind="supplier", ruc=BOTH, name="AMBOS S.A.C.")
        client = make_party(s, ruc=CLIENT, name="CLIENTE S.A.")
        # stored PENDIENTE, overdue as of today
        make_invoice(s, both_c, issued=date(2026, 4, 1), due=date(2026, 5, 20), numero=1, today=STALE)
        # stored PARCIAL, overdue as of today
        make_invoice(s, client, issued=date(2026, 4, 10), due=date(2026, 6, 14), numero=2, paid="100", today=STALE)
        make_invoice(s, client, issued=date(2026, 6, 1), due=date(2026, 6, 15), numero=3)  # due today
        make_invoice(s, client, issued=date(2026, 6, 2), due=date(2026, 6, 25), numero=4, paid="500")
        make_invoice(s, both_c, issued=date(2026, 5, 5), due=date(2026, 5, 25), numero=5, paid="1180.00")
        make_invoice(s, client, issued=date(2026, 6, 10), due=date(2026, 7, 10), numero=6, currency="USD",
                     rate_e4=37500)
        make_invoice(s, client, issued=date(2026, 3, 1), due=date(2026, 4, 1), numero=7, currency="USD",
                     rate_e4=37000, today=STALE)  # USD, stored VENCIDA already
        make_invoice(s, both_s, issued=date(2026, 6, 1), due=date(2026, 6, 22), numero=8, serie="E001")
        make_invoice(s, both_s, issued=date(2026, 5, 2), due=date(2026, 6, 1), numero=9, serie="E001", today=STALE)
        void = make_invoice(s, both_s, issued=date(2026, 3, 1), due=date(2026, 3, 31), numero=10)
        s.get(Invoice, void.id).status = "ANULADA"
        company.party_id = client.id
    return company


def listed(company, *args) -> list[dict]:
    result = company.run("invoices", "list", *args, "-f", "json", role="gerente")
    assert result.exit_code == 0, result.output
    return result.json()


def exported(company, *args) -> list[dict]:
    result = company.run("export", *args, "--format", "json", role="gerente")
    assert result.exit_code == 0, result.output
    return result.json()


FILTERS = [
    (),
    ("--status", "VENCIDA"),
    ("--status", "vencida", "--kind", "cxc"),
    ("--status", "PENDIENTE"),
    ("--status", "PARCIAL"),
    ("--status", "PAGADA"),
    ("--status", "ANULADA"),
    ("--overdue",),
    ("--overdue", "--kind", "cxp"),
    ("--due-within", "0"),
    ("--due-within", "10"),
    ("--due-within", "10", "--kind", "receivable"),
    ("--party", BOTH),
    ("--party", BOTH, "--kind", "cxp"),
    ("--party", CLIENT, "--overdue"),
    ("--from", "2026-05-01", "--to", "2026-06-05"),
    ("--from", "2026-06-01"),
    ("--to", "2026-04-30"),
    ("--currency", "usd"),
    ("--currency", "USD", "--overdue"),
    ("--currency", "PEN", "--status", "PENDIENTE", "--kind", "cxc", "--from", "2026-01-01", "--to", "2026-12-31"),
]


@pytest.mark.parametrize("args", FILTERS, ids=lambda a: " ".join(a) or "no filter")
def test_list_and_export_select_the_same_invoices(ledger, args):
    rows = listed(ledger, *args)
    out = exported(ledger, *args)
    assert [r["id"] for r in rows] == [r["id"] for r in out]
    assert {r["id"]: r["status"] for r in rows} == {r["id"]: r["status"] for r in out}


def test_statuses_are_as_of_today_before_update_statuses(ledger):
    overdue = listed(ledger, "--status", "VENCIDA")
    assert [r["numero"] for r in overdue] == [7, 1, 9, 2]
    assert [r["numero"] for r in exported(ledger, "--status", "VENCIDA")] == [7, 1, 9, 2]
    assert [r["numero"] for r in exported(ledger, "--party", str(ledger.party_id))] == [7, 2, 3, 4, 6]
    assert [r["numero"] for r in listed(ledger, "--party", str(ledger.party_id))] == [7, 2, 3, 4, 6]


@pytest.mark.parametrize(
    "args,code,fragment",
    [
        (("--status", "OPEN"), 2, "unknown status 'OPEN'"),
        (("--kind", "both"), 2, "unknown kind 'both'"),
        (("--currency", "EUR"), 2, "use PEN or USD"),
        (("--due-within", "-1"), 2, "--due-within"),
        (("--from", "2026-06-10", "--to", "2026-06-01"), 2, "is after --to"),
        (("--party", "20999999999"), 4, "no client or supplier with document or id '20999999999'"),
        (("--party", "20999999999", "--kind", "cxc"), 4, "no client with document or id '20999999999'"),
        (("--from", "2026-13-01"), 2, "--from: '2026-13-01' is not a date"),
    ],
)
def test_a_bad_filter_fails_the_same_way_in_both(ledger, args, code, fragment):
    listing = ledger.run("invoices", "list", *args, "-f", "json", role="gerente")
    export = ledger.run("export", *args, "--format", "json", role="gerente")
    assert (listing.exit_code, export.exit_code) == (code, code), (listing.output, export.output)
    assert listing.stdout == "" and export.stdout == ""
    assert listing.stderr == export.stderr
    assert listing.stderr.startswith("error: ") and fragment in " ".join(listing.stderr.split())
