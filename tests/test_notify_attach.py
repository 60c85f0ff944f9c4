"""The statement of account attached to a reminder (notify.channels `attach`), on both backends,
through a real SMTP server (aiosmtpd): a client's e-mail at an `attach` level carries exactly one
PDF, the very statement `clients statement DOC --format pdf` writes for the month so far (in
notify.language); other levels, the staff's payables and the digest carry none; a retried send
still carries it, built again on the day it goes out; preview and dry run build no PDF."""

from __future__ import annotations

import re
import zlib

from cuentas_cli.db.engine import open_session
from tests.test_notify_support import (
    STAFF,
    SmtpServer,
    backoff_elapsed,
    free_port,
    make_book,
    outbox,
    smtp_server,  # noqa: F401 - fixture
    smtp_settings,
)

STREAM = re.compile(rb"/Length (\d+)\s*>>\s*stream\r?\n")
SHOWN = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj")


def _ok(result):  # noqa: ANN001, ANN202
    assert result.exit_code == 0, result.output
    return result


def pdf_text(data: bytes) -> list[str]:
    """The strings a PDF of fpdf2 shows (Tj operators of its page streams), in order."""
    assert data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")
    shown = []
    for match in STREAM.finditer(data):  # a stream's bytes may hold anything: read /Length of them
        try:
            content = zlib.decompress(data[match.end():match.end() + int(match.group(1))])
        except zlib.error:  # a font or an image, not a page
            continue
        for text in SHOWN.findall(content):
            shown.append(re.sub(rb"\\(.)", rb"\1", text).decode("latin-1"))
    assert shown, "no text found in the PDF"
    return shown


def pdfs(received) -> list:  # noqa: ANN001
    return list(received.message.iter_attachments())


def _doc(url: str, name: str) -> str:
    from sqlalchemy import text

    with open_session(url) as s:
        return s.execute(text("SELECT doc_number FROM party WHERE name = :n"), {"n": name}).scalar_one()


def _statement_pdf(company, doc: str, tmp_path) -> list[str]:  # noqa: ANN001
    """What `clients statement DOC --format pdf` writes for the month so far, in Spanish (notify.language)."""
    path = tmp_path / f"{doc}.pdf"
    _ok(company.run("--lang", "es", "clients", "statement", doc, "--from", "01/06/2026", "--format", "pdf",
                    "-o", str(path)))
    return pdf_text(path.read_bytes())


def _one_statement(received, doc: str) -> list[str]:  # noqa: ANN001
    files = pdfs(received)
    assert len(files) == 1, [f.get_filename() for f in files]
    assert received.message.get_content_type() == "multipart/mixed"
    assert files[0].get_content_type() == "application/pdf"
    assert files[0].get_filename() == f"estado-de-cuenta-{doc}-2026-06-15.pdf"
    return pdf_text(files[0].get_content())


def test_an_attach_level_sends_the_clients_statement_and_other_messages_none(company, smtp_server, tmp_path):
    make_book(company.url)
    smtp_settings(company.url, smtp_server.port)
    _ok(company.run("settings", "set", "notify.channels", "0:email,attach"))
    _ok(company.run("notify", "run"))
    inbox = smtp_server.inbox
    ana_doc = _doc(company.url, "ANA COMERCIAL S.A.C.")
    # ana: levels -3 (F001-101) and 0 (F001-102, attach) in one e-mail, her statement attached
    (ana,) = inbox.to("pagos@ana.pe")
    text = _one_statement(ana, ana_doc)
    assert text == _statement_pdf(company, ana_doc, tmp_path)  # the very statement of `clients statement`
    joined = "\n".join(text)
    assert "ESTADO DE CUENTA" in joined and "ANA COMERCIAL S.A.C." in joined and "F001-102" in joined
    assert "del 01/06/2026 al 15/06/2026" in joined and "BETO" not in joined
    assert "Adjuntamos su estado de cuenta." in ana.text()
    # beto: level 30, which does not say attach; the staff: payables and the digest
    (beto,) = inbox.to("tesoreria@beto.pe")
    assert pdfs(beto) == [] and beto.message.get_content_type() == "multipart/alternative"
    assert "Adjuntamos" not in beto.text()
    staff = inbox.to(STAFF)
    assert len(staff) == 2 and all(pdfs(m) == [] for m in staff)  # E001-401's reminder and the digest
    assert all(r["status"] == "sent" for r in outbox(company.url))


