"""`cuentas import`: files as other programs write them, atomicity, idempotency, errors."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

from sqlalchemy import text

from cuentas_cli.db.engine import open_session
from tests.factories import make_invoice, make_party, valid_ruc

RUC_A = "20131312955"  # SUNAT
RUC_B = "20512333797"
RUC_C = "20100070970"


def rows(url: str, sql: str, **params) -> list[tuple]:
    with open_session(url) as s:
        return [tuple(r) for r in s.execute(text(sql), params)]


def count(url: str, table: str = "invoice") -> int:
    return rows(url, f"SELECT COUNT(*) FROM {table}")[0][0]


def write(path: Path, content: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(content.encode(encoding))
    return path


# --- files as other programs write them -------------------------------------------------------


def test_excel_spanish_csv_semicolon_cp1252(company, tmp_path):
    """Excel in Spanish (Windows, es-PE) saves `;`-separated cp1252 with DD/MM/YYYY dates."""
    content = (
        "RUC;Razón Social;Tipo de Comprobante;Serie;Número;Fecha de Emisión;Fecha de Vencimiento;Moneda;Importe Total\r\n"
        f"{RUC_A};Compañía Minera Añil S.A.C.;01;F001;00000123;25/05/2026;24/06/2026;PEN;S/ 1,180.00\r\n"
        f"{RUC_B};Distribuidora Peñaflor E.I.R.L.;01;F001;124;05/05/2026;04/06/2026;Soles;2,360.50\r\n"
    )
    path = write(tmp_path / "ventas.csv", content, "cp1252")
    result = company.run("import", str(path), "--kind", "cxc", role="contador")
    assert result.exit_code == 0, result.output
    assert "imported 2 new" in result.stderr
    got = rows(company.url, "SELECT p.name, i.serie, i.numero, i.issue_date, i.due_date, i.total_cents, i.base_cents, i.status "
                            "FROM invoice i JOIN party p ON p.id = i.party_id ORDER BY i.numero")
    assert got[0][:3] == ("Compañía Minera Añil S.A.C.", "F001", 123)
    assert str(got[0][3])[:10] == "2026-05-25" and str(got[0][4])[:10] == "2026-06-24"
    assert got[0][5] == 118000 and got[0][6] == 100000  # base derived at 18%
    assert got[1][5] == 236050 and got[1][7] == "VENCIDA"  # due 2026-06-04 < today 2026-06-15
    assert got[0][7] == "PENDIENTE"


def test_utf8_bom_tab_separated_with_english_headers(company, tmp_path):
    content = (
        "\ufeffKind\tTax ID\tName\tSeries\tNumber\tIssue date\tDue date\tCurrency\tExchange rate\tAmount\n"
        f"cxp\t{RUC_C}\tAcme Perú S.A.\tE001\t7\t2026-06-01\t2026-07-01\tUSD\t3.745\tUS$ 99.00\n"
    )
    path = write(tmp_path / "compras.tsv", content)
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 0, result.output
    assert rows(company.url, "SELECT direction, currency, exchange_rate_e4, total_cents FROM invoice") == [("payable", "USD", 37450, 9900)]
    assert rows(company.url, "SELECT name, kind, source FROM party") == [("Acme Perú S.A.", "supplier", "import")]


def test_xlsx_with_title_row_and_excel_date_cells(company, tmp_path):
    import xlsxwriter

    path = tmp_path / "cartera.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Cartera")
    datef = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws.write(0, 0, "Cartera de clientes al 31/05/2026")  # a title row, then a blank row, then the header
    ws.write_row(2, 0, ["RUC", "Razón social", "Serie", "Número", "Fecha de emisión", "Fecha de vencimiento", "Total"])
    ws.write_row(3, 0, [RUC_A, "SUNAT", "F002", 10])
    ws.write_datetime(3, 4, date(2026, 5, 2), datef)
    ws.write_datetime(3, 5, date(2026, 7, 1), datef)
    ws.write_number(3, 6, 1180.4)
    ws.write_row(4, 0, [RUC_B, "Otra S.A.", "F002", 11])
    ws.write_number(4, 4, 46150)  # an Excel serial date without a date format: 2026-05-08
    ws.write_datetime(4, 5, date(2026, 6, 20), datef)
    ws.write_number(4, 6, 500)
    wb.close()
    result = company.run("import", str(path), "--kind", "cxc", "--sheet", "cartera", role="contador")
    assert result.exit_code == 0, result.output
    got = rows(company.url, "SELECT numero, issue_date, due_date, total_cents FROM invoice ORDER BY numero")
    assert [(g[0], str(g[1])[:10], str(g[2])[:10], g[3]) for g in got] == [
        (10, "2026-05-02", "2026-07-01", 118040), (11, "2026-05-08", "2026-06-20", 50000)]


def test_xlsx_error_names_the_excel_row(company, tmp_path):
    import xlsxwriter

    path = tmp_path / "malo.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write(0, 0, "Reporte")
    ws.write_row(2, 0, ["RUC", "Razón social", "Serie", "Número", "Fecha de emisión", "Fecha de vencimiento", "Total"])
    ws.write_row(3, 0, [RUC_A, "SUNAT", "F002", 10, "2026-05-02", "2026-06-01", 100])
    ws.write_row(4, 0, [RUC_A, "SUNAT", "F002", 11, "31/02/2026", "2026-06-01", 100])
    wb.close()
    result = company.run("import", str(path), "--kind", "cxc", "--date-format", "DD/MM/YYYY", role="contador")
    assert result.exit_code == 3
    assert "row 5, column Fecha de emisión, value '31/02/2026'" in result.stderr
    assert count(company.url) == 0


def test_xlsx_rows_keep_their_excel_numbers_below_blank_rows_and_beside_blank_columns(company, tmp_path):
    import xlsxwriter

    path = tmp_path / "abajo.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(3, 1, ["tipo", "ruc", "razon_social", "serie", "numero", "fecha_emision", "fecha_vencimiento", "total"])
    ws.write_row(4, 1, ["cxc", RUC_A, "SUNAT", "F001", "1", "2026-01-01", "2026-02-01", "100.00"])
    ws.write_row(5, 1, ["cxc", RUC_A, "SUNAT", "F001", "2", "2026-01-01", "fecha mala", "100.00"])
    wb.close()
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 3
    assert "row 6, column fecha_vencimiento, value 'fecha mala'" in result.stderr  # Excel's row 6
    assert count(company.url) == 0


def test_large_xlsx_read_in_segments_imports_every_row_and_names_late_rows(company, tmp_path, monkeypatch):
    """A workbook cut into many small segments: every row arrives once, in place."""
    import xlsxwriter

    from cuentas_cli.imports.sources import xlsx_sheet

    monkeypatch.setattr(xlsx_sheet, "_SEGMENT_MIN", 4096)
    monkeypatch.setattr(xlsx_sheet, "_SEGMENT_MAX", 4096)

    def book(name: str, bad_row: int | None = None) -> Path:
        path = tmp_path / name
        wb = xlsxwriter.Workbook(str(path))
        ws = wb.add_worksheet("Ventas")
        datef = wb.add_format({"num_format": "dd/mm/yyyy"})
        ws.write_row(0, 0, ["tipo", "ruc", "razon_social", "serie", "numero", "fecha_emision", "fecha_vencimiento", "total"])
        for i in range(1, 1501):
            ws.write_row(i, 0, ["cxc", RUC_A if i % 2 else RUC_B, "SUNAT" if i % 2 else "OTRA S.A.", "F001", i])
            ws.write_datetime(i, 5, date(2026, 1, 1 + i % 28), datef)
            ws.write_datetime(i, 6, date(2026, 3, 1 + i % 28), datef)
            ws.write_number(i, 7, 100 + i / 100)
        if bad_row is not None:
            ws.write(bad_row - 1, 6, "fecha mala")  # Excel's row bad_row
        wb.close()
        return path

    refused = company.run("import", str(book("mala.xlsx", bad_row=1401)), role="contador")
    assert refused.exit_code == 3
    assert "row 1401, column fecha_vencimiento, value 'fecha mala'" in refused.stderr
    assert count(company.url) == 0
    ok = company.run("import", str(book("grande.xlsx")), role="contador")
    assert ok.exit_code == 0, ok.output
    assert rows(company.url, "SELECT COUNT(*), SUM(total_cents), MIN(numero), MAX(numero) FROM invoice")[0] == (
        1500, sum(10000 + i for i in range(1, 1501)), 1, 1500)
    assert rows(company.url, "SELECT total_cents FROM invoice WHERE numero = 1234") == [(10000 + 1234,)]


def test_base_above_the_total_is_a_row_error(company, tmp_path):
    path = write(tmp_path / "base.csv", (
        "tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,base_imponible,total\n"
        f"cxc,{RUC_A},SUNAT,F001,1,2026-05-01,2026-06-01,200.00,100.00\n"
    ))
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 3
    assert "row 2, column total, value '100.00': total 100.00 cannot be base 200.00 + IGV -100.00" in result.stderr
    assert count(company.url) == 0


def ple_line(fields: dict[int, str], width: int = 36) -> str:
    values = [""] * width
    for pos, value in fields.items():
        values[pos - 1] = value
    return "|".join(values) + "|"


def test_ple_sales_register_with_credit_note_and_anulado(company, tmp_path):
    """A Registro de Ventas 14.1 as SUNAT's PLE names and writes it (ISO-8859-1, `|`, DD/MM/AAAA)."""
    base = {1: "20260500", 10: "6", 26: "PEN", 27: "1.000", 35: "1"}
    lines = [
        ple_line({**base, 2: "M1", 3: "M1", 4: "02/05/2026", 5: "01/06/2026", 6: "01", 7: "F001", 8: "501",
                  11: RUC_A, 12: "SUPERINTENDENCIA NACIONAL DE ADUANAS Y DE ADMINISTRACIÓN TRIBUTARIA",
                  14: "1000.00", 16: "180.00", 25: "1180.00"}),
        ple_line({**base, 2: "M2", 3: "M2", 4: "03/05/2026", 5: "", 6: "01", 7: "F001", 8: "502", 11: RUC_B,
                  12: "CLIENTE DOS S.A.", 14: "200.00", 16: "36.00", 25: "236.00"}),
        # a credit note that modifies F001-501: negative amounts, fields 28-31 name the document
        ple_line({**base, 2: "M3", 3: "M3", 4: "10/05/2026", 5: "10/05/2026", 6: "07", 7: "F001", 8: "12", 11: RUC_A,
                  12: "SUNAT", 14: "-100.00", 16: "-18.00", 25: "-118.00", 28: "02/05/2026", 29: "01", 30: "F001",
                  31: "501"}),
        # anulado (status 2): not an invoice to collect
        ple_line({**base, 2: "M4", 3: "M4", 4: "11/05/2026", 6: "01", 7: "F001", 8: "503", 11: RUC_B,
                  12: "CLIENTE DOS S.A.", 14: "0.00", 16: "0.00", 25: "0.00", 35: "2"}),
    ]
    path = tmp_path / f"LE{RUC_C}20260500140100001111.txt"
    path.write_bytes("\r\n".join(lines).encode("latin-1") + b"\r\n")
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 0, result.output
    assert "1 anulados" in result.stderr
    got = rows(company.url, "SELECT doc_type, serie, numero, direction, total_cents, adjust_cents, due_date, references_id, status "
                            "FROM invoice ORDER BY id")
    assert [(g[0], g[2], g[3], g[4], g[5]) for g in got] == [
        ("01", 501, "receivable", 118000, -11800), ("01", 502, "receivable", 23600, 0), ("07", 12, "receivable", 11800, -11800)]
    assert got[2][8] == "PAGADA"  # the note carries no balance of its own, as one added by hand
    assert str(got[1][6])[:10] == "2026-05-03"  # PLE: no due date means due on issue
    invoice_501 = rows(company.url, "SELECT id FROM invoice WHERE numero = 501")[0][0]
    assert got[2][7] == invoice_501
    names = rows(company.url, "SELECT name FROM party WHERE doc_number = :r", r=RUC_A)
    assert names == [("SUPERINTENDENCIA NACIONAL DE ADUANAS Y DE ADMINISTRACIÓN TRIBUTARIA",)]


