"""`cuentas export`: XLSX with charts, CSV with BOM, JSON, PDF pages, neutralised formulas, round trip."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from datetime import date

import pytest
from sqlalchemy import text

from cuentas_cli.db.engine import open_session
from tests.factories import workbook_keys
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
    header = workbook_keys(c.value for c in sheet[1])
    first = dict(zip(header, [c.value for c in sheet[2]]))
    assert first["party_name"] == "Compañía Añil S.A.C." and first["total"] == 1180.0
    assert sheet.cell(2, header.index("total") + 1).number_format == '"S/" #,##0.00'
    assert first["issue_date"].date() == date(2026, 4, 1)
    usd_row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("currency")].value == "USD")
    assert usd_row[header.index("total")].number_format == '"US$" #,##0.00'
    assert usd_row[header.index("party_name")].value == "'" + DANGEROUS  # neutralised, not a formula
    assert usd_row[header.index("party_name")].data_type == "s"
    summary_text = [c.value for row in wb["Summary"].iter_rows() for c in row if c.value is not None]
    assert "Aging of balances (S/)" in summary_text and "Expected cash flow by week (S/)" in summary_text


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
        assert "Mi Empresa S.A.C." in text_out.stdout and "Page 1 of" in text_out.stdout
        assert "Aging of balances" in text_out.stdout


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


def test_a_spanish_workbook_and_pdf_speak_spanish_and_the_workbook_imports_back(invoices, tmp_path):
    """Sheet names, headers and the summary in Spanish; the importer reads the Spanish headers, so
    the workbook comes back to the same invoices (the English one does in the test above)."""
    import openpyxl

    es = {"CUENTAS_LANG": "es"}
    before = snapshot(invoices.url)
    out = tmp_path / "cartera.xlsx"
    assert invoices.run("export", "--output", str(out), role="gerente", env=es).exit_code == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Resumen", "Facturas"]
    header = [c.value for c in book["Facturas"][1]]
    assert header[:6] == ["Id", "Tipo (CxC/CxP)", "Tipo de documento de identidad", "RUC/DNI", "Razón social",
                          "Tipo de comprobante"]
    assert {"Fecha de emisión", "Vencimiento", "Base imponible", "Saldo", "Estado del comprobante"} <= set(header)
    summary = [c.value for row in book["Resumen"].iter_rows() for c in row if c.value is not None]
    assert {"Antigüedad de saldos (S/)", "Tramo (días vencido)", "Por vencer", "Periodo", "Cobros (CxC)"} <= set(summary)
    pdf = tmp_path / "cartera.pdf"
    assert invoices.run("export", "--output", str(pdf), role="gerente", env=es).exit_code == 0
    texts = pdf_text(pdf)
    assert "Antigüedad de saldos (S/)" in texts and "Razón social" in texts and "Comprobantes" in texts
    wipe(invoices.url)
    result = invoices.run("import", str(out), role="contador")  # read in English: the headers are known anyway
    assert result.exit_code == 0, result.output
    assert "imported 4 new" in result.stderr
    assert snapshot(invoices.url) == before


def test_every_workbook_header_reads_back_as_its_column():
    """Each header `export` writes, in each language, names the field its key names; the columns the
    import does not read (id, paid, balance, status...) name no field, so none is misread."""
    from cuentas_cli.i18n import LANGUAGES, catalog
    from cuentas_cli.imports.columns import _AMBIGUOUS, _HEADER_INDEX
    from cuentas_cli.imports.sources import normalise_header
    from cuentas_cli.rules.invoice_columns import INVOICE_COLUMNS

    unread = set()
    for key, _kind, label in INVOICE_COLUMNS:
        field = _HEADER_INDEX.get(normalise_header(key))
        if field is None:
            unread.add(key)
        for code in LANGUAGES:
            header = normalise_header(catalog(code).gettext(label))
            assert header not in _AMBIGUOUS, (key, code, header)
            assert _HEADER_INDEX.get(header) == field, (key, code, header)
    assert unread == {"id", "detraccion_amount", "paid", "balance", "status"}


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

    start = next(i for i, row in enumerate(values) if row[0] == "Bucket (days overdue)") + 1
    aging = []
    for row in values[start:]:
        if row[0] == "Total":
            break
        aging.append((row[0], amount(row[1]), amount(row[2])))
    start = next(i for i, row in enumerate(values) if row[0] == "Period") + 1
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
    assert aging[0][0] == "Not yet due"
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
    assert "Aging of balances (US$)" in titles


# --- issue 17: a PDF is a report (--max-rows), progress on a terminal, no fpdf warnings ------


def pdf_text(path) -> list[str]:
    """The text strings of a PDF written by fpdf2 with its core fonts: each `(...) Tj` of the
    page streams, in order (poppler may be missing; the format fpdf2 writes is this simple)."""
    import re
    import zlib

    texts = []
    for raw in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", path.read_bytes(), re.S):
        try:
            body = zlib.decompress(raw)
        except zlib.error:
            continue  # not a page's content (a font, an image)
        for found in re.finditer(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", body, re.S):
            texts.append(re.sub(rb"\\([\\()])", rb"\1", found.group(1)).decode("latin-1"))
    return texts


def _many(url: str, n: int) -> None:
    """n more receivables of one client, F009-1..n, all PEN 118.00."""
    from sqlalchemy import insert

    from cuentas_cli.db.models import Invoice

    with open_session(url, write=True) as s:
        party = make_party(s, ruc="20139490691", name="Muchas Facturas S.A.")
        first = make_invoice(s, party, serie="F009", numero=1, total="118.00", issued=date(2026, 3, 1),
                             due=date(2026, 4, 1))
        template = {c.name: getattr(first, c.name) for c in Invoice.__table__.columns if c.name != "id"}
        s.execute(insert(Invoice), [{**template, "numero": k} for k in range(2, n + 1)])


def _listed(texts: list[str]) -> set[str]:
    return {t for t in texts if t.startswith("01 F009-")}


def test_pdf_over_max_rows_lists_the_first_and_counts_the_rest(invoices, tmp_path):
    _many(invoices.url, 60)  # 64 invoices in all
    out = tmp_path / "corto.pdf"
    result = invoices.run("export", "--output", str(out), "--max-rows", "25", role="gerente")
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (f"✓ exported 25 of 64 invoice(s) to {out}; 39 more counted in its summary, "
                                     "not listed (--max-rows 0 or an .xlsx lists them all)")
    texts = pdf_text(out)
    more = [t for t in texts if t.startswith("... and ")]
    assert more == ["... and 39 more documents: export to .xlsx for the whole list (or --max-rows 0). "
                    "The figures above include them all."]
    rows = [t for t in texts if t in {"cxc", "cxp"}]  # the Tipo cell of each listed invoice
    assert len(rows) == 25 and texts.index(more[0]) > max(i for i, t in enumerate(texts) if t in {"cxc", "cxp"})
    # the summary covers every invoice, the 39 left out of the list too: its totals are the dashboard's
    assert "Aging of balances (S/)" in texts and "Expected cash flow by week (S/)" in texts
    from decimal import Decimal

    board = {r["kind"]: Decimal(r["total"]) for r in invoices.run("dashboard", "--format", "json").json()["aging"]}
    total_at = texts.index("Total")
    assert texts[total_at + 1:total_at + 3] == [f"{board['cxc']:,.2f}", f"{board['cxp']:,.2f}"]
    assert board["cxc"] > 60 * 118  # F009-1..60 are open receivables, in the figures though not listed

    everything = tmp_path / "todo.pdf"
    result = invoices.run("export", "--output", str(everything), "--max-rows", "0", role="gerente")
    assert result.exit_code == 0 and result.stderr.strip() == f"✓ exported 64 invoice(s) to {everything}"
    texts = pdf_text(everything)
    assert len(_listed(texts)) == 60 and not any(t.startswith("... and ") for t in texts)
    assert len([t for t in texts if t in {"cxc", "cxp"}]) == 64


def test_pdf_default_max_rows_is_5000(invoices, tmp_path):
    _many(invoices.url, 5001)  # 5005 invoices
    out = tmp_path / "grande.pdf"
    result = invoices.run("export", "--output", str(out), role="gerente")
    assert result.exit_code == 0, result.output
    assert "exported 5,000 of 5,005 invoice(s)" in result.stderr
    assert "... and 5 more documents: export to .xlsx for the whole list (or --max-rows 0). " \
           "The figures above include them all." in pdf_text(out)


@pytest.mark.parametrize("args, message", [
    (("--output", "x.pdf", "--max-rows", "-1"), "error: --max-rows -1: give 0 (list every invoice) or a positive number"),
    (("--output", "x.xlsx", "--max-rows", "10"), "error: --max-rows applies to PDF exports only; a .xlsx export"),
    (("--format", "csv", "--max-rows", "10"), "error: --max-rows applies to PDF exports only; a .csv export"),
    (("--output", "x.pdf", "--max-rows", "many"), "error: Invalid value for '--max-rows'"),
])
def test_max_rows_usage_errors(invoices, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = invoices.run("export", *args, role="gerente")
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1 and not result.stdout
    assert not list(tmp_path.glob("x.*"))


# A real process in which fpdf2 warns for real: each page added first asks fpdf for a bold
# ZapfDingbats (fpdf's UserWarning "only has a single 'style'"), for "arial" (its
# DeprecationWarning "Substituting font"), and logs on fpdf's logger; warnings are all shown.
_WARNING_FPDF = r"""
import logging, sys
from fpdf import FPDF
add_page = FPDF.add_page
def noisy(self, *args, **kwargs):
    add_page(self, *args, **kwargs)
    self.set_font("zapfdingbats", "B", 8)
    self.set_font("arial", "", 8)
    logging.getLogger("fpdf.output").warning("fpdf-log-line: a page was added")
