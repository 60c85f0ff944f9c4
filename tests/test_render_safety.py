"""What the renderer prints: whole numbers at 80 columns, no formulas in CSV listings, no
terminal escapes from imported or typed text; JSON keeps the data as it is."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest

from cuentas_cli.db.engine import open_session
from tests.factories import make_invoice, make_party

NARROW = {"COLUMNS": "80"}
FORMULA = '=HYPERLINK("http://x","y")'
ESCAPES = "borrar\x1b[2J pantalla \x1b]0;x\x07 titulo"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def big(company):
    """Amounts too wide for a naive 80-column table (today is 2026-06-15)."""
    with open_session(company.url, write=True) as s:
        client = make_party(s, kind="client", name="CLIENTE GRANDE DE LA COSTA S.A.C.")
        supplier = make_party(s, kind="supplier", name="PROVEEDOR INDUSTRIAL S.A.")
        make_invoice(s, client, total="475457.85", issued=date(2026, 4, 1), due=date(2026, 5, 1), numero=12345678)
        make_invoice(s, client, total="1234567.89", issued=date(2026, 6, 1), due=date(2026, 6, 20), numero=12345679)
        make_invoice(s, supplier, total="998877.66", issued=date(2026, 6, 1), due=date(2026, 6, 25), numero=99)
    return company


def _lines_fit(text: str, width: int = 80) -> None:
    for line in text.splitlines():
        assert len(line.rstrip()) <= width, line


def test_cashflow_table_keeps_every_number_whole_at_80_columns(big):
    result = big.run("dashboard", "cashflow", "--opening-balance", "1000000", "--format", "table",
                     role="gerente", env=NARROW)
    assert result.exit_code == 0, result.output
    for figure in ("475,457.85", "1,234,567.89", "998,877.66", "-998,877.66", "2,710,025.74", "1,711,148.08"):
        assert figure in result.stdout
    assert "…" not in result.stdout
    _lines_fit(result.stdout)
    # What did not fit is named once on stderr, with the way out.
    assert "hidden to fit 80 columns" in result.stderr and "--format json" in result.stderr
    assert "COLUMNS" in result.stderr


def test_whole_dashboard_at_80_columns_cuts_no_figure(big):
    result = big.run("dashboard", "--format", "table", role="gerente", env=NARROW)
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    _lines_fit(result.stdout)
    for figure in ("475,457.85", "1,234,567.89", "998,877.66", "1,710,025.74"):
        assert figure in result.stdout
    by_party = big.run("dashboard", "aging", "--by-party", "--format", "table", role="gerente", env=NARROW)
    assert "1,710,025.74" in by_party.stdout and "…" not in by_party.stdout
    _lines_fit(by_party.stdout)


def test_invoice_list_at_80_columns_keeps_numbers_and_documents_whole(big):
    result = big.run("invoices", "list", "--format", "table", env=NARROW)
    assert result.exit_code == 0, result.output
    for text in ("475,457.85", "1,234,567.89", "998,877.66", "F001-12345678", "VENCIDA"):
        assert text in result.stdout
    assert "…" not in result.stdout
    _lines_fit(result.stdout)
    assert "hidden to fit 80 columns" in result.stderr
    wide = big.run("invoices", "list", "--format", "table", env={"COLUMNS": "200"})
    assert "hidden" not in wide.stderr and "Days overdue" in wide.stdout


def test_very_narrow_terminal_shows_rows_vertically(big):
    result = big.run("invoices", "list", "--format", "table", env={"COLUMNS": "30"})
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    for text in ("475,457.85", "1,234,567.89", "Days overdue"):
        assert text in result.stdout


def _csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_listings_neutralise_formulas_unless_raw(company):
    with open_session(company.url, write=True) as s:
        client = make_party(s, kind="client", name=FORMULA)
        make_invoice(s, client, total="100.00", numero=7)
    invoices = company.run("invoices", "list", "-f", "csv")
    assert invoices.exit_code == 0, invoices.output
    assert [r["party_name"] for r in _csv_rows(invoices.stdout)] == ["'" + FORMULA]
    clients = company.run("clients", "list", "-f", "csv")
    assert clients.exit_code == 0, clients.output
    assert [r["name"] for r in _csv_rows(clients.stdout)] == ["'" + FORMULA]
    # Amounts are numbers, never neutralised (a negative one keeps its sign).
    assert _csv_rows(invoices.stdout)[0]["total"] == "100.00"
    for args in (("invoices", "list"), ("clients", "list")):
        raw = company.run(*args, "-f", "csv", "--raw")
        assert raw.exit_code == 0, raw.output
        assert FORMULA in [r.get("party_name") or r.get("name") for r in _csv_rows(raw.stdout)]
    # --raw is one invocation's choice, and JSON keeps the data unchanged either way.
    again = company.run("clients", "list", "-f", "csv")
    assert _csv_rows(again.stdout)[0]["name"] == "'" + FORMULA
    assert company.run("clients", "list", "-f", "json").json()[0]["name"] == FORMULA
    help_text = company.run("invoices", "list", "--help").stdout
    assert "--raw" in help_text


def test_invoice_show_prints_no_terminal_escapes_but_json_keeps_them(company):
    with open_session(company.url, write=True) as s:
        client = make_party(s, kind="client", name="NOMBRE \x1b[31mROJO\x1b[0m S.A.C.")
        invoice = make_invoice(s, client, total="100.00", numero=8, description=ESCAPES)
        invoice_id = invoice.id
    shown = company.run("invoices", "show", str(invoice_id), "-f", "table", env={"COLUMNS": "150"})
    assert shown.exit_code == 0, shown.output
    assert not CONTROL.search(shown.stdout), repr(shown.stdout)
    assert "\\x1b[2J" in shown.stdout and "\\x07" in shown.stdout  # shown, visibly
    listed = company.run("invoices", "list", "-f", "table", env={"COLUMNS": "150"})
    assert not CONTROL.search(listed.stdout + listed.stderr), repr(listed.stdout)
    data = company.run("invoices", "show", str(invoice_id), "-f", "json").json()
    assert data["description"] == ESCAPES
    assert data["party_name"] == "NOMBRE \x1b[31mROJO\x1b[0m S.A.C."


def test_markup_in_data_is_printed_as_text(company):
    with open_session(company.url, write=True) as s:
        make_party(s, kind="client", name="[bold red]NO[/] [link=http://x]S.A.C.")
    result = company.run("clients", "list", "-f", "table", env={"COLUMNS": "150"})
    assert result.exit_code == 0, result.output
    assert "[bold red]NO[/]" in result.stdout


def test_import_header_escape_gives_an_error_line_without_escape(company, tmp_path):
    path = tmp_path / "hostil.csv"
    path.write_text("ruc,serie,numero,\x1b]0;pwned\x07total\x1b[2J\n20131312955,F001,1,100.00\n", encoding="utf-8")
    result = company.run("import", str(path), "--kind", "cxc", role="contador")
    assert result.exit_code == 3, result.output
    assert not CONTROL.search(result.stderr.replace("\n", "")), repr(result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    # The header is quoted, its controls shown visibly (as \x1b, or as ? by the importer).
    assert len(errors) == 1 and "]0;pwned" in errors[0] and "total" in errors[0]


def test_utf16_nul_and_escape_never_reach_the_terminal_in_messages():
    from cuentas_cli.render import message_line, safe_lines
    from cuentas_cli.textsafe import neutralise, terminal_text

    assert message_line("bad\x00 header\n\x1b[2J here") == "bad\\x00 header \\x1b[2J here"
    assert safe_lines("one\x1b\ntwo\x9b") == "one\\x1b\ntwo\\x9b"
    assert terminal_text("a\u202eb") == "a\\u202eb"
    assert terminal_text("línea\nsegunda\tcol") == "línea\nsegunda\tcol"  # text keeps its layout
    assert [neutralise(v) for v in ("=1", "+1", "-1", "@x", "\tx", "\rx", "ok", "")] == [
        "'=1", "'+1", "'-1", "'@x", "'\tx", "'\rx", "ok", ""]


def test_exporter_uses_the_same_neutralise():
    from cuentas_cli import textsafe
    from cuentas_cli.exports import tabular as exporter

    assert exporter.neutralise is textsafe.neutralise


def test_error_boundary_and_message_helpers_show_controls_visibly(capsys):
    from cuentas_cli import app, render

    render.reset_consoles()
    app._error_line("bad header '\x1b]0;x\x07total\x1b[2J'\nsecond line\x00")
    render.warn("value \x1b[31mred")
    render.info("imported \x1b[2J")
    render.success("done \x9b2J")
    err = capsys.readouterr().err
    render.reset_consoles()
    assert not CONTROL.search(err.replace("\n", "")), repr(err)
    lines = err.splitlines()
    assert lines[0] == "error: bad header '\\x1b]0;x\\x07total\\x1b[2J' second line\\x00"
    assert lines[1] == "warning: value \\x1b[31mred"
    assert "imported \\x1b[2J" in lines[2] and "done \\x9b2J" in lines[3]
