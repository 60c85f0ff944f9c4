"""Several companies in one firm (an estudio contable), on both backends: three companies whose
books never cross, one login for the firm with a different role per company, --all-companies
figures that are the sum of each company's, and reminders that go on when one company's SMTP
server is down."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import keyring
import pytest

from cuentas_cli.db.engine import open_connection
from tests.conftest import PASSWORD
from tests.dbstate import snapshot
from tests.test_completion import complete
from tests.test_notify_support import SMTP_PASSWORD, free_port, make_book, smtp_server, smtp_settings  # noqa: F401

FIRM_RUC = "20100070970"
RUCS = {"A": "20131312955", "B": "20100113610", "C": "20100047218"}
SERIES = {"A": "F101", "B": "F201", "C": "F301"}


@dataclass
class Firm:
    company: object  # tests.conftest.Company: the firm database, with a token per role
    tmp: Path

    def run(self, *args: str, role: str = "administrador", **kw):  # noqa: ANN003, ANN201
        return self.company.run(*args, role=role, **kw)

    def books(self, key: str) -> str:
        """The URL of company `key`'s books (A, B, C, or FIRM)."""
        from cuentas_cli.admin.companies import books_url, registry

        ruc = FIRM_RUC if key == "FIRM" else RUCS[key]
        with open_connection(self.company.url) as conn:
            row = next(r for r in registry(conn) if r.ruc == ruc)
        return books_url(self.company.url, row)


