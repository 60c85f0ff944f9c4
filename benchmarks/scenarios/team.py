"""What PostgreSQL team mode costs a bulk import (`cuentas db roles apply`: the server checks each
statement against the contador's grants, the audit triggers write one db_audit row per invoice).

Ours: the N-row CSV imported by a contador connected as their own PostgreSQL login into a team-mode
database. Baseline, the same run: the same import by the owner into a plain database (no groups,
no triggers). Target 2.0x: the audit trail may at most double an import's time. PostgreSQL only.
"""

from __future__ import annotations

import os
import uuid

from benchmarks.harness import Result, best_of, cuentas, run_process
from benchmarks.scenarios.importer import TODAY, _init_and_token, make_csv


def run(ctx) -> list[Result]:  # noqa: ANN001
    if not ctx.postgres_url:
        return []
    import psycopg
    from sqlalchemy.engine import make_url

    csv_path, note = make_csv(ctx.workdir, ctx.size)
    admin = ctx.postgres_url.replace("postgresql+psycopg://", "postgresql://")
    base, _, _ = admin.rpartition("/")
    tag = uuid.uuid4().hex[:8]
    plain, team = f"cuentas_bench_plain_{tag}", f"cuentas_bench_team_{tag}"
    prefix, login = f"bench_{tag}", f"bench_{tag}_luis"
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in (plain, team):
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        urls = {name: f"{base}/{name}" for name in (plain, team)}
        tokens = {}
        for name, url in urls.items():
            env = {**os.environ, "CUENTAS_DATABASE_URL": url, "CUENTAS_TODAY": TODAY,
                   "CUENTAS_HOME": str(ctx.workdir / f"team-home-{name}")}
            env.pop("CUENTAS_TOKEN", None)
            tokens[name] = _init_and_token(env, ctx.workdir / f"team-session-{name}")
        owner_env = {"CUENTAS_DATABASE_URL": urls[team], "CUENTAS_TODAY": TODAY, "CUENTAS_TOKEN": tokens[team]}
        for args in (("db", "roles", "apply", "--prefix", prefix),
                     ("users", "add", login, "--role", "contador", "--pg-login", "--no-password")):
            run_process(cuentas(*args), env=owner_env)  # raises with the command's error if it fails
        login_url = make_url(urls[team]).set(username=login).render_as_string(hide_password=False)

        def clean(url: str) -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("ALTER TABLE invoice DISABLE TRIGGER USER; ALTER TABLE party DISABLE TRIGGER USER")
                conn.execute("TRUNCATE invoice, party RESTART IDENTITY CASCADE")
                conn.execute("TRUNCATE db_audit")
                conn.execute("ALTER TABLE invoice ENABLE TRIGGER USER; ALTER TABLE party ENABLE TRIGGER USER")
                conn.execute("VACUUM ANALYZE invoice")

        def baseline():  # noqa: ANN202
            clean(urls[plain])
            return run_process(cuentas("import", str(csv_path)), env={"CUENTAS_DATABASE_URL": urls[plain],
                                                                      "CUENTAS_TODAY": TODAY, "CUENTAS_TOKEN": tokens[plain]})

        def ours():  # noqa: ANN202
            clean(urls[team])
            return run_process(cuentas("import", str(csv_path)), env={"CUENTAS_DATABASE_URL": login_url,
                                                                      "CUENTAS_TODAY": TODAY})

        repeats = 1 if ctx.size >= 500_000 else 3
        floor = best_of(repeats, baseline)
        mine = best_of(repeats, ours)
        with psycopg.connect(urls[team]) as conn:
            audited = conn.execute("SELECT count(*) FROM db_audit WHERE table_name = 'invoice'").fetchone()[0]
        if audited < ctx.size:
            raise RuntimeError(f"team-mode import audited {audited} invoices of {ctx.size}")
        return [Result(f"import {ctx.size:,}-row CSV, PostgreSQL team mode (contador's login, audited)", mine.seconds,
                       floor.seconds, 2.0, mine.peak_mib,
                       note=(note + "; " if note else "") + "baseline: the same import by the owner, no team mode")]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in (plain, team):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for role in (login, *(f"{prefix}_{r}" for r in ("contador", "gerente", "administrador"))):
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    conn.execute(f'DROP ROLE "{role}"')
