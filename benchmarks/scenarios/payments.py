"""`cuentas payments import` of 100k payments against `cuentas import` of 100k invoices, both
into SQLite, in the same run: "a time comparable to the invoice import of the same size", read
as at most 2x. A payment costs more writes than an invoice: the payment row and its three
indexes, and its invoice's row again with the covering open-invoice index; and the import reads
every invoice it pays and the payments already on it. The payments file pays half of each
invoice of the imported 100k, by serie-número and RUC, with Spanish headers, amounts and dates.
"""

from __future__ import annotations

import csv
import shutil
import sqlite3
from pathlib import Path

from benchmarks.harness import Result, best_of, cuentas, run_process
from benchmarks.scenarios.importer import TODAY, fresh_sqlite, make_csv, sqlite_template

ROWS = 100_000


def _with_invoices(ctx, template: Path, env_base: dict, csv_path: Path) -> Path:  # noqa: ANN001
    """A database holding the 100k imported invoices (built once per work folder)."""
    home = ctx.workdir / "payments-tpl"
    if not (home / "cuentas.db").exists():
        fresh_sqlite(template, ctx.workdir, "payments-tpl")
        run_process(cuentas("import", str(csv_path)), env={**env_base, "CUENTAS_HOME": str(home)})  # raises on failure
    return home / "cuentas.db"


def _payments_csv(ctx, db: Path) -> Path:  # noqa: ANN001
    path = ctx.workdir / f"payments-{ROWS}.csv"
    if path.exists():
        return path
    with sqlite3.connect(db) as conn, path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["Comprobante", "RUC", "Tipo", "Fecha de pago", "Monto", "Medio de pago", "Nro operación"])
        query = ("SELECT i.serie, i.numero, p.doc_number, i.direction, i.issue_date, i.total_cents FROM invoice i "
                 "JOIN party p ON p.id = i.party_id WHERE i.issue_date <= ? ORDER BY i.id LIMIT ?")
        for n, (serie, numero, ruc, direction, issued, total) in enumerate(conn.execute(query, (TODAY, ROWS))):
            half = max(1, total // 2)
            day = f"{issued[8:10]}/{issued[5:7]}/{issued[:4]}"
            amount = f"{half // 100:,}".replace(",", ".") + f",{half % 100:02d}"
            writer.writerow([f"{serie}-{numero}", ruc, "cxc" if direction == "receivable" else "cxp", day, amount,
                             "transferencia", f"OP-{n}"])
    return path


def run(ctx) -> list[Result]:  # noqa: ANN001
    if not ctx.sqlite:
        return []
    size = min(ROWS, ctx.size)
    csv_path, _ = make_csv(ctx.workdir, size)
    template, token = sqlite_template(ctx.workdir)
    env_base = {"CUENTAS_TODAY": TODAY, "CUENTAS_TOKEN": token}
    with_invoices = _with_invoices(ctx, template, env_base, csv_path)
    payments = _payments_csv(ctx, with_invoices)

    def invoices_import():  # noqa: ANN202
        home = fresh_sqlite(template, ctx.workdir, "run-inv")
        return run_process(cuentas("import", str(csv_path)), env={**env_base, "CUENTAS_HOME": str(home)})

    def payments_import():  # noqa: ANN202
        home = ctx.workdir / "run-pay"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(mode=0o700)
        shutil.copy2(with_invoices, home / "cuentas.db")
        return run_process(cuentas("payments", "import", str(payments), "--date-format", "DD/MM/YYYY"),
                           env={**env_base, "CUENTAS_HOME": str(home)})

    baseline = best_of(3, invoices_import)
    mine = best_of(3, payments_import)
    return [Result(f"payments import {size:,} rows into SQLite", mine.seconds, baseline.seconds, 2.0, mine.peak_mib,
                   250, note=f"baseline: `cuentas import` of {size:,} invoices")]