def _import(firm: Firm, key: str, rows: list[tuple]) -> None:
    path = firm.tmp / f"lote-{key}.csv"
    lines = ["tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total"]
    lines += [",".join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = firm.run("--company", RUCS[key], "import", str(path))
    assert done.exit_code == 0, done.output


@pytest.fixture
def firm(company, tmp_path) -> Firm:
    """The firm's own books (RUC FIRM_RUC) and companies A, B and C, each with invoices of its own
    serie; the firm's contador is contador of A, gerente of B and has no access to C."""
    f = Firm(company, tmp_path)
    assert f.run("settings", "set", "company.ruc", FIRM_RUC).exit_code == 0
    assert f.run("settings", "set", "company.name", "ESTUDIO CONTABLE S.A.C.").exit_code == 0
    for key, ruc in RUCS.items():
        added = f.run("companies", "add", ruc, "--name", f"EMPRESA {key} S.A.C.", "--alias", f"emp{key.lower()}")
        assert added.exit_code == 0, added.output
    assert f.run("users", "grant", "contador", "--company", RUCS["A"], "--role", "contador").exit_code == 0
    assert f.run("users", "grant", "contador", "--company", RUCS["B"], "--role", "gerente").exit_code == 0
    for n, (key, amount) in enumerate((("A", "1180.00"), ("B", "2360.00"), ("C", "590.00"))):
        serie = SERIES[key]
        _import(f, key, [
            ("cxc", "20131312955", "SUNAT", serie, 1, "2026-03-01", "2026-04-01", amount),       # overdue
            ("cxc", "20131312955", "SUNAT", serie, 2, "2026-06-01", "2026-06-20", amount),       # due in 5 days
            ("cxc", "20100113610", "CLIENTE DOS", serie, 3, "2026-06-10", "2026-07-30", "100.00"),
            ("cxp", "20100047218", "PROVEEDOR", "E001", 10 + n, "2026-05-01", "2026-06-01", "300.00"),  # overdue
        ])
    return f


def test_a_contador_of_one_company_sees_nothing_of_another(firm, cli):
    contador = dict(role="contador")
    # company A: their own books, as contador
    listed = firm.run("--company", "empa", "invoices", "list", "--format", "json", **contador)
    assert listed.exit_code == 0, listed.output
    assert {r["serie"] for r in listed.json()} == {"F101", "E001"}
    # company C: every door is closed, by any command, and nothing changes
    before = snapshot(firm.books("C"))
    for args in (("invoices", "list"), ("invoices", "show", "1"), ("clients", "list"), ("clients", "show", "20131312955"),
                 ("invoices", "overdue"), ("dashboard", "summary"), ("whoami",),
                 ("export", "--format", "csv", "--output", str(firm.tmp / "c.csv")),
                 ("invoices", "pay", "1", "10.00"), ("clients", "statement", "20131312955", "--format", "json"),
                 ("audit", "list")):
        result = firm.run("--company", RUCS["C"], *args, **contador)
        assert result.exit_code == 5, (args, result.output)
        assert "no access to company EMPRESA C S.A.C." in result.stderr and result.stderr.count("\n") == 1, result.stderr
        assert "F301" not in result.stdout
    assert not (firm.tmp / "c.csv").exists()
    assert snapshot(firm.books("C")) == before
    # CUENTAS_COMPANY and `companies use` choose the same way as --company
    env = {"CUENTAS_COMPANY": RUCS["C"]}
    assert firm.run("invoices", "list", env=env, **contador).exit_code == 5
    # shell completion offers nothing of C, and A's own ids in A
    token = {"CUENTAS_TOKEN": firm.company.tokens["contador"]}
    assert complete(cli, f"cuentas --company {RUCS['C']} clients show 2013", token) == (0, [])
    assert complete(cli, f"cuentas --company {RUCS['C']} invoices pay 1", token) == (0, [])
    assert complete(cli, f"cuentas --company {RUCS['A']} clients show 2013", token)[1] == ["20131312955"]
    # company B: a gerente there reads but may not record a payment
    assert firm.run("--company", "empb", "invoices", "pay", "1", "10.00", **contador).exit_code == 5
    assert firm.run("--company", "empb", "dashboard", "--format", "json", **contador).exit_code == 0
    # across companies: only A's and B's rows, never C's
    overdue = firm.run("invoices", "overdue", "--all-companies", "--format", "json", **contador)
    assert overdue.exit_code == 0, overdue.output
    assert {r["company_ruc"] for r in overdue.json()} == {RUCS["A"], RUCS["B"]}
    assert "F301" not in overdue.stdout
    listed = firm.run("companies", "list", "--format", "json", **contador)
    assert [r["ruc"] for r in listed.json()] == [FIRM_RUC, RUCS["A"], RUCS["B"]]  # the firm's own books first
    assert {r["ruc"]: r["role"] for r in listed.json()} == {FIRM_RUC: "contador", RUCS["A"]: "contador",
                                                            RUCS["B"]: "gerente"}
    # an export of A holds A's invoices only
    out = firm.tmp / "a.json"
    assert firm.run("--company", "empa", "export", "--format", "json", "--output", str(out), role="gerente").exit_code == 5
    firm.run("users", "grant", "gerente", "--company", "empa", "--role", "gerente")
    assert firm.run("--company", "empa", "export", "--format", "json", "--output", str(out), role="gerente").exit_code == 0
    assert {r["serie"] for r in json.loads(out.read_text(encoding="utf-8"))} == {"F101", "E001"}
    # taking the access away closes the door again
    assert firm.run("users", "grant", "contador", "--company", "empa", "--role", "none").exit_code == 0
    assert firm.run("--company", "empa", "invoices", "list", **contador).exit_code == 5


def _money(value) -> Decimal:  # noqa: ANN001
    return Decimal(value) if value is not None else Decimal(0)


def test_all_companies_figures_are_the_sum_of_each_companys(firm):
    board = firm.run("dashboard", "--all-companies", "--format", "json")
    assert board.exit_code == 0, board.output
    rows = board.json()
    *companies, total = rows
    assert [r["company_ruc"] for r in companies] == [FIRM_RUC, RUCS["A"], RUCS["B"], RUCS["C"]]
    fields = ("cxc_outstanding", "cxc_overdue", "cxc_due_7d", "cxp_outstanding", "cxp_overdue", "cxp_due_7d")
    for row in companies:
        own = firm.run("--company", row["company_ruc"], "dashboard", "metrics", "--format", "json")
        assert own.exit_code == 0, own.output
        by_kind = {m["kind"]: m for m in own.json()}
        for kind in ("cxc", "cxp"):
            assert row[f"{kind}_outstanding"] == by_kind[kind]["outstanding"]
            assert row[f"{kind}_overdue"] == by_kind[kind]["overdue"]
            assert row[f"{kind}_due_7d"] == by_kind[kind]["due_7d"]
        assert row["dso"] == by_kind["cxc"]["days_outstanding"] and row["dpo"] == by_kind["cxp"]["days_outstanding"]
    for name in fields:
        assert _money(total[name]) == sum(_money(r[name]) for r in companies), name
    assert total["cxc_outstanding"] == "8560.00"  # 2 x (1180 + 2360 + 590) + 3 x 100
    assert total["cxc_overdue"] == "4130.00" and total["cxp_overdue"] == "900.00"
    # the overdue list across companies is each company's list, one after another
    across = firm.run("invoices", "overdue", "--all-companies", "--format", "json").json()
    each = []
    for key in ("A", "B", "C"):
        each += firm.run("--company", RUCS[key], "invoices", "overdue", "--format", "json").json()
    assert [(r["serie"], r["numero"], r["balance"]) for r in across] == [(r["serie"], r["numero"], r["balance"]) for r in each]
    # a table names the company it shows, also without --company once the firm has several
    shown = firm.run("--company", "empb", "invoices", "list", "--format", "table")
    assert "EMPRESA B S.A.C. (RUC 20100113610)" in shown.stdout, shown.output
    own_books = firm.run("invoices", "list", "--format", "table")
    assert "ESTUDIO CONTABLE S.A.C. (RUC 20100070970)" in own_books.stdout


def test_notify_all_companies_goes_on_when_one_smtp_server_is_down(firm, smtp_server):
    for key in ("A", "B", "C"):
        url = firm.books(key)
        make_book(url)
        port = free_port() if key == "C" else smtp_server.port  # nobody listens on C's port
        smtp_settings(url, port)
        keyring.set_password("cuentas", f"smtp-password@{RUCS[key]}", SMTP_PASSWORD)
    result = firm.run("notify", "run", "--all-companies")
    assert result.exit_code == 7, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: reminders failed in 1 of 4 companies: EMPRESA C S.A.C. (RUC 20100047218)"), last
    assert "EMPRESA A S.A.C. (RUC 20131312955): notify run: enqueued 6, sent 6 (4 messages)" in result.stderr
    assert "EMPRESA B S.A.C. (RUC 20100113610): notify run: enqueued 6, sent 6 (4 messages)" in result.stderr
    assert len(smtp_server.inbox.messages) == 8  # A's four and B's four
    # each company's own settings: C's failure stays queued in C's books only
    again = firm.run("notify", "run", "--all-companies")
    assert again.exit_code == 0, again.output  # C's sends wait out their backoff, as in one company
    assert "EMPRESA C S.A.C. (RUC 20100047218): notify run: enqueued 0, sent 0 (0 messages), failed 0, cancelled 0, " \
           "waiting to retry 6" in again.stderr
    assert len(smtp_server.inbox.messages) == 8  # nothing sent twice
    assert "EMPRESA A S.A.C. (RUC 20131312955): notify run: enqueued 0, sent 0" in again.stderr


def test_an_existing_database_becomes_the_first_company_without_moving_data(company, tmp_path):
    f = Firm(company, tmp_path)
    from tests.factories import make_invoice, make_party
    from cuentas_cli.db.engine import open_session

    with open_session(company.url, write=True) as s:
        make_invoice(s, make_party(s, ruc="20131312955", name="SUNAT"), serie="F001", numero=1, total="1180.00")
    before = company.run("invoices", "list", "--format", "json").json()
    refused = f.run("companies", "add", RUCS["A"])
    assert refused.exit_code == 3 and "company.ruc" in refused.stderr  # its own RUC first
    assert f.run("settings", "set", "company.ruc", FIRM_RUC).exit_code == 0
    assert f.run("companies", "add", RUCS["A"], "--name", "EMPRESA A").exit_code == 0
    assert f.books("FIRM") == company.url  # the firm's own books stay where they were
    assert company.run("--company", FIRM_RUC, "invoices", "list", "--format", "json").json() == before
    assert company.run("invoices", "list", "--format", "json").json() == before
    assert company.run("--company", RUCS["A"], "invoices", "list", "--format", "json").json() == []
    listed = company.run("companies", "list", "--format", "json").json()
    assert listed[0]["ruc"] == FIRM_RUC and listed[0]["cxc_open"] == "1180.00" and listed[0]["active"]
    # db upgrade --all-companies: every book at the newest schema, nothing to do
    up = company.run("db", "upgrade", "--all-companies")
    assert up.exit_code == 0 and up.stderr.count("already at") == 2, up.output


def test_settings_stay_in_each_company_and_firm_settings_are_shared(firm):
    assert firm.run("--company", "empa", "settings", "set", "smtp.host", "smtp.empresa-a.pe").exit_code == 0
    shown = {r["key"]: r for r in firm.run("--company", "empb", "settings", "show", "--format", "json").json()}
    assert shown["smtp.host"]["value"] == "" and shown["company.ruc"]["value"] == RUCS["B"]
    assert shown["company.name"]["value"] == "EMPRESA B S.A.C."
    # firm-wide keys: set in the firm's own books, read by every company, refused inside one
    refused = firm.run("--company", "empa", "settings", "set", "lookup.max_age_days", "5")
    assert refused.exit_code == 3 and "the firm's" in refused.stderr
    assert firm.run("settings", "set", "lookup.max_age_days", "5").exit_code == 0
    shown = {r["key"]: r for r in firm.run("--company", "empc", "settings", "show", "--format", "json").json()}
    assert shown["lookup.max_age_days"]["value"] == "5" and shown["lookup.max_age_days"]["source"] == "firm"
    # people are the firm's: added there, granted a role per company
    added = firm.run("--company", "empa", "users", "add", "rosa", "--role", "contador", "--password-stdin",
                     input=PASSWORD + "\n")
    assert added.exit_code == 2 and "users grant" in added.stderr
    unknown = firm.run("users", "grant", "nadie", "--company", "empa", "--role", "gerente")
    assert unknown.exit_code == 4
    assert firm.run("--company", "nadie", "invoices", "list").exit_code == 4


def test_remove_refuses_books_with_data_and_archive_keeps_them(firm):
    refused = firm.run("companies", "remove", "empc")
    assert refused.exit_code == 6 and "--archive" in refused.stderr
    assert firm.run("companies", "remove", FIRM_RUC).exit_code == 2  # the firm's own books stay
    archived = firm.run("companies", "remove", "empc", "--archive")
    assert archived.exit_code == 0, archived.output
    place = archived.stdout.strip().rsplit(" ", 1)[-1] if archived.stdout.strip() else archived.stderr.strip().rsplit(" ", 1)[-1]
    listed = [r["ruc"] for r in firm.run("companies", "list", "--format", "json").json()]
    assert RUCS["C"] not in listed
    assert firm.run("--company", "empc", "invoices", "list").exit_code == 4
    if place.startswith("schema:"):
        from sqlalchemy import text

        with open_connection(firm.company.url) as conn:
            count = conn.execute(text(f'SELECT count(*) FROM "{place.removeprefix("schema:")}".invoice')).scalar()
    else:
        import sqlite3

        with sqlite3.connect(place) as conn:
            count = conn.execute("SELECT count(*) FROM invoice").fetchone()[0]
    assert count == 4  # the archive keeps every invoice
    assert firm.run("companies", "add", RUCS["C"]).exit_code == 6  # archived, not forgotten
    # a company without data goes for good
    assert firm.run("companies", "add", "20100017491", "--name", "VACIA").exit_code == 0
    assert firm.run("companies", "remove", "20100017491").exit_code == 0
    assert firm.run("--company", "20100017491", "invoices", "list").exit_code == 4


def test_service_tokens_are_firm_wide_or_of_one_company(firm):
    # a firm-wide token (the fixture's: made in the firm's database) acts in every company where
    # its user holds a role, with that role
    who = firm.run("--company", "empb", "whoami", "--format", "json", role="contador").json()
    assert who["role"] == "gerente" and who["company"] == "EMPRESA B S.A.C. (RUC 20100113610)"
    # a token made in one company's books works there and nowhere else
    made = firm.run("--company", "empa", "tokens", "create", "cron-a", "--user", "admin")
    assert made.exit_code == 0, made.output
    token = {"CUENTAS_TOKEN": made.stdout.strip()}
    assert firm.run("--company", "empa", "invoices", "list", "--format", "json", role=None, env=token).exit_code == 0
    for where in (("--company", "empb"), ()):
        denied = firm.run(*where, "invoices", "list", role=None, env=token)
        assert denied.exit_code == 5 and "not valid for this database" in denied.stderr, denied.output
    # a firm user disabled in the firm is shut out of every company at once
    assert firm.run("users", "disable", "contador").exit_code == 0
    assert firm.run("--company", "empa", "invoices", "list", role="contador").exit_code == 5


def test_every_command_in_a_company_without_access_is_refused(firm):
    """The access matrix's every command (tests/test_access.py CASES), run by the firm's contador in
    company C, where they have no role: none shows anything of C's books or changes them."""
    from tests.test_access import CASES, PUBLIC, _book

    book = _book(firm.company, firm.tmp)
    # the firm's own level: logging in, the register of companies, the padrón (the firm's, shared)
    firm_level = {"cuentas login", "cuentas logout", "cuentas passwd", "cuentas companies list", "cuentas companies use",
                  "cuentas padron import", "cuentas padron status", "cuentas padron lookup", "cuentas padron search",
                  "cuentas users grant", "cuentas companies add", "cuentas companies remove"}
    before = snapshot(firm.books("C"))
    refused = runs = 0
    for path in sorted(CASES):
        case = CASES[path]
        if case.permission == PUBLIC or path in firm_level or case.blocking:
            continue
        result = firm.run("--company", RUCS["C"], *case.args(book, "contador"), role="contador",
                          input=case.input("contador"))
        runs += 1
        assert result.exit_code != 0, (path, result.output)
        assert "F301" not in result.stdout and "EMPRESA C" not in result.stdout, (path, result.stdout)
        refused += result.exit_code == 5 and "no access to company EMPRESA C" in result.stderr
    assert snapshot(firm.books("C")) == before
    from tests.reliability import backend, figure

    figure("company-isolation", backend=backend(firm.company.url), commands=runs, refused_at_the_door=refused,
           leaked=0)
    assert refused >= 60, refused  # nearly every command is refused at the door (a few stop at their arguments)


def test_the_padron_is_loaded_once_for_every_company(firm):
    """`padron import` loads the firm's register whatever company is chosen; a company's lookups and
    new clients read it, and no company's books hold a copy."""
    from sqlalchemy import text

    from tests.test_padron import ANDES, sample

    path = sample(firm.tmp)
    done = firm.run("--company", "empa", "padron", "import", str(path))
    assert done.exit_code == 0, done.output
    with open_connection(firm.books("A")) as conn:
        assert conn.execute(text("SELECT count(*) FROM ruc_registry")).scalar() == 0
    with open_connection(firm.company.url) as conn:
        assert conn.execute(text("SELECT count(*) FROM ruc_registry")).scalar() == 4
    found = firm.run("--company", "empb", "padron", "lookup", ANDES, "--format", "json", role="contador")
    assert found.exit_code == 0 and found.json()["name"] == "INVERSIONES LOS ANDES DEL PERÚ S.A.C.", found.output
    added = firm.run("--company", "empa", "clients", "add", "--ruc", ANDES, "--format", "json")
    assert added.exit_code == 0, added.output
    shown = firm.run("--company", "empa", "clients", "show", ANDES, "--format", "json").json()
    assert shown["name"] == "INVERSIONES LOS ANDES DEL PERÚ S.A.C." and shown["source"].startswith("padron")


def test_a_company_whose_books_are_behind_says_so_and_db_upgrade_brings_them_up(firm):
    from cuentas_cli.db import migrate
    from cuentas_cli.db.engine import dispose_engines, get_engine

    migrate.downgrade(get_engine(firm.books("A")), "20261207_0007")
    dispose_engines()
    behind = firm.run("--company", "empa", "invoices", "list")
    assert behind.exit_code == 6, behind.output
    assert "the books of EMPRESA A S.A.C. (RUC 20131312955)" in behind.stderr and "--all-companies" in behind.stderr
    # with the company chosen (here CUENTAS_COMPANY), the `db upgrade` the message names brings the
    # firm's database and that company's books up
    env = {"CUENTAS_COMPANY": "empa"}
    up = firm.run("db", "upgrade", env=env)
    assert up.exit_code == 0, up.output
    assert "firm database: already at" in up.stderr and "EMPRESA A S.A.C. (RUC 20131312955): upgraded from " \
        "20261207_0007 to 20261207_0010" in up.stderr, up.stderr
    assert firm.run("invoices", "list", "--format", "json", env=env).json()[0]["serie"] in ("F101", "E001")
