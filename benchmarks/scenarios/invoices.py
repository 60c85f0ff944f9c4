"""`cuentas invoices update-statuses` and `cuentas invoices list --limit 50` on 1M invoices.

- update-statuses (target 3x): against the equivalent raw SQL UPDATE run by a bare Python
  process on the same database. "Today" alternates between 2025-06-01 and the generator's
  2026-11-01, so every run (CLI or raw) flips the same few hundred thousand statuses
  (VENCIDA <-> PENDIENTE/PARCIAL); both sides run in both directions and the medians are
  compared.
- list --limit 50 (target 2x): against `python -c "import sqlmodel"` plus the same query as
  raw SQL (join to the party, sorted by due date, first 50 rows fetched).

- server time of the filtered listing (PostgreSQL, target 50 ms): the statement `invoices
  list --limit 50` runs for each filter of tests/test_query_plans.py (LIST_FILTERS), timed
  by the server with EXPLAIN ANALYZE (planning + execution, the slowest filter reported).

SQLite unless --backend postgresql; PostgreSQL too when a server URL is given (a database
created and dropped here).
"""

from __future__ import annotations

import os
import statistics
import subprocess
from datetime import date
from pathlib import Path

from benchmarks.harness import PYTHON, Measure, Result, cuentas, postgres_database, run_process

GENERATED_TODAY = "2026-11-01"  # the generator's "today": stored statuses are right as of it
EARLIER_TODAY = "2025-06-01"  # moving today back re-opens every invoice that fell due since
PASSWORD = "benchmark-password-1"

RAW_UPDATE = """
import sys
from sqlalchemy import text
from cuentas_cli.db.engine import get_engine
from cuentas_cli.rules.urls import normalise_url
engine = get_engine(normalise_url(sys.argv[1]))
status = ("CASE WHEN total_cents + adjust_cents - paid_cents <= 0 THEN 'PAGADA' "
          "WHEN due_date < :today THEN 'VENCIDA' WHEN paid_cents > 0 THEN 'PARCIAL' ELSE 'PENDIENTE' END")
with engine.begin() as conn:
    conn.execute(text(f"UPDATE invoice SET status = {status} WHERE status <> 'ANULADA' AND status <> {status}"),
                 {"today": sys.argv[2]})
"""

RAW_LIST = """
import sys
import sqlmodel
from sqlalchemy import text
from cuentas_cli.db.engine import get_engine
from cuentas_cli.rules.urls import normalise_url
engine = get_engine(normalise_url(sys.argv[1]))
with engine.connect() as conn:
    rows = conn.execute(text(
        "SELECT i.id, i.direction, i.doc_type, i.serie, i.numero, i.issue_date, i.due_date, i.currency, "
        "i.exchange_rate_e4, i.total_cents, i.paid_cents, i.adjust_cents, i.status, p.doc_number, p.name, "
        "r.serie, r.numero FROM invoice i JOIN party p ON p.id = i.party_id "
        "LEFT OUTER JOIN invoice r ON r.id = i.references_id ORDER BY i.due_date, i.id LIMIT 50")).all()
    assert len(rows) == 50
"""


def _token(url: str, env: dict[str, str]) -> str:
    """An administrador and a service token, through the CLI itself."""
    stdin = (PASSWORD + "\n").encode()
    run_process(cuentas("init", "--admin", "bench", "--password-stdin"), env=env, stdin=stdin)
    session_file = Path(env["CUENTAS_HOME"]) / "session"
    run_process(cuentas("login", "bench", "--password-stdin", "--session-file", str(session_file)), env=env,
                stdin=stdin)
    made = subprocess.run(cuentas("tokens", "create", f"bench-invoices-{os.getpid()}"), capture_output=True, text=True,
                          check=True, env={**os.environ, **env, "CUENTAS_SESSION_FILE": str(session_file)})
    return made.stdout.strip()


def _median(runs: list[Measure]) -> Measure:
    return Measure(statistics.median(r.seconds for r in runs), max(r.peak_mib for r in runs))


def _changed(url: str) -> dict[str, int]:
    from sqlalchemy import text

    from cuentas_cli.db.engine import get_engine
    from cuentas_cli.rules.urls import normalise_url

    with get_engine(normalise_url(url)).connect() as conn:
        return dict(conn.execute(text("SELECT status, COUNT(*) FROM invoice GROUP BY status")).all())