def test_ple_short_line_is_an_error(company, tmp_path):
    path = tmp_path / f"LE{RUC_C}20260500140100001111.txt"
    path.write_text("20260500|M1|M1|02/05/2026|01/06/2026|01|F001|1|\n", encoding="latin-1")
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 3
    assert "row 1: has 9 fields; the register needs at least 26" in result.stderr
    assert count(company.url) == 0


def test_short_row_is_an_error_with_its_row_number_and_nothing_is_imported(company, tmp_path):
    path = write(tmp_path / "corto.csv", (
        "tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total\n"
        f"cxc,{RUC_A},SUNAT,F001,1,2026-05-01,2026-06-01,100.00\n"
        f"cxc,{RUC_A},SUNAT,F001,2,2026-05-01\n"
        f"cxc,{RUC_A},SUNAT,F001,3,2026-05-01,2026-06-01,100.00\n"
    ))
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 3
    assert "row 3: short row: 6 fields, the header has 8" in result.stderr
    assert "nothing was imported" in result.stderr
    assert result.stderr.count("error:") == 1
    assert count(company.url) == 0 and count(company.url, "party") == 0


AMBIGUOUS = (
    "tipo;ruc;razon_social;serie;numero;fecha_emision;fecha_vencimiento;total\n"
    f"cxc;{RUC_A};SUNAT;F001;1;03/04/2026;05/06/2026;100.00\n"
    f"cxc;{RUC_A};SUNAT;F001;2;01/02/2026;02/03/2026;100.00\n"
)


