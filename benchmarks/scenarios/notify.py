"""Enqueueing reminders over 1M invoices (about 50k due) against the equivalent raw INSERT ... SELECT.

The run date is picked so that about 5% of the invoices (50k of 1M) have reached a reminder
level. The measured step is the set-based part of `notify run` (reminders.outbox.prepare:
cancel settled reminders, enqueue every target with INSERT ... SELECT ... ON CONFLICT DO
NOTHING and the "no row at this level or higher" check, supersede lower levels, enqueue the
staff digest), committed. The baseline, in the same process and on the same data, is one
plain INSERT ... SELECT writing the same rows (same level CASE, same recipients) into an
empty outbox, committed. Both are repeated three times (outbox emptied in between) and the
medians compared; target 3x. Also reported (informative): a second run on the same day,
which finds everything queued already. SQLite, and PostgreSQL when a server URL is given.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
import uuid
from datetime import date, datetime, timedelta, timezone

from benchmarks.harness import Result

LEVELS = [-3, 0, 7, 15, 30]
STAFF = "cobranzas@empresa.pe"
SHARE_DUE = 0.05  # 50k of 1M
REPEATS = 3

def _load(url: str, dataset) -> None:  # noqa: ANN001
    """Schema at head, then the generated rows (benchmarks.generate.load: executemany / COPY)."""
    from benchmarks.generate import load
    from cuentas_cli.db import migrate
    from cuentas_cli.db.engine import get_engine

    migrate.upgrade(get_engine(url, create=True))
    load(url, dataset)


def _run_date(url: str, target: int) -> date:
    """The day on which about `target` open invoices have reached the first level (-3)."""
    from sqlalchemy import text

    from cuentas_cli.db.engine import open_session

    with open_session(url) as s:
        due = s.execute(text(
            "SELECT due_date FROM invoice WHERE status NOT IN ('ANULADA', 'PAGADA') "
            "AND total_cents + adjust_cents - paid_cents > 0 ORDER BY due_date LIMIT 1 OFFSET :k"),
            {"k": max(target - 1, 0)}).scalar()
    due = due if isinstance(due, date) else date.fromisoformat(str(due))
    return due + timedelta(days=min(LEVELS))


def _raw_sql(today: date) -> str:
    whens = " ".join(f"WHEN i.due_date <= '{(today - timedelta(days=lv)).isoformat()}' THEN {lv}"
                     for lv in sorted(LEVELS, reverse=True))
    last_due = (today - timedelta(days=min(LEVELS))).isoformat()
    return (
        "INSERT INTO notification (kind, invoice_id, level, channel, recipient, status, attempts, created_at) "
        f"SELECT 'reminder', i.id, CASE {whens} END, 'email', "
        f"CASE WHEN i.direction = 'receivable' THEN p.email ELSE '{STAFF}' END, 'pending', 0, :now "
        "FROM invoice i JOIN party p ON p.id = i.party_id "
        f"WHERE i.due_date <= '{last_due}' AND i.status NOT IN ('ANULADA', 'PAGADA') "
        "AND i.total_cents + i.adjust_cents - i.paid_cents > 0 "
        "AND (i.direction = 'payable' OR (p.email IS NOT NULL AND p.email <> ''))"
    )


def _empty_outbox(url: str) -> None:
    from sqlalchemy import text

    from cuentas_cli.db.engine import open_session

    with open_session(url, write=True) as s:
        s.execute(text("DELETE FROM notification"))


def _baseline(url: str, today: date) -> tuple[float, int]:
    from sqlalchemy import text

    from cuentas_cli.db.engine import open_session

    now = datetime.now(timezone.utc)
    sql = text(_raw_sql(today))
    start = time.perf_counter()
    with open_session(url, write=True) as s:
        # the same typed timestamp the service writes
        count = s.execute(sql, {"now": now.strftime("%Y-%m-%d %H:%M:%S.%f") if url.startswith("sqlite") else now},
                          execution_options={"preserve_rowcount": True}).rowcount
    return time.perf_counter() - start, count


def _ours(url: str, today: date) -> tuple[float, int]:
    from cuentas_cli.db.engine import open_session
    from cuentas_cli.reminders.outbox import RunSummary, prepare
    from cuentas_cli.reminders.policy import Policy

    policy = Policy(levels=LEVELS, staff_emails=[STAFF], webhook_url="", company="", smtp=None)
    summary = RunSummary(today=today)
    start = time.perf_counter()
    with open_session(url, write=True) as s:
        prepare(s, policy=policy, today=today, now=datetime.now(timezone.utc), enqueue_due=True, summary=summary)
    return time.perf_counter() - start, summary.enqueued


def _measure(url: str, size: int, label: str) -> list[Result]:
    from benchmarks.generate import Dataset

    _load(url, Dataset(size))
    today = _run_date(url, int(size * SHARE_DUE))
    base_times, our_times = [], []
    base_rows = our_rows = 0
    for _ in range(REPEATS):
        seconds, base_rows = _baseline(url, today)
        base_times.append(seconds)
        _empty_outbox(url)
        seconds, our_rows = _ours(url, today)
        our_times.append(seconds)
        _empty_outbox(url)
    _ours(url, today)
    again, again_rows = _ours(url, today)  # a second run the same day: nothing new
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    base, ours = statistics.median(base_times), statistics.median(our_times)
    note = (f"run date {today.isoformat()}: baseline inserted {base_rows:,} rows, enqueue {our_rows:,} "
            f"(incl. 1 digest); peak is the whole benchmark process (includes loading)")
    return [
        Result(f"notify enqueue {size // 1000}k inv ({label})", ours, base, 3.0, peak, note=note,
               growth=("notify enqueue (5% due)", label)),
        Result(f"notify re-enqueue same day ({label}, informative)", again, base, 3.0, peak,
               note=f"second run found {again_rows} new rows"),
    ]


def run(ctx) -> list[Result]:  # noqa: ANN001
    from cuentas_cli.db.engine import dispose_engines

    results = []
    sqlite_file = ctx.workdir / f"notify-{os.getpid()}.db"
    if ctx.sqlite:
        try:
            results += _measure(f"sqlite:///{sqlite_file}", ctx.size, "sqlite")
        finally:
            dispose_engines()
            for suffix in ("", "-wal", "-shm"):
                path = sqlite_file.with_name(sqlite_file.name + suffix)
                if path.exists():
                    path.unlink()
    if ctx.postgres_url:
        import psycopg

        admin = ctx.postgres_url.replace("postgresql+psycopg://", "postgresql://")
        name = f"cuentas_bench_notify_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = admin.rpartition("/")
        try:
            results += _measure(f"postgresql+psycopg://{base.removeprefix('postgresql://')}/{name}", ctx.size,
                                "postgresql")
        finally:
            dispose_engines()
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results
