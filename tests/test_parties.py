"""Clients and suppliers: one code path for both; add/list/show/edit/delete/invoices, strict
mode, reuse of recent lookups, and the bulk refresh (2,000 parties, 5% failing)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert
from sqlmodel import select

from cuentas_cli.config import load
from cuentas_cli.db.engine import open_session
from cuentas_cli.db.models import AuditLog, Party
from cuentas_cli.errors import ValidationError
from cuentas_cli.parties import refresh
from cuentas_cli.parties import service as parties
from cuentas_cli.admin.auth import actor_for
from tests.dbstate import snapshot as _snapshot
from tests.factories import make_invoice, make_party, valid_ruc
from tests.lookup_server import provider_server  # noqa: F401

ACTIVE = "20999990011"  # offline fixture: ACTIVO / HABIDO, retention agent
BAJA = "20999990038"  # offline fixture: BAJA DE OFICIO
NO_HABIDO = "20999990046"  # offline fixture: ACTIVO / NO HABIDO
UNKNOWN = "20512333797"  # valid, not in the offline fixture
SUNAT = "20131312955"
PARTY_KEYS = {"id", "kind", "doc_type", "doc_number", "name", "email", "phone", "address", "sunat_estado",
              "sunat_condicion", "is_retention_agent", "is_good_taxpayer", "source", "verified_at"}
INVOICE_KEYS = {"id", "kind", "party_doc", "party_name", "doc_type", "serie", "numero", "issue_date", "due_date",
                "currency", "total", "paid", "balance", "status"}


def snapshot(url: str) -> dict:
    return {k: v for k, v in _snapshot(url).items() if k != "api_token"}


def rows(company, kind="client") -> list[Party]:
    with open_session(company.url) as s:
        return list(s.exec(select(Party).where(Party.kind == kind).order_by(Party.id)).all())


def audits(company, action: str) -> list[AuditLog]:
    with open_session(company.url) as s:
        return list(s.exec(select(AuditLog).where(AuditLog.action == action)).all())


# --- add ----------------------------------------------------------------------------------------


def test_add_with_offline_lookup(company):
    result = company.run("clients", "add", "--ruc", ACTIVE, "--email", "pagos@andina.pe", "--phone", "+51 1 234 5678",
                         "-f", "json", role="contador")
    assert result.exit_code == 0, result.output
    data = result.json()
    assert set(data) == PARTY_KEYS
    assert data["name"] == "COMERCIAL ANDINA DEMO S.A.C."
    assert (data["sunat_estado"], data["sunat_condicion"], data["is_retention_agent"]) == ("ACTIVO", "HABIDO", True)
    assert data["source"] == "provider" and data["verified_at"]
    assert data["address"] == "AV. JAVIER PRADO ESTE NRO. 100 SAN ISIDRO - LIMA - LIMA"
    assert "client 20999990011 added: COMERCIAL ANDINA DEMO S.A.C. (verified by offline: ACTIVO HABIDO)" in \
        " ".join(result.stderr.split())
    [row] = audits(company, "party.add")
    assert row.username == "contador" and '"COMERCIAL ANDINA DEMO S.A.C."' in row.after


def test_clients_and_suppliers_are_the_same_commands_over_one_table(company):
    assert company.run("clients", "add", "--ruc", ACTIVE).exit_code == 0
    assert company.run("suppliers", "add", "--ruc", ACTIVE).exit_code == 0
    assert [p.kind for p in rows(company)] == ["client"]
    assert [p.kind for p in rows(company, "supplier")] == ["supplier"]
    listed = company.run("suppliers", "list", "-f", "json").json()
    assert [r["kind"] for r in listed] == ["supplier"]
    assert company.run("suppliers", "show", "99999").exit_code == 4


def test_add_warns_about_inactive_ruc_when_not_strict(company):
    result = company.run("clients", "add", "--ruc", BAJA)
    assert result.exit_code == 0, result.output
    assert "warning: RUC 20999990038: SUNAT estado is BAJA DE OFICIO" in result.stderr


@pytest.mark.parametrize("args,code,message", [
    (("--ruc", "20123456789", "--name", "X"), 3, "error: RUC 20123456789: check digit should be 6, not 9"),
    (("--ruc", "2013131295"), 3, "error: RUC 2013131295: must be 11 digits"),
    (("--ruc", "30131312955"), 3, "error: RUC 30131312955: prefix 30 is not one of 10, 15, 16, 17, 20"),
    (("--dni", "10117410-5", "--name", "X"), 3, "error: DNI 10117410-5: check character should be 2 or G, not 5"),
    (("--doc-type", "4", "--doc", "ab-12", "--no-lookup"), 3, "error: carné de extranjería AB12: give --name"),
    (("--doc-type", "7", "--doc", "AB*123", "--name", "X"), 3, "error: pasaporte AB*123: only letters and digits are allowed"),
    (("--doc-type", "9", "--doc", "123", "--name", "X"), 3, "error: document type '9': use a SUNAT catalogue 06 code"),
    (("--ruc", ACTIVE, "--email", "pagos@"), 3, "error: e-mail 'pagos@': expected an address like cobranzas@empresa.pe"),
    (("--ruc", ACTIVE, "--dni", "10117410"), 2, "error: give exactly one of --ruc, --dni or --doc-type CODE --doc NUMBER"),
    (("--doc", "AB123"), 2, "error: --doc: give --doc-type too"),
    (("--ruc", UNKNOWN), 4, "error: RUC 20512333797 is not in the offline lookup data;"),
    (("--ruc", ACTIVE, "--no-lookup"), 3, "error: RUC 20999990011: give --name (or drop --no-lookup"),
])
def test_add_refuses_bad_input_and_changes_nothing(company, args, code, message):
    before = snapshot(company.url)
    result = company.run("clients", "add", *args, role="contador")
    assert result.exit_code == code, result.output
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1
    assert snapshot(company.url) == before


def test_add_other_documents_and_duplicates(company):
    passport = company.run("clients", "add", "--doc-type", "pasaporte", "--doc", "xk1234567", "--name", "John Smith",
                           "-f", "json")
    assert passport.exit_code == 0, passport.output
    assert (passport.json()["doc_type"], passport.json()["doc_number"], passport.json()["source"]) == ("7", "XK1234567", "manual")
    dni = company.run("clients", "add", "--dni", "101174102", "-f", "json")  # with its check digit
    assert dni.json()["doc_number"] == "10117410" and dni.json()["doc_type"] == "1"
    again = company.run("clients", "add", "--ruc", ACTIVE)
    assert again.exit_code == 0
    before = snapshot(company.url)
    dup = company.run("clients", "add", "--ruc", ACTIVE)
    assert dup.exit_code == 6
    assert dup.stderr.startswith("error: client RUC 20999990011 already exists (COMERCIAL ANDINA DEMO S.A.C., id ")
    assert snapshot(company.url) == before


def test_permissions(company):
    before = snapshot(company.url)
    denied = company.run("clients", "add", "--ruc", ACTIVE, role="gerente")
    assert denied.exit_code == 5
    assert "parties.write" in denied.stderr and "gerente" in denied.stderr
    assert snapshot(company.url) == before
    assert company.run("clients", "add", "--ruc", ACTIVE, role="contador").exit_code == 0
    assert company.run("clients", "list", role="gerente").exit_code == 0
    assert company.run("clients", "show", ACTIVE, role="gerente").exit_code == 0
    assert company.run("clients", "lookup", ACTIVE, role="gerente").exit_code == 0
    assert company.run("clients", "edit", ACTIVE, "--phone", "1", role="gerente").exit_code == 5
    assert company.run("clients", "refresh", ACTIVE, role="gerente").exit_code == 5
    no_delete = company.run("clients", "delete", ACTIVE, role="contador")
    assert no_delete.exit_code == 5 and "parties.delete" in no_delete.stderr
    assert len(rows(company)) == 1


# --- list, show, invoices ---------------------------------------------------------------------------


@pytest.fixture
def books(company):
    """Three clients; one with overdue PEN and USD invoices and a payment; a supplier."""
    with open_session(company.url, write=True) as s:
        andina = make_party(s, ruc=ACTIVE, name="COMERCIAL ANDINA DEMO S.A.C.", sunat_estado="ACTIVO")
        make_party(s, ruc=BAJA, name="DISTRIBUIDORA CERRADA DEMO S.A.C.", sunat_estado="BAJA DE OFICIO")
        make_party(s, ruc=SUNAT, name="SUNAT", sunat_estado="ACTIVO")
        supplier = make_party(s, kind="supplier", ruc="20100070970", name="PROVEEDOR ANDINO S.A.")
        make_invoice(s, andina, total="1180.00", issued=date(2026, 4, 1), due=date(2026, 5, 1))  # overdue
        make_invoice(s, andina, total="500.00", issued=date(2026, 6, 10), due=date(2026, 7, 10), paid="100.00")
        make_invoice(s, andina, total="100.00", issued=date(2026, 5, 1), due=date(2026, 5, 31), currency="USD",
                     rate_e4=37000)  # overdue, 370.00 PEN
        make_invoice(s, andina, total="50.00", issued=date(2026, 5, 2), due=date(2026, 5, 3), paid="50.00")  # paid
        make_invoice(s, supplier, total="999.00", issued=date(2026, 4, 1), due=date(2026, 5, 1))
    return company


def test_list_search_estado_and_overdue(books):
    everyone = books.run("clients", "list", "-f", "json").json()
    assert [r["doc_number"] for r in everyone] == [ACTIVE, BAJA, SUNAT]  # by name
    assert set(everyone[0]) == PARTY_KEYS
    assert [r["doc_number"] for r in books.run("clients", "list", "--search", "andina", "-f", "json").json()] == [ACTIVE]
    assert [r["doc_number"] for r in books.run("clients", "list", "-s", "2013", "-f", "json").json()] == [SUNAT]
    assert [r["doc_number"] for r in books.run("clients", "list", "--estado", "baja", "-f", "json").json()] == [BAJA]
    overdue = books.run("clients", "list", "--with-overdue", "-f", "json").json()
    assert [(r["doc_number"], r["overdue_invoices"], r["overdue_pen"]) for r in overdue] == [(ACTIVE, 2, "1550.00")]
    table = books.run("clients", "list", "--with-overdue", "-f", "csv")
    assert table.stdout.splitlines()[0].startswith("id,kind,doc_type,doc_number,name")
    suppliers = books.run("suppliers", "list", "-s", "andino", "-f", "json").json()
    assert [r["doc_number"] for r in suppliers] == ["20100070970"]


def test_show_has_open_overdue_and_last_payment(books):
    result = books.run("clients", "show", ACTIVE, "-f", "json", role="gerente")
    assert result.exit_code == 0, result.output
    data = result.json()
    assert (data["open_invoices"], data["open_balance_pen"]) == (3, "1950.00")
    assert (data["overdue_invoices"], data["overdue_pen"]) == (2, "1550.00")
    assert (data["last_payment_date"], data["last_payment_amount"], data["last_payment_currency"]) == (
        "2026-06-10", "100.00", "PEN")
    assert data["doc_type_name"] == "RUC"
    empty = books.run("clients", "show", SUNAT, "-f", "json").json()
    assert (empty["open_invoices"], empty["overdue_pen"], empty["last_payment_date"]) == (0, "0.00", None)
    by_id = books.run("clients", "show", str(data["id"]), "-f", "json").json()
    assert by_id["doc_number"] == ACTIVE
    missing = books.run("clients", "show", UNKNOWN)
    assert missing.exit_code == 4
    assert missing.stderr == f"error: no client with document or id '{UNKNOWN}'; see `cuentas clients list`\n"


def test_party_invoices(books):
    result = books.run("clients", "invoices", ACTIVE, "-f", "json", role="gerente")
    assert result.exit_code == 0, result.output
    data = result.json()
    assert len(data) == 4
    assert all(INVOICE_KEYS <= set(r) for r in data)
    assert {r["party_doc"] for r in data} == {ACTIVE} and {r["kind"] for r in data} == {"cxc"}
    overdue = books.run("clients", "invoices", ACTIVE, "--status", "VENCIDA", "-f", "json").json()
    assert sorted(r["total"] for r in overdue) == ["100.00", "1180.00"]
    assert books.run("suppliers", "invoices", "20100070970", "-f", "json").json()[0]["kind"] == "cxp"
    assert books.run("clients", "invoices", "20100070970").exit_code == 4  # a supplier, not a client


# --- edit, delete ------------------------------------------------------------------------------------------


def test_edit(books):
    result = books.run("clients", "edit", ACTIVE, "--email", "cobranzas@andina.pe", "--phone", "01 555 1234",
                       role="contador")
    assert result.exit_code == 0, result.output
    assert "changed: email, phone" in result.stderr
    edited = books.run("clients", "edit", ACTIVE, "--name", "ANDINA (NOMBRE COMERCIAL)", "--phone", "")
    assert edited.exit_code == 0
    p = next(p for p in rows(books) if p.doc_number == ACTIVE)
    assert (p.email, p.phone, p.name, p.source) == ("cobranzas@andina.pe", None, "ANDINA (NOMBRE COMERCIAL)", "manual")
    assert len(audits(books, "party.edit")) == 2
    before = snapshot(books.url)
    assert books.run("clients", "edit", ACTIVE, "--email", "no-es-correo").exit_code == 3
    assert books.run("clients", "edit", ACTIVE, "--name", " ").exit_code == 3
    nothing = books.run("clients", "edit", ACTIVE)
    assert nothing.exit_code == 3 and "nothing to change" in nothing.stderr
    assert snapshot(books.url) == before


def test_delete_refused_while_invoices_exist(books):
    before = snapshot(books.url)
    refused = books.run("clients", "delete", ACTIVE)
    assert refused.exit_code == 6
    assert refused.stderr == (f"error: client RUC {ACTIVE} (COMERCIAL ANDINA DEMO S.A.C.) has 4 invoices; it cannot be "
                              f"deleted while they exist (see `cuentas clients invoices {ACTIVE}`)\n")
    assert snapshot(books.url) == before
    deleted = books.run("clients", "delete", SUNAT)
    assert deleted.exit_code == 0, deleted.output
    assert SUNAT not in [p.doc_number for p in rows(books)]
    [row] = audits(books, "party.delete")
    assert '"SUNAT"' in row.before and row.username == "admin"


# --- strict mode -------------------------------------------------------------------------------------------


@pytest.fixture
def strict(company):
    result = company.run("settings", "set", "validation.strict", "true")
    assert result.exit_code == 0, result.output
    return company


@pytest.mark.parametrize("args,message", [
    (("--ruc", BAJA), f"error: validation.strict is on: RUC {BAJA} has SUNAT estado BAJA DE OFICIO, not ACTIVO; not added"),
    (("--ruc", NO_HABIDO), f"error: validation.strict is on: RUC {NO_HABIDO} has SUNAT condición NO HABIDO, not HABIDO; not added"),
    (("--ruc", UNKNOWN, "--name", "X"), f"error: validation.strict is on: RUC {UNKNOWN} is unknown to the lookup provider "
                                        f"(RUC {UNKNOWN} is not in the offline lookup data;"),
    (("--ruc", ACTIVE, "--no-lookup", "--name", "X"), f"error: validation.strict is on: RUC {ACTIVE} must be verified by a "
                                                      "lookup; drop --no-lookup"),
    (("--dni", "12345678", "--name", "X"), "error: validation.strict is on: DNI 12345678 is unknown to the lookup provider"),
])
def test_strict_mode_refuses(strict, args, message):
    before = snapshot(strict.url)
    result = strict.run("clients", "add", *args, role="contador")
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1
    assert snapshot(strict.url) == before


def test_strict_mode_accepts_active_and_unverifiable_documents(strict):
    active = strict.run("suppliers", "add", "--ruc", ACTIVE, "-f", "json", role="contador")
    assert active.exit_code == 0, active.output
    assert active.json()["sunat_estado"] == "ACTIVO"
    assert strict.run("clients", "add", "--dni", "10117410").exit_code == 0
    passport = strict.run("clients", "add", "--doc-type", "7", "--doc", "P1234567", "--name", "Jane Roe")
    assert passport.exit_code == 0, passport.output


def test_strict_mode_with_the_provider_down(company, provider_server, monkeypatch):
    monkeypatch.setenv("CUENTAS_VALIDATION_STRICT", "true")
    provider_server.answer("/v2/sunat/ruc", SUNAT, "", status=502)
    result = company.run("clients", "add", "--ruc", SUNAT, "--name", "X")
    assert result.exit_code == 7
    assert result.stderr == (f"error: validation.strict is on and the lookup of RUC {SUNAT} failed: lookup provider "
                             "apisnet unavailable (HTTP 502, 4 attempts); try again later\n")
    provider_server.ruc(SUNAT, estado="SUSPENSION TEMPORAL")
    suspended = company.run("clients", "add", "--ruc", SUNAT)
    assert suspended.exit_code == 3 and "SUSPENSION TEMPORAL" in suspended.stderr
    provider_server.ruc(SUNAT, name="SUNAT")
    assert company.run("clients", "add", "--ruc", SUNAT).exit_code == 0
    assert [p.name for p in rows(company)] == ["SUNAT"]


def test_ensure_party_for_the_importer(company, monkeypatch):
    config = load()
    with open_session(company.url, write=True) as s:
        from cuentas_cli.db.models import User

        admin = actor_for(s, s.exec(select(User).where(User.username == "admin")).one())
        made = parties.ensure_party(s, admin, config=config, kind="client", doc_type="6", doc_number=ACTIVE)
        assert made.created and made.party.name == "COMERCIAL ANDINA DEMO S.A.C." and made.party.source == "provider"
        again = parties.ensure_party(s, admin, config=config, kind="client", doc_type="06", doc_number=ACTIVE)
        assert not again.created and again.party.id == made.party.id
        manual = parties.ensure_party(s, admin, config=config, kind="supplier", doc_type="6", doc_number=UNKNOWN,
                                      name="PROVEEDOR NUEVO", lookup=False)
        assert manual.created and manual.party.source == "import"
    monkeypatch.setenv("CUENTAS_VALIDATION_STRICT", "true")
    with open_session(company.url, write=True) as s:
        with pytest.raises(ValidationError, match="has SUNAT estado BAJA DE OFICIO"):
            parties.ensure_party(s, admin, config=load(), kind="client", doc_type="6", doc_number=BAJA, name="X")


# --- reuse of recent lookups ----------------------------------------------------------------------------------


def test_recent_lookup_is_reused_unless_forced(company, provider_server):
    provider_server.ruc(SUNAT, name="SUNAT")
    assert company.run("clients", "add", "--ruc", SUNAT).exit_code == 0
    assert provider_server.count() == 1
    # The same RUC as a supplier: the client's answer is a day old at most, so no new request.
    supplier = company.run("suppliers", "add", "--ruc", SUNAT)
    assert supplier.exit_code == 0, supplier.output
    assert "verified by client RUC 20131312955" in " ".join(supplier.stderr.split())
    assert provider_server.count() == 1
    kept = company.run("clients", "refresh", SUNAT, "-f", "json")
    assert kept.exit_code == 0
    assert kept.json()[0]["result"] == "unchanged" and "--force asks again" in kept.json()[0]["reason"]
    assert provider_server.count() == 1
    forced = company.run("clients", "refresh", SUNAT, "--force", "-f", "json")
    assert forced.json()[0]["result"] == "unchanged" and forced.json()[0]["reason"] is None
    assert provider_server.count() == 2


# --- bulk refresh ---------------------------------------------------------------------------------------------

N = 2000


def _bulk_clients(url: str, n: int) -> list[str]:
    docs = [valid_ruc(500_000 + i) for i in range(n)]
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with open_session(url, write=True) as s:
        s.execute(insert(Party), [
            dict(kind="client", doc_type="6", doc_number=doc, name=f"ANTIGUO {i}", address=f"DIRECCION {i}",
                 sunat_estado="ACTIVO", sunat_condicion="HABIDO", is_retention_agent=False, is_good_taxpayer=False,
                 source="manual", created_at=now, updated_at=now)
            for i, doc in enumerate(docs)])
    return docs


def test_refresh_all_2000_with_5_percent_failing(company, provider_server, monkeypatch):
    # Request counts are asserted exactly: a generous timeout keeps a loaded machine from
    # turning a slow answer into a retry.
    monkeypatch.setenv("CUENTAS_LOOKUP_TIMEOUT_S", "20")
    docs = _bulk_clients(company.url, N)
    failing: dict[str, str] = {}
    for i, doc in enumerate(docs):
        if i % 20 == 0:  # 100 of 2,000
            kind = ("404", "malformed", "500")[(i // 20) % 3]
            failing[doc] = kind
            if kind == "malformed":
                provider_server.answer("/v2/sunat/ruc", doc, "{no es json")
            elif kind == "500":
                provider_server.answer("/v2/sunat/ruc", doc, "", status=500)
        else:
            provider_server.ruc(doc, name=f"NUEVO {i}", direccion=f"AV. NUEVA {i}")
    result = company.run("clients", "refresh", "--all", "-f", "json", role="contador")
    assert result.exit_code == 7, result.stderr[-2000:]
    items = result.json()
    assert len(items) == N
    failed = {r["doc_number"]: r["reason"] for r in items if r["result"] == "failed"}
    assert set(failed) == set(failing)
    for doc, kind in failing.items():
        expected = {"404": f"RUC {doc} not found by lookup provider apisnet (HTTP 404)",
                    "malformed": f"lookup provider apisnet sent a malformed answer for RUC {doc} (not JSON); try again later",
                    "500": "lookup provider apisnet unavailable (HTTP 500, 4 attempts); try again later"}[kind]
        assert failed[doc] == expected
    assert {r["result"] for r in items if r["doc_number"] not in failing} == {"updated"}
    assert "refreshed 2000 clients via apisnet: 1900 updated, 0 unchanged, 0 skipped, 100 failed" in result.stderr
    assert result.stderr.count("  failed ") == 100
    assert "━" not in result.stderr and result.stderr.startswith("refreshed 2000")  # no progress bar off a terminal
    assert result.stderr.splitlines()[-1] == ("error: 100 of 2000 lookups failed; their stored data was kept; "
                                              "run `cuentas clients refresh --all` again later")
    by_doc = {p.doc_number: p for p in rows(company)}
    for i, doc in enumerate(docs):
        p = by_doc[doc]
        if doc in failing:
            assert (p.name, p.address, p.source, p.verified_at) == (f"ANTIGUO {i}", f"DIRECCION {i}", "manual", None)
        else:
            assert (p.name, p.address, p.source) == (f"NUEVO {i}", f"AV. NUEVA {i} LIMA - LIMA - LIMA", "provider")
            assert p.verified_at is not None
    assert len(audits(company, "party.refresh")) == 1900
    assert provider_server.count() == 1900 + sum(4 if k == "500" else 1 for k in failing.values())

    # A second run asks only about those not verified recently: the 100 that failed.
    for doc in failing:
        provider_server.ruc(doc, name="RECUPERADO")
    second = company.run("clients", "refresh", "--all", "-f", "json", role="contador")
    assert second.exit_code == 0, second.stderr[-2000:]
    assert {r["doc_number"] for r in second.json()} == set(failing)
    assert "100 updated, 0 unchanged, 0 skipped, 0 failed" in second.stderr


def test_refresh_older_than_and_token_refused(company, provider_server):
    docs = _bulk_clients(company.url, 30)
    recent = datetime.now(timezone.utc) - timedelta(days=5)
    old = datetime.now(timezone.utc) - timedelta(days=40)
    with open_session(company.url, write=True) as s:
        for i, p in enumerate(s.exec(select(Party).order_by(Party.id)).all()):
            p.source, p.verified_at = "provider", (old if i < 10 else recent)
            s.add(p)
    for doc in docs:
        provider_server.ruc(doc, name="NUEVO")
    result = company.run("clients", "refresh", "--all", "--older-than", "30", "-f", "json")
    assert result.exit_code == 0, result.output
    assert {r["doc_number"] for r in result.json()} == set(docs[:10])
    assert provider_server.count() == 10
    provider_server.token = "otro"
    before = snapshot(company.url)
    refused = company.run("clients", "refresh", "--all", "--force", "--workers", "2")
    assert refused.exit_code == 7
    assert refused.stderr.splitlines()[-1] == ("error: lookup provider apisnet refused the token (HTTP 401); store a "
                                               "valid one with `cuentas settings secret set lookup-token`")
    assert provider_server.count() < 10 + 30  # stopped early, not 30 more refusals
    assert snapshot(company.url) == before


def test_refresh_usage(company):
    assert company.run("clients", "refresh").exit_code == 2
    assert company.run("clients", "refresh", SUNAT, "--all").exit_code == 2
    with open_session(company.url, write=True) as s:
        make_party(s, ruc=ACTIVE, name="VIEJO")
        s.add(Party(kind="client", doc_type="7", doc_number="P1234", name="PASAPORTE"))
    skipped = company.run("clients", "refresh", "P1234", "-f", "json")
    assert skipped.exit_code == 0 and skipped.json()[0]["result"] == "skipped"
    offline = company.run("clients", "refresh", ACTIVE, "-f", "json")  # offline provider by default
    assert offline.exit_code == 0 and offline.json()[0]["result"] == "updated"
    assert next(p for p in rows(company) if p.doc_number == ACTIVE).name == "COMERCIAL ANDINA DEMO S.A.C."
    assert company.run("clients", "refresh", "--all", "--workers", "99").exit_code == 3


def test_refresh_concurrency_is_bounded_and_progress_reported(company):
    """The service with an in-memory provider: never more than `workers` lookups at once;
    progress goes to the callback (the command draws a bar only when stderr is a terminal)."""
    import threading
    import time

    from cuentas_cli.integrations.lookup import PartyInfo, Provider

    class Slow(Provider):
        name = "lento"

        def __init__(self) -> None:
            self.active = self.peak = 0
            self.lock = threading.Lock()

        def lookup_ruc(self, ruc: str) -> PartyInfo:
            with self.lock:
                self.active += 1
                self.peak = max(self.peak, self.active)
            time.sleep(0.005)
            with self.lock:
                self.active -= 1
            return PartyInfo(doc_type="6", doc_number=ruc, name="NUEVO", estado="ACTIVO", condicion="HABIDO")

    _bulk_clients(company.url, 60)
    provider, progress = Slow(), []
    with open_session(company.url) as s:
        from cuentas_cli.db.models import User

        admin = actor_for(s, s.exec(select(User).where(User.username == "admin")).one())
    summary = refresh.refresh_parties(
        sessions=lambda write=False: open_session(company.url, write=write), actor=admin, config=load(),
        kind="client", all_parties=True, workers=4, provider=provider, batch_size=25,
        on_progress=lambda done, total: progress.append((done, total)))
    assert summary.count("updated") == 60 and summary.provider == "lento"
    assert 1 < provider.peak <= 4
    assert progress[-1] == (60, 60) and len(progress) == 60
    assert {p.name for p in rows(company)} == {"NUEVO"}