def _measure(label: str, url: str, ctx) -> list[Result]:  # noqa: ANN001
    from benchmarks.generate import Dataset, load
    from cuentas_cli.db import migrate
    from cuentas_cli.db.engine import get_engine
    from cuentas_cli.rules.urls import normalise_url

    home = ctx.workdir / f"home-invoices-{label}"
    home.mkdir(parents=True, exist_ok=True)
    env = {"CUENTAS_HOME": str(home), "CUENTAS_DATABASE_URL": url, "CUENTAS_TODAY": GENERATED_TODAY,
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    migrate.upgrade(get_engine(normalise_url(url), create=True))
    load(normalise_url(url), Dataset(ctx.size))
    env["CUENTAS_TOKEN"] = _token(url, env)
    before = _changed(url)

    # update-statuses: the same flips, both directions, raw and CLI, interleaved.
    raw_runs: list[Measure] = []
    cli_runs: list[Measure] = []
    large = ctx.size >= 5_000_000  # a run flips millions of statuses: one round each way is enough
    for _ in range(1 if large else 3):
        for today in (EARLIER_TODAY, GENERATED_TODAY):
            raw_runs.append(run_process([PYTHON, "-c", RAW_UPDATE, url, today], env=env))
        for today in (EARLIER_TODAY, GENERATED_TODAY):
            cli_runs.append(run_process(cuentas("--today", today, "invoices", "update-statuses", "--format", "json"),
                                        env=env))
    after = _changed(url)
    assert after == before, (before, after)
    flipped = None
    if not large:
        subprocess.run([PYTHON, "-c", RAW_UPDATE, url, EARLIER_TODAY], check=True, env={**os.environ, **env})
        flipped = sum(abs(v - before.get(k, 0)) for k, v in _changed(url).items()) // 2
        subprocess.run([PYTHON, "-c", RAW_UPDATE, url, GENERATED_TODAY], check=True, env={**os.environ, **env})
    raw, cli = _median(raw_runs), _median(cli_runs)

    # list --limit 50
    run_process(cuentas("invoices", "list", "--limit", "50", "--format", "jsonl"), env=env)  # warm the cache
    # Interleaved, so a burst of load on the shared machine hits both sides alike.
    raw_lists: list[Measure] = []
    cli_lists: list[Measure] = []
    for _ in range(9):
        raw_lists.append(run_process([PYTHON, "-c", RAW_LIST, url], env=env))
        cli_lists.append(run_process(cuentas("invoices", "list", "--limit", "50", "--format", "jsonl"), env=env))
    list_raw, list_cli = _median(raw_lists), _median(cli_lists)
    results = [
        Result(f"invoices update-statuses, {ctx.size:,} inv, {label}", cli.seconds, raw.seconds, 3.0, cli.peak_mib,
               note=(f"about {flipped:,} statuses change per run" if flipped is not None else "one run each way")
               + "; baseline = raw UPDATE in a bare Python process",
               growth=("invoices update-statuses", label)),
        Result(f"invoices list --limit 50, {ctx.size:,} inv, {label}", list_cli.seconds, list_raw.seconds, 2.0,
               list_cli.peak_mib, note="baseline = python -c 'import sqlmodel' + the same query as raw SQL"),
    ]
    if label == "postgresql":
        results.append(_server_time(url, ctx.size))
    return results


def _server_time(url: str, size: int) -> Result:
    """The slowest filtered `invoices list --limit 50` statement, as the server times it."""
    import json

    from sqlalchemy import text

    from cuentas_cli.db.engine import get_engine
    from cuentas_cli.rules.urls import normalise_url
    from benchmarks.listing import LIST_FILTERS, list_statement

    engine = get_engine(normalise_url(url))
    today = date.fromisoformat(GENERATED_TODAY)
    times: dict[str, float] = {}
    reads: dict[str, str] = {}
    for name, filters in LIST_FILTERS.items():
        sql = list_statement(engine, filters, today)
        best = None
        with engine.connect() as conn:
            for _ in range(3):  # the best of three: a warm cache, as a person repeating a search has
                plan = conn.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)).scalar_one()
                plan = plan if isinstance(plan, list) else json.loads(plan)
                ms = plan[0]["Planning Time"] + plan[0]["Execution Time"]
                best = ms if best is None else min(best, ms)
        times[name] = best
        reads[name] = " + ".join(sorted(set(_invoice_reads(plan[0]["Plan"])))) or "?"
    worst = max(times, key=times.get)
    detail = ", ".join(f"{k} {v:.1f} ms ({reads[k]})" for k, v in sorted(times.items()))
    return Result(f"invoices list filters --limit 50, server time, {size:,} inv, postgresql", times[worst] / 1000,
                  0.050, 1.0, 0, note=f"slowest: {worst}; per filter, and how EXPLAIN reads invoice: {detail}; "
                                      "target 50 ms (shown as baseline)")


def _invoice_reads(node: dict) -> list[str]:
    """How a plan reads the invoice table: "Seq Scan", or the scan and its index, for each node."""
    found = []
    if node.get("Relation Name") == "invoice":
        index = node.get("Index Name")
        found.append(f"{node['Node Type']} {index}" if index else node["Node Type"])
    for child in node.get("Plans", []):
        found.extend(_invoice_reads(child))
    return found


def run(ctx) -> list[Result]:  # noqa: ANN001
    results: list[Result] = []
    if ctx.sqlite:
        results += _measure("sqlite", f"sqlite:///{ctx.workdir / f'invoices-{ctx.size}-{os.getpid()}.db'}", ctx)
    if ctx.postgres_url:
        with postgres_database(ctx.postgres_url, "invoices") as url:
            results.extend(_measure("postgresql", url, ctx))
    return results
