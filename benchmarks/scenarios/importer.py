"""`cuentas import` against floors measured in the same run.

- CSV of N rows (default 1M) into SQLite: target 2.0x the `sqlite3` CLI doing `.import` into a
  staging table then INSERT ... SELECT into the same schema (parties, then invoices joined to
  them, ON CONFLICT on the unique key); peak memory at most 250 MiB.
- The same CSV into PostgreSQL: target 2.0x `psql` doing `\\copy` into a staging table then the
  same INSERT ... SELECT; from 10M rows on (the team database of a large company), 1.5x and
  a peak of 250 MiB.
- A 100k-row XLSX: target 2x python-calamine reading every row of that file (bare read).

`--backend postgresql` runs only the PostgreSQL import (no SQLite, no XLSX).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

from benchmarks.generate import Dataset, write_csv
from benchmarks.harness import PYTHON, Result, best_of, cuentas, run_process

PASSWORD = "clave-de-benchmark-1"
TODAY = "2026-11-01"

STAGE_COLUMNS = ("tipo", "ruc", "razon_social", "tipo_comprobante", "serie", "numero", "fecha_emision",
                 "fecha_vencimiento", "moneda", "tipo_cambio", "base_imponible", "igv", "total")


def floor_sql(stamp_sql: str, today_sql: str) -> str:
    """INSERT ... SELECT from a text staging table `stage` into party and invoice (both backends)."""
    return f"""
INSERT INTO party (kind, doc_type, doc_number, name, source, is_retention_agent, is_good_taxpayer, created_at, updated_at)
 SELECT CASE tipo WHEN 'cxc' THEN 'client' ELSE 'supplier' END, '6', ruc, MIN(razon_social), 'import', false, false,
        {stamp_sql}, {stamp_sql}
 FROM stage GROUP BY 1, ruc ON CONFLICT DO NOTHING;
INSERT INTO invoice (direction, party_id, doc_type, serie, numero, issue_date, due_date, currency, exchange_rate_e4,
                     base_cents, igv_cents, total_cents, detraccion_cents, retencion_cents, paid_cents, adjust_cents,
                     status, created_at, updated_at)
 SELECT CASE s.tipo WHEN 'cxc' THEN 'receivable' ELSE 'payable' END, p.id, s.tipo_comprobante, s.serie,
        CAST(s.numero AS INTEGER), CAST(s.fecha_emision AS DATE), CAST(s.fecha_vencimiento AS DATE), s.moneda,
        CAST(ROUND(CAST(s.tipo_cambio AS NUMERIC) * 10000) AS INTEGER), CAST(ROUND(CAST(s.base_imponible AS NUMERIC) * 100) AS BIGINT),
        CAST(ROUND(CAST(s.igv AS NUMERIC) * 100) AS BIGINT), CAST(ROUND(CAST(s.total AS NUMERIC) * 100) AS BIGINT), 0, 0, 0, 0,
        CASE WHEN CAST(s.fecha_vencimiento AS DATE) < {today_sql} THEN 'VENCIDA' ELSE 'PENDIENTE' END, {stamp_sql}, {stamp_sql}
 FROM stage s JOIN party p ON p.kind = CASE s.tipo WHEN 'cxc' THEN 'client' ELSE 'supplier' END
      AND p.doc_type = '6' AND p.doc_number = s.ruc
 WHERE true ON CONFLICT (direction, party_id, doc_type, serie, numero) DO NOTHING;