def test_ambiguous_day_month_dates_need_date_format(company, tmp_path):
    path = write(tmp_path / "fechas.csv", AMBIGUOUS)
    refused = company.run("import", str(path), role="contador")
    assert refused.exit_code == 3
    assert "ambiguous dates" in refused.stderr and "--date-format" in refused.stderr
    assert count(company.url) == 0
    ok = company.run("import", str(path), "--date-format", "DD/MM/YYYY", role="contador")
    assert ok.exit_code == 0, ok.output
    assert [str(r[0])[:10] for r in rows(company.url, "SELECT issue_date FROM invoice ORDER BY numero")] == ["2026-04-03", "2026-02-01"]


def test_month_first_dates_when_told(company, tmp_path):
    path = write(tmp_path / "fechas.csv", AMBIGUOUS)
    ok = company.run("import", str(path), "--date-format", "MM/DD/YYYY", role="contador")
    assert ok.exit_code == 0, ok.output
    assert [str(r[0])[:10] for r in rows(company.url, "SELECT issue_date FROM invoice ORDER BY numero")] == ["2026-03-04", "2026-01-02"]


def test_day_first_and_month_first_in_one_file_is_refused(company, tmp_path):
    path = write(tmp_path / "mezcla.csv", (
        "tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total\n"
        f"cxc,{RUC_A},SUNAT,F001,1,25/03/2026,30/04/2026,100.00\n"
        f"cxc,{RUC_A},SUNAT,F001,2,03/25/2026,04/30/2026,100.00\n"
    ))
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 3
    assert "dates disagree: row 2 has 25/03/2026 (DD/MM/YYYY) but row 3 has 03/25/2026 (MM/DD/YYYY)" in result.stderr
    assert count(company.url) == 0