FPDF.add_page = noisy
if sys.argv[1] == "bare":
    pdf = FPDF(); pdf.add_page(); pdf.output(sys.argv[2])
else:
    from cuentas_cli.app import run
    sys.argv = ["cuentas", *sys.argv[1:]]
    run()
"""


def test_fpdf_warnings_never_reach_stderr(invoices, tmp_path):
    from tests.reliability import cli_env

    env = cli_env(invoices.url, invoices.tokens["gerente"], PYTHONWARNINGS="always")
    argv = [sys.executable, "-c", _WARNING_FPDF]
    bare = subprocess.run([*argv, "bare", str(tmp_path / "bare.pdf")], env=env, capture_output=True, text=True,
                          timeout=120)
    # the provocation is real: fpdf itself, outside the export, writes all three on stderr
    assert "only has a single 'style'" in bare.stderr and "Substituting font arial" in bare.stderr
    assert "fpdf-log-line" in bare.stderr
    out = tmp_path / "reporte.pdf"
    done = subprocess.run([*argv, "export", "--output", str(out)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"✓ exported 4 invoice(s) to {out}\n"
    assert pdf_text(out)[0] == "cuentas"


def test_no_fpdf_warning_escapes_the_export_function(invoices, tmp_path, monkeypatch):
    import logging
    import warnings

    from fpdf import FPDF

    add_page = FPDF.add_page

    def noisy(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        add_page(self, *args, **kwargs)
        self.set_font("zapfdingbats", "B", 8)  # fpdf's own UserWarning
        logging.getLogger("fpdf.fpdf").warning("fpdf-log-line")

    monkeypatch.setattr(FPDF, "add_page", noisy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = invoices.run("export", "--output", str(tmp_path / "r.pdf"), role="gerente")
    assert result.exit_code == 0, result.output
    assert caught == [] and result.stderr == f"✓ exported 4 invoice(s) to {tmp_path / 'r.pdf'}\n"
    assert logging.getLogger("fpdf").propagate and not logging.getLogger("fpdf").handlers  # restored


def _on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run argv with a pseudo-terminal as stderr (stdout a pipe); its exit code, stdout and
    what the terminal received."""
    import os
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    screen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    stdout = proc.stdout.read().decode()
    proc.stdout.close()
    return proc.wait(timeout=120), stdout, screen.decode("utf-8", "replace")


