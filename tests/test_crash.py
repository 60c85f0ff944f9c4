"""Crash safety with real processes killed by SIGKILL (no handler runs, nothing is flushed):

- `cuentas import` of 200,000 rows killed at 10 seeded random moments across its run: after
  every kill the database holds all of that import or none of it, and the import run again
  completes;
- `cuentas notify run` killed at 10 seeded random moments while it sends: no reminder is lost,
  and the only messages sent twice are the ones a kill caught between the server's "250 OK"
  and the commit of "sent" (at most one per kill; the window is documented in
  reminders/sending.py and the README);
- `cuentas padron import` killed at several moments of its load (tests/test_padron.py has the
  single-kill test with its assertions on lookups; this one adds moments).

Kill moments come from random.Random(seed); each test prints its figures (`-s`).
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from datetime import date, timedelta

import pytest

from tests.reliability import backend, bench_csv, cli_env, counts, cuentas_argv, figure, scalar, wait_for

pytestmark = pytest.mark.slow  # minutes, not seconds; still part of the default run

IMPORT_ROWS = 200_000
KILLS = 10


def _settle(url: str) -> None:
    """On PostgreSQL, wait until the server has noticed the dead client and rolled it back."""
    if url.startswith("sqlite"):
        return
    wait_for(lambda: scalar(url, "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND pid <> pg_backend_pid() AND state <> 'idle'") == 0, seconds=60)


def _kill_after(argv: list[str], env: dict[str, str], delay: float) -> tuple[bool, subprocess.Popen]:
    """Start argv and SIGKILL it `delay` seconds later; (False, proc) if it had already ended.
    Either way the process has ended when this returns."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False, proc
            time.sleep(0.005)
        if proc.poll() is not None:
            return False, proc
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return proc.returncode == -signal.SIGKILL, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- import ------------------------------------------------------------------------------------


def test_import_killed_at_random_moments_is_all_or_nothing(company, tmp_path):
    url = company.url
    path = bench_csv(tmp_path / "ventas-200k.csv", IMPORT_ROWS)
    env = cli_env(url, company.tokens["contador"])
    argv = cuentas_argv("import", path)
    base = counts(url)
    marks = {t: scalar(url, f"SELECT COALESCE(MAX(id), 0) FROM {t}") for t in ("invoice", "party", "audit_log")}

    def state() -> str:
        now = counts(url)
        imported = now["invoice"] - base["invoice"]
        parties = now["party"] - base["party"]
        audited = now["audit_log"] - base["audit_log"]
        if imported == parties == audited == 0:
            return "none"
        assert imported == IMPORT_ROWS and parties > 0 and audited == 1, (
            f"a killed import left part of itself behind: {imported} invoices, {parties} parties, {audited} audit rows")
        return "all"

    def reset() -> None:
        from cuentas_cli.db.engine import get_engine

        with get_engine(url).begin() as conn:
            for table in ("invoice", "party", "audit_log"):
                conn.exec_driver_sql(f"DELETE FROM {table} WHERE id > {int(marks[table])}")
        assert state() == "none"

    # One run without a kill: it completes, and its length spreads the kill moments below.
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    duration = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert state() == "all"
    reset()

    # Each kill is followed by the same import again: that re-run is itself killed at the next
    # moment (and must again leave all or nothing), and the last one runs to its end.
    rng = random.Random(20261126)
    outcomes: list[tuple[float, str]] = []
    attempts = 0
    while len(outcomes) < KILLS:
        attempts += 1
        assert attempts <= 3 * KILLS, f"only {len(outcomes)} of {attempts} runs were still running at their kill moment"
        delay = rng.uniform(0.05, 1.05) * duration  # from start-up to just past the commit
        killed, proc = _kill_after(argv, env, delay)
        _settle(url)
        found = state()
        if not killed:
            assert proc.returncode == 0
            assert found == "all"
            reset()
            continue
        outcomes.append((round(delay, 2), found))
        if found == "all":  # killed after its commit: start the next round from an empty book again
            reset()
    # The import run again after the last kill completes, with exactly the file's rows.
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert state() == "all"
    assert f"imported {IMPORT_ROWS} new" in again.stderr
    by_state = Counter(s for _, s in outcomes)
    figure("import-kills", backend=backend(url), rows=IMPORT_ROWS, kills=len(outcomes), none=by_state["none"],
           all=by_state["all"], partial=0, run_seconds=f"{duration:.1f}",
           moments=",".join(f"{d}s:{s}" for d, s in outcomes))
    assert len(outcomes) == KILLS


# --- notify run --------------------------------------------------------------------------------

CLIENTS = 100


def _many_reminders(url: str) -> dict[str, int]:
    """CLIENTS clients with an overdue invoice and an e-mail each: one message per client."""
    from cuentas_cli.db.engine import open_session
    from tests.factories import make_invoice, make_party, valid_ruc

    today = date(2026, 6, 15)
    emails = {}
    with open_session(url, write=True) as s:
        for i in range(CLIENTS):
            email = f"pagos{i}@cliente{i}.pe"
            party = make_party(s, ruc=valid_ruc(700_000 + i), name=f"CLIENTE {i} S.A.C.", email=email)
            emails[email] = make_invoice(s, party, serie="F001", numero=5000 + i, issued=date(2026, 4, 1),
                                         due=today - timedelta(days=10 + i % 30)).id
    return emails


