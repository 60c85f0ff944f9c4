"""The workbook reader cuts a sheet into segments that calamine parses on a background thread
(imports/sources/xlsx.py). Whatever the sheet holds, the rows it gives, and their Excel row
numbers, are those of calamine reading the sheet whole; a sheet it cannot cut safely is read
whole from where the segments stopped."""

from __future__ import annotations

import io
import re
import threading
import time
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cuentas_cli.errors import ValidationError
from cuentas_cli.imports.sources import xlsx, xlsx_sheet
from tests.conftest import fuzz_examples

MAIN_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


@pytest.fixture
def segments(monkeypatch):
    """Segments of about 1.5 KB (a dozen rows) and a count of the segments parsed."""
    parsed: list[tuple[int, int]] = []
    original = xlsx_sheet._SheetReader.parse_segment

    def counting(self, xml, start, end, last):  # noqa: ANN001, ANN202
        parsed.append((start, end))
        return original(self, xml, start, end, last)

    monkeypatch.setattr(xlsx_sheet, "_SEGMENT_MIN", 1500)
    monkeypatch.setattr(xlsx_sheet, "_SEGMENT_MAX", 1500)
    monkeypatch.setattr(xlsx_sheet, "_SHARED_FACTOR", 0)
    monkeypatch.setattr(xlsx_sheet._SheetReader, "parse_segment", counting)
    return parsed


def _nonblank(pairs) -> dict[int, list]:  # noqa: ANN001
    """0-based row -> its cells without the trailing empty ones, for the rows with a value."""
    out = {}
    for k, cells in pairs:
        cells = list(cells)
        while cells and cells[-1] in ("", None):
            cells.pop()
        if cells:
            out[k] = cells
    return out


def read(path: Path, *, whole: bool = False) -> dict[int, list]:
    archive, first = xlsx._prepare(path, None)
    reader = first
    if whole:
        first.close()
        reader = xlsx_sheet._SheetReader(archive, first.name)
        reader.whole = True
    return _nonblank(reader.rows())


