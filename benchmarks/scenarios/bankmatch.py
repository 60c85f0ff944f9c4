"""`cuentas bank match --auto` of 10,000 bank movements against 100,000 open invoices on
SQLite: under 10 s (issue 20), and its ratio to `cuentas bank import` of the same 10,000
movements measured in the same run (reading and storing the statement, the step before).

The database holds the 100k invoices `cuentas import` stores from the importer's CSV (all open);
the statement mixes what a month brings: deposits naming a serie-número with its balance (40%),
a client's RUC and one invoice's amount (20%), only an amount (20%), bank fees (10%) and
deposits nothing matches (10%).
"""

from __future__ import annotations

import csv
import random
import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path

from benchmarks.harness import Result, best_of, cuentas, run_process
from benchmarks.scenarios.importer import TODAY, make_csv, sqlite_template
from benchmarks.scenarios.payments import _with_invoices

INVOICES = 100_000
LINES = 10_000
LIMIT_S = 10.0


def _statement(ctx, db: Path) -> Path:  # noqa: ANN001
    path = ctx.workdir / f"bank-{LINES}.csv"
    if path.exists():
        return path
    rng = random.Random(20)
    today = date.fromisoformat(TODAY)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT i.serie, i.numero, p.doc_number, i.issue_date, i.total_cents FROM invoice i "
                            "JOIN party p ON p.id = i.party_id WHERE i.direction = 'receivable' AND i.currency = 'PEN' "
                            "AND i.issue_date <= ? ORDER BY i.id", (TODAY,)).fetchall()
    chosen = rng.sample(rows, min(len(rows), LINES))
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, delimiter=";")
        out.writerow(["Fecha", "Descripción operación", "Monto", "Operación - Número"])
        for k in range(LINES):
            serie, numero, ruc, issued, total = chosen[k % len(chosen)]
            day = min(today, date.fromisoformat(issued) + timedelta(days=rng.randint(0, 30)))
            share = k % 10
            if share < 4:
                text, cents = f"ABONO {serie}-{numero}", total
            elif share < 6:
                text, cents = f"TRANSF INTERBANC {ruc}", total
            elif share < 8:
                text, cents = "DEPOSITO EN EFECTIVO", total
            elif share < 9:
                text, cents = rng.choice(["COMISION MANTENIMIENTO", "ITF", "PORTES"]), -rng.randint(100, 5000)
            else:
                text, cents = "DEPOSITO VARIOS", rng.randint(100, 10_000_000) * 10 + 7
            sign = "-" if cents < 0 else ""
            out.writerow([f"{day:%d/%m/%Y}", text, f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}", f"{k:07d}"])
    return path


def run(ctx) -> list[Result]:  # noqa: ANN001
    if not ctx.sqlite:
        return []
    csv_path, _ = make_csv(ctx.workdir, min(INVOICES, ctx.size))
    template, token = sqlite_template(ctx.workdir)
    env_base = {"CUENTAS_TODAY": TODAY, "CUENTAS_TOKEN": token}
    with_invoices = _with_invoices(ctx, template, env_base, csv_path)
    statement = _statement(ctx, with_invoices)

    account_home = ctx.workdir / "bank-account-tpl"
    if not (account_home / "cuentas.db").exists():
        account_home.mkdir(mode=0o700, exist_ok=True)
        shutil.copy2(with_invoices, account_home / "cuentas.db")
        run_process(cuentas("bank", "accounts", "add", "soles", "--bank", "BCP", "--currency", "PEN", "--number",
                            "193-1234567-0-12"), env={**env_base, "CUENTAS_HOME": str(account_home)})
    lines_home = ctx.workdir / "bank-lines-tpl"
    if not (lines_home / "cuentas.db").exists():
        lines_home.mkdir(mode=0o700, exist_ok=True)
        shutil.copy2(account_home / "cuentas.db", lines_home / "cuentas.db")
        run_process(cuentas("bank", "import", str(statement), "--account", "soles"),
                    env={**env_base, "CUENTAS_HOME": str(lines_home)})

    def copy_of(source: Path, name: str) -> Path:
        home = ctx.workdir / name
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(mode=0o700)
        shutil.copy2(source / "cuentas.db", home / "cuentas.db")
        return home

    def bank_import():  # noqa: ANN202
        home = copy_of(account_home, "run-bank-import")
        return run_process(cuentas("bank", "import", str(statement), "--account", "soles"),
                           env={**env_base, "CUENTAS_HOME": str(home)})

    def bank_match():  # noqa: ANN202
        home = copy_of(lines_home, "run-bank-match")
        return run_process(cuentas("bank", "match", "--auto", "--format", "json"),
                           env={**env_base, "CUENTAS_HOME": str(home)})

    baseline = best_of(3, bank_import)
    mine = best_of(3, bank_match)
    return [Result(f"bank match --auto: {LINES:,} movements x {min(INVOICES, ctx.size):,} open invoices (SQLite)",
                   mine.seconds, baseline.seconds, 6.0, mine.peak_mib, 400, limit_s=LIMIT_S,
                   note=f"baseline: `cuentas bank import` of the {LINES:,} movements; limit {LIMIT_S:.0f} s")]
