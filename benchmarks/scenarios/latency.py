"""What a person feels: the CPU time of single commands on the demo company, against a floor.

The floor is a Python process that imports typer, rich.table and SQLAlchemy, opens the same
database (SQLite file, or PostgreSQL through psycopg) and runs one query: the least any
command of a Typer CLI over SQLAlchemy can cost. Each command and the floor are measured in
the same run as the median CPU time (user + system) of 9 runs. Targets: 1.5x the floor on
SQLite, 2x on PostgreSQL.

cuentas' modules are byte-compiled first, as an installed package is (benchmarks/__main__.py).
"""

from __future__ import annotations

from benchmarks.harness import PYTHON, Result, cuentas, median_cpu, postgres_database, run_process

REPEATS = 9
FLOOR = """
import sys
import typer, rich.table, sqlalchemy
engine = sqlalchemy.create_engine(sys.argv[1])
with engine.connect() as conn:
    conn.execute(sqlalchemy.text("SELECT count(*) FROM invoice")).scalar()
"""


def _commands(url: str) -> list[tuple[str, list[str]]]:
    """The commands of the issue, pointed at real rows of the demo company."""
    from sqlalchemy import text

    from cuentas_cli.db.engine import get_engine

    with get_engine(url).connect() as conn:
        invoice = conn.execute(text(
            "SELECT id FROM invoice WHERE direction = 'receivable' AND status IN ('PENDIENTE', 'VENCIDA') "
            "AND total_cents - paid_cents + adjust_cents > 100000 ORDER BY id LIMIT 1")).scalar_one()
        party = conn.execute(text(
            "SELECT p.doc_number FROM party p JOIN invoice i ON i.party_id = p.id WHERE p.kind = 'client' "
            "GROUP BY p.doc_number ORDER BY count(*) DESC, p.doc_number LIMIT 1")).scalar_one()
    return [
        ("whoami", ["whoami"]),
        ("invoices show ID", ["invoices", "show", str(invoice)]),
        ("clients show DOC", ["clients", "show", party]),
        ("invoices pay ID 0.01", ["invoices", "pay", str(invoice), "0.01"]),
        ("invoices list --limit 50", ["invoices", "list", "--limit", "50"]),
        ("dashboard summary", ["dashboard", "summary"]),
    ]


def _measure(label: str, url: str, env: dict[str, str], target: float) -> list[Result]:
    floor = median_cpu(REPEATS, lambda: run_process([PYTHON, "-c", FLOOR, url], env=env))
    results = []
    for name, args in _commands(url):
        mine = median_cpu(REPEATS, lambda args=args: run_process(cuentas(*args), env=env))
        results.append(Result(f"{name} ({label}, CPU)", mine.seconds, floor.seconds, target, mine.peak_mib))
    results[0].note = (f"floor: import typer, rich.table, sqlalchemy + one query on {label}, "
                       f"{floor.seconds * 1000:.0f} ms CPU; median of {REPEATS}")
    return results


def run(ctx) -> list[Result]:  # noqa: ANN001
    from cuentas_cli.db.engine import dispose_engines
    from cuentas_cli.ops import demo
    from cuentas_cli.rules.urls import normalise_url

    home = ctx.workdir / "latency-home"
    folder = ctx.workdir / "latency-demo"
    session_file = ctx.workdir / "latency-session"
    built = demo.create_demo(folder=folder)
    base_env = {"CUENTAS_HOME": str(home), "CUENTAS_TODAY": built.today.isoformat(),
                "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                "CUENTAS_SESSION_FILE": str(session_file)}
    from cuentas_cli.runtime import write_session_file

    write_session_file(session_file, built.token)
    results: list[Result] = []
    if ctx.sqlite:
        results += _measure("SQLite", built.url, {**base_env, "CUENTAS_DATABASE_URL": built.url}, 1.5)
    dispose_engines()
    if ctx.postgres_url:
        with postgres_database(ctx.postgres_url, "latency") as server_url:
            url = normalise_url(server_url)
            pg = demo.fill_company(url=url, examples=built.examples, today=built.today)
            write_session_file(session_file, pg.token)
            results += _measure("PostgreSQL", url, {**base_env, "CUENTAS_DATABASE_URL": url}, 2.0)
    return results