def test_unambiguous_day_first_file_is_read_day_first(company, tmp_path):
    path = write(tmp_path / "dmy.csv", (
        "tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total\n"
        f"cxc,{RUC_A},SUNAT,F001,1,03/04/2026,05/06/2026,100.00\n"
        f"cxc,{RUC_A},SUNAT,F001,2,25/03/2026,30/04/2026,100.00\n"
    ))
    assert company.run("import", str(path), role="contador").exit_code == 0
    assert str(rows(company.url, "SELECT issue_date FROM invoice WHERE numero = 1")[0][0])[:10] == "2026-04-03"


# --- validation messages -----------------------------------------------------------------------


def test_missing_required_column_lists_found_and_expected(company, tmp_path):
    path = write(tmp_path / "sin-fecha.csv", f"ruc,serie,numero,total\n{RUC_A},F001,1,100.00\n")
    result = company.run("import", str(path), "--kind", "cxc", role="contador")
    assert result.exit_code == 3
    assert "missing required column(s): fecha_emision" in result.stderr
    assert "fecha_vencimiento" in result.stderr
    assert "Found: ruc, serie, numero, total" in result.stderr


def test_every_error_names_row_column_and_value_and_errors_file_has_them_all(company, tmp_path):
    path = write(tmp_path / "malos.csv", (
        "tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total\n"
        f"cxc,20123456789,Ficticia,F001,1,2026-05-01,2026-06-01,100.00\n"
        f"cxc,{RUC_A},SUNAT,X1,2,2026-05-01,2026-06-01,100.00\n"
        f"cxc,{RUC_A},SUNAT,F001,3,2026-13-01,2026-06-01,100.00\n"
        f"cxc,{RUC_A},SUNAT,F001,4,2026-05-01,2026-06-01,1.234\n"
        f"cxc,{RUC_A},SUNAT,F001,5,2026-05-01,2026-04-01,100.00\n"
        f"cxc,{RUC_A},SUNAT,F001,6,2026-05-01,2026-06-01,-100.00\n"
        f"xx,{RUC_A},SUNAT,F001,7,2026-05-01,2026-06-01,100.00\n"
        f"cxc,{RUC_A},SUNAT,F001,8,,2026-06-01,100.00\n"
        f"cxc,{RUC_A},SUNAT,F001,9,2026-05-01,2026-06-01,100.00\n"
    ))
    errors = tmp_path / "errores.csv"
    result = company.run("import", str(path), "--errors", str(errors), role="contador")
    assert result.exit_code == 3
    assert "8 row error(s)" in result.stderr
    assert "row 2, column ruc, value '20123456789': check digit should be" in result.stderr
    with errors.open(encoding="utf-8-sig") as handle:
        listed = list(csv.DictReader(handle))
    assert [r["row"] for r in listed] == ["2", "3", "4", "5", "6", "7", "8", "9"]
    assert [r["column"] for r in listed] == ["ruc", "serie", "fecha_emision", "total", "fecha_vencimiento", "total", "tipo",
                                             "fecha_emision"]
    assert listed[3]["value"] == "1.234" and "decimals" in listed[3]["message"]
    assert "nota de crédito" in listed[5]["message"]
    assert "empty" in listed[7]["message"]
    assert count(company.url) == 0