def test_payables_never_carry_a_statement_even_when_every_level_attaches(company, smtp_server):
    make_book(company.url)
    # the staff address is also ana's: her reminders and the supplier's payable go in one e-mail
    smtp_settings(company.url, smtp_server.port, staff="pagos@ana.pe")
    _ok(company.run("settings", "set", "notify.channels", "*:email,staff,attach"))
    _ok(company.run("notify", "run"))
    inbox = smtp_server.inbox
    digest = [m for m in inbox.to("pagos@ana.pe") if "Resumen diario" in str(m.message["Subject"])]
    assert len(digest) == 1 and pdfs(digest[0]) == []
    mixed = [m for m in inbox.to("pagos@ana.pe") if m not in digest]
    assert len(mixed) == 1 and "E001-401" in mixed[0].text() and "F001-102" in mixed[0].text()
    text = "\n".join(_one_statement(mixed[0], _doc(company.url, "ANA COMERCIAL S.A.C.")))
    assert "ANA COMERCIAL S.A.C." in text and "PROVEEDOR" not in text
    (beto,) = inbox.to("tesoreria@beto.pe")
    assert "BETO INVERSIONES S.A." in "\n".join(_one_statement(beto, _doc(company.url, "BETO INVERSIONES S.A.")))
    assert str(beto.message["Cc"]) == "pagos@ana.pe"  # the copy is the same message, statement included


def test_clients_sharing_an_address_each_get_their_statement(company, smtp_server):
    from cuentas_cli.db.models import Party
    from sqlalchemy import select

    make_book(company.url)
    with open_session(company.url, write=True) as s:
        beto = s.execute(select(Party).where(Party.name == "BETO INVERSIONES S.A.")).scalar_one()
        beto.email = "pagos@ana.pe"
        s.add(beto)
    smtp_settings(company.url, smtp_server.port)
    _ok(company.run("settings", "set", "notify.channels", "*:email,attach"))
    _ok(company.run("notify", "run"))
    (both,) = smtp_server.inbox.to("pagos@ana.pe")
    names = sorted(f.get_filename() for f in pdfs(both))
    docs = sorted(_doc(company.url, n) for n in ("ANA COMERCIAL S.A.C.", "BETO INVERSIONES S.A."))
    assert names == [f"estado-de-cuenta-{d}-2026-06-15.pdf" for d in docs]


def test_a_retried_reminder_still_carries_the_statement_of_the_day_it_goes_out(company, tmp_path):
    make_book(company.url)
    port = free_port()  # nothing listens here yet
    smtp_settings(company.url, port, staff="")
    _ok(company.run("settings", "set", "notify.channels", "0:email,attach"))
    down = company.run("notify", "run")
    assert down.exit_code == 7 and "Traceback" not in down.output
    assert {r["status"] for r in outbox(company.url)} == {"failed"}
    # a payment between the attempts: the retried e-mail's statement shows it
    _ok(company.run("invoices", "pay", "F001-101", "100.00", "--date", "2026-06-15", "--reference", "OP-77"))
    server = SmtpServer(port).start()
    try:
        backoff_elapsed(company.url)
        _ok(company.run("notify", "run"))
        (ana,) = server.inbox.to("pagos@ana.pe")
        ana_doc = _doc(company.url, "ANA COMERCIAL S.A.C.")
        text = _one_statement(ana, ana_doc)
        assert "OP-77" in "\n".join(text)
        assert text == _statement_pdf(company, ana_doc, tmp_path)
        assert pdfs(server.inbox.to("tesoreria@beto.pe")[0]) == []
    finally:
        server.stop()
    assert {r["status"] for r in outbox(company.url) if r["recipient"] == "pagos@ana.pe"} == {"sent"}


def test_preview_and_dry_run_say_it_is_attached_and_build_no_pdf(company, smtp_server, monkeypatch):
    from cuentas_cli.exports import statements as files

    def refuse(stmt):  # noqa: ANN001, ANN202
        raise AssertionError("a preview or a dry run built a PDF")

    make_book(company.url)
    smtp_settings(company.url, smtp_server.port)
    _ok(company.run("settings", "set", "notify.channels", "0:email,attach"))
    monkeypatch.setattr(files, "pdf_bytes", refuse)
    human = _ok(company.run("notify", "preview", "F001-102"))
    assert "Attachment: the statement of account" in human.stdout
    assert "Attachment:" not in _ok(company.run("notify", "preview", "F002-201")).stdout
    planned = _ok(company.run("notify", "run", "--dry-run", "-f", "json")).json()
    flags = {(p["kind"], p["recipient"]): p["attach_statement"] for p in planned}
    assert flags[("reminder", "pagos@ana.pe")] is True and flags[("reminder", "tesoreria@beto.pe")] is False
    assert smtp_server.inbox.messages == [] and outbox(company.url) == []
