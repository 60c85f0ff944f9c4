"""`cuentas export`: XLSX with charts, CSV with BOM, JSON, PDF pages, neutralised formulas, round trip."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import date

import pytest
from sqlalchemy import text

from cuentas_cli.db.engine import open_session
from tests.factories import make_invoice, make_party

DANGEROUS = "=HYPERLINK(\"http://x\",\"clic\")"


@pytest.fixture
def invoices(company):
    """Receivables and payables in PEN and USD, one overdue, one paid, one with a formula in its name."""
    with open_session(company.url, write=True) as s:
        client = make_party(s, ruc="20131312955", name="Compañía Añil S.A.C.")
        evil = make_party(s, ruc="20512333797", name=DANGEROUS)
        supplier = make_party(s, kind="supplier", ruc="20100070970", name="Proveedor Uno S.A.")
        make_invoice(s, client, serie="F001", numero=1, total="1180.00", issued=date(2026, 4, 1), due=date(2026, 5, 1),
                     base_cents=100000, igv_cents=18000, detraccion_bp=1200, detraccion_cents=14160)
        make_invoice(s, client, serie="F001", numero=2, total="236.00", issued=date(2026, 6, 1), due=date(2026, 7, 1),
                     paid="236.00", description="@SUM(A1)", base_cents=20000, igv_cents=3600)
        make_invoice(s, evil, serie="F001", numero=3, total="99.00", issued=date(2026, 6, 10), due=date(2026, 6, 20),
                     currency="USD", rate_e4=37450, base_cents=8390, igv_cents=1510)
        make_invoice(s, supplier, serie="E001", numero=4, total="500.00", issued=date(2026, 5, 1), due=date(2026, 6, 30),
                     base_cents=42373, igv_cents=7627)
    return company


def snapshot(url: str) -> list[tuple]:
    with open_session(url) as s:
        return sorted(tuple(str(v) for v in r) for r in s.execute(text(
            "SELECT i.direction, p.kind, p.doc_type, p.doc_number, p.name, i.doc_type, i.serie, i.numero, i.issue_date, "
            "i.due_date, i.currency, i.exchange_rate_e4, i.base_cents, i.igv_cents, i.total_cents, i.description, "
            "i.detraccion_bp, i.detraccion_cents "
            "FROM invoice i JOIN party p ON p.id = i.party_id")))


def wipe(url: str) -> None:
    with open_session(url, write=True) as s:
        for table in ("payment", "invoice", "party"):
            s.execute(text(f"DELETE FROM {table}"))


def test_xlsx_has_typed_cells_formats_and_native_charts(invoices, tmp_path):
    import openpyxl

    out = tmp_path / "cartera.xlsx"
    result = invoices.run("export", "--output", str(out), role="gerente")
    assert result.exit_code == 0, result.output
    assert "exported 4 invoice(s)" in result.stderr
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Summary", "Invoices"]
    assert len(wb["Summary"]._charts) == 2
    sheet = wb["Invoices"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:X5"
    header = [c.value for c in sheet[1]]
    first = dict(zip(header, [c.value for c in sheet[2]]))
    assert first["party_name"] == "Compañía Añil S.A.C." and first["total"] == 1180.0
    assert sheet.cell(2, header.index("total") + 1).number_format == '"S/" #,##0.00'
    assert first["issue_date"].date() == date(2026, 4, 1)
    usd_row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("currency")].value == "USD")
    assert usd_row[header.index("total")].number_format == '"US$" #,##0.00'
    assert usd_row[header.index("party_name")].value == "'" + DANGEROUS  # neutralised, not a formula
    assert usd_row[header.index("party_name")].data_type == "s"
    summary_text = [c.value for row in wb["Summary"].iter_rows() for c in row if c.value is not None]
    assert "Antigüedad de saldos (S/)" in summary_text and "Flujo de caja esperado por semana (S/)" in summary_text


def test_csv_has_bom_plain_amounts_and_neutralised_text(invoices, tmp_path):
    out = tmp_path / "cartera.csv"
    assert invoices.run("export", "--output", str(out), role="gerente").exit_code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    data = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    by_number = {r["numero"]: r for r in data}
    assert by_number["1"]["total"] == "1180.00" and by_number["1"]["status"] == "VENCIDA"
    assert by_number["2"]["description"] == "'@SUM(A1)" and by_number["2"]["status"] == "PAGADA"
    assert by_number["3"]["party_name"] == "'" + DANGEROUS and by_number["3"]["exchange_rate"] == "3.7450"


def test_json_to_stdout_with_filters(invoices):
    result = invoices.run("export", "--format", "json", "--kind", "cxc", "--overdue", role="gerente")
    assert result.exit_code == 0, result.output
    items = result.json()
    assert [(i["serie"], i["numero"], i["balance"], i["status"]) for i in items] == [("F001", 1, "1180.00", "VENCIDA")]
    usd = invoices.run("export", "-f", "csv", "--currency", "USD", role="gerente")
    assert usd.stdout.count("\n") == 2 and not usd.stdout.startswith("\ufeff")


def test_pdf_renders_pages(invoices, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    with open_session(invoices.url, write=True) as s:
        party = make_party(s, ruc="20139490691", name="Muchas Facturas S.A.")
        for n in range(10, 130):
            make_invoice(s, party, serie="F009", numero=n, total="118.00", issued=date(2026, 3, 1), due=date(2026, 4, 1))
    invoices.run("settings", "set", "company.name", "Mi Empresa S.A.C.")
    out = tmp_path / "reporte.pdf"
    result = invoices.run("export", "--output", str(out), role="gerente")
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(out), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3  # the summary page and the 124 invoices over more pages
    assert all(p.stat().st_size > 1000 for p in pages)
    text_out = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True)
    if text_out.returncode == 0:
        assert "Mi Empresa S.A.C." in text_out.stdout and "Página 1 de" in text_out.stdout
        assert "Antigüedad de saldos" in text_out.stdout


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_round_trip_into_an_empty_database(invoices, tmp_path, suffix):
    before = snapshot(invoices.url)
    out = tmp_path / f"todo.{suffix}"
    assert invoices.run("export", "--output", str(out), role="gerente").exit_code == 0
    wipe(invoices.url)
    result = invoices.run("import", str(out), role="contador")
    assert result.exit_code == 0, result.output
    assert "imported 4 new" in result.stderr
    assert snapshot(invoices.url) == before


def test_contador_may_not_export(invoices, tmp_path):
    out = tmp_path / "x.xlsx"
    result = invoices.run("export", "--output", str(out), role="contador")
    assert result.exit_code == 5
    assert "export" in result.stderr
    assert not out.exists()


def test_export_needs_a_destination(invoices):
    result = invoices.run("export", role="gerente")
    assert result.exit_code == 2
    assert "--output FILE" in result.stderr


def test_unknown_party_filter(invoices, tmp_path):
    result = invoices.run("export", "--party", "20999999999", "--output", str(tmp_path / "x.csv"), role="gerente")
    assert result.exit_code == 4
    assert not (tmp_path / "x.csv").exists()


def _summary_tables(path):
    """The Summary sheet's aging rows {label: (cxc, cxp)} in order, its cash-flow rows (label, 5 amounts),
    and the anchors (first row, last row) of its charts."""
    from decimal import Decimal

    import openpyxl

    ws = openpyxl.load_workbook(path)["Summary"]
    values = [[c.value for c in row] for row in ws.iter_rows()]

    def amount(v) -> Decimal:
        return Decimal(repr(float(v))).quantize(Decimal("0.01"))

    start = next(i for i, row in enumerate(values) if row[0] == "Tramo (días vencido)") + 1
    aging = []
    for row in values[start:]:
        if row[0] == "Total":
            break
        aging.append((row[0], amount(row[1]), amount(row[2])))
    start = next(i for i, row in enumerate(values) if row[0] == "Periodo") + 1
    flow = [(row[0], *[amount(v) for v in row[1:6]]) for row in values[start:] if row[0]]
    anchors = [(chart.anchor._from.row, chart.anchor.to.row) for chart in ws._charts]
    return aging, flow, anchors


def test_summary_sheet_equals_the_dashboard_and_its_charts_never_overlap(invoices, tmp_path):
    from decimal import Decimal

    out = tmp_path / "todo.xlsx"
    assert invoices.run("--today", "2026-06-15", "export", "--output", str(out), role="gerente").exit_code == 0
    board = invoices.run("--today", "2026-06-15", "dashboard", "--format", "json", role="gerente")
    assert board.exit_code == 0, board.output
    data = board.json()
    aging, flow, anchors = _summary_tables(out)
    by_kind = {r["kind"]: r for r in data["aging"]}
    keys = [k for k in by_kind["cxc"] if k not in {"as_of", "kind", "currency", "total", "count"}]
    assert len(aging) == len(keys)
    assert [(a[1], a[2]) for a in aging] == [(Decimal(by_kind["cxc"][k]), Decimal(by_kind["cxp"][k])) for k in keys]
    assert aging[0][0] == "Por vencer"
    expected = [tuple(Decimal(r[f]) for f in ("inflows", "detraccion", "outflows", "net", "cumulative"))
                for r in data["cashflow"]]
    assert [row[1:] for row in flow] == expected
    # detracción is its own column, not inside the inflows: F001-1's 12% is still to be deposited
    assert flow[0][2] == Decimal("141.60") and flow[0][1] == Decimal("1180.00") - Decimal("141.60")
    # the charts are anchored at computed rows: the aging chart ends above the cash-flow chart
    assert len(anchors) == 2 and anchors[0][1] < anchors[1][0]


def test_summary_sheet_follows_the_kind_and_currency_filters_as_the_dashboard_does(invoices, tmp_path):
    from decimal import Decimal

    out = tmp_path / "usd.xlsx"
    day = ("--today", "2026-06-15")
    result = invoices.run(*day, "export", "--kind", "cxc", "--currency", "USD", "--output", str(out), role="gerente")
    assert result.exit_code == 0, result.output
    aging, flow, _ = _summary_tables(out)
    report = invoices.run(*day, "dashboard", "aging", "--kind", "cxc", "--currency", "USD", "--format", "json",
                          role="gerente").json()
    [cxc] = report
    keys = [k for k in cxc if k not in {"as_of", "kind", "currency", "total", "count"}]
    assert [a[1] for a in aging] == [Decimal(cxc[k]) for k in keys] and sum(a[1] for a in aging) == Decimal("99.00")
    assert all(a[2] == 0 for a in aging)  # CxP left out by --kind cxc
    cash = invoices.run(*day, "dashboard", "cashflow", "--currency", "USD", "--format", "json", role="gerente").json()
    assert [(row[1], row[2]) for row in flow] == [(Decimal(r["inflows"]), Decimal(r["detraccion"])) for r in cash]
    import openpyxl

    titles = [c.value for row in openpyxl.load_workbook(out)["Summary"].iter_rows() for c in row if c.value]
    assert "Antigüedad de saldos (US$)" in titles