def workbook(path: Path, cells: dict[tuple[int, int], object], *, shared_strings: bool = True) -> Path:
    """cells: (row, col) -> value; dates get a date format. xlsxwriter writes shared strings,
    or inline strings in constant_memory mode (which needs the cells in row order)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": not shared_strings})
    ws = wb.add_worksheet("Datos")
    datef = wb.add_format({"num_format": "dd/mm/yyyy"})
    for (r, c), value in sorted(cells.items()):
        if isinstance(value, (date, datetime)):
            ws.write_datetime(r, c, value, datef)
        else:
            ws.write(r, c, value)
    wb.close()
    return path


def rewrite_sheet(path: Path, change) -> Path:  # noqa: ANN001
    """The same workbook with its first worksheet's XML passed through change(bytes) -> bytes."""
    source = zipfile.ZipFile(path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            archive.writestr(info.filename, data)
    path.write_bytes(out.getvalue())
    return path


def ledger(rows: int = 300) -> dict[tuple[int, int], object]:
    """A title, a blank row, a header, then rows of text, numbers and dates, with blank rows
    and rows that start further right, and text that looks like XML."""
    cells: dict[tuple[int, int], object] = {(0, 0): "Cartera al 31/05/2026", (2, 0): "ruc", (2, 1): "razon_social",
                                            (2, 2): "numero", (2, 3): "fecha_emision", (2, 4): "total"}
    for i in range(rows):
        r = 3 + i + i // 50  # a blank row every 50
        if i % 37 == 5:
            cells[(r, 3)] = date(2026, 1, 1 + i % 28)  # a row with cells only from column D
            continue
        cells[(r, 0)] = f"20{i:09d}"
        cells[(r, 1)] = f"EMPRESA <row r=\"{i}\"> & HIJOS {i} S.A.C." if i % 11 == 0 else f"EMPRESA {i} S.A.C."
        cells[(r, 2)] = i + 1
        cells[(r, 3)] = date(2026, 1 + i % 12, 1 + i % 28)
        cells[(r, 4)] = round(100 + i * 1.37, 2)
    return cells


@pytest.mark.parametrize("shared_strings", [True, False], ids=["shared-strings", "inline-strings"])
def test_segments_give_the_rows_of_the_whole_sheet(tmp_path, segments, shared_strings):
    path = workbook(tmp_path / "cartera.xlsx", ledger(), shared_strings=shared_strings)
    got = read(path)
    assert len(segments) >= 10, "the sheet was not cut"
    assert got == read(path, whole=True)
    # and at the positions Excel shows (an independent reader: openpyxl)
    from openpyxl import load_workbook

    sheet = load_workbook(path).active
    expected = {row[0].row - 1 for row in sheet.iter_rows() if any(c.value is not None for c in row)}
    assert set(got) == expected
    assert got[0] == ["Cartera al 31/05/2026"] and got[2][0] == "ruc"
    assert got[3 + 5] == ["", "", "", date(2026, 1, 6)]  # only column D: still at column D
    assert got[3 + 11][1] == 'EMPRESA <row r="11"> & HIJOS 11 S.A.C.'


def test_a_comment_between_rows_makes_the_rest_read_whole(tmp_path, segments):
    path = workbook(tmp_path / "comentario.xlsx", ledger())

    def comment(xml: bytes) -> bytes:
        at = xml.index(b'<row r="200"')
        return xml[:at] + b'<!-- <row r="9999"><c r="A9999"><v>1</v></c></row> -->' + xml[at:]

    rewrite_sheet(path, comment)
    got = read(path)
    assert segments, "segments were read before the comment"
    assert got == read(path, whole=True)
    assert 9998 not in got and 199 in got and max(got) > 199


def test_rows_without_their_numbers_are_read_whole(tmp_path, segments):
    path = rewrite_sheet(workbook(tmp_path / "sin-r.xlsx", ledger()),
                         lambda xml: re.sub(rb'(<row) r="\d+"', rb"\1", xml))
    assert read(path) == read(path, whole=True)
    assert len(segments) <= 1  # at most the first one, before a row without its number


def test_prefixed_element_names_are_cut_too(tmp_path, segments):
    def prefixed(xml: bytes) -> bytes:
        xml = re.sub(rb"<(/?)(?![?!])([A-Za-z])", rb"<\1x:\2", xml)
        return xml.replace(MAIN_NS, MAIN_NS.replace(b"xmlns=", b"xmlns:x="))

    path = rewrite_sheet(workbook(tmp_path / "prefijo.xlsx", ledger()), prefixed)
    got = read(path)
    assert len(segments) >= 10
    assert got == read(path, whole=True) and len(got) > 300


def test_a_sheet_read_twice_and_a_read_stopped_early(tmp_path, segments):
    path = workbook(tmp_path / "dos.xlsx", ledger())
    archive, reader = xlsx._prepare(path, None)
    before = threading.active_count()
    first = _nonblank(reader.rows())
    assert _nonblank(reader.rows()) == first
    rows = reader.rows()
    assert [k for k, _ in zip(range(3), rows)] == [0, 1, 2]
    rows.close()  # the importer stopped reading (an error): the parsing thread ends too
    deadline = time.monotonic() + 10
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before


def test_header_row_numbers_under_blank_rows_and_columns(tmp_path):
    """calamine's own row iteration starts at row 1 in one version and at the range in another
    (python-calamine#177); the reader's numbers are Excel's either way."""
    cells = {(4, 2): "ruc", (4, 3): "total", (5, 2): "20131312955", (5, 3): 10.5, (9, 3): 7.25}
    path = workbook(tmp_path / "abajo.xlsx", cells)
    for whole in (False, True):
        assert read(path, whole=whole) == {4: ["", "", "ruc", "total"], 5: ["", "", "20131312955", 10.5],
                                           9: ["", "", "", 7.25]}


def test_an_entity_declared_in_the_sheet_is_refused_while_reading(tmp_path, segments):
    def doctype(xml: bytes) -> bytes:
        return xml.replace(b"<worksheet", b'<!DOCTYPE w [<!ENTITY e "x">]><worksheet', 1)

    path = rewrite_sheet(workbook(tmp_path / "entidad.xlsx", ledger()), doctype)
    with pytest.raises(ValidationError, match="entities"):
        read(path)


# --- property: any sheet, any segment size ----------------------------------------------------

values = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12),
    st.sampled_from(["<row>", "<row r=\"1\">", "</sheetData>", "&amp;", "<!--", "<?x?>", "]]>", "ñandú"]),
    st.integers(-10**6, 10**6),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
    st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31)),
    st.booleans(),
)


@settings(max_examples=fuzz_examples(100), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.dictionaries(st.tuples(st.integers(0, 400), st.integers(0, 12)), values, min_size=1, max_size=250),
       step=st.integers(64, 4096), shared=st.booleans())
def test_any_sheet_cut_anywhere_reads_as_the_whole_sheet(tmp_path_factory, monkeypatch, cells, step, shared):
    monkeypatch.setattr(xlsx_sheet, "_SEGMENT_MIN", step)
    monkeypatch.setattr(xlsx_sheet, "_SEGMENT_MAX", step)
    monkeypatch.setattr(xlsx_sheet, "_SHARED_FACTOR", 0)
    cells = {k: v for k, v in cells.items() if not (isinstance(v, str) and not v.strip())}
    if not cells:
        return
    path = workbook(tmp_path_factory.mktemp("x") / "hoja.xlsx", cells, shared_strings=shared)
    assert read(path) == read(path, whole=True)


def test_an_import_that_stops_early_leaves_no_reading_thread(company, tmp_path, segments):
    """Refused before its rows are read (a missing column, a role without the permission): the
    workbook's background parse stops with the command."""
    path = workbook(tmp_path / "sin-columnas.xlsx", ledger())
    before = threading.active_count()
    missing = company.run("import", str(path), role="contador")  # no fecha_vencimiento column
    assert missing.exit_code == 3 and "missing required column" in missing.stderr
    refused = company.run("import", str(path), role="gerente")
    assert refused.exit_code == 5
    deadline = time.monotonic() + 10
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= before
    assert not xlsx._PREFETCHED
