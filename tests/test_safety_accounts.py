"""Accounts and secrets under pressure: lockout counted atomically by parallel logins, webhook
URLs (https, secrets masked for every role), a busy SQLite database (exit 6, naming the other
writer), and `users add` refusing before it asks for a password."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time

import pytest
from sqlmodel import select

from cuentas_cli.db.engine import dispose_engines, open_session, sqlite_path, writer_note
from cuentas_cli.db.models import AuditLog, User
from cuentas_cli.errors import PermissionDenied
from tests.conftest import PASSWORD
from tests.factories import make_invoice, make_party
from tests.reliability import backend, figure

PARALLEL = 16
SECRET_URL = "https://hooks.slack.com/services/T0AB12CD3/B0CD45EF6/s3cr3tW3bh00kPath"
SECRET_PARTS = ("T0AB12CD3", "B0CD45EF6", "s3cr3tW3bh00kPath")


# --- lockout -----------------------------------------------------------------------------------


def test_parallel_wrong_passwords_lock_after_exactly_five(company, monkeypatch):
    from cuentas_cli.admin import auth
    from cuentas_cli.admin import users

    with open_session(company.url) as s:
        real_hash = s.exec(select(User).where(User.username == "contador")).one().password_hash
    verified: list[str] = []
    real_verify = auth.verify_password

    def counting_verify(password_hash: str, password: str) -> bool:
        if password_hash == real_hash:
            verified.append(password)
        return real_verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting_verify)
    start = threading.Barrier(PARALLEL)
    outcomes: list[str] = []

    def attempt(i: int) -> None:
        start.wait()
        try:
            with open_session(company.url, write=True) as s:
                users.login(session=s, username="contador", password=f"clave-incorrecta-{i}", hours=1)
            outcomes.append("logged in")
        except PermissionDenied as exc:
            outcomes.append(exc.message)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(outcomes) == PARALLEL
    assert "logged in" not in outcomes
    wrong = [o for o in outcomes if o == auth.BAD_CREDENTIALS]
    locked = [o for o in outcomes if o.startswith("account locked")]
    assert len(wrong) == auth.MAX_FAILED_LOGINS and len(locked) == PARALLEL - auth.MAX_FAILED_LOGINS
    assert len(verified) == auth.MAX_FAILED_LOGINS  # no password checked against the hash after the lock
    with open_session(company.url) as s:
        user = s.exec(select(User).where(User.username == "contador")).one()
        assert user.failed_logins == PARALLEL  # every attempt counted, none lost
        assert user.locked_until is not None
    monkeypatch.setattr(auth, "verify_password", real_verify)
    # the right password is refused while the lock lasts
    with pytest.raises(PermissionDenied, match="account locked"):
        with open_session(company.url, write=True) as s:
            users.login(session=s, username="contador", password=PASSWORD, hours=1)
    figure("lockout", backend=backend(company.url), parallel_attempts=PARALLEL, verified_before_lock=len(verified),
           counted=user.failed_logins, locked=True)


def test_lockout_count_restarts_after_the_lock_ran_out(company, cli):
    from datetime import datetime, timedelta, timezone

    for _ in range(5):
        assert cli("login", "contador", "--password-stdin", input="clave-incorrecta\n").exit_code == 5
    with open_session(company.url, write=True) as s:
        user = s.exec(select(User).where(User.username == "contador")).one()
        user.locked_until = datetime.now(timezone.utc) - timedelta(seconds=1)
        s.add(user)
    # one wrong password after the lock starts a new series: not locked again at once
    assert cli("login", "contador", "--password-stdin", input="clave-incorrecta\n").stderr == \
        "error: wrong user name or password\n"
    with open_session(company.url) as s:
        user = s.exec(select(User).where(User.username == "contador")).one()
        assert (user.failed_logins, user.locked_until) == (1, None)
    assert cli("login", "contador", "--password-stdin", input=PASSWORD + "\n").exit_code == 0


# --- users add ---------------------------------------------------------------------------------


def test_users_add_refuses_before_asking_for_a_password(company, monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr("cuentas_cli.commands.users.read_password", lambda **kw: asked.append(kw["prompt"]) or PASSWORD)
    for args in ((), ("--password-stdin",)):
        result = company.run("users", "add", "luis", "--role", "contador", *args, role="contador",
                             input=PASSWORD + "\n")
        assert result.exit_code == 5, result.output
        assert "permission denied: users" in result.stderr
    assert asked == []
    assert company.run("users", "show", "luis").exit_code == 4
    # the administrador is asked
    assert company.run("users", "add", "luis", "--role", "contador", "--password-stdin").exit_code == 0
    assert asked == ["Password for luis"]


# --- webhook URLs ------------------------------------------------------------------------------


def test_webhook_url_must_be_https_except_to_this_machine(company):
    plain = company.run("settings", "set", "notify.webhook_url", "http://hooks.example.com/services/T1/B2/s3cr3tpath")
    assert plain.exit_code == 3
    assert "https://" in plain.stderr and "in clear" in " ".join(plain.stderr.split())
    assert "s3cr3tpath" not in plain.stderr
    for url in ("http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]:9/hook", SECRET_URL):
        result = company.run("settings", "set", "notify.webhook_url", url)
        assert result.exit_code == 0, result.output


def test_webhook_post_refuses_plain_http_to_another_host():
    import respx

    from cuentas_cli.integrations import webhook

    with respx.mock(assert_all_called=False) as mock:
        route = mock.post("http://hooks.example.com/services/T1/B2/s3cr3tpath")
        with pytest.raises(webhook.WebhookError) as failure:
            webhook.post(webhook.WebhookSettings("http://hooks.example.com/services/T1/B2/s3cr3tpath"), "hola",
                         token="tok-123")
        assert route.call_count == 0
    assert "https" in str(failure.value) and "s3cr3tpath" not in str(failure.value)


@pytest.mark.parametrize("url, shown", [
    (SECRET_URL, "https://hooks.slack.com/services/***/***/***"),
    ("https://x.webhook.office.com/webhookb2/1f2e@3d4c/IncomingWebhook/ab12cd/9f8e", "https://x.webhook.office.com/***/***/***/***/***"),
    ("https://ntfy.sh/mytopicsecret", "https://ntfy.sh/***"),
    ("https://api.example.com/v1/hook?token=abc&channel=x", "https://api.example.com/***/***?token=***&channel=***"),
    ("http://user:pw@127.0.0.1:8080/api/k3y#frag", "http://***@127.0.0.1:8080/api/***#***"),
    ("https://api.apis.net.pe", "https://api.apis.net.pe"),
])
def test_mask_url(url, shown):
    from cuentas_cli.rules.urls import mask_url

    assert mask_url(url) == shown


def test_webhook_secret_masked_in_settings_show_and_audit_for_everyone(company):
    stored = company.run("settings", "set", "notify.webhook_url", SECRET_URL)
    assert stored.exit_code == 0 and not any(part in stored.output for part in SECRET_PARTS)  # not echoed either
    # an entry written before masking existed
    with open_session(company.url, write=True) as s:
        s.add(AuditLog(username="admin", action="setting.set", entity="setting", entity_id="notify.webhook_url",
                       before=None, after=json.dumps({"value": SECRET_URL})))
    for role in ("contador", "gerente", "administrador"):
        shown = company.run("settings", "show", "-f", "json", role=role)
        assert shown.exit_code == 0, shown.output
        value = next(r["value"] for r in shown.json() if r["key"] == "notify.webhook_url")
        assert value == "https://hooks.slack.com/services/***/***/***"
        assert not any(part in shown.stdout for part in SECRET_PARTS)
    for role in ("gerente", "administrador"):
        audit = company.run("audit", "list", "--entity", "setting", "-f", "json", role=role)
        assert audit.exit_code == 0, audit.output
        assert len(audit.json()) == 2 and "hooks.slack.com/services/***" in audit.stdout
        assert not any(part in audit.stdout for part in SECRET_PARTS)
    # what the notifier uses is still the whole URL
    from cuentas_cli.config import load as load_config
    from cuentas_cli.admin import settings

    with open_session(company.url) as s:
        assert settings.get(s, load_config(), "notify.webhook_url") == SECRET_URL


# --- a busy SQLite database ----------------------------------------------------------------------


@pytest.fixture
def sqlite_company(company):
    if backend(company.url) != "sqlite":
        pytest.skip("SQLite's single writer; PostgreSQL writers wait on row locks only")
    return company


def _hold_write_lock(url: str) -> sqlite3.Connection:
    conn = sqlite3.connect(sqlite_path(url), isolation_level=None, timeout=0.1)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE setting SET value = value")
    return conn


def test_busy_database_is_a_conflict_not_unreachable(sqlite_company):
    company = sqlite_company
    with open_session(company.url, write=True) as s:
        invoice_id = make_invoice(s, make_party(s)).id
    holder = _hold_write_lock(company.url)
    try:
        dispose_engines()
        started = time.monotonic()
        result = company.run("invoices", "pay", str(invoice_id), "100.00", role="contador",
                             env={"CUENTAS_SQLITE_BUSY_TIMEOUT": "1"})
        waited = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert result.exit_code == 6, result.output
    message = " ".join(result.stderr.split())
    assert message.startswith("error: busy: another cuentas command is writing")
    assert "waited 1 s" in message and "CUENTAS_SQLITE_BUSY_TIMEOUT" in message and message.endswith("try again")
    assert "cannot reach" not in message
    assert 1.0 <= waited < 10
    # nothing was written, and once the writer is gone the same command goes through
    dispose_engines()
    assert company.run("invoices", "pay", str(invoice_id), "100.00", role="contador").exit_code == 0
    figure("sqlite_busy", waited_s=f"{waited:.1f}", exit_code=result.exit_code, timeout_s=1)


def test_busy_message_names_the_writer(sqlite_company):
    company = sqlite_company
    holder = _hold_write_lock(company.url)
    try:
        with writer_note(company.url, "import ventas-junio.csv"):
            dispose_engines()
            result = company.run("clients", "edit", "1", "--name", "X", env={"CUENTAS_SQLITE_BUSY_TIMEOUT": "0.2"})
        stale = company.run("clients", "edit", "1", "--name", "X", env={"CUENTAS_SQLITE_BUSY_TIMEOUT": "0.2"})
    finally:
        holder.rollback()
        holder.close()
    assert result.exit_code == 6, result.output
    message = " ".join(result.stderr.split())
    assert f"(`cuentas import ventas-junio.csv`, pid {os.getpid()}, since " in message
    assert stale.exit_code == 6 and "import" not in stale.stderr  # the note went with the writer


def test_import_says_it_holds_the_write_lock(sqlite_company, tmp_path, monkeypatch):
    """At a terminal (like progress): scripts see the import named by the command it blocked."""
    from tests.reliability import bench_csv

    monkeypatch.setattr("cuentas_cli.commands.import_._stderr_is_terminal", lambda: True)
    csv = bench_csv(tmp_path / "ventas.csv", 20)
    result = sqlite_company.run("import", str(csv), role="contador")
    assert result.exit_code == 0, result.output
    assert "ventas.csv holds the database's write lock until it finishes" in " ".join(result.stderr.split())
    assert not (sqlite_path(sqlite_company.url).parent / "cuentas.db.writer").exists()


def test_the_writer_note_never_writes_through_a_symbolic_link(sqlite_company, tmp_path):
    company = sqlite_company
    victim = tmp_path / "importante.txt"
    victim.write_text("no tocar\n")
    link = sqlite_path(company.url).with_name(sqlite_path(company.url).name + ".writer")
    link.symlink_to(victim)
    with writer_note(company.url, "import x.csv"):
        pass
    assert victim.read_text() == "no tocar\n"


def test_an_argument_that_is_not_utf8_is_a_usage_error(company):
    """Non-UTF-8 bytes reach Python as lone surrogates: they failed at the database write as an
    'unexpected UnicodeEncodeError'."""
    import os

    result = company.run("clients", "edit", "1", "--name", os.fsdecode(b"ACME \x9b2J"))
    assert result.exit_code == 2, result.output
    assert result.stderr == "error: argument 5 is not valid UTF-8 text (check the terminal's or the script's encoding)\n"


def test_an_unreadable_session_file_is_a_clear_error(tmp_path):
    from cuentas_cli.errors import ValidationError as Refused
    from cuentas_cli.runtime import read_session_file

    import pathlib
    from unittest import mock

    session_file = tmp_path / "s"
    session_file.write_text("x")
    session_file.chmod(0o600)
    # tests run as root, who reads any file: the unreadable file is simulated
    with mock.patch.object(pathlib.Path, "read_bytes", side_effect=OSError(13, "Permission denied")), \
            pytest.raises(Refused, match="cannot be read"):
        read_session_file(session_file)
