"""Statements of account (`clients|suppliers statement`, alias estado-de-cuenta), on both backends:
the running balance equals the ledger's balance as of every line's date, the aging equals
`dashboard aging --by-party`, the period's opening balance, --open-only, the JSON contract, the
PDF (rendered to PNG with pdftoppm) and Excel files, and `--all --email` through the outbox to a
real SMTP server (aiosmtpd): one PDF per client with a balance, none on a second run."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal

import pytest

from tests.test_notify_support import make_book, outbox, smtp_server, smtp_settings  # noqa: F401 - fixture

CLIENT = "20999990011"
OTHER = "20999990020"
SUPPLIER = "20999990038"
AMOUNT = re.compile(r"^-?\d+\.\d{2}$")


def _ok(result):  # noqa: ANN001, ANN202
    assert result.exit_code == 0, result.output
    return result


def _book(company) -> None:  # noqa: ANN001
    """One client with PEN and USD invoices, a credit note, a debit note and partial payments (every
    movement on its own day), and a supplier with an invoice and a payment."""
    run = lambda *args: _ok(company.run(*args))  # noqa: E731
    run("clients", "add", "--ruc", CLIENT, "--lookup", "--email", "pagos@cliente.pe")
    run("suppliers", "add", "--ruc", SUPPLIER, "--lookup")
    add = ("invoices", "add", "--kind", "cxc", "--party", CLIENT)
    run(*add, "--serie", "F001", "--numero", "1", "--issued", "2026-03-02", "--due", "2026-04-01", "--total", "1180.00")
    run(*add, "--serie", "F001", "--numero", "2", "--issued", "05/04/2026", "--due", "05/05/2026", "--total", "2360.00")
    run(*add, "--serie", "F001", "--numero", "3", "--issued", "2026-03-10", "--due", "2026-04-09", "--total", "1000.00",
        "--currency", "USD", "--rate", "3.75")
    run("invoices", "pay", "F001-1", "500.00", "--date", "2026-03-20", "--reference", "OP-1")
    run(*add, "--doc-type", "07", "--serie", "FC01", "--numero", "1", "--issued", "2026-04-20", "--total", "360.00",
        "--references", "F001-2")
    run(*add, "--doc-type", "08", "--serie", "FD01", "--numero", "1", "--issued", "2026-05-02", "--total", "118.00",
        "--references", "F001-1")
    run("invoices", "pay", "F001-3", "400.00", "--date", "2026-04-15")
    run("invoices", "pay", "F001-2", "1000.00", "--date", "2026-05-10", "--method", "cheque")
    run(*add, "--serie", "F001", "--numero", "4", "--issued", "2026-06-01", "--due", "2026-07-01", "--total", "590.00")
    run("invoices", "pay", "F001-1", "798.00", "--date", "2026-06-05")  # F001-1 (+ its debit note) paid off
    run("invoices", "add", "--kind", "cxp", "--party", SUPPLIER, "--serie", "E001", "--numero", "7", "--issued",
        "2026-05-01", "--due", "2026-05-31", "--total", "944.00")
    run("invoices", "pay", "E001-7", "300.00", "--date", "2026-05-20")


def _statement(company, *args, kind="clients", doc=CLIENT, role="administrador"):  # noqa: ANN001, ANN202
    return _ok(company.run(kind, "statement", doc, *args, "--format", "json", role=role)).json()


def _ledger_balance(company, day: str, currency: str, doc: str = CLIENT, kind: str = "cxc") -> Decimal:  # noqa: ANN001
    """The oracle: the party's balance as of `day` in `currency` from `dashboard aging --by-party`
    (the ledger's balance as of a date, summed per party)."""
    rows = _ok(company.run("dashboard", "aging", "--by-party", "--kind", kind, "--as-of", day, "--currency", currency,
                           "--format", "json")).json()
    mine = [r for r in rows if r["party_doc"] == doc]
    return Decimal(mine[0]["total"]) if mine else Decimal("0.00")


def test_running_balance_is_the_ledger_balance_at_every_line_and_aging_is_the_dashboards(company):
    _book(company)
    data = _statement(company)
    sections = {s["currency"]: s for s in data["currencies"]}
    assert list(sections) == ["PEN", "USD"]
    pen, usd = sections["PEN"], sections["USD"]
    assert [(ln["date"], ln["movement"], ln["document"]) for ln in pen["lines"]] == [
        ("2026-03-02", "invoice", "F001-1"), ("2026-03-20", "payment", "F001-1"), ("2026-04-05", "invoice", "F001-2"),
        ("2026-04-20", "credit_note", "FC01-1"), ("2026-05-02", "debit_note", "FD01-1"),
        ("2026-05-10", "payment", "F001-2"), ("2026-06-01", "invoice", "F001-4"), ("2026-06-05", "payment", "F001-1"),
    ]
    assert pen["lines"][3]["reference"] == "F001-2" and pen["lines"][3]["credit"] == "360.00"
    assert pen["lines"][4]["reference"] == "F001-1" and pen["lines"][4]["debit"] == "118.00"
    assert [ln["document"] for ln in usd["lines"]] == ["F001-3", "F001-3"]
    for currency, section in sections.items():
        assert section["opening_balance"] == "0.00"
        for line in section["lines"]:
            assert Decimal(line["balance"]) == _ledger_balance(company, line["date"], currency), (currency, line)
        assert Decimal(section["closing_balance"]) == _ledger_balance(company, "2026-06-15", currency)
        assert section["closing_balance"] == section["lines"][-1]["balance"]
        # the aging is the client's row of `dashboard aging --by-party` in that currency
        rows = _ok(company.run("dashboard", "aging", "--by-party", "--kind", "cxc", "--currency", currency,
                               "--format", "json")).json()
        row = next(r for r in rows if r["party_doc"] == CLIENT)
        assert section["aging"] == {key: row[key] for key in (*data["aging_buckets"], "total")}
    assert pen["closing_balance"] == "1590.00" and usd["closing_balance"] == "600.00"
    assert pen["debits"] == "4248.00" and pen["credits"] == "2658.00"
    # the open documents as of today, with days overdue
    assert [(d["document"], d["balance"], d["days_overdue"]) for d in pen["open_documents"]] == [
        ("F001-2", "1000.00", 41), ("F001-4", "590.00", 0)]
    assert [(d["document"], d["balance"], d["days_overdue"]) for d in usd["open_documents"]] == [("F001-3", "600.00", 67)]
    # the balance `invoices show` gives today agrees too
    shown = {doc: Decimal(_ok(company.run("invoices", "show", doc, "--format", "json")).json()["balance"])
             for doc in ("F001-1", "F001-2", "F001-4")}
    assert sum(shown.values()) == Decimal(pen["closing_balance"])


def test_supplier_statement_and_contador_may_read_one(company):
    _book(company)
    data = _statement(company, kind="suppliers", doc=SUPPLIER, role="contador")
    assert data["kind"] == "cxp" and data["party"]["doc_number"] == SUPPLIER
    [pen] = data["currencies"]
    assert [(ln["movement"], ln["debit"], ln["credit"], ln["balance"]) for ln in pen["lines"]] == [
        ("invoice", "944.00", "0.00", "944.00"), ("payment", "0.00", "300.00", "644.00")]
    assert Decimal(pen["closing_balance"]) == _ledger_balance(company, "2026-06-15", "PEN", SUPPLIER, "cxp")
    assert pen["open_documents"][0]["days_overdue"] == 15
    # a supplier is not a client: the client group does not find it
    missing = company.run("clients", "statement", SUPPLIER, "--format", "json")
    assert missing.exit_code == 4 and "Traceback" not in missing.output


def test_period_opening_balance_and_open_only(company):
    _book(company)
    april = _statement(company, "--from", "01/04/2026", "--to", "2026-04-30")
    sections = {s["currency"]: s for s in april["currencies"]}
    assert april["date_from"] == "2026-04-01" and april["date_to"] == april["as_of"] == "2026-04-30"
    # opening = the ledger's balance the day before --from
    assert sections["PEN"]["opening_balance"] == "680.00" == str(_ledger_balance(company, "2026-03-31", "PEN"))
    assert sections["USD"]["opening_balance"] == "1000.00"
    assert [ln["document"] for ln in sections["PEN"]["lines"]] == ["F001-2", "FC01-1"]
    assert sections["PEN"]["lines"][0]["balance"] == "3040.00"
    assert Decimal(sections["PEN"]["closing_balance"]) == _ledger_balance(company, "2026-04-30", "PEN") == Decimal("2680.00")
    assert sections["USD"]["closing_balance"] == "600.00"
    # --open-only: the documents open as of --as-of with their notes and payments; F001-1 is paid
    open_only = _statement(company, "--open-only")
    pen = open_only["currencies"][0]
    assert open_only["open_only"] is True
    assert [ln["document"] for ln in pen["lines"]] == ["F001-2", "FC01-1", "F001-2", "F001-4"]
    assert pen["closing_balance"] == "1590.00" == pen["lines"][-1]["balance"]
    assert "F001-1" not in {ln["document"] for s in open_only["currencies"] for ln in s["lines"]}
    bad = company.run("clients", "statement", CLIENT, "--from", "2026-05-01", "--to", "2026-04-01")
    assert bad.exit_code == 2 and "--from" in bad.stderr and "Traceback" not in bad.output


def test_json_keys_are_stable_snake_case_with_amounts_as_strings(company):
    _book(company)
    _ok(company.run("bank", "accounts", "add", "soles-bcp", "--bank", "BCP", "--currency", "PEN", "--number",
                    "193-1234567-0-12", "--cci", "00219300123456701215"))
    english = _statement(company)
    spanish = _ok(company.run("--lang", "es", "clients", "estado-de-cuenta", CLIENT, "--format", "json")).json()
    assert english == spanish  # the script contract does not change with the language or the alias
    assert list(english) == ["kind", "company", "party", "date_from", "date_to", "as_of", "open_only",
                             "aging_buckets", "currencies", "bank_accounts"]
    section = english["currencies"][0]
    assert list(section) == ["currency", "opening_balance", "debits", "credits", "closing_balance", "overdue",
                             "lines", "aging", "open_documents"]
    assert list(section["lines"][0]) == ["date", "movement", "doc_type", "document", "reference", "due_date", "debit",
                                         "credit", "balance"]
    assert list(section["open_documents"][0]) == ["doc_type", "document", "issue_date", "due_date", "total",
                                                  "balance", "days_overdue"]
    for s in english["currencies"]:
        amounts = [s[k] for k in ("opening_balance", "debits", "credits", "closing_balance", "overdue")]
        amounts += [ln[k] for ln in s["lines"] for k in ("debit", "credit", "balance")]
        amounts += list(s["aging"].values()) + [d[k] for d in s["open_documents"] for k in ("total", "balance")]
        assert all(isinstance(a, str) and AMOUNT.match(a) for a in amounts), amounts
    assert english["bank_accounts"] == [{"name": "soles-bcp", "bank": "BCP", "bank_name": "Banco de Crédito del Perú",
                                         "currency": "PEN", "number": "193-1234567-0-12",
                                         "cci": "00219300123456701215", "detracciones": False}]


def test_pdf_renders_to_png_and_xlsx_has_the_figures(company, tmp_path, monkeypatch):
    _book(company)
    _ok(company.run("settings", "set", "company.name", "EMPRESA DEMO S.A.C."))
    _ok(company.run("settings", "set", "company.ruc", "20999990003"))
    pdf = tmp_path / "estado.pdf"
    written = _ok(company.run("clients", "statement", CLIENT, "--output", str(pdf)))
    assert str(pdf) in written.stderr and pdf.read_bytes().startswith(b"%PDF")
    # without --output a pdf gets its default name in the current folder
    monkeypatch.chdir(tmp_path)
    _ok(company.run("clients", "statement", CLIENT, "--format", "pdf", "--as-of", "2026-06-15"))
    assert (tmp_path / f"estado-de-cuenta-{CLIENT}-2026-06-15.pdf").read_bytes().startswith(b"%PDF")
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "page")], check=True, timeout=60)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1 and pages[0].read_bytes().startswith(b"\x89PNG") and pages[0].stat().st_size > 10_000
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "EMPRESA DEMO S.A.C." in text and "RUC 20999990003" in text and CLIENT in text
        assert "S/ 1,590.00" in text and "US$ 600.00" in text and "FC01-1" in text
    from openpyxl import load_workbook

    book = tmp_path / "estado.xlsx"
    _ok(company.run("clients", "statement", CLIENT, "-o", str(book)))
    cells = [c for row in load_workbook(book).active.iter_rows(values_only=True) for c in row if c is not None]
    assert "EMPRESA DEMO S.A.C." in cells and 1590.0 in cells and 600.0 in cells and "FC01-1" in cells