def test_unknown_party_without_a_name_is_an_error(company, tmp_path):
    path = write(tmp_path / "sin-nombre.csv", (
        "tipo,ruc,serie,numero,fecha_emision,fecha_vencimiento,total\n"
        f"cxc,{RUC_A},F001,1,2026-05-01,2026-06-01,100.00\n"
    ))
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 3
    assert f"{RUC_A} is not a known client and the file gives no name" in result.stderr


def test_known_party_needs_no_name_column(company, tmp_path):
    with open_session(company.url, write=True) as s:
        make_party(s, ruc=RUC_A, name="YA REGISTRADO S.A.")
    path = write(tmp_path / "ok.csv", (
        "tipo,ruc,serie,numero,fecha_emision,fecha_vencimiento,total\n"
        f"cxc,{RUC_A},F001,1,2026-05-01,2026-06-01,100.00\n"
    ))
    assert company.run("import", str(path), role="contador").exit_code == 0
    assert count(company.url, "party") == 1


def test_usd_row_without_rate_uses_the_recorded_selling_rate(company, tmp_path):
    with open_session(company.url, write=True) as s:
        s.execute(text("INSERT INTO exchange_rate (rate_date, currency, sell_e4, source, created_at) "
                       "VALUES ('2026-05-29', 'USD', 37390, 'manual', '2026-05-29 00:00:00')"))
    path = write(tmp_path / "usd.csv", (
        "tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,moneda,total\n"
        f"cxc,{RUC_A},SUNAT,F001,1,2026-06-01,2026-07-01,USD,500.00\n"
        f"cxc,{RUC_A},SUNAT,F001,2,2026-05-01,2026-07-01,USD,500.00\n"
    ))
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 3
    assert "row 3" in result.stderr and "no USD exchange rate on or before 2026-05-01" in result.stderr
    path.write_text(path.read_text().splitlines()[0] + "\n" + path.read_text().splitlines()[1] + "\n")
    assert company.run("import", str(path), role="contador").exit_code == 0
    assert rows(company.url, "SELECT exchange_rate_e4 FROM invoice") == [(37390,)]