def test_notify_run_killed_at_random_moments_loses_nothing(company, tmp_path):
    from tests.test_notify_support import SMTP_PASSWORD, Inbox, SmtpServer, free_port, outbox, smtp_settings

    url = company.url
    emails = _many_reminders(url)
    inbox = Inbox(delay=0.1)  # each message takes a moment: kills land while messages are in flight
    server = SmtpServer(free_port(), inbox=inbox).start()
    secret = tmp_path / "smtp-password"
    secret.write_text(SMTP_PASSWORD + "\n")
    secret.chmod(0o600)
    env = cli_env(url, company.tokens["contador"], CUENTAS_SMTP_PASSWORD_FILE=str(secret))
    argv = cuentas_argv("notify", "run")
    rng = random.Random(7)
    kills = 0
    caught_sending: list[str] = []  # recipients a kill left in "sending"
    try:
        smtp_settings(url, server.port, staff="")
        # Kills land from just after start-up to a second into the sending; start-up (imports,
        # database) is measured, since it ranges from half a second to over one by machine.
        started = time.monotonic()
        assert subprocess.run(cuentas_argv("notify", "list"), env=env, capture_output=True, timeout=120).returncode == 0
        startup = time.monotonic() - started
        runs = 0
        while kills < KILLS:
            runs += 1
            assert runs <= 4 * KILLS, "the kills never found a run still sending"
            queued = outbox(url)
            if runs > 1 and queued and all(r["status"] == "sent" for r in queued):
                break
            delay = startup + rng.uniform(0.1, 1.1)
            killed, proc = _kill_after(argv, env, delay)
            _settle(url)
            if not killed:
                # finished before its kill moment (or, on PostgreSQL, started while the server
                # was still dropping the killed run's connection and its advisory lock: exit 6)
                assert proc.returncode in (0, 6)
                continue
            kills += 1
            sending = [r for r in outbox(url) if r["status"] == "sending"]
            # a kill leaves at most the one message it interrupted in "sending"
            assert len({r["recipient"] for r in sending}) <= 1, sending
            caught_sending += sorted({r["recipient"] for r in sending})
        final = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
        assert final.returncode == 0, final.stderr
        assert wait_for(lambda: len(inbox.messages) >= len(emails), seconds=10)
        time.sleep(0.3)  # let a message still in the server's DATA delay land
    finally:
        server.stop()
    rows = outbox(url)
    assert rows and all(r["status"] == "sent" for r in rows), [r for r in rows if r["status"] != "sent"]
    received = Counter(m.to for m in inbox.messages)
    lost = [e for e in emails if received[e] == 0]
    assert lost == [], f"reminders lost: {lost}"
    assert set(received) == set(emails)
    duplicates = Counter({e: n - 1 for e, n in received.items() if n > 1})
    # only the messages a kill caught in flight went out twice, at most one per kill
    assert sum(duplicates.values()) <= kills
    assert set(duplicates) <= set(caught_sending), (duplicates, caught_sending)
    figure("notify-kills", backend=backend(url), reminders=len(emails), kills=kills, lost=0,
           resent=sum(duplicates.values()), left_sending_at_kill=len(caught_sending))
    assert kills >= KILLS


# --- padron import -----------------------------------------------------------------------------


def test_padron_import_killed_at_several_moments_keeps_the_register(company, tmp_path):
    """test_padron.py::test_sigkill_half_way_leaves_the_previous_register_complete kills one
    import in the middle of its load; this one kills at seeded moments from start-up to the end."""
    from tests.test_padron import registry, sample, table_names, write_padron

    url = company.url
    small = sample(tmp_path)
    assert company.run("padron", "import", str(small)).exit_code == 0
    before = registry(url)
    big = write_padron(tmp_path / "big.txt", 120_000)
    env = cli_env(url, company.tokens["administrador"])
    argv = cuentas_argv("padron", "import", big)
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    duration = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    complete = len(registry(url))
    assert company.run("padron", "import", str(small)).exit_code == 0  # back to the small register
    assert registry(url) == before
    rng = random.Random(3)
    kills, outcomes = 0, Counter()
    for _ in range(12):
        if kills == 4:
            break
        killed, _ = _kill_after(argv, env, rng.uniform(0.1, 1.05) * duration)
        _settle(url)
        now = registry(url)
        if now == before:
            outcomes["previous"] += 1
        else:
            assert len(now) == complete, "a killed padrón import left a mixed register"
            outcomes["new"] += 1
        kills += killed
        # the small register again, through a normal import (which also clears leftovers)
        assert company.run("padron", "import", str(small)).exit_code == 0
        assert registry(url) == before
        assert not {t for t in table_names(url) if t.endswith(("_new", "_old"))}
    figure("padron-kills", backend=backend(url), kills=kills, previous_register=outcomes["previous"],
           new_register=outcomes["new"], mixed=0)
    assert kills >= 3
