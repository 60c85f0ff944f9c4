"""Simple commands load only what they use: no Alembic, pandas, openpyxl, httpx or fpdf, and not
the ORM either (SQLModel, pydantic, sqlalchemy.orm, db/models): they run on Core statements over
db/tables.py.

Each command runs in a fresh `python` process (sys.modules of a test process would already hold
them) and reports which of those modules it loaded; the latency benchmark measures the cost.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.reliability import cli_env

HEAVY = ("alembic", "pandas", "openpyxl", "httpx", "fpdf", "xlsxwriter", "python_calamine",
         "sqlmodel", "pydantic", "sqlalchemy.orm", "cuentas_cli.db.models")
PROBE = """
import json, sys
from cuentas_cli.app import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "loaded": sorted(set(sys.modules) & set(%r))}))
""" % (HEAVY,)


@pytest.fixture
def ledger(company):
    assert company.run("clients", "add", "--ruc", "20131312955", "--name", "SUNAT PRUEBA", "--no-lookup").exit_code == 0
    added = company.run("invoices", "add", "--kind", "cxc", "--party", "20131312955", "--serie", "F001",
                        "--numero", "1", "--issued", "2026-06-01", "--due", "2026-07-01", "--total", "1180.00",
                        "--format", "json")
    assert added.exit_code == 0, added.output
    return company, added.json()["id"]


def test_simple_commands_load_no_heavy_library(ledger):
    company, invoice = ledger
    env = cli_env(company.url, company.tokens["administrador"])
    commands = [["whoami"], ["invoices", "show", str(invoice)], ["clients", "show", "20131312955"],
                ["invoices", "pay", str(invoice), "10.00"], ["invoices", "list", "--limit", "50"],
                ["dashboard", "summary"], ["--help"]]
    for args in commands:
        done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True, timeout=120)
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert report["loaded"] == [], (args, report)
        assert report["code"] == 0, (args, done.stderr)


def test_a_csv_import_loads_no_orm(ledger, tmp_path):
    """An import runs on a Core connection: the ORM (SQLModel, pydantic, db/models) is loaded only
    when a service needs it (--lookup, strict mode), and a CSV loads no workbook library either."""
    company, _ = ledger
    path = tmp_path / "ventas.csv"
    path.write_text("tipo,ruc,razon_social,tipo_comprobante,serie,numero,fecha_emision,fecha_vencimiento,moneda,total\n"
                    "cxc,20131312955,SUNAT PRUEBA,01,F001,2,2026-06-02,2026-07-02,PEN,590.00\n"
                    "cxc,20100070970,SUPERMERCADOS PERUANOS S.A.,01,F001,3,2026-06-03,2026-07-03,PEN,236.00\n",
                    encoding="utf-8")
    env = cli_env(company.url, company.tokens["administrador"])
    done = subprocess.run([sys.executable, "-c", PROBE, "import", str(path)], env=env, capture_output=True, text=True,
                          timeout=120)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr
    assert report["loaded"] == [], report
    listed = company.run("invoices", "list", "--format", "json")
    assert sorted(i["numero"] for i in listed.json()) == [1, 2, 3]
    assert company.run("clients", "show", "20100070970").exit_code == 0  # the new client, made without the ORM