def test_mapping_file_names_unusual_columns(company, tmp_path):
    path = write(tmp_path / "raro.csv", (
        "Cod Cli|Cliente|Doc|F. Doc|F. Pago|Neto|Imp|Bruto\n"
        f"{RUC_A}|SUNAT|F001-000045|2026-05-01|2026-06-01|100.00|18.00|118.00\n"
    ))
    mapping = write(tmp_path / "mapa.toml", (
        '[columns]\nparty_doc = "Cod Cli"\nparty_name = "Cliente"\ndocument = "Doc"\nissue_date = "F. Doc"\n'
        'due_date = "F. Pago"\nbase = "Neto"\nigv = "Imp"\ntotal = "Bruto"\n\n[options]\nkind = "cxc"\n'
    ))
    result = company.run("import", str(path), "--mapping", str(mapping), role="contador")
    assert result.exit_code == 0, result.output
    assert rows(company.url, "SELECT serie, numero, base_cents, igv_cents, total_cents FROM invoice") == [("F001", 45, 10000, 1800, 11800)]


# --- atomic, partial, idempotent ---------------------------------------------------------------

GOOD_AND_BAD = (
    "tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total\n"
    f"cxc,{RUC_A},SUNAT,F001,1,2026-05-01,2026-06-01,100.00\n"
    f"cxc,{RUC_A},SUNAT,F001,2,2026-05-01,2026-06-01,abc\n"
    f"cxc,{RUC_B},OTRA S.A.,F001,3,2026-05-01,2026-07-01,250.00\n"
)


def test_partial_imports_valid_rows_and_writes_rejected_rows_as_they_were(company, tmp_path):
    path = write(tmp_path / "mixto.csv", GOOD_AND_BAD)
    errors = tmp_path / "rechazadas.csv"
    result = company.run("import", str(path), "--partial", "--errors", str(errors), role="contador")
    assert result.exit_code == 0, result.output
    assert "imported 2 new" in result.stderr and "1 rejected" in result.stderr
    assert count(company.url) == 2
    with errors.open(encoding="utf-8-sig") as handle:
        saved = list(csv.reader(handle))
    assert saved[0] == ["tipo", "ruc", "razon_social", "serie", "numero", "fecha_emision", "fecha_vencimiento", "total", "error"]
    assert saved[1][:8] == ["cxc", RUC_A, "SUNAT", "F001", "2", "2026-05-01", "2026-06-01", "abc"]
    assert "row 3, column total, value 'abc'" in saved[1][8]
    # fix the rejected row in place and import the errors file itself
    errors.write_text(errors.read_text(encoding="utf-8-sig").replace(",abc,", ",150.00,"), encoding="utf-8")
    again = company.run("import", str(errors), role="contador")
    assert again.exit_code == 0, again.output
    assert count(company.url) == 3


def test_partial_needs_errors_file(company, tmp_path):
    path = write(tmp_path / "mixto.csv", GOOD_AND_BAD)
    result = company.run("import", str(path), "--partial", role="contador")
    assert result.exit_code == 2
    assert "--partial needs --errors FILE" in result.stderr


