"""Shared pieces of the reliability suite (tests/test_crash.py, test_concurrency.py,
test_hostile.py, test_access.py, test_secrets.py): subprocess environments, the benchmark
CSV, counting helpers, and the figures the README's "Reliability" section quotes.

Every test of the suite prints its figures as one line starting with `RELIABILITY`; run
`pytest tests/test_crash.py tests/test_concurrency.py tests/test_hostile.py tests/test_access.py
tests/test_secrets.py -s | grep RELIABILITY` to see them.

Run as a module (`python -m tests.reliability worker SPEC.json`) it is the concurrency
worker: it waits for a start file, then runs a list of `cuentas` command lines one after
another through the real entry point (`cuentas_cli.app.main`), each a fresh invocation with
its own runtime, and writes their exit codes and stderr as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from sqlalchemy import text

REPO = Path(__file__).resolve().parent.parent


def figure(name: str, **values) -> str:  # noqa: ANN003
    """Print one line of figures (captured unless pytest runs with -s) and return it."""
    line = "RELIABILITY " + name + " " + " ".join(f"{k}={v}" for k, v in values.items())
    print(line, flush=True)
    return line


def backend(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def cli_env(url: str, token: str | None, **extra: str) -> dict[str, str]:
    """The environment of a `python -m cuentas_cli` subprocess: this test's home (conftest
    set it), the database URL, a service token, and no keyring (the cron path)."""
    env = dict(os.environ)
    env.update({
        "CUENTAS_DATABASE_URL": url,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    })
    env.pop("CUENTAS_TOKEN", None)
    if token is not None:
        env["CUENTAS_TOKEN"] = token
    env.update(extra)
    return env


def cuentas_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "cuentas_cli", *[str(a) for a in args]]


def bench_csv(path: Path, n: int) -> Path:
    """benchmarks/generate.py's CSV of n invoices, importable as it is."""
    from benchmarks.generate import Dataset, write_csv

    return write_csv(path, Dataset(n))


def scalar(url: str, sql: str, **params):  # noqa: ANN003, ANN201
    from cuentas_cli.db.engine import get_engine

    with get_engine(url).connect() as conn:
        return conn.execute(text(sql), params).scalar()


def counts(url: str) -> dict[str, int]:
    """Rows of the tables an import or a payment writes."""
    from cuentas_cli.db.engine import get_engine

    with get_engine(url).connect() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in ("invoice", "party", "payment", "audit_log", "notification")}


def balance_mismatches(url: str) -> list[tuple]:
    """Invoices whose paid_cents is not the sum of their payments."""
    from cuentas_cli.db.engine import get_engine

    with get_engine(url).connect() as conn:
        return list(conn.execute(text(
            "SELECT i.id, i.paid_cents, COALESCE(SUM(p.amount_cents), 0) FROM invoice i "
            "LEFT JOIN payment p ON p.invoice_id = i.id GROUP BY i.id, i.paid_cents "
            "HAVING i.paid_cents <> COALESCE(SUM(p.amount_cents), 0)")).fetchall())


def status_mismatches(url: str, today) -> list[tuple]:  # noqa: ANN001
    """Invoices (not ANULADA) whose stored status is not the one rule's (statuses.STATUS_CASE)."""
    from cuentas_cli.db.engine import get_engine
    from cuentas_cli.ledger.statuses import STATUS_CASE

    with get_engine(url).connect() as conn:
        return list(conn.execute(text(
            f"SELECT id, status, {STATUS_CASE} AS expected FROM invoice "
            f"WHERE status <> 'ANULADA' AND status <> ({STATUS_CASE})"), {"today": today}).fetchall())


def wait_for(predicate, seconds: float = 60.0, step: float = 0.05) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


# --- the concurrency worker ------------------------------------------------------------------


def _worker(spec_path: str) -> int:
    import io

    spec = json.loads(Path(spec_path).read_text())
    # Pay the import cost (sqlalchemy, the services) before the start line, so all workers
    # really start together.
    from cuentas_cli import app  # noqa: F401
    from cuentas_cli.db import engine  # noqa: F401
    from cuentas_cli.ledger import invoices  # noqa: F401
    from cuentas_cli.ledger import listing  # noqa: F401
    from cuentas_cli.ledger import payments  # noqa: F401
    from cuentas_cli.ledger import status_changes  # noqa: F401

    go = Path(spec["go"])
    Path(spec["ready"]).touch()
    while not go.exists():
        time.sleep(0.005)
    results = []
    for argv in spec["commands"]:
        saved = sys.stdout, sys.stderr
        out, err = io.StringIO(), io.StringIO()
        sys.stdout, sys.stderr = out, err
        started = time.time()
        try:
            code = app.main(list(argv))
        finally:
            sys.stdout, sys.stderr = saved
        results.append({"argv": argv, "code": int(code), "stderr": err.getvalue(), "stdout": out.getvalue(),
                        "start": started, "end": time.time()})
    Path(spec["out"]).write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "worker":
        sys.exit(_worker(sys.argv[2]))
    sys.exit("usage: python -m tests.reliability worker SPEC.json")
