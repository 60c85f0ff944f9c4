"""`cuentas export --output FILE.xlsx` of 100k invoices against xlsxwriter in constant_memory
mode writing the same rows and cells (same query, same typed cells and formats), target 1.5x."""

from __future__ import annotations

from benchmarks.generate import Dataset, load
from benchmarks.harness import PYTHON, Result, best_of, cuentas, run_process
from benchmarks.scenarios.importer import TODAY, fresh_sqlite, sqlite_template
from cuentas_cli.db.engine import dispose_engines

BASELINE = r'''
import sqlite3, sys, xlsxwriter
from datetime import date
db, out = sys.argv[1], sys.argv[2]
con = sqlite3.connect(db)
rows = con.execute(
    "SELECT i.id, i.direction, p.doc_type, p.doc_number, p.name, i.doc_type, i.serie, i.numero, i.issue_date, "
    "i.due_date, i.currency, i.exchange_rate_e4, i.base_cents, i.igv_cents, i.total_cents, i.detraccion_bp, "
    "i.detraccion_cents, i.paid_cents, i.total_cents + i.adjust_cents - i.paid_cents, i.status, i.description, "
    "r.doc_type, r.serie, r.numero FROM invoice i JOIN party p ON p.id = i.party_id "
    "LEFT JOIN invoice r ON r.id = i.references_id ORDER BY i.due_date, i.id")
wb = xlsxwriter.Workbook(out, {"constant_memory": True})
ws = wb.add_worksheet("Invoices")
money = wb.add_format({"num_format": '"S/" #,##0.00'})
datef = wb.add_format({"num_format": "dd/mm/yyyy"})
epoch = date(1899, 12, 30)
serial = {}
kinds = ["int", "text", "text", "text", "text", "text", "text", "int", "date", "date", "text", "rate", "money", "money",
         "money", "pct", "money", "money", "money", "text", "text", "text", "text", "int"]
ws.write_row(0, 0, [f"c{i}" for i in range(24)])
r = 0
for row in rows:
    r += 1
    for c, (k, v) in enumerate(zip(kinds, row)):
        if v is None:
            continue
        if k == "money":
            ws.write_number(r, c, v / 100, money)
        elif k == "text":
            ws.write_string(r, c, str(v))
        elif k == "int":
            ws.write_number(r, c, v)
        elif k == "date":
            s = serial.get(v)
            if s is None:
                s = serial[v] = (date.fromisoformat(v) - epoch).days
            ws.write_number(r, c, s, datef)
        else:
            ws.write_number(r, c, v / 10000)
wb.close()
'''


def run(ctx) -> list[Result]:  # noqa: ANN001
    if not ctx.sqlite:
        return []  # a SQLite file; the PostgreSQL export is timed by the dashboard scenario
    rows = min(100_000, ctx.size)
    template, token = sqlite_template(ctx.workdir)
    home = fresh_sqlite(template, ctx.workdir, "export-home")
    load(f"sqlite:///{home / 'cuentas.db'}", Dataset(rows))
    dispose_engines()
    out_ours = ctx.workdir / "export-ours.xlsx"
    out_base = ctx.workdir / "export-base.xlsx"
    baseline = best_of(3, lambda: run_process([PYTHON, "-c", BASELINE, str(home / "cuentas.db"), str(out_base)]))
    ours = best_of(3, lambda: run_process(cuentas("export", "--output", str(out_ours)),
                                          env={"CUENTAS_HOME": str(home), "CUENTAS_TODAY": TODAY, "CUENTAS_TOKEN": token}))
    return [Result(f"export {rows:,} invoices to XLSX", ours.seconds, baseline.seconds, 1.5, ours.peak_mib,
                   note="baseline: xlsxwriter constant_memory writing the same query's rows as typed cells")]