def test_second_import_adds_nothing_and_says_so(company, tmp_path):
    path = write(tmp_path / "ok.csv", GOOD_AND_BAD.replace(",abc", ",100.00"))
    first = company.run("import", str(path), role="contador")
    assert first.exit_code == 0 and "imported 3 new" in first.stderr
    before = rows(company.url, "SELECT id, updated_at FROM invoice ORDER BY id")
    second = company.run("import", str(path), "--json", role="contador")
    assert second.exit_code == 0
    assert "nothing new, the file was already imported" in second.stderr
    assert second.json()["skipped"] == 3 and second.json()["new"] == 0
    assert rows(company.url, "SELECT id, updated_at FROM invoice ORDER BY id") == before
    audit = rows(company.url, "SELECT action, username, after FROM audit_log WHERE entity = 'import' ORDER BY id")
    assert [a[0] for a in audit] == ["import", "import"] and audit[0][1] == "contador"
    record = json.loads(audit[0][2])
    assert record["file"] == "ok.csv" and len(record["sha256"]) == 64 and record["new"] == 3


def test_repeated_document_in_one_file_is_an_error(company, tmp_path):
    path = write(tmp_path / "doble.csv", (
        "tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total\n"
        f"cxc,{RUC_A},SUNAT,F001,7,2026-05-01,2026-06-01,100.00\n"
        f"cxc,{RUC_A},SUNAT,F001,0000007,2026-05-01,2026-06-01,100.00\n"
    ))
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 3
    assert "row 3" in result.stderr and "F001-7 of 20131312955 appears more than once" in result.stderr
    assert count(company.url) == 0


def test_on_duplicate_update_and_error(company, tmp_path):
    with open_session(company.url, write=True) as s:
        party = make_party(s, ruc=RUC_A, name="SUNAT")
        make_invoice(s, party, serie="F001", numero=1, total="100.00", issued=date(2026, 5, 1), due=date(2026, 6, 1),
                     paid="50.00")
    path = write(tmp_path / "cambio.csv", (
        "tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total\n"
        f"cxc,{RUC_A},SUNAT,F001,1,2026-05-01,2026-07-01,40.00\n"
        f"cxc,{RUC_A},SUNAT,F001,2,2026-05-01,2026-07-01,10.00\n"
    ))
    refused = company.run("import", str(path), "--on-duplicate", "error", role="contador")
    assert refused.exit_code == 3
    assert "row 2" in refused.stderr and "already exists (--on-duplicate error)" in refused.stderr
    assert count(company.url) == 1
    # updating stored invoices is editing them: invoices.edit, which a contador lacks
    denied = company.run("import", str(path), "--on-duplicate", "update", role="contador")
    assert denied.exit_code == 5 and "invoices.edit" in denied.stderr
    # 50.00 already paid: a total of 40.00 is refused as `invoices edit` refuses it
    below = company.run("import", str(path), "--on-duplicate", "update", role="administrador")
    assert below.exit_code == 3 and "row 2, column total" in below.stderr and "already exceed" in below.stderr
    assert count(company.url) == 1
    write(path, path.read_text().replace(",40.00", ",50.00"))
    updated = company.run("import", str(path), "--on-duplicate", "update", "--json", role="administrador")
    assert updated.exit_code == 0, updated.output
    assert updated.json()["updated"] == 1 and updated.json()["new"] == 1
    # 50.00 already paid on a total now 50.00: PAGADA, recomputed with the one status rule
    assert rows(company.url, "SELECT total_cents, paid_cents, status FROM invoice WHERE numero = 1") == [(5000, 5000, "PAGADA")]
    unchanged = company.run("import", str(path), "--on-duplicate", "update", "--json", role="administrador")
    assert unchanged.json()["updated"] == 0 and unchanged.json()["skipped"] == 2


def test_dry_run_counts_and_writes_nothing(company, tmp_path):
    path = write(tmp_path / "ok.csv", GOOD_AND_BAD.replace(",abc", ",100.00"))
    result = company.run("import", str(path), "--dry-run", "--json", role="contador")
    assert result.exit_code == 0, result.output
    assert result.json()["new"] == 3 and result.json()["committed"] is False
    assert "dry run: nothing written" in result.stderr
    assert count(company.url) == 0 and count(company.url, "party") == 0