"""


def make_csv(workdir: Path, size: int) -> tuple[Path, str]:
    path = workdir / f"import-{size}.csv"
    if not path.exists():
        write_csv(path, Dataset(size))
    return path, ""


def sqlite_template(workdir: Path) -> tuple[Path, str]:
    """An initialised SQLite database with an administrador and a service token."""
    home = workdir / "tpl-home"
    token_file = workdir / "tpl-token"
    if not (home / "cuentas.db").exists() or not token_file.exists():
        shutil.rmtree(home, ignore_errors=True)
        env = {**os.environ, "CUENTAS_HOME": str(home), "CUENTAS_TODAY": TODAY}
        env.pop("CUENTAS_DATABASE_URL", None)
        env.pop("CUENTAS_TOKEN", None)
        token_file.write_text(_init_and_token(env, workdir / "tpl-session"))
    return home / "cuentas.db", token_file.read_text().strip()


def _init_and_token(env: dict[str, str], session_file: Path) -> str:
    subprocess.run(cuentas("init", "--admin", "admin", "--password-stdin"), input=f"{PASSWORD}\n", text=True, env=env,
                   check=True, capture_output=True)
    subprocess.run(cuentas("login", "admin", "--password-stdin", "--session-file", str(session_file)), input=f"{PASSWORD}\n",
                   text=True, env=env, check=True, capture_output=True)
    made = subprocess.run(cuentas("tokens", "create", f"bench-{uuid.uuid4().hex[:6]}"), text=True, capture_output=True,
                          env={**env, "CUENTAS_SESSION_FILE": str(session_file)}, check=True)
    return made.stdout.strip()


def fresh_sqlite(template: Path, workdir: Path, name: str) -> Path:
    home = workdir / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(mode=0o700)
    shutil.copy2(template, home / "cuentas.db")
    return home


def run(ctx) -> list[Result]:  # noqa: ANN001
    results: list[Result] = []
    csv_path, note = make_csv(ctx.workdir, ctx.size)
    template, token = sqlite_template(ctx.workdir)
    env_base = {"CUENTAS_TODAY": TODAY, "CUENTAS_TOKEN": token}

    # --- SQLite: ours against the sqlite3 CLI floor -----------------------------------------
    def ours_sqlite():  # noqa: ANN202
        home = fresh_sqlite(template, ctx.workdir, "run-ours")
        return run_process(cuentas("import", str(csv_path)), env={**env_base, "CUENTAS_HOME": str(home)})

    def floor_sqlite():  # noqa: ANN202
        home = fresh_sqlite(template, ctx.workdir, "run-floor")
        columns = ", ".join(f"{c} TEXT" for c in STAGE_COLUMNS)
        script = (f"PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\nCREATE TEMP TABLE stage ({columns});\n"
                  f".import --csv --skip 1 {csv_path} stage\nBEGIN;\n"
                  + floor_sql("'2026-11-01 00:00:00.000000'", "'" + TODAY + "'") + "COMMIT;\n")
        return run_process(["sqlite3", str(home / "cuentas.db")], stdin=script.encode())

    repeats = 1 if ctx.size >= 500_000 else 3
    if ctx.sqlite:
        floor = best_of(repeats, floor_sqlite)
        ours = best_of(repeats, ours_sqlite)
        results.append(Result(f"import {ctx.size:,}-row CSV into SQLite", ours.seconds, floor.seconds, 2.0,
                              ours.peak_mib, 250, note, growth=("import CSV", "sqlite")))

    # --- PostgreSQL ---------------------------------------------------------------------------
    if ctx.postgres_url and shutil.which("psql"):
        results.extend(_postgres(ctx, csv_path, note))
    if not ctx.sqlite:
        return results

    # --- XLSX 100k ----------------------------------------------------------------------------
    xlsx_rows = min(100_000, ctx.size)
    xlsx = _make_xlsx(ctx.workdir, xlsx_rows, csv_path)
    bare = best_of(3, lambda: run_process([PYTHON, "-c", (
        "import sys, python_calamine\n"
        f"wb = python_calamine.CalamineWorkbook.from_path({str(xlsx)!r})\n"
        "n = sum(1 for _ in wb.get_sheet_by_index(0).iter_rows())\n")]))

    def ours_xlsx():  # noqa: ANN202
        home = fresh_sqlite(template, ctx.workdir, "run-xlsx")
        return run_process(cuentas("import", str(xlsx)), env={**env_base, "CUENTAS_HOME": str(home)})

    mine = best_of(3, ours_xlsx)
    results.append(Result(f"import {xlsx_rows:,}-row XLSX into SQLite", mine.seconds, bare.seconds, 2.0, mine.peak_mib,
                          note="baseline: python-calamine reading every row of the file"))
    return results


def _make_xlsx(workdir: Path, rows: int, csv_path: Path) -> Path:
    """The first `rows` rows of the CSV as a workbook: text, numbers and real date cells."""
    import csv
    from datetime import date

    import xlsxwriter

    path = workdir / f"import-{rows}.xlsx"
    if path.exists():
        return path
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Ventas")
    datef = wb.add_format({"num_format": "dd/mm/yyyy"})
    with csv_path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle)
        ws.write_row(0, 0, next(reader))
        for r, line in enumerate(reader, start=1):
            if r > rows:
                break
            for c, value in enumerate(line):
                if c in (6, 7):
                    ws.write_datetime(r, c, date.fromisoformat(value), datef)
                elif c in (9, 10, 11, 12):
                    ws.write_number(r, c, float(value))
                else:
                    ws.write_string(r, c, value)
    wb.close()
    return path


def _postgres(ctx, csv_path: Path, note: str) -> list[Result]:  # noqa: ANN001
    import psycopg

    admin = ctx.postgres_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"cuentas_bench_import_{os.getpid()}"
    base, _, _ = admin.rpartition("/")
    url = f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**os.environ, "CUENTAS_DATABASE_URL": url, "CUENTAS_TODAY": TODAY, "CUENTAS_HOME": str(ctx.workdir / "pg-home")}
        env.pop("CUENTAS_TOKEN", None)
        token = _init_and_token(env, ctx.workdir / "pg-session")

        def clean() -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("TRUNCATE invoice, party RESTART IDENTITY CASCADE")
                conn.execute("VACUUM ANALYZE invoice")

        def floor():  # noqa: ANN202
            clean()
            columns = ", ".join(f"{c} text" for c in STAGE_COLUMNS)
            script = (f"BEGIN;\nCREATE TEMP TABLE stage ({columns}) ON COMMIT DROP;\n"
                      f"\\copy stage FROM '{csv_path}' WITH (FORMAT csv, HEADER true)\n"
                      + floor_sql("now()", f"DATE '{TODAY}'") + "COMMIT;\n")
            return run_process(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url], stdin=script.encode())

        def ours():  # noqa: ANN202
            clean()
            return run_process(cuentas("import", str(csv_path)), env={"CUENTAS_DATABASE_URL": url, "CUENTAS_TODAY": TODAY,
                                                                      "CUENTAS_TOKEN": token})

        repeats = 1 if ctx.size >= 500_000 else 3
        base_m = best_of(repeats, floor)
        mine = best_of(repeats, ours)
        large = ctx.size >= 10_000_000
        return [Result(f"import {ctx.size:,}-row CSV into PostgreSQL", mine.seconds, base_m.seconds,
                       1.5 if large else 2.0, mine.peak_mib, 250 if large else None,
                       note=(note + "; " if note else "") + "baseline: psql \\copy into staging + INSERT ... SELECT",
                       growth=("import CSV", "postgresql"))]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
