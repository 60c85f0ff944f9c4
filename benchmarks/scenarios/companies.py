"""`cuentas dashboard --all-companies` for a firm of 50 companies x 20,000 invoices each.

Ours: the command, `--format json`, as the firm's administrador (a member of every company): it
opens each company's books, maps the login to that company's member, and runs the dashboard's
metrics there. Baseline, the same run: one Python process that imports the database layer and
runs, as plain SQL text, exactly the statements `metrics` runs (`reports.dashboard.
dashboard_statements`) on each company's books in turn, fetching every row: the sum of the raw
SQL per company. Target 1.5x. SQLite (a file per company) and PostgreSQL (a schema per company
in the firm's database). The size is the issue's, whatever --size says.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from benchmarks.harness import PYTHON, Result, best_of, cuentas, postgres_database, run_process

COMPANIES, PER_COMPANY = 50, 20_000
AS_OF = "2026-11-01"  # the generator's "today"
PASSWORD = "benchmark-password-1"
FIRM_RUC = "20100070970"

BASELINE = """
import sys
from datetime import date
from sqlalchemy import text
from cuentas_cli.db.engine import get_engine
import cuentas_cli.db.models  # the database layer, as the CLI loads it
from cuentas_cli.reports.dashboard import dashboard_statements
as_of = date.fromisoformat(sys.argv[1])
for url in sys.argv[2:]:
    engine = get_engine(url)
    with engine.connect() as conn:
        for sql in dashboard_statements(engine.dialect.name, as_of=as_of):
            conn.execute(text(sql)).all()
"""


def _firm(url: str, home: Path) -> tuple[dict[str, str], list[str]]:
    """A firm database with COMPANIES companies, each loaded with PER_COMPANY invoices; returns
    the environment that acts as its administrador and the books' URLs."""
    from benchmarks.generate import Dataset, load as bulk_load, ruc_for
    from cuentas_cli.admin.companies import books_url, registry
    from cuentas_cli.db.engine import dispose_engines, open_connection
    from cuentas_cli.rules.urls import normalise_url

    home.mkdir(parents=True, exist_ok=True)
    env = {"CUENTAS_HOME": str(home), "CUENTAS_DATABASE_URL": url, "CUENTAS_TODAY": AS_OF,
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    stdin = (PASSWORD + "\n").encode()
    run_process(cuentas("init", "--admin", "bench", "--password-stdin"), env=env, stdin=stdin)
    session_file = home / "session"
    run_process(cuentas("login", "bench", "--password-stdin", "--session-file", str(session_file)), env=env, stdin=stdin)
    token = subprocess.run(cuentas("tokens", "create", f"bench-{os.getpid()}"), capture_output=True, text=True,
                           check=True, env={**os.environ, **env, "CUENTAS_SESSION_FILE": str(session_file)}).stdout.strip()
    env["CUENTAS_TOKEN"] = token
    run_process(cuentas("settings", "set", "company.ruc", FIRM_RUC), env=env)
    for n in range(COMPANIES):
        run_process(cuentas("companies", "add", ruc_for(900_000 + n), "--name", f"EMPRESA {n + 1} S.A.C."), env=env)
    firm_url = normalise_url(url)
    with open_connection(firm_url) as conn:
        urls = [books_url(firm_url, row) for row in registry(conn) if not row.is_firm]
    for n, books in enumerate(urls):
        bulk_load(books, Dataset(PER_COMPANY, seed=1000 + n))
    dispose_engines()
    return env, urls


def _measure(label: str, url: str, ctx) -> list[Result]:  # noqa: ANN001
    env, urls = _firm(url, ctx.workdir / f"companies-home-{label}")
    command = cuentas("dashboard", "--all-companies", "--format", "json")
    run_process(command, env=env)  # warm the caches once; both sides share them
    baseline = best_of(3, lambda: run_process([PYTHON, "-c", BASELINE, AS_OF, *urls], env=env))
    ours = best_of(3, lambda: run_process(command, env=env))
    rows = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, **env}).stdout
    import json

    shown = json.loads(rows)
    if len(shown) != COMPANIES + 2:  # the firm's own books, the companies, the total
        raise RuntimeError(f"dashboard --all-companies showed {len(shown)} rows, expected {COMPANIES + 2}")
    return [Result(f"dashboard --all-companies, {COMPANIES} x {PER_COMPANY:,} inv, {label}", ours.seconds,
                   baseline.seconds, 1.5, ours.peak_mib,
                   note="baseline: the metrics' SQL, raw, on each company's books in one process")]


def run(ctx) -> list[Result]:  # noqa: ANN001
    results: list[Result] = []
    if ctx.sqlite:
        folder = ctx.workdir / f"companies-{os.getpid()}"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            results += _measure("sqlite", f"sqlite:///{folder / 'firm.db'}", ctx)
        finally:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
    if ctx.postgres_url:
        with postgres_database(ctx.postgres_url, "companies") as url:
            results += _measure("postgresql", url, ctx)
    return results