def test_bad_document_and_bad_options_are_one_line_errors(company):
    _book(company)
    for args, code in ((("clients", "statement", "99999999"), 4), (("clients", "statement", CLIENT, "--as-of",
                                                                     "31/02/2026"), 2),
                       (("clients", "statement", CLIENT, "--format", "docx"), 2),
                       (("clients", "statement"), 2), (("clients", "statement", "--all"), 2),
                       (("suppliers", "statement", SUPPLIER, "--format", "table", "-o", "x.pdf"), 2)):
        result = company.run(*args)
        assert result.exit_code == code, (args, result.output)
        assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.output and result.stdout == ""


def _pdf_text(data: bytes, tmp_path) -> str:  # noqa: ANN001
    if shutil.which("pdftotext") is None:
        assert data.rstrip().endswith(b"%%EOF")
        return ""
    path = tmp_path / "attached.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_all_email_sends_one_pdf_per_client_with_a_balance_once(company, smtp_server, tmp_path):  # noqa: F811
    make_book(company.url)  # ana and beto owe and have e-mail; sin correo has none; a supplier
    smtp_settings(company.url, smtp_server.port)
    # --dry-run: the list, no message, no outbox row
    dry = _ok(company.run("clients", "statement", "--all", "--email", "--dry-run", "--format", "json",
                          role="contador"))
    results = {item["name"]: item["result"] for item in dry.json()}
    assert results == {"ANA COMERCIAL S.A.C.": "would send", "BETO INVERSIONES S.A.": "would send",
                       "SIN CORREO E.I.R.L.": "no e-mail"}
    assert smtp_server.inbox.messages == [] and outbox(company.url) == []
    assert "nothing was sent or written" in dry.stderr

    first = _ok(company.run("clients", "statement", "--all", "--email", role="contador"))
    assert "sent 2, failed 0" in first.stderr
    inbox = smtp_server.inbox
    assert inbox.recipients() == ["pagos@ana.pe", "tesoreria@beto.pe"]
    for received, name in ((inbox.to("pagos@ana.pe")[0], "ANA COMERCIAL"), (inbox.to("tesoreria@beto.pe")[0], "BETO")):
        attachments = list(received.message.iter_attachments())
        assert len(attachments) == 1 and attachments[0].get_content_type() == "application/pdf"
        assert attachments[0].get_filename().startswith("estado-de-cuenta-")
        data = attachments[0].get_content()
        assert data.startswith(b"%PDF")
        text = _pdf_text(data, tmp_path)
        assert not text or (name in text and "EMPRESA DEMO S.A.C." in text)
        assert "Statement of account as of 15/06/2026" in str(received.message["Subject"])
        assert name in received.text()
    rows = [r for r in outbox(company.url) if r["kind"] == "statement"]
    assert len(rows) == 2 and all(r["status"] == "sent" and r["level"] == 202606 for r in rows)
    # a second run in the same month sends nothing; notify run does not send statements either
    second = _ok(company.run("clients", "statement", "--all", "--email"))
    assert "sent 0, failed 0, already sent 2" in second.stderr and len(inbox.messages) == 2
    listed = _ok(company.run("notify", "list", "--format", "json")).json()
    assert {r["document"] for r in listed if r["kind"] == "statement"} == {"estado de cuenta 2026-06"}
    # --min-balance and --overdue-only narrow the list (beto's USD invoice is 45 days overdue)
    narrow = _ok(company.run("clients", "statement", "--all", "--email", "--dry-run", "--overdue-only",
                             "--min-balance", "2000", "--format", "json")).json()
    assert [item["name"] for item in narrow] == ["BETO INVERSIONES S.A."]


