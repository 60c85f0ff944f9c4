"""Reminders against a real SMTP server (aiosmtpd on 127.0.0.1): exactly once, levels, grouping,
failures and retries, cancellation of paid invoices, dry runs, the lock, the digest, webhooks."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from cuentas_cli.db.engine import open_session
from tests.dbstate import snapshot
from tests.test_notify_support import (
    STAFF,
    TODAY,
    SmtpServer,
    backoff_elapsed,
    configure,
    free_port,
    make_book,
    outbox,
    pay_in_full,
    smtp_server,  # noqa: F401 - fixture
    smtp_settings,
)


def test_two_runs_on_the_same_day_send_each_reminder_exactly_once(company, smtp_server):
    book = make_book(company.url)
    smtp_settings(company.url, smtp_server.port)

    first = company.run("notify", "run", role="contador")
    assert first.exit_code == 0, first.output
    assert "enqueued 5, sent 5 (4 messages), failed 0, cancelled 0" in first.stderr
    inbox = smtp_server.inbox
    assert inbox.recipients() == sorted(["pagos@ana.pe", "tesoreria@beto.pe", STAFF, STAFF])

    ana = inbox.to("pagos@ana.pe")[0]
    assert str(ana.message["Cc"]) == STAFF  # staff in CC of a client's reminder
    assert STAFF in ana.rcpt_tos
    assert str(ana.message["Reply-To"]) == "cobranzas@empresa.pe"
    assert "avisos@empresa.pe" in str(ana.message["From"])
    text, html = ana.text(), ana.html()
    for body in (text, html):  # one e-mail per client listing both invoices, balance and currency
        assert "F001-101" in body and "F001-102" in body
        assert "F001-103" not in body  # paid
        assert "S/ 1,180.00" in body and "S/ 590.00" in body
        assert "18/06/2026" in body and "15/06/2026" in body  # dates as people write them (issue 19)
    assert "vence en 3 días" in text and "vence hoy" in text
    assert "Recordatorio de pago" in str(ana.message["Subject"])

    beto = inbox.to("tesoreria@beto.pe")[0]
    assert "F002-201" in beto.text() and "US$ 1,180.00" in beto.text() and "vencido hace 45 días" in beto.text()
    assert "F002-202" not in beto.text() and "F002-203" not in beto.text()  # voided, not yet due

    staff = inbox.to(STAFF)
    payables = [m for m in staff if "Cuentas por pagar" in str(m.message["Subject"])]
    digests = [m for m in staff if "Resumen diario" in str(m.message["Subject"])]
    assert len(payables) == 1 and len(digests) == 1
    assert "E001-401" in payables[0].text() and "PROVEEDOR UNO" in payables[0].text()
    assert not any("ventas@proveedor.pe" in m.rcpt_tos for m in inbox.messages)  # CxP: staff only
    digest = digests[0].text()
    assert "Por cobrar — vencidos" in digest and "F003-301" in digest  # the client without e-mail
    assert "Por pagar — vencidos" in digest and "E001-401" in digest

    rows = outbox(company.url)
    reminders = {(r["invoice_id"], r["level"], r["recipient"]) for r in rows if r["kind"] == "reminder"}
    assert reminders == {
        (book.ids["ana_soon"], -3, "pagos@ana.pe"), (book.ids["ana_today"], 0, "pagos@ana.pe"),
        (book.ids["beto_old"], 30, "tesoreria@beto.pe"),  # only the highest level reached
        (book.ids["proveedor"], 7, STAFF),
    }
    assert all(r["status"] == "sent" and r["sent_at"] is not None and r["attempts"] == 1 for r in rows)

    second = company.run("notify", "run", role="gerente")
    assert second.exit_code == 0, second.output
    assert "enqueued 0, sent 0 (0 messages), failed 0, cancelled 0" in second.stderr
    assert len(inbox.messages) == 4

    with open_session(company.url) as s:
        from sqlalchemy import text

        audits = s.execute(text("SELECT after FROM audit_log WHERE action = 'notify.run'")).scalars().all()
    assert len(audits) == 1 and json.loads(audits[0])["sent"] == 5  # the second run changed nothing


def test_later_levels_follow_and_a_paid_invoice_is_never_reminded_again(company, smtp_server):
    book = make_book(company.url)
    smtp_settings(company.url, smtp_server.port, staff="")
    assert company.run("notify", "run").exit_code == 0
    assert len(smtp_server.inbox.to("pagos@ana.pe")) == 1
    pay_in_full(company.url, book.ids["ana_today"])

    # three days later: ana_soon reaches level 0; ana_today would be at no new level (paid anyway)
    later = company.run("notify", "run", env={"CUENTAS_TODAY": (TODAY + timedelta(days=3)).isoformat()})
    assert later.exit_code == 0, later.output
    ana = smtp_server.inbox.to("pagos@ana.pe")
    assert len(ana) == 2 and "F001-101" in ana[1].text() and "vence hoy" in ana[1].text()
    assert "F001-102" not in ana[1].text()

    # a week after its due date, ana_today would reach level 7, but it is paid: nothing for it
    week = company.run("notify", "run", env={"CUENTAS_TODAY": (TODAY + timedelta(days=7)).isoformat()})
    assert week.exit_code == 0, week.output
    levels = {r["level"] for r in outbox(company.url) if r["invoice_id"] == book.ids["ana_today"]}
    assert levels == {0}


def test_smtp_down_fails_the_run_keeps_everything_and_the_next_run_sends_it(company):
    make_book(company.url)
    port = free_port()  # nothing listens here yet
    smtp_settings(company.url, port)

    down = company.run("notify", "run")
    assert down.exit_code == 7, down.output
    assert down.stderr.strip().splitlines()[-1].startswith("error: 5 reminder(s) could not be sent")
    assert "failed 5" in down.stderr
    rows = outbox(company.url)
    assert len(rows) == 5
    for row in rows:
        assert row["status"] == "failed" and row["attempts"] == 1
        assert "refused" in row["last_error"].lower() and f"127.0.0.1:{port}" in row["last_error"]
        assert row["next_attempt_at"] is not None

    listed = company.run("notify", "list", "--status", "failed", "-f", "json")
    assert listed.exit_code == 0 and len(listed.json()) == 5
    assert {r["status"] for r in listed.json()} == {"failed"}

    # an immediate second run respects the backoff: nothing is attempted, nothing lost
    waiting = company.run("notify", "run")
    assert waiting.exit_code == 0, waiting.output
    assert "waiting to retry 5" in waiting.stderr

    server = SmtpServer(port).start()
    try:
        backoff_elapsed(company.url)
        up = company.run("notify", "run")
        assert up.exit_code == 0, up.output
        assert "sent 5 (4 messages), failed 0" in up.stderr
        assert len(server.inbox.messages) == 4
        assert all(r["status"] == "sent" and r["attempts"] == 2 and r["last_error"] is None
                   for r in outbox(company.url))
        again = company.run("notify", "run", "--retry-now")
        assert again.exit_code == 0 and len(server.inbox.messages) == 4
    finally:
        server.stop()


def test_invoice_paid_between_two_runs_never_gets_its_pending_reminder(company):
    book = make_book(company.url)
    port = free_port()
    smtp_settings(company.url, port)
    assert company.run("notify", "run").exit_code == 7  # queued (failed), not sent
    pay_in_full(company.url, book.ids["ana_soon"])
    with open_session(company.url, write=True) as s:  # and one voided by hand
        from cuentas_cli.db.models import Invoice

        invoice = s.get(Invoice, book.ids["beto_old"])
        invoice.status = "ANULADA"
        s.add(invoice)

    server = SmtpServer(port).start()
    try:
        backoff_elapsed(company.url)
        result = company.run("notify", "run")
        assert result.exit_code == 0, result.output
        assert "cancelled 2" in result.stderr
        ana = server.inbox.to("pagos@ana.pe")
        assert len(ana) == 1 and "F001-102" in ana[0].text() and "F001-101" not in ana[0].text()
        assert server.inbox.to("tesoreria@beto.pe") == []
    finally:
        server.stop()
    status = {r["invoice_id"]: (r["status"], r["last_error"]) for r in outbox(company.url) if r["kind"] == "reminder"}
    assert status[book.ids["ana_soon"]] == ("cancelled", "invoice paid or voided")
    assert status[book.ids["beto_old"]] == ("cancelled", "invoice paid or voided")


def test_a_higher_level_supersedes_a_failed_lower_one(company):
    book = make_book(company.url)
    port = free_port()
    smtp_settings(company.url, port, staff="")
    assert company.run("notify", "run").exit_code == 7
    server = SmtpServer(port).start()
    try:
        # a week later ana_today reached level 7: the failed level-0 reminder is replaced, not sent too
        later = company.run("notify", "run", env={"CUENTAS_TODAY": (TODAY + timedelta(days=7)).isoformat()})
        assert later.exit_code == 0, later.output
        rows = [r for r in outbox(company.url) if r["invoice_id"] == book.ids["ana_today"]]
        assert {(r["level"], r["status"]) for r in rows} == {(0, "cancelled"), (7, "sent")}
        assert len(server.inbox.to("pagos@ana.pe")) == 1
    finally:
        server.stop()


def test_max_attempts_gives_up(company):
    make_book(company.url)
    smtp_settings(company.url, free_port(), staff="")
    assert company.run("notify", "run").exit_code == 7
    from sqlalchemy import update

    from cuentas_cli.db.models import Notification
    from cuentas_cli.reminders.outbox import MAX_ATTEMPTS

    table = Notification.__table__
    with open_session(company.url, write=True) as s:
        s.execute(update(table).values(attempts=MAX_ATTEMPTS - 1))
    backoff_elapsed(company.url)
    last = company.run("notify", "run")
    assert last.exit_code == 7 and "gave up 3" in last.stderr
    assert all(r["attempts"] == MAX_ATTEMPTS and r["next_attempt_at"] is None for r in outbox(company.url))
    assert "enqueued 0, sent 0" in company.run("notify", "run").stderr  # not retried any more


def test_rows_left_sending_by_a_killed_run_are_sent_by_the_next(company, smtp_server):
    """The crash window: rows claimed ('sending') when a run died are sent once by the next run."""
    make_book(company.url)
    smtp_settings(company.url, smtp_server.port, staff="")
    from sqlalchemy import text

    with open_session(company.url, write=True) as s:
        s.execute(text("INSERT INTO notification (kind, invoice_id, level, channel, recipient, status, attempts, "
                       "created_at) SELECT 'reminder', id, 30, 'email', 'tesoreria@beto.pe', 'sending', 0, "
                       "created_at FROM invoice WHERE serie = 'F002' AND numero = 201"))
    result = company.run("notify", "run")
    assert result.exit_code == 0, result.output
    assert len(smtp_server.inbox.to("tesoreria@beto.pe")) == 1
    assert {r["status"] for r in outbox(company.url)} == {"sent"}


def test_dry_run_sends_nothing_and_writes_nothing(company, smtp_server):
    make_book(company.url)
    smtp_settings(company.url, smtp_server.port)
    assert company.run("notify", "list").exit_code == 0  # the token's last use is recorded now, not below
    before = snapshot(company.url)
    result = company.run("notify", "run", "--dry-run", "-f", "json")
    assert result.exit_code == 0, result.output
    planned = result.json()
    assert sorted(p["recipient"] for p in planned) == sorted(["pagos@ana.pe", "tesoreria@beto.pe", STAFF, STAFF])
    assert {p["kind"] for p in planned} == {"reminder", "digest"}
    assert "would enqueue 5, would send 5 (4 messages)" in result.stderr
    assert smtp_server.inbox.messages == []
    assert snapshot(company.url) == before


def test_a_run_while_another_holds_the_lock_exits_6_and_sends_nothing(company, smtp_server):
    from cuentas_cli.reminders.sending import run_lock

    make_book(company.url)
    smtp_settings(company.url, smtp_server.port)
    with run_lock(company.url):
        result = company.run("notify", "run")
    assert result.exit_code == 6, result.output
    assert result.stderr.startswith("error: another `cuentas notify run` holds the")
    assert smtp_server.inbox.messages == [] and outbox(company.url) == []
    assert company.run("notify", "run").exit_code == 0  # released


def test_digest_is_sent_once_a_day(company, smtp_server):
    smtp_settings(company.url, smtp_server.port, staff="a@empresa.pe,b@empresa.pe")
    for _ in range(2):
        assert company.run("notify", "run").exit_code == 0
    assert smtp_server.inbox.recipients() == ["a@empresa.pe", "b@empresa.pe"]
    assert "Nada vencido ni por vencer" in smtp_server.inbox.messages[0].text()
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    assert company.run("notify", "run", env={"CUENTAS_TODAY": tomorrow}).exit_code == 0
    assert len(smtp_server.inbox.messages) == 4
    digests = [r for r in outbox(company.url) if r["kind"] == "digest"]
    assert len(digests) == 4 and all(r["invoice_id"] is None for r in digests)


def test_every_role_may_run_and_a_revoked_permission_is_refused(company, smtp_server):
    make_book(company.url)
    smtp_settings(company.url, smtp_server.port)
    for role in ("contador", "gerente"):
        assert company.run("notify", "list", role=role).exit_code == 0
    assert company.run("roles", "revoke", "gerente", "notify").exit_code == 0
    company.run("notify", "list", role="gerente")  # refused too; records the token's use
    before = snapshot(company.url)
    denied = company.run("notify", "run", role="gerente")
    assert denied.exit_code == 5
    assert "notify" in denied.stderr and "gerente" in denied.stderr
    assert snapshot(company.url) == before and smtp_server.inbox.messages == []
    assert company.run("notify", "run", role=None).exit_code == 5  # no user at all


def test_bad_values_are_refused(company):
    assert company.run("notify", "list", "--status", "lost").exit_code == 2
    bad_time = company.run("notify", "serve", "--at", "25:00")
    assert bad_time.exit_code == 2 and "HH:MM" in bad_time.stderr
    bad_address = company.run("notify", "test-email", "no-es-correo")
    assert bad_address.exit_code == 3 and bad_address.stderr.startswith("error:")


def test_missing_smtp_settings_stop_before_anything_is_claimed(company):
    make_book(company.url)
    result = company.run("notify", "run")
    assert result.exit_code == 3
    assert "smtp.host is not set" in result.stderr
    assert {r["status"] for r in outbox(company.url)} == {"pending"}  # queued, waiting for the settings


def test_test_email(company, smtp_server):
    smtp_settings(company.url, smtp_server.port)
    result = company.run("notify", "test-email", "yo@empresa.pe", role="contador")
    assert result.exit_code == 0, result.output
    assert smtp_server.inbox.recipients() == ["yo@empresa.pe"]
    assert smtp_server.inbox.logins == ["avisos@empresa.pe"]
    assert outbox(company.url) == []
    smtp_server.stop()
    down = company.run("notify", "test-email", "yo@empresa.pe")
    assert down.exit_code == 7 and down.stderr.startswith("error: SMTP 127.0.0.1:")


def test_webhook_channel(company, smtp_server, monkeypatch):
    import httpx
    import keyring
    import respx

    monkeypatch.setattr("cuentas_cli.integrations.webhook.time.sleep", lambda s: None)
    make_book(company.url)
    url = "https://hooks.example.test/services/T000/B000/s3cr3tpath"
    smtp_settings(company.url, smtp_server.port, extra={"notify.webhook_url": url})
    keyring.set_password("cuentas", "webhook-token", "tok-123")
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(url).mock(return_value=httpx.Response(200, text="ok"))
        result = company.run("notify", "run")
        assert result.exit_code == 0, result.output
        assert route.call_count == 2  # one post with every reminder, one digest
        bodies = [json.loads(call.request.content) for call in route.calls]
        assert all(set(b) == {"text"} for b in bodies)
        reminders = next(b["text"] for b in bodies if "Recordatorios" in b["text"])
        for document in ("F001-101", "F001-102", "F002-201", "E001-401"):
            assert document in reminders
        assert route.calls[0].request.headers["Authorization"] == "Bearer tok-123"
        assert company.run("notify", "run").exit_code == 0
        assert route.call_count == 2

    # a failing hook: retried, then the rows fail with the error (no secret path in it)
    later = (TODAY + timedelta(days=3)).isoformat()
    with respx.mock() as mock:
        route = mock.post(url).mock(return_value=httpx.Response(503))
        failed = company.run("notify", "run", env={"CUENTAS_TODAY": later})
        assert failed.exit_code == 7, failed.output
        assert route.call_count == 2 * 3  # reminders and digest, 3 attempts each
    errors = {r["last_error"] for r in outbox(company.url) if r["channel"] == "webhook" and r["status"] == "failed"}
    assert errors and all("HTTP 503" in e and "s3cr3tpath" not in e for e in errors)
    assert "s3cr3tpath" not in failed.output


def test_outbox_uniqueness_holds_in_the_database(company):
    from sqlalchemy.exc import IntegrityError

    from cuentas_cli.db.models import Notification

    book = make_book(company.url)
    with pytest.raises(IntegrityError):
        with open_session(company.url, write=True) as s:
            for _ in range(2):
                s.add(Notification(invoice_id=book.ids["ana_soon"], level=0, channel="email", recipient="x@y.pe"))
                s.flush()
    with pytest.raises(IntegrityError):
        with open_session(company.url, write=True) as s:
            for _ in range(2):
                s.add(Notification(kind="digest", digest_date=TODAY, level=0, channel="email", recipient="x@y.pe"))
                s.flush()
    with pytest.raises(IntegrityError):  # a digest must not point at an invoice
        with open_session(company.url, write=True) as s:
            s.add(Notification(kind="digest", invoice_id=book.ids["ana_soon"], digest_date=TODAY, level=0,
                               channel="email", recipient="x@y.pe"))
            s.flush()


def test_configured_levels_are_used(company, smtp_server):
    book = make_book(company.url)
    smtp_settings(company.url, smtp_server.port, staff="", extra={"notify.levels": "10,60"})
    assert company.run("notify", "run").exit_code == 0
    rows = outbox(company.url)
    # only beto_old (45 days overdue) reached level 10; nobody reached 60
    assert [(r["invoice_id"], r["level"]) for r in rows] == [(book.ids["beto_old"], 10)]
    configure(company.url, {"notify.levels": "0"})
    assert company.run("notify", "run").exit_code == 0
    assert len(smtp_server.inbox.messages) == 2  # beto at 10, then ana (and nothing lower for beto)