@pytest.mark.parametrize("suffix", ["xlsx", "csv", "pdf"])
def test_progress_bar_on_a_terminal_and_only_the_result_elsewhere(invoices, tmp_path, suffix):
    from tests.reliability import cli_env, cuentas_argv

    _many(invoices.url, 2500)
    env = cli_env(invoices.url, invoices.tokens["gerente"], TERM="xterm-256color", COLUMNS="120")
    out = tmp_path / f"cartera.{suffix}"
    code, stdout, screen = _on_a_terminal(cuentas_argv("export", "--output", str(out), "--max-rows", "0")
                                          if suffix == "pdf" else cuentas_argv("export", "--output", str(out)), env)
    assert code == 0, screen
    assert stdout == ""
    assert f"exporting cartera.{suffix}" in screen and "━" in screen and "rows" in screen  # the bar was drawn
    assert "2,504 rows" in screen  # ... up to the last row, counted
    assert f"exported 2504 invoice(s) to {out}" in screen
    # not a terminal (a pipe, cron): the result line and nothing else
    piped = invoices.run("export", "--output", str(out), role="gerente")
    assert piped.exit_code == 0 and piped.stderr == f"✓ exported 2504 invoice(s) to {out}\n"


def test_no_bar_when_writing_to_standard_output_on_a_terminal(invoices):
    from tests.reliability import cli_env, cuentas_argv

    env = cli_env(invoices.url, invoices.tokens["gerente"], TERM="xterm-256color")
    code, stdout, screen = _on_a_terminal(cuentas_argv("export", "--format", "csv"), env)
    assert code == 0 and stdout.count("\n") == 5
    assert screen == ""