def test_all_email_needs_the_notify_permission_and_changes_nothing_when_refused(company):
    make_book(company.url)
    from cuentas_cli.db.engine import open_session
    from sqlalchemy import text

    with open_session(company.url, write=True) as s:
        s.execute(text("DELETE FROM role_permission WHERE role = 'gerente' AND permission = 'notify'"))
    refused = company.run("clients", "statement", "--all", "--email", role="gerente")
    assert refused.exit_code != 0 and "notify" in refused.stderr and "Traceback" not in refused.output
    assert outbox(company.url) == []


def test_smtp_down_leaves_statements_queued_the_next_run_sends_them_and_notify_run_never_does(company):
    from tests.test_notify_support import SmtpServer, backoff_elapsed, free_port

    make_book(company.url)
    port = free_port()  # nothing listens here yet
    smtp_settings(company.url, port, staff="")
    down = company.run("clients", "statement", "--all", "--email")
    assert down.exit_code == 7 and "could not be sent" in down.stderr and "Traceback" not in down.output
    rows = [r for r in outbox(company.url) if r["kind"] == "statement"]
    assert len(rows) == 2 and all(r["status"] == "failed" and r["attempts"] == 1 for r in rows)
    server = SmtpServer(port).start()
    try:
        backoff_elapsed(company.url)
        _ok(company.run("notify", "run"))  # reminders only: the statements wait for their own run
        assert not any(m.message.get_content_type() == "multipart/mixed" for m in server.inbox.messages)
        assert all(r["status"] == "failed" for r in outbox(company.url) if r["kind"] == "statement")
        again = _ok(company.run("clients", "statement", "--all", "--email"))
        assert "sent 2, failed 0" in again.stderr
        mixed = [m for m in server.inbox.messages if m.message.get_content_type() == "multipart/mixed"]
        assert sorted(m.to for m in mixed) == ["pagos@ana.pe", "tesoreria@beto.pe"]
    finally:
        server.stop()