def test_manager_may_not_import(company, tmp_path):
    path = write(tmp_path / "ok.csv", GOOD_AND_BAD.replace(",abc", ",100.00"))
    result = company.run("import", str(path), role="gerente")
    assert result.exit_code == 5
    assert "invoices.create" in result.stderr
    assert count(company.url) == 0


def test_not_an_xlsx(company, tmp_path):
    path = write(tmp_path / "falso.xlsx", "tipo,ruc\n")
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 3
    assert "not an .xlsx workbook" in result.stderr


def test_zip_bomb_is_refused_before_reading(company, tmp_path):
    import zipfile

    path = tmp_path / "bomba.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (60 * 1024 * 1024))
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 3
    assert "zip bomb" in result.stderr


def test_benchmark_generator_csv_is_accepted(company, tmp_path):
    """benchmarks/generate.py's CSV (Spanish headers) imports as it is."""
    from benchmarks.generate import Dataset, write_csv

    path = write_csv(tmp_path / "bench.csv", Dataset(300))
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 0, result.output
    assert count(company.url) == 300


def test_party_documents_are_checked(company, tmp_path):
    dni = "46027897"
    path = write(tmp_path / "dni.csv", (
        "tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total,tipo_comprobante\n"
        f"cxc,{dni},JUAN PEREZ,B001,1,2026-05-01,2026-05-01,50.00,03\n"
        f"cxc,{valid_ruc(77, '10')},PERSONA NATURAL,F001,2,2026-05-01,2026-05-01,50.00,01\n"
    ))
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 0, result.output
    assert sorted(rows(company.url, "SELECT doc_type FROM party")) == [("1",), ("6",)]


# --- parties through the parties service: --lookup and validation.strict ----------------------------

ACTIVE = "20999990011"  # offline lookup fixture: ACTIVO / HABIDO
BAJA = "20999990038"  # offline lookup fixture: BAJA DE OFICIO


def test_lookup_names_new_parties_from_the_provider(company, tmp_path):
    path = write(tmp_path / "lookup.csv", (
        "tipo,ruc,serie,numero,fecha_emision,fecha_vencimiento,total\n"
        f"cxc,{ACTIVE},F001,1,2026-05-01,2026-06-01,100.00\n"
    ))
    result = company.run("import", str(path), "--lookup", role="contador")
    assert result.exit_code == 0, result.output
    assert rows(company.url, "SELECT source, sunat_estado FROM party") == [("provider", "ACTIVO")]


def test_strict_mode_refuses_rows_of_an_inactive_ruc(company, tmp_path):
    assert company.run("settings", "set", "validation.strict", "true").exit_code == 0
    path = write(tmp_path / "strict.csv", (
        "tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total\n"
        f"cxc,{ACTIVE},ACTIVA S.A.,F001,1,2026-05-01,2026-06-01,100.00\n"
        f"cxc,{BAJA},DE BAJA S.A.,F001,2,2026-05-01,2026-06-01,100.00\n"
    ))
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 3
    assert f"row 3, column ruc, value '{BAJA}': validation.strict is on" in result.stderr
    assert "BAJA DE OFICIO" in result.stderr
    assert count(company.url) == 0 and count(company.url, "party") == 0


def test_format_ple_for_a_register_named_otherwise(company, tmp_path):
    line = ple_line({1: "20260500", 2: "M1", 3: "M1", 4: "02/05/2026", 5: "01/06/2026", 6: "01", 7: "F001", 8: "9",
                     10: "6", 11: RUC_A, 12: "SUNAT", 14: "100.00", 16: "18.00", 25: "118.00", 26: "PEN", 27: "1.000",
                     35: "1"})
    path = write(tmp_path / "ventas-mayo.txt", line + "\n", "latin-1")
    result = company.run("import", str(path), "--format", "ple", "--kind", "cxc", "--json", role="contador")
    assert result.exit_code == 0, result.output
    assert result.json()["format"] == "ple" and result.json()["new"] == 1
