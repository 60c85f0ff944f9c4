"""Cron-safety with real processes: eight `cuentas notify run` at once send each reminder once;
`notify serve` runs its job, survives a failing job and stops cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from cuentas_cli.errors import LockHeld
from cuentas_cli.reminders import scheduler
from tests.test_notify_support import (
    SMTP_PASSWORD,
    STAFF,
    Inbox,
    SmtpServer,
    free_port,
    make_book,
    outbox,
    smtp_settings,
)

pytestmark = pytest.mark.slow


def _env(company, tmp_path: Path, role: str = "contador") -> dict[str, str]:
    """A cron-like environment: a service token, no keyring, the SMTP password in a 0600 file."""
    secret = tmp_path / "smtp-password"
    if not secret.exists():
        secret.write_text(SMTP_PASSWORD + "\n")
        secret.chmod(0o600)
    env = dict(os.environ)
    env.update({
        "CUENTAS_TOKEN": company.tokens[role],
        "CUENTAS_DATABASE_URL": company.url,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "CUENTAS_SMTP_PASSWORD_FILE": str(secret),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _wait_for(predicate, seconds: float = 60.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_eight_runs_started_together_send_each_reminder_exactly_once(company, tmp_path):
    make_book(company.url)
    inbox = Inbox(delay=0.2)  # a slow server widens the window in which runs overlap
    server = SmtpServer(free_port(), inbox=inbox).start()
    try:
        smtp_settings(company.url, server.port)
        env = _env(company, tmp_path)
        procs = [subprocess.Popen([sys.executable, "-m", "cuentas_cli", "notify", "run"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(8)]
        results = [(p.wait(timeout=180), p.stdout.read(), p.stderr.read()) for p in procs]
    finally:
        server.stop()
    codes = Counter(code for code, _, _ in results)
    print("exit codes of the eight runs:", dict(codes))
    assert set(codes) <= {0, 6}, results
    assert codes[0] >= 1
    for code, _, err in results:
        if code == 6:
            assert err.startswith("error: another `cuentas notify run` holds the")
    # each reminder exactly once: ana, beto, the staff's payables and the staff digest
    assert Counter(m.to for m in inbox.messages) == Counter(
        {"pagos@ana.pe": 1, "tesoreria@beto.pe": 1, STAFF: 2})
    rows = outbox(company.url)
    assert len(rows) == 5 and all(r["status"] == "sent" and r["attempts"] == 1 for r in rows)


def _serve(company, tmp_path: Path, log_name: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / log_name
    handle = log.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "cuentas_cli", "notify", "serve", "--at", "03:00", "--now"],
                            env=_env(company, tmp_path), stdout=subprocess.DEVNULL, stderr=handle)
    handle.close()
    return proc, log


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_runs_the_job_and_stops_cleanly_on_a_signal(company, tmp_path, stop_signal):
    make_book(company.url)
    server = SmtpServer(free_port()).start()
    try:
        smtp_settings(company.url, server.port)
        proc, log = _serve(company, tmp_path, "serve.log")
        try:
            assert _wait_for(lambda: "notify run: enqueued" in log.read_text()), log.read_text()
            assert len(server.inbox.messages) == 4
            proc.send_signal(stop_signal)
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        server.stop()
    text = log.read_text()
    assert code == 0, text
    assert f"{stop_signal.name} received" in text and "notify serve: stopped" in text
    assert "Traceback" not in text


def test_serve_survives_a_failing_job(caplog):
    caplog.set_level(logging.INFO, logger="cuentas.notify")
    calls = []

    def unexpected() -> None:
        calls.append("unexpected")
        raise RuntimeError("base de datos caída")

    def domain() -> None:
        calls.append("domain")
        raise LockHeld("another `cuentas notify run` holds the lock")

    scheduler.guarded("daily", unexpected)  # logged with its traceback, not raised
    scheduler.guarded("retry", domain)  # a domain error: one warning line
    stop = threading.Event()

    def failing_daily() -> None:
        calls.append("serve")
        stop.set()  # ask the loop to stop, then fail: serve must still return normally
        raise ValueError("boom")

    scheduler.serve(daily=failing_daily, retry=lambda: None, at="03:00", stop=stop, run_now=True,
                    poll_seconds=0.01)
    assert calls == ["unexpected", "domain", "serve"]
    records = caplog.records
    assert any(r.getMessage() == "daily job failed" and r.exc_info and "base de datos" in str(r.exc_info[1])
               for r in records)
    assert any("retry job: another `cuentas notify run` holds the lock" == r.getMessage() for r in records)
    assert any(r.getMessage() == "daily job failed" and r.exc_info and "boom" in str(r.exc_info[1]) for r in records)
    assert any(r.getMessage() == "notify serve: stopped" for r in records)
