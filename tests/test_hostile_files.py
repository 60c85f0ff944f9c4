"""Input files and options that crashed or misled the importer: a tiny workbook whose one cell
at XFD1048576 made calamine ask for 512 GiB (SIGABRT), options that ended in exit 1, NULs from
UTF-16 files, a mapping `true` taken as column 1, empty registers, rows wider than their
header, duplicate headers, and "Tipo Doc" read as the identity document's type.

The rule: a clear one-line `error:` with exit 2 (an option) or 3 (the file), nothing written,
no traceback; and a file that can be read is read right.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text

from cuentas_cli.db.engine import open_session
from cuentas_cli.imports.sources import xlsx, xlsx_sheet
from tests.reliability import cli_env, counts, cuentas_argv, figure

RUC_A = "20131312955"  # SUNAT
RUC_B = "20512333797"
RUC_C = "20100070970"
HEADER = "tipo,ruc,razon_social,tipo_comprobante,serie,numero,fecha_emision,fecha_vencimiento,moneda,total,descripcion"
ROW = f"cxc,{RUC_A},SUNAT,01,F001,{{n}},2026-05-01,2026-06-01,PEN,118.00,{{desc}}"


def rows(url: str, sql: str) -> list[tuple]:
    with open_session(url) as s:
        return [tuple(r) for r in s.execute(text(sql))]


def write(path: Path, content: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(content.encode(encoding))
    return path


def one_error(result, code: int) -> str:  # noqa: ANN001
    """The run failed with `code` and one `error:` line, no traceback; returns that line."""
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output and "\x00" not in result.output
    return lines[0]


# --- workbooks bounded before calamine allocates ----------------------------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         'Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
             'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
             '<sheet name="Ventas" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships '
                  'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
                  'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                  'Target="worksheets/sheet1.xml"/></Relationships>')
_HEADERS = ("tipo", "ruc", "razon_social", "serie", "numero", "fecha_emision", "fecha_vencimiento", "total")


def _cell(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def tiny_workbook(path: Path, far: str | None, *, dimension: str | None = None, numbered_rows: bool = True,
                  far_row_attrs: str = "") -> Path:
    """A minimal workbook written by hand: a header in row 1, one valid invoice in row 2 and,
    with `far`, one more value at that cell (e.g. XFD1048576)."""
    def row(number: int, cells: str) -> str:
        return f'<row r="{number}"{far_row_attrs if number > 2 else ""}>{cells}</row>' if numbered_rows else f"<row>{cells}</row>"

    letters = "ABCDEFGH"
    values = ("cxc", RUC_A, "SUNAT", "F001", "1", "2026-05-01", "2026-06-01", "118.00")
    body = row(1, "".join(_cell(f"{c}1", h) for c, h in zip(letters, _HEADERS)))
    body += row(2, "".join(_cell(f"{c}2", v) for c, v in zip(letters, values)))
    if far:
        body += row(int("".join(ch for ch in far if ch.isdigit())), _cell(far, "x"))
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f"{dim}<sheetData>{body}</sheetData></worksheet>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return path


def _import_subprocess(company, path: Path, *extra: str) -> subprocess.CompletedProcess:  # noqa: ANN001
    """`cuentas import` in its own process: an abort in calamine shows as exit 134, not a test crash."""
    env = cli_env(company.url, company.tokens["contador"])
    return subprocess.run(cuentas_argv("import", str(path), *extra), env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("far", ["XFD1048576", "XFD50000"])
def test_a_tiny_workbook_with_a_far_cell_is_refused_not_a_crash(company, tmp_path, far):
    path = tiny_workbook(tmp_path / "lejos.xlsx", far)
    assert path.stat().st_size < 2048  # the 1.6 KB file that asked calamine for 512 GiB
    before = counts(company.url)
    proc = _import_subprocess(company, path)
    assert proc.returncode == 3, (proc.returncode, proc.stderr[-2000:])
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr and "panicked" not in proc.stderr
    assert f"cell {far}" in errors[0] and "column 16,384" in errors[0]
    assert counts(company.url) == before
    figure("xlsx_far_cell", cell=far, bytes=path.stat().st_size, exit=proc.returncode)


@pytest.mark.parametrize("whole", [False, True], ids=["segments", "whole-sheet"])
@pytest.mark.parametrize("far, message", [
    ("XFD1048576", "cell XFD1048576 holds a value in column 16,384"),
    ("GR1048576", "its cells run from A1 to GR1048576, 1,048,576 rows x 200 columns"),
    ("A1048577", "cell A1048577 is beyond Excel's last row"),
])
def test_reader_refuses_what_calamine_would_allocate_too_big(tmp_path, monkeypatch, far, message, whole):
    """The same limits on both paths: the sheet cut into segments, and the sheet read whole
    (as it is when it cannot be cut, or calamine refused a segment)."""
    path = tiny_workbook(tmp_path / "lejos.xlsx", far)
    if whole:
        def cannot_cut(self):  # noqa: ANN001, ANN202
            raise xlsx_sheet._CannotCut("read whole")
            yield  # a generator, as segments() is

        monkeypatch.setattr(xlsx_sheet._SheetReader, "segments", cannot_cut)
    with pytest.raises(xlsx.ValidationError) as caught:
        source = xlsx.open_xlsx(path, sheet=None, known=lambda h: h in _HEADERS)
        try:
            for _ in source.rows():
                pass
        finally:
            source.close()
    assert message in str(caught.value)


def test_a_far_cell_within_the_limits_is_read(tmp_path):
    """A value at A1048576 under an 8-column header: 8M cells, within the limit; it is read."""
    path = tiny_workbook(tmp_path / "abajo.xlsx", "A1048576")
    source = xlsx.open_xlsx(path, sheet=None, known=lambda h: h in _HEADERS)
    try:
        got = [(n, cells[0]) for n, cells in source.rows() if any(c not in ("", None) for c in cells)]
    finally:
        source.close()
    assert got == [(2, "cxc"), (1048576, "x")]


def test_dimension_beyond_excel_grid_is_refused_and_a_formatted_width_is_not(tmp_path):
    bad = tiny_workbook(tmp_path / "dim.xlsx", None, dimension="A1:XFE5")
    with pytest.raises(xlsx.ValidationError, match="declares its size as A1:XFE5"):
        xlsx.open_xlsx(bad, sheet=None, known=lambda h: h in _HEADERS)
    # LibreOffice declares A1:AMJ<n> for rows formatted across; calamine does not allocate from it
    fine = tiny_workbook(tmp_path / "lo.xlsx", None, dimension="A1:AMJ1048576")
    source = xlsx.open_xlsx(fine, sheet=None, known=lambda h: h in _HEADERS)
    try:
        assert [n for n, _ in source.rows()] == [2]
    finally:
        source.close()


def test_empty_far_cells_are_not_counted(tmp_path):
    """`<c r="XFD9" s="1"/>` (formatting, no value) allocates nothing in calamine: not refused."""
    path = tiny_workbook(tmp_path / "formato.xlsx", None)
    with zipfile.ZipFile(path) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b"</sheetData>", b'<row r="9"><c r="XFD9" s="0"/></row></sheetData>')
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    source = xlsx.open_xlsx(path, sheet=None, known=lambda h: h in _HEADERS)
    try:
        assert [n for n, cells in source.rows() if any(c not in ("", None) for c in cells)] == [2]
    finally:
        source.close()


# --- options and files that ended in exit 1 --------------------------------------------------


@pytest.mark.parametrize("args, code, needle", [
    (("--encoding", "rot13"), 2, "not a text encoding"),
    (("--encoding", "base64"), 2, "not a text encoding"),
    (("--encoding", "no-such-codec"), 2, "not an encoding Python knows"),
    (("--delimiter", "ab"), 2, "give one character"),
    (("--delimiter", '"'), 2, "give one character"),
    (("--mapping", "{tmp}"), 2, "is a directory"),
], ids=["rot13", "base64", "unknown-encoding", "two-char-delimiter", "quote-delimiter", "mapping-dir"])
def test_bad_options_exit_2(company, tmp_path, args, code, needle):
    path = write(tmp_path / "ok.csv", HEADER + "\n" + ROW.format(n=1, desc="x") + "\n")
    args = tuple(a.format(tmp=tmp_path) for a in args)
    line = one_error(company.run("import", str(path), *args, role="contador"), code)
    assert needle in line
    assert rows(company.url, "SELECT COUNT(*) FROM invoice") == [(0,)]


def test_named_delimiter_is_accepted(company, tmp_path):
    path = write(tmp_path / "tab.csv", (HEADER + "\n" + ROW.format(n=1, desc="x") + "\n").replace(",", "\t"))
    result = company.run("import", str(path), "--delimiter", "tab", role="contador")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("case, code, needle", [
    ("name-too-long", 2, "the name is too long"),
    ("proc-missing", 2, "no file"),
    ("folder", 3, "is a folder"),
    ("device", 3, "not a regular file"),
])
def test_unusable_file_paths(company, tmp_path, case, code, needle):
    path = {"name-too-long": tmp_path / ("x" * 300 + ".csv"), "proc-missing": Path("/proc/x.csv"),
            "folder": tmp_path, "device": Path("/dev/null")}[case]
    assert needle in one_error(company.run("import", str(path), role="contador"), code)


def test_mapping_value_true_is_not_column_one(company, tmp_path):
    path = write(tmp_path / "ok.csv", HEADER + "\n" + ROW.format(n=1, desc="x") + "\n")
    mapping = write(tmp_path / "map.toml", "[columns]\nparty_doc = true\n")
    line = one_error(company.run("import", str(path), "--mapping", str(mapping), role="contador"), 3)
    assert "party_doc = True" in line and "column's header as text" in line


# --- NUL characters, wide encodings, empty files, wide rows, duplicate headers ------------------


def test_nul_in_a_description_is_refused_alike_on_both_backends(company, tmp_path):
    """PostgreSQL cannot store a NUL in text (a DataError at COPY) and SQLite would: the reader
    refuses the file on both, naming the line, before anything is written."""
    content = HEADER + "\n" + ROW.format(n=1, desc="bien") + "\n" + ROW.format(n=2, desc="ma\x00l") + "\n"
    path = write(tmp_path / "nul.csv", content)
    before = counts(company.url)
    line = one_error(company.run("import", str(path), role="contador"), 3)
    assert "line 3 has a NUL character" in line and "--encoding utf-16" in line
    partial = company.run("import", str(path), "--partial", "--errors", str(tmp_path / "errores.csv"), role="contador")
    assert "line 3 has a NUL character" in one_error(partial, 3)
    assert counts(company.url) == before


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32", "utf-16"])
def test_utf16_and_utf32_files_are_read_without_nuls(company, tmp_path, encoding):
    content = HEADER + "\r\n" + ROW.format(n=1, desc="Añil") + "\r\n"
    path = write(tmp_path / "ancho.csv", content, encoding)
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 0, result.output
    assert rows(company.url, "SELECT description FROM invoice") == [("Añil",)]


def test_utf16_file_missing_a_column_shows_no_nuls(company, tmp_path):
    path = write(tmp_path / "falta.csv", "ruc;serie\r\n" + f"{RUC_A};F001\r\n", "utf-16-le")
    line = one_error(company.run("import", str(path), role="contador"), 3)
    assert "Found: ruc, serie" in line


def test_empty_ple_and_empty_csv_both_exit_3(company, tmp_path):
    ple = tmp_path / f"LE{RUC_C}20260500140100001111.txt"
    ple.write_bytes(b"\r\n  \r\n")
    assert "no rows" in one_error(company.run("import", str(ple), role="contador"), 3)
    empty = write(tmp_path / "vacio.csv", "\n")
    assert "no rows" in one_error(company.run("import", str(empty), role="contador"), 3)


def test_nul_in_a_ple_line_is_refused(company, tmp_path):
    fields = {1: "20260500", 2: "M1", 3: "M1", 4: "02/05/2026", 5: "01/06/2026", 6: "01", 7: "F001", 8: "501", 10: "6",
              11: RUC_A, 12: "SUN\x00AT", 14: "1000.00", 16: "180.00", 25: "1180.00", 26: "PEN", 27: "1.000", 35: "1"}
    values = [""] * 36
    for pos, value in fields.items():
        values[pos - 1] = value
    ple = tmp_path / f"LE{RUC_C}20260500140100001111.txt"
    ple.write_bytes(("|".join(values) + "|\r\n").encode("latin-1"))
    assert "line 1 has a NUL character" in one_error(company.run("import", str(ple), role="contador"), 3)


def test_a_row_wider_than_its_header_is_a_row_error(company, tmp_path):
    """1,180.50 unquoted in a comma CSV splits the total in two: refused, not imported as 1."""
    content = (HEADER + "\n" + ROW.format(n=1, desc="ok") + "\n"
               + f"cxc,{RUC_A},SUNAT,01,F001,2,2026-05-01,2026-06-01,PEN,1,180.50,servicio\n"
               + ROW.format(n=3, desc="ok") + ",,\n")  # empty trailing fields are fine
    path = write(tmp_path / "ancho.csv", content)
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 3, result.output
    assert "row 3" in result.stderr and "12 fields but the header has 11 columns" in result.stderr
    assert "row 4" not in result.stderr
    assert rows(company.url, "SELECT COUNT(*) FROM invoice") == [(0,)]


def test_duplicate_header_naming_a_field_is_refused(company, tmp_path):
    content = ("tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total,Total\n"
               f"cxc,{RUC_A},SUNAT,F001,1,2026-05-01,2026-06-01,118.00,236.00\n")
    path = write(tmp_path / "doble.csv", content)
    line = one_error(company.run("import", str(path), role="contador"), 3)
    assert "column 8 ('total') and column 9 ('Total') have the same header" in line and "--mapping" in line
    # a mapping that says which one settles it
    mapping = write(tmp_path / "map.toml", "[columns]\ntotal = 9\n")
    result = company.run("import", str(path), "--mapping", str(mapping), role="contador")
    assert result.exit_code == 0, result.output
    assert rows(company.url, "SELECT total_cents FROM invoice") == [(23600,)]


# --- "Tipo Doc": the column's role from its values and neighbours -------------------------------


def test_tipo_doc_next_to_serie_is_the_comprobante_type(company, tmp_path):
    content = (
        "Fecha;Tipo Doc;Serie;Número;RUC;Razón Social;Vencimiento;Total;Ref Tipo;Ref Serie;Ref Número\r\n"
        f"01/05/2026;01;F001;1;{RUC_A};SUNAT;31/05/2026;118.00;;;\r\n"
        f"02/05/2026;07;F001;2;{RUC_A};SUNAT;01/06/2026;-50.00;01;F001;1\r\n"
    )
    path = write(tmp_path / "registro.csv", content)
    result = company.run("import", str(path), "--kind", "cxc", "--date-format", "DD/MM/YYYY", role="contador")
    assert result.exit_code == 0, result.output
    assert rows(company.url, "SELECT doc_type, numero FROM invoice ORDER BY numero") == [("01", 1), ("07", 2)]


def test_tipo_next_to_the_ruc_with_6_and_1_is_the_identity_type(company, tmp_path):
    content = (
        "tipo_comprobante,serie,numero,Tipo,RUC,razon_social,fecha_emision,fecha_vencimiento,total\n"
        f"01,F001,1,6,{RUC_A},SUNAT,2026-05-01,2026-06-01,118.00\n"
        "03,B001,2,1,46027897,JUAN PEREZ,2026-05-01,2026-06-01,59.00\n"
    )
    path = write(tmp_path / "registro.csv", content)
    result = company.run("import", str(path), "--kind", "cxc", role="contador")
    assert result.exit_code == 0, result.output
    assert rows(company.url, "SELECT p.doc_type, p.doc_number FROM party p ORDER BY p.doc_type") == [
        ("1", "46027897"), ("6", RUC_A)]


def test_tipo_with_cxc_values_is_still_the_kind(company, tmp_path):
    path = write(tmp_path / "ok.csv", HEADER + "\n" + ROW.format(n=1, desc="x") + "\n")
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 0, result.output


def test_a_truly_ambiguous_tipo_names_mapping(company, tmp_path):
    content = (
        "ruc,razon_social,serie,numero,fecha_emision,Tipo,fecha_vencimiento,total\n"
        f"{RUC_A},SUNAT,F001,1,2026-05-01,1,2026-06-01,118.00\n"
        f"{RUC_A},SUNAT,F001,2,2026-05-01,1,2026-06-01,118.00\n"
    )
    path = write(tmp_path / "registro.csv", content)
    line = one_error(company.run("import", str(path), "--kind", "cxc", role="contador"), 3)
    assert "column 6 ('Tipo')" in line and "--mapping" in line
    mapping = write(tmp_path / "map.toml", '[columns]\ndoc_type = "Tipo"\n')
    result = company.run("import", str(path), "--kind", "cxc", "--mapping", str(mapping), role="contador")
    assert result.exit_code == 0, result.output
    assert rows(company.url, "SELECT doc_type FROM invoice ORDER BY numero") == [("01",), ("01",)]


def test_tipo_doc_in_a_workbook_is_resolved_from_the_parsed_rows(company, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Fecha Emisión", "Fecha Vencimiento", "Tipo Doc", "Serie", "Número", "RUC", "Razón Social", "Total"])
    ws.append(["2026-05-01", "2026-06-01", "01", "F001", 1, RUC_A, "SUNAT", 118])
    ws.append(["2026-05-02", "2026-06-02", "03", "B001", 2, RUC_A, "SUNAT", 20])
    path = tmp_path / "registro.xlsx"
    wb.save(path)
    result = company.run("import", str(path), "--kind", "cxc", role="contador")
    assert result.exit_code == 0, result.output
    assert rows(company.url, "SELECT doc_type FROM invoice ORDER BY numero") == [("01",), ("03",)]


@pytest.mark.parametrize("spelling", ['r = "{ref}"', "r='{ref}'", 'r\n=\t"{ref}"', 'r="{lower}"', 's="0" r="{ref}"'],
                         ids=["spaces", "apostrophes", "newline-tab", "lower-case", "r-not-first"])
def test_a_far_reference_written_otherwise_is_refused_too(tmp_path, spelling):
    """calamine reads all of these as XFD1048576: so does the check."""
    path = tiny_workbook(tmp_path / "otra.xlsx", None)
    with zipfile.ZipFile(path) as archive:
        parts = {n: archive.read(n) for n in archive.namelist()}
    cell = f'<c {spelling.format(ref="XFD1048576", lower="xfd1048576")} t="inlineStr"><is><t>x</t></is></c>'
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b"</sheetData>", b'<row r="1048576">' + cell.encode() + b"</row></sheetData>")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    with pytest.raises(xlsx.ValidationError, match="column 16,384"):
        source = xlsx.open_xlsx(path, sheet=None, known=lambda h: h in _HEADERS)
        try:
            for _ in source.rows():
                pass
        finally:
            source.close()


def test_a_sheet_read_whole_is_bounded_across_its_chunks():
    """A value at GR1 in one chunk and one at A1048576 in a later chunk make a 200 x 1,048,576
    rectangle for calamine: refused, as it is when both sit in one chunk."""
    from types import SimpleNamespace

    from cuentas_cli.errors import ValidationError as Refused
    from cuentas_cli.imports.sources import xlsx_sheet as r

    sheet = SimpleNamespace(archive=SimpleNamespace(path=Path("ataque.xlsx")), name="Hoja1")
    chunks = [b'<sheetData><row r="1"><c r="GR1"><v>1</v></c></row>',
              b'<row r="1048576"><c r="A1048576"><v>1</v></c></row></sheetData>']
    with pytest.raises(Refused):
        r._SheetReader._bound_whole(sheet, iter(chunks))
    r._SheetReader._bound_whole(sheet, iter([b'<sheetData><row r="1"><c r="GR1"><v>1</v></c></row>',
                                             b'<row r="900"><c r="A900"><v>1</v></c></row></sheetData>']))


def test_an_ambiguous_header_with_nothing_to_go_by_asks_for_a_mapping(company, tmp_path):
    """'Tipo de Doc' with empty or unknown values crashed with a KeyError."""
    path = tmp_path / "d.csv"
    path.write_text("ruc,razon social,tipo de doc,serie,numero,fecha emision,fecha vencimiento,moneda,total\n"
                    "20131312955,SUNAT,XX,F001,1,2026-05-25,2026-06-24,PEN,100.00\n", encoding="utf-8")
    result = company.run("import", str(path), "--kind", "cxc", "--dry-run", role="contador")
    assert result.exit_code == 3, result.output
    assert "--mapping" in result.stderr and "Traceback" not in result.output and "unexpected" not in result.output


def test_a_bounded_second_read_leaves_the_progress_on_the_import(tmp_path):
    """Sampling the first rows again (an ambiguous header, the decimal mark) opened a second
    handle that replaced the import's: the progress bar read 0 for the rest of the file."""
    from cuentas_cli.imports.sources import delimited as r

    path = tmp_path / "v.csv"
    path.write_text("ruc;serie;numero;total\n" + "".join(f"20131312955;F001;{n};10,00\n" for n in range(1, 2001)))
    source = r.open_csv(path, encoding=None, known=lambda h: True)
    main = source.rows()
    for _ in range(1500):
        next(main)
    sample = source.rows()
    for _ in range(10):
        next(sample)
    sample.close()
    assert source.position() > path.stat().st_size // 2
    main.close()
