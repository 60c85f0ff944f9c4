"""Readers for the files the importer accepts: CSV (any common delimiter and encoding),
XLSX/XLSM, and SUNAT PLE registers (Registro de Ventas 14.1, Registro de Compras 8.1).

Each reader yields `(row_number, cells)` with the row number the user sees in their editor or
in Excel, so every error can name it. Readers stream: a CSV of a million rows is never held in
memory. Nothing here knows about invoices; `importer` maps cells to fields.
"""

from __future__ import annotations

import codecs
import copy
import csv
import io
import itertools
import posixpath
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cuentas_cli.errors import UsageError, ValidationError

DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_BYTES = 256 * 1024
# A CSV record or a PLE line longer than this is refused: lines are read with this cap, so a
# file with a multi-gigabyte line costs no more memory than a normal one.
MAX_LINE_CHARS = 1024**2
# XLSX is a zip of XML, and python-calamine holds a whole sheet in memory: refuse archives that
# inflate beyond these (a "zip bomb", or simply too big for a spreadsheet import; CSV streams).
# The sizes are counted while inflating, not taken from the archive's headers.
MAX_XLSX_UNCOMPRESSED = 256 * 1024**2
MAX_XLSX_RATIO = 250
MAX_XLSX_MEMBERS = 10_000
_XLSX_TOO_BIG = f"more than {MAX_XLSX_UNCOMPRESSED // 1024**2} MiB of XML, the limit for a workbook; export it as CSV to import it"
# Parts are scanned for XML entity declarations (case-insensitive, UTF-8 and UTF-16 spellings).
_XML_DECLARATIONS = tuple(
    word.encode(enc) for word in ("<!doctype", "<!entity") for enc in ("utf-8", "utf-16-le", "utf-16-be")
)
# Parts are inflated in big chunks: the check runs on a thread while the import starts up, and
# each chunk costs a hand-over of the GIL (inflate and CRC release it), so 1 MiB chunks made the
# check of a 60 MiB sheet take 4x longer under that contention than 16 MiB chunks.
_XLSX_CHUNK = 16 * 1024**2

# PLE file name: LE + RUC(11) + year(4) + month(2) + 00 + book(6) + 00 + O I M G + .txt
PLE_NAME = re.compile(r"^LE(\d{11})(\d{4})(\d{2})00(\d{6})00(\d)(\d)(\d)(\d)\.txt$", re.IGNORECASE)
PLE_BOOKS = {"140100": "ventas", "080100": "compras"}

# Field positions (1-based, peru-reference.md) of the PLE registers, as canonical column names
# the importer understands. The reader turns each line into these columns.
_PLE_FIELDS = {
    "ventas": {
        "fecha_emision": 4, "fecha_vencimiento": 5, "tipo_comprobante": 6, "serie": 7, "numero": 8,
        "tipo_doc_identidad": 10, "ruc": 11, "razon_social": 12, "base_imponible": 14, "igv": 16, "total": 25,
        "moneda": 26, "tipo_cambio": 27, "ref_tipo": 29, "ref_serie": 30, "ref_numero": 31, "estado": 35,
    },
    "compras": {
        "fecha_emision": 4, "fecha_vencimiento": 5, "tipo_comprobante": 6, "serie": 7, "numero": 9,
        "tipo_doc_identidad": 11, "ruc": 12, "razon_social": 13, "base_imponible": 14, "igv": 15, "total": 24,
        "moneda": 25, "tipo_cambio": 26, "ref_tipo": 28, "ref_serie": 29, "ref_numero": 31, "estado": 42,
    },
}
PLE_MIN_FIELDS = {"ventas": 26, "compras": 25}


@dataclass
class ShortRow:
    """A line with fewer fields than its format needs; the importer reports it as a row error."""

    found: int
    expected: int
    cells: list[str]

    @property
    def message(self) -> str:
        return f"has {self.found} fields; the register needs at least {self.expected}"


@dataclass
class BadRow(ShortRow):
    """A line the reader cannot give as cells (more values than the header has columns); the
    importer reports `problem` as the row's error."""

    problem: str = ""

    @property
    def message(self) -> str:
        return self.problem


@dataclass
class Source:
    """An opened import file: its header and a re-iterable stream of data rows."""

    path: Path
    format: str  # csv | xlsx | ple
    header: list[str]
    header_row: int
    _rows: Callable[[], Iterator[tuple[int, list[Any]]]]
    size: int = 0  # bytes (csv/ple) or rows (xlsx), for progress
    position: Callable[[], int] = field(default=lambda: 0)
    delimiter: str | None = None
    encoding: str | None = None
    ple_book: str | None = None
    fixed_date_format: str | None = None  # PLE dates are DD/MM/YYYY by definition
    close: Callable[[], None] = field(default=lambda: None)  # stops background reading (XLSX)
    # The first data rows without starting the read over (XLSX: from the parse already made);
    # None: rows() read up to where the caller stops
    peek: Callable[[int], list[tuple[int, list[Any]]]] | None = None

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        return self._rows()


def printable(text: str) -> str:
    """Text from a file as an error message may show it: control characters (a NUL from a
    UTF-16 file read as bytes, an escape sequence) as "?"."""
    return "".join(c if c.isprintable() else "?" for c in text)


def check_input(path: Path) -> None:
    """The file to import exists and is a regular file this process can read (a clear error,
    not an OSError, for a name too long, a folder, a device or a file without permission)."""
    import errno
    import os
    import stat

    try:
        info = path.stat()
    except FileNotFoundError:
        raise UsageError(f"no file {printable(str(path))}") from None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise UsageError(f"no file {printable(str(path))[:80]}...: the name is too long for this system") from None
        if exc.errno == errno.ENOTDIR:
            raise UsageError(f"no file {printable(str(path))}") from None
        raise ValidationError(f"{printable(str(path))}: cannot read it ({exc.strerror or type(exc).__name__})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ValidationError(f"{printable(str(path))} is a folder; give the file to import")
    if not stat.S_ISREG(info.st_mode):
        raise ValidationError(f"{printable(str(path))} is not a regular file (a device, pipe or socket); copy it to a file first")
    if not os.access(path, os.R_OK):
        raise ValidationError(f"{printable(str(path))}: no permission to read it")


def check_encoding(name: str) -> str:
    """A text encoding Python knows (not a bytes-to-bytes codec such as base64 or rot13)."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        raise UsageError(f"--encoding {printable(name)!r} is not an encoding Python knows (try utf-8, cp1252, latin-1)") from None
    if not getattr(info, "_is_text_encoding", True) or info.name in {"rot-13", "rot13"}:
        raise UsageError(f"--encoding {printable(name)!r} is a transformation, not a text encoding (try utf-8, cp1252, latin-1)")
    return name


_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}


def check_delimiter(value: str) -> str:
    """One character (or tab, comma, semicolon, pipe, space by name); not a quote or line end."""
    delimiter = _DELIMITER_NAMES.get(value.lower(), value) if len(value) > 1 else value
    if len(delimiter) != 1 or delimiter in {'"', "\r", "\n", "\0"}:
        raise UsageError(f"--delimiter {printable(value)!r}: give one character such as , ; | or tab")
    return delimiter


def normalise_header(text: Any) -> str:
    """'Fecha de Emisión' / 'fecha_emision' / ' FECHA  EMISION ' -> 'fecha de emision' style text."""
    value = unicodedata.normalize("NFKD", str(text or ""))
    value = "".join(c for c in value if not unicodedata.combining(c)).lower()
    value = re.sub(r"[^a-z0-9%]+", " ", value)
    return value.strip()


def detect_format(path: Path, forced: str | None) -> str:
    if forced:
        value = forced.lower()
        if value not in {"csv", "xlsx", "ple"}:
            raise UsageError(f"--format {forced!r}: use csv, xlsx or ple")
        return value
    suffix = path.suffix.lower()
    if PLE_NAME.match(path.name):
        return "ple"
    if suffix in {".xlsx", ".xlsm"}:
        return "xlsx"
    if suffix == ".xls":
        raise ValidationError(f"{path.name}: old .xls workbooks are not supported; save it as .xlsx or .csv in Excel")
    return "csv"


# --- encodings and delimiters ------------------------------------------------------------------


def detect_encoding(sample: bytes, forced: str | None) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as UTF-8, else cp1252 (Excel on Windows)."""
    if forced:
        return check_encoding(forced)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: its BOM starts the same
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    wide = _wide_encoding(sample)
    if wide:
        return wide
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # cp1252 leaves five bytes undefined; latin-1 maps every byte.
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _wide_encoding(sample: bytes) -> str | None:
    """UTF-16/UTF-32 without a BOM, from where its NUL bytes fall (ASCII text in UTF-16-LE is
    every other byte NUL); without this such a file reads as UTF-8 with a NUL in every header."""
    head = sample[:4096 - 4096 % 4]
    if len(head) < 4 or head.count(0) < len(head) // 3:
        return None
    lanes = [head[i::4].count(0) for i in range(4)]
    quarter = len(head) // 4
    if lanes[1] == lanes[2] == lanes[3] == quarter and lanes[0] < quarter:
        return "utf-32-le"
    if lanes[0] == lanes[1] == lanes[2] == quarter and lanes[3] < quarter:
        return "utf-32-be"
    odd, even = lanes[1] + lanes[3], lanes[0] + lanes[2]
    if odd > 0.9 * (len(head) // 2) and even < odd / 4:
        return "utf-16-le"
    if even > 0.9 * (len(head) // 2) and odd < even / 4:
        return "utf-16-be"
    return None


def detect_delimiter(lines: list[str]) -> str:
    """The candidate that splits the most lines into the most fields (quotes respected)."""
    best, best_score = ",", (-1, -1)
    for candidate in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=candidate)]
        except csv.Error:  # e.g. a field over the csv field limit: not this candidate's evidence
            continue
        if not counts:
            continue
        widest = max(counts)
        score = (widest, sum(1 for c in counts if c == widest))
        if widest > 1 and score > best_score:
            best, best_score = candidate, score
    return best


def find_header(candidates: list[tuple[int, list[Any]]], known: Callable[[str], bool]) -> tuple[int, int]:
    """(index in candidates, file row number) of the first row that looks like a header: at least
    three cells naming known columns. A title row above the header is thereby skipped."""
    best = None
    for index, (row_no, cells) in enumerate(candidates):
        hits = sum(1 for c in cells if isinstance(c, str) and known(normalise_header(c)))
        if hits >= 3:
            return index, row_no
        if best is None and hits >= 1:
            best = (index, row_no, hits)
    if candidates:
        # Nothing looked like a header: report against the first non-empty row.
        return 0, candidates[0][0]
    raise ValidationError("the file is empty: no header row and no data")


# --- CSV -----------------------------------------------------------------------------------


def _too_long(name: str, start: int, line_no: int) -> str:
    limit = f"{MAX_LINE_CHARS // 1024**2} MiB ({MAX_LINE_CHARS:,} characters)"
    if start == line_no:
        return f"{name}: line {line_no} is longer than {limit}; refused (is it really a CSV/PLE file?)"
    return f"{name}: line {start}: the row runs to line {line_no} and is longer than {limit}; refused (is a quote left open?)"


def _bounded_lines(stream: io.TextIOBase, name: str, record: list[int]) -> Iterator[str]:
    """The lines of `stream` (line endings kept, for csv.reader), each read with a cap so a huge
    line is refused without ever being held whole. `record[0]` counts the characters since the
    consumer last set it to 0 (at the start of each CSV record), so a record spread over many
    lines by quoted line breaks is capped at MAX_LINE_CHARS too."""
    readline = stream.readline
    limit = MAX_LINE_CHARS + 1
    line_no = start = 0
    while True:
        line = readline(limit)
        if not line:
            return
        line_no += 1
        if not record[0]:
            start = line_no
        record[0] += len(line)
        if record[0] > MAX_LINE_CHARS:
            raise ValidationError(_too_long(name, start, line_no))
        if "\0" in line and len(record) > 1:
            record[1] = 1
        yield line


def open_csv(path: Path, *, encoding: str | None, known: Callable[[str], bool], delimiter: str | None = None) -> Source:
    with path.open("rb") as handle:
        sample = handle.read(_SAMPLE_BYTES)
    if not sample.strip():
        raise ValidationError(f"{path.name} is empty: no rows to import")
    if delimiter is not None:
        delimiter = check_delimiter(delimiter)
    enc = detect_encoding(sample, encoding)
    try:
        text = sample.decode(enc, errors="strict") if len(sample) < _SAMPLE_BYTES else codecs.getincrementaldecoder(enc)().decode(sample, final=False)
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path.name} is not valid {enc} at byte {exc.start}; pass --encoding (e.g. cp1252)") from None
    head_lines = [line for line in text.splitlines()[:40] if line.strip()]
    delim = delimiter or detect_delimiter(head_lines[:30])

    def raw_rows() -> Iterator[tuple[int, list[str]]]:
        with path.open("rb") as binary:
            stream = io.TextIOWrapper(binary, encoding=enc, newline="", errors="strict")
            record = [0]
            reader = csv.reader(_bounded_lines(stream, path.name, record), delimiter=delim)
            try:
                for cells in reader:
                    record[0] = 0
                    yield reader.line_num, cells
            except UnicodeDecodeError as exc:
                raise ValidationError(
                    f"{path.name}: line {reader.line_num + 1} is not valid {enc} (byte {exc.object[exc.start:exc.start + 1]!r}); "
                    "pass --encoding cp1252 (or the file's encoding)"
                ) from None
            except csv.Error as exc:
                raise ValidationError(f"{path.name}: line {reader.line_num}: malformed CSV ({exc})") from None

    candidates = []
    for row_no, cells in raw_rows():
        if any(c.strip() for c in cells):
            candidates.append((row_no, cells))
        if len(candidates) >= 30:
            break
    index, header_row = find_header(candidates, known)
    header = candidates[index][1]
    width = len(header)
    position_holder: dict[str, Any] = {}

    def rows() -> Iterator[tuple[int, list[str]]]:
        with path.open("rb") as binary:
            if position_holder.get("f") is None or position_holder["f"].closed:
                position_holder["f"] = binary  # a bounded second read (a sample) leaves the import's own
            stream = io.TextIOWrapper(binary, encoding=enc, newline="", errors="strict")
            record = [0, 0]  # characters of the record so far; a NUL seen in it
            reader = csv.reader(_bounded_lines(stream, path.name, record), delimiter=delim)
            line_num = 0
            try:
                for cells in reader:
                    record[0] = 0
                    nul, record[1] = record[1], 0  # a NUL in the record's lines
                    line_num = reader.line_num
                    if line_num <= header_row:
                        continue
                    if nul:
                        raise ValidationError(_has_nul(path.name, line_num))
                    if len(cells) > width and any(c.strip() for c in cells[width:]):
                        yield line_num, _long_row(cells, width, delim)
                        continue
                    yield line_num, cells
            except UnicodeDecodeError as exc:
                raise ValidationError(
                    f"{path.name}: line {line_num + 1} is not valid {enc} ({exc.reason}); pass --encoding cp1252 (or the file's encoding)"
                ) from None
            except csv.Error as exc:
                raise ValidationError(f"{path.name}: line {line_num + 1}: malformed CSV ({exc})") from None

    position = _position_of(position_holder)

    return Source(path, "csv", header, header_row, rows, size=path.stat().st_size, position=position,
                  delimiter=delim, encoding=enc)


def _long_row(cells: list[str], width: int, delimiter: str) -> BadRow:
    used = max(i for i, c in enumerate(cells) if c.strip()) + 1
    shown = {"\t": "tab", " ": "space"}.get(delimiter, delimiter)
    return BadRow(len(cells), width, cells,
                  f"has values in {used} fields but the header has {width} columns: is a {shown!r} inside a value "
                  "without quotes (e.g. 1,180.50)?")


def _has_nul(name: str, line_no: int) -> str:
    # PostgreSQL cannot store it and SQLite would: refused alike, before anything is written
    return (f"{name}: line {line_no} has a NUL character (byte 0), which no text column can hold: is the file "
            "UTF-16? pass --encoding utf-16, or remove it")


# --- XLSX ----------------------------------------------------------------------------------
#
# python-calamine (Rust) reads a 100k-row sheet about 10x faster than openpyxl (0.9 s against
# 9 s measured on these machines) and returns typed cells (dates as date objects), so it is the
# reader; openpyxl only writes tests' fixtures. calamine has no streaming API, though: it
# parses a whole sheet before the first row can be read, so an import would wait for the whole
# parse and then hold every cell of the sheet. So a workbook is read in two steps:
#
# 1. The file is read into memory (it is compressed: a few MiB for 100k rows) and checked part
#    by part while inflating (zip bombs, XML entities: _open_archive). The small parts
#    (workbook, styles, shared strings) are kept; worksheets are not.
# 2. A background thread inflates the chosen sheet (checking it as above), cuts its XML at row
#    boundaries into segments of 1-2 MiB and gives calamine each segment, between the sheet's own head and a
#    closing tail, as a small uncompressed workbook with the original styles and shared
#    strings. Rows carry their `r` numbers, so every row lands at its real position. The thread
#    stays up to _LOOKAHEAD segments ahead of the import; calamine releases the GIL, so on two cores
#    the parse overlaps the import, and memory holds a few segments, never the whole sheet.
#
# A sheet that cannot be cut safely (rows without `r`, comments, CDATA or processing
# instructions between rows) is parsed whole, from where the segments stopped, and so is the
# rest of a sheet when calamine refuses a segment: cutting never changes what is read.

_WORKSHEETS = "xl/worksheets/"  # worksheets are checked as they are read, and not kept
_SKIPPED_PARTS = ("xl/media/", "xl/embeddings/")  # images and embedded files: never read
# Segments of 1-2 MiB of XML (about 3,500 rows of 13 columns): on a 100k-row sheet they were as
# fast as 8 MiB ones and kept the import's peak memory 70 MiB lower (benchmarks/).
_SEGMENTS = 32  # a sheet is cut into about this many segments ...
_SEGMENT_MIN, _SEGMENT_MAX = 1024**2, 2 * 1024**2  # ... of this many bytes of XML
_SHARED_FACTOR = 4  # a segment is at least this many times the shared strings (see segments())
_LOOKAHEAD = 2  # parsed segments waiting for the import
_STREAM_CHUNK = 4 * 1024**2
_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
_SHEET_DATA = re.compile(rb"<(" + _PREFIX + rb")sheetData(?:\s[^>]*)?(/?)>")
_ROOT = re.compile(rb"<(" + _PREFIX + rb"[A-Za-z_][\w.-]*)[\s/>]")
_DIMENSION = re.compile(rb"<" + _PREFIX + rb"dimension\b[^>]*>")
_ROW_NUMBER = re.compile(rb"\sr\s*=\s*[\"']\d+[\"']")
_ROW_VALUE = re.compile(rb"\sr\s*=\s*[\"'](\d{1,12})[\"']")
_ROW_FOLLOW = (b" ", b"\t", b"\r", b"\n", b">", b"/")
_EMPTY_SHEET = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>')

# calamine allocates a sheet (or a segment) as one rectangle from its first to its last cell
# holding a value, 32 bytes a cell, before a row can be read: one value at XFD1048576 under a
# header in row 1 asks for 512 GiB and the process aborts (no Python exception to catch). So
# the cell references are checked before calamine sees them: no value beyond column
# MAX_XLSX_COLUMNS (an invoice register has a few dozen) nor row EXCEL_ROWS, and no rectangle
# of more than MAX_XLSX_CELLS (640 MB in calamine; 256 MiB of XML holds far fewer cells).
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
MAX_XLSX_COLUMNS = 200
MAX_XLSX_CELLS = 20_000_000
# A segment is checked with one search: a reference not in the segment's rows, or beyond
# column MAX_XLSX_COLUMNS, or written any other way (quotes, spaces) is looked at closely.
_COLUMN_OK = rb"(?:[A-Za-z]|[A-Fa-f][A-Za-z]|[Gg][A-Ra-r])?"  # A..GR (1..200), or none (a row's r)
_SPACES = b" \t\r\n"
_QUOTES = bytes.maketrans(b"'", b'"')
_REF = re.compile(rb"\sr\s*=\s*[\"']([A-Za-z]*)(\d*)[\"']([^>]*?)(/?)>")
_DIMENSION_REF = re.compile(rb"\sref\s*=\s*[\"']([^\"']*)[\"']")


@dataclass
class _Archive:
    """A workbook after the safety checks."""

    path: Path
    raw: bytes  # the file as checked: every later read is of these bytes
    parts: dict[str, bytes | bytearray]  # inflated parts but worksheets, media and embeddings
    sizes: dict[str, int]  # every part's checked size
    sheets: dict[str, str | None]  # sheet name -> its part ("xl/worksheets/sheet1.xml"), if known
    readers: list["_SheetReader"] = field(default_factory=list)

    def close(self) -> None:
        """Stop every background parse of this workbook."""
        for reader in self.readers:
            reader.close()


def _open_archive(path: Path) -> _Archive:
    """The workbook, after refusing damaged archives, zip bombs and XML with entity declarations
    before any parser inflates it (worksheets are checked as they are read)."""
    if path.stat().st_size > MAX_XLSX_UNCOMPRESSED:
        raise ValidationError(f"{path.name}: a {path.stat().st_size / 1024**2:,.0f} MiB workbook is more than an import "
                              f"reads ({MAX_XLSX_UNCOMPRESSED // 1024**2} MiB); export it as CSV to import it")
    raw = path.read_bytes()
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise ValidationError(f"{path.name} is not an .xlsx workbook (not a zip archive); is it a CSV with the wrong extension?") from None
    except _DAMAGED as exc:
        raise ValidationError(_not_valid_xlsx(path, exc)) from None
    try:
        with archive:
            parts, sizes = _check_archive(archive, path.name)
    except _DAMAGED as exc:
        raise ValidationError(_not_valid_xlsx(path, exc)) from None
    return _Archive(path, raw, parts, sizes, _sheet_parts(parts, sizes, path.name))


# What zipfile/zlib raise on a damaged archive (garbled names, bad offsets, bad CRC, truncation).
_DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, UnicodeDecodeError, ValueError,
            NotImplementedError, RuntimeError, zlib.error)


def _not_valid_xlsx(path: Path, exc: BaseException) -> str:
    reason = _printable(exc) or type(exc).__name__
    return f"the file is not a valid XLSX workbook: {path.name}: {reason}"


def _check_archive(archive: zipfile.ZipFile, name: str) -> tuple[dict[str, bytes | bytearray], dict[str, int]]:
    members = archive.infolist()
    if len(members) > MAX_XLSX_MEMBERS:
        raise ValidationError(f"{name}: {len(members)} parts in the workbook archive; refused as unsafe")
    # First what the headers declare (cheap; refuses the obvious cases without inflating) ...
    declared = 0
    for info in members:
        declared += info.file_size
        if info.file_size > 10 * 1024**2 and info.compress_size and info.file_size / info.compress_size > MAX_XLSX_RATIO:
            raise ValidationError(
                f"{name}: part {info.filename} inflates {info.file_size // info.compress_size}x; refused as a possible zip bomb"
            )
    if declared > MAX_XLSX_UNCOMPRESSED:
        raise ValidationError(f"{name}: inflates to {declared / 1024**2:,.0f} MiB; refused as a possible zip bomb or {_XLSX_TOO_BIG}")
    if "xl/workbook.xml" not in {m.filename for m in members}:
        raise ValidationError(f"{name} is not an Excel workbook (no xl/workbook.xml)")
    # ... then what the parts really hold: every part inflated (streamed, counted, CRC-checked)
    # and its XML scanned for DOCTYPE/ENTITY declarations, whatever its headers say. Worksheets
    # are checked the same way as they are read (_SheetReader), so they are inflated once.
    parts: dict[str, bytes | bytearray] = {}
    sizes: dict[str, int] = {}
    for info in members:
        if info.is_dir():
            continue
        sizes[info.filename] = info.file_size
        if _is_worksheet(info.filename):
            continue
        keep = not info.filename.startswith(_SKIPPED_PARTS)
        data = bytearray()
        for chunk in _checked_chunks(archive, info, name):
            if keep:
                data += chunk
        if keep:
            parts[info.filename] = data
    return parts, sizes


def _is_worksheet(name: str) -> bool:
    return name.startswith(_WORKSHEETS) and name.endswith(".xml") and "/_rels/" not in name


def _sheet_parts(parts: dict[str, bytes | bytearray], sizes: dict[str, int], name: str) -> dict[str, str | None]:
    """Sheet name -> its part, from workbook.xml and its relationships (parsed with defusedxml)."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(bytes(parts["xl/workbook.xml"]))
    except (DefusedXmlException, Exception) as exc:  # noqa: BLE001 - any parse failure means a broken workbook
        raise ValidationError(f"{name}: unreadable workbook.xml ({type(exc).__name__})") from None
    targets: dict[str, str] = {}
    try:
        rels = fromstring(bytes(parts.get("xl/_rels/workbook.xml.rels", b"<Relationships/>")))
        for el in rels.iter():
            target = el.get("Target")
            if el.tag.endswith("Relationship") and el.get("Id") and target:
                targets[el.get("Id", "")] = target[1:] if target.startswith("/") else posixpath.normpath("xl/" + target)
    except (DefusedXmlException, Exception):  # noqa: BLE001 - without relationships every sheet is read whole
        targets = {}
    sheets: dict[str, str | None] = {}
    for el in root.iter():
        if el.tag.endswith("}sheet") or el.tag == "sheet":
            rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            part = targets.get(rid or "")
            sheets[el.get("name", "")] = part if part in sizes else None
    return sheets


def _checked_chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str,
                   chunk_size: int = _XLSX_CHUNK) -> Iterator[bytes]:
    """One part, inflated in chunks and refused as soon as it inflates past the size its header
    declares (the declared sizes are within the budget: checked before), past MAX_XLSX_RATIO, or
    declares XML entities. zipfile stops at the declared size, so the part is opened as one byte
    bigger to see a part that lies; it checks the CRC at the end."""
    probe = copy.copy(info)
    probe.file_size = info.file_size + 1
    scan = not info.filename.startswith(_SKIPPED_PARTS)
    size = 0
    tail = b""
    with archive.open(probe) as part:
        while chunk := part.read(chunk_size):
            size += len(chunk)
            if size > info.file_size:
                raise ValidationError(f"{name}: part {info.filename} inflates past the {info.file_size:,} bytes its header "
                                      "says; refused as damaged or unsafe (or a zip bomb)")
            if size > 10 * 1024**2 and size > MAX_XLSX_RATIO * max(info.compress_size, 1):
                raise ValidationError(f"{name}: part {info.filename} inflates over {MAX_XLSX_RATIO}x; refused as a possible zip bomb")
            if scan:
                # "!" is rare in sheet XML, and memchr finds it fast; only then the full check.
                if (b"!" in chunk or b"!" in tail) and _declares_entities((tail + chunk).lower()):
                    raise ValidationError(f"{name}: part {info.filename} declares XML entities (DOCTYPE); refused as unsafe")
                tail = chunk[-32:]
            yield chunk
    if size != info.file_size:
        raise ValidationError(
            f"{name}: part {info.filename} inflates to {size:,} bytes where its header says {info.file_size:,}; "
            "refused as damaged or unsafe"
        )


def _declares_entities(lowered: bytes) -> bool:
    return any(word in lowered for word in _XML_DECLARATIONS)


def _position_of(holder: dict[str, Any]) -> Callable[[], int]:
    """How far the file in holder["f"] has been read, for the progress bar."""
    def position() -> int:
        f = holder.get("f")
        try:
            return f.tell() if f is not None and not f.closed else 0
        except (OSError, ValueError):
            return 0

    return position


def _printable(exc: BaseException) -> str:
    return "".join(c if c.isprintable() else "?" for c in str(exc))[:200]


# --- the size calamine would allocate ----------------------------------------------------------


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + ch - 64
    return number


def _cell_name(column: int, row: int) -> str:
    letters = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


def _same_length_range(lo: str, hi: str) -> bytes:
    """A regex for the numbers lo..hi, both written with the same number of digits."""
    if lo == hi:
        return lo.encode()
    if len(lo) == 1:
        return f"[{lo}-{hi}]".encode()
    if lo[0] == hi[0]:
        return lo[0].encode() + _same_length_range(lo[1:], hi[1:])
    rest = len(lo) - 1
    parts = [lo[0].encode() + _same_length_range(lo[1:], "9" * rest)]
    if int(hi[0]) - int(lo[0]) > 1:
        parts.append(f"[{int(lo[0]) + 1}-{int(hi[0]) - 1}]\\d{{{rest}}}".encode())
    parts.append(hi[0].encode() + _same_length_range("0" * rest, hi[1:]))
    return b"(?:" + b"|".join(parts) + b")"


def _rows_between(lo: int, hi: int) -> bytes:
    """A regex for the row numbers lo..hi (no leading zeros)."""
    parts = []
    while len(str(lo)) < len(str(hi)):
        top = 10 ** len(str(lo)) - 1
        parts.append(_same_length_range(str(lo), str(top)))
        lo = top + 1
    parts.append(_same_length_range(str(lo), str(hi)))
    return b"(?:" + b"|".join(parts) + b")"


def _quick_check(lo: int, hi: int, wide: bool = False) -> re.Pattern[bytes]:
    """Finds, in XML without whitespace and with " for quotes, a reference that is neither a
    row of lo..hi nor a cell of such a row up to column GR. Rows of the same number of digits
    are taken as their common leading digits and any others (100001..103500 as 10dddd: at
    most 10,000 rows), which keeps the search as fast as a plain scan."""
    a, b = str(lo), str(hi)
    if len(a) == len(b):
        same = next((i for i in range(len(a)) if a[i] != b[i]), len(a))
        rows = a[:same].encode() + (b"\\d{%d}" % (len(a) - same) if len(a) > same else b"")
        if 10 ** (len(a) - same) * MAX_XLSX_COLUMNS > MAX_XLSX_CELLS:
            rows = _rows_between(lo, hi)
    elif 10 ** len(b) * MAX_XLSX_COLUMNS <= MAX_XLSX_CELLS:
        rows = b"\\d{%d,%d}" % (len(a), len(b))  # 1..3500 as 1 to 4 digits: still a small rectangle
    else:
        rows = _rows_between(lo, hi)
    # columns A..Z (one letter) is the quicker search; A..GR when a sheet is wider
    return re.compile(rb'r="(?!' + (_COLUMN_OK if wide else rb"[A-Za-z]?") + rows + rb'")')


class _Extent:
    """The rectangle of the cells holding a value, as calamine will allocate it."""

    def __init__(self, file: str, sheet: str) -> None:
        self.file, self.sheet = file, sheet
        self.top = self.left = 1 << 62
        self.bottom = self.right = 0
        self.first = self.last = self.widest = (0, 0)  # (column, row) of the cells that set the limits

    def scan(self, data: bytes | bytearray, start: int = 0, end: int | None = None) -> None:
        """Every cell reference in data[start:end]; raises as soon as one is out of bounds."""
        for match in _REF.finditer(data, start, len(data) if end is None else end):
            letters, digits, _, empty = match.groups()
            if not letters or not digits or empty:
                continue  # a row's number, a reference calamine refuses, or a cell without a value
            self.add(_column_number(letters), int(digits))
        self.check()

    def add(self, column: int, row: int) -> None:
        if column > self.right:
            self.right, self.widest = column, (column, row)
        if row > self.bottom:
            self.bottom, self.last = row, (column, row)
        if row < self.top:
            self.top, self.first = row, (column, row)
        self.left = min(self.left, column)
        if column > MAX_XLSX_COLUMNS or row > EXCEL_ROWS:
            self.check()

    def check(self) -> None:
        if not self.bottom:
            return
        where = f"{self.file}: sheet {self.sheet!r}"
        if self.right > MAX_XLSX_COLUMNS:
            raise ValidationError(
                f"{where}: cell {_cell_name(*self.widest)} holds a value in column {self.right:,}; an import reads up to "
                f"column {_cell_name(MAX_XLSX_COLUMNS, 1)[:-1]} ({MAX_XLSX_COLUMNS}); clear the cells beyond the data "
                "or export the sheet as CSV"
            )
        if self.bottom > EXCEL_ROWS:
            raise ValidationError(f"{where}: cell {_cell_name(*self.last)} is beyond Excel's last row ({EXCEL_ROWS:,}); "
                                  "refused as a damaged or crafted workbook")
        rows, columns = self.bottom - self.top + 1, self.right - self.left + 1
        if rows * columns > MAX_XLSX_CELLS:
            raise ValidationError(
                f"{where}: its cells run from {_cell_name(*self.first)} to {_cell_name(*self.last)}, {rows:,} rows x "
                f"{columns:,} columns ({rows * columns:,} cells), more than an import reads ({MAX_XLSX_CELLS:,}); "
                "clear the cells beyond the data or export the sheet as CSV"
            )


def _check_dimension(head: bytes | bytearray, file: str, sheet: str) -> None:
    """The size the sheet declares, against Excel's own grid (calamine does not allocate from it,
    and LibreOffice declares A1:AMJ.. for formatted rows, so only an impossible size is refused)."""
    found = _DIMENSION.search(head)
    ref = _DIMENSION_REF.search(found.group(0)) if found else None
    if ref is None:
        return
    for corner in ref.group(1).split(b":"):
        cell = re.fullmatch(rb"\$?([A-Za-z]{1,7})\$?(\d{1,12})", corner.strip())
        if cell is None:
            continue
        column, row = _column_number(cell.group(1)), int(cell.group(2))
        if column > EXCEL_COLUMNS or row > EXCEL_ROWS:
            raise ValidationError(
                f"{file}: sheet {sheet!r} declares its size as {ref.group(1).decode('ascii', 'replace')[:40]}, beyond "
                f"Excel's grid ({_cell_name(EXCEL_COLUMNS, EXCEL_ROWS)}); refused as a damaged or crafted workbook"
            )


@dataclass
class _Segment:
    """Parsed rows of one segment (0-based `first_row`; each row's list starts at column
    `first_col`) and the span [start, end) of the sheet's XML it came from."""

    first_row: int
    first_col: int
    rows: list[list[Any]]
    start: int
    end: int
    last: bool


class _CannotCut(Exception):
    """The rest of the sheet is read whole: it cannot be cut safely, or calamine refused a segment."""


_END = object()


class _SegmentParser:
    """A daemon thread that cuts a sheet and parses its segments in order, handing them over
    through a queue _LOOKAHEAD deep; stop() ends it (within one segment's parse)."""

    def __init__(self, reader: "_SheetReader") -> None:
        import queue
        import threading

        self.reader = reader
        self.queue: Any = queue.Queue(maxsize=_LOOKAHEAD)
        self.stopped = threading.Event()
        self.first: Any = None
        self.taken = False
        threading.Thread(target=self._run, name="cuentas-xlsx", daemon=True).start()

    def _run(self) -> None:
        try:
            for segment_xml, start, end, last in self.reader.segments():
                if self.stopped.is_set():
                    return
                self._put(self.reader.parse_segment(segment_xml, start, end, last))
            self._put(_END)
        except _DAMAGED as exc:
            self._put(ValidationError(_not_valid_xlsx(self.reader.archive.path, exc)))
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            self._put(exc)

    def _put(self, item: Any) -> None:
        import queue

        while not self.stopped.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def peek(self) -> Any:
        """The first item, kept for get()."""
        if self.first is None:
            self.first = self.queue.get()
        return self.first

    def get(self) -> Any:
        if not self.taken:
            self.taken = True
            return self.peek()
        return self.queue.get()

    def stop(self) -> None:
        import queue

        self.stopped.set()
        try:
            while True:
                self.queue.get_nowait()
        except queue.Empty:
            pass


class _SheetReader:
    """The rows of one worksheet, parsed segment by segment on a background thread (see above)."""

    def __init__(self, archive: _Archive, name: str) -> None:
        self.archive, self.name = archive, name
        self.part = archive.sheets.get(name)
        self.size = archive.sizes.get(self.part, 0) if self.part else 0
        self.done = 0  # bytes of the sheet's XML whose rows were read, for progress
        self.whole = self.part is None  # without its part, calamine reads the sheet whole
        self._whole: Any = None
        self._parser: _SegmentParser | None = None
        archive.readers.append(self)

    def start(self) -> None:
        """Start reading now, ahead of rows()."""
        if self.whole:
            self._whole_sheet()
        elif self._parser is None:
            self._parser = _SegmentParser(self)

    # -- on the background thread ----------------------------------------------------------

    def segments(self) -> Iterator[tuple[bytes, int, int, bool]]:
        """(segment XML, start, end, last): the sheet inflated again and cut at row boundaries;
        raises _CannotCut, after the segments it could cut, when the rest must be read whole."""
        # Every segment parses the shared strings again: segments at least _SHARED_FACTOR times
        # their size keep that cost a fraction of the sheet's.
        shared = self.archive.sizes.get("xl/sharedStrings.xml", 0)
        step = max(_SEGMENT_MIN, _SHARED_FACTOR * shared, min(_SEGMENT_MAX, self.size // _SEGMENTS))
        with zipfile.ZipFile(io.BytesIO(self.archive.raw)) as archive:
            chunks = _checked_chunks(archive, archive.getinfo(self.part), self.archive.path.name, _STREAM_CHUNK)
            data = bytearray()
            base = body = 0  # the XML offset of data[0]; where the next segment's rows start in data
            head = tail = row = close = b""
            eof = False
            while True:
                if not eof:
                    chunk = next(chunks, b"")
                    eof = not chunk
                    data += chunk
                if not head:
                    opened = _SHEET_DATA.search(data)
                    if opened is None or opened.group(2):
                        if eof or opened is not None or len(data) > _SEGMENT_MAX + _STREAM_CHUNK:
                            raise _CannotCut("no rows to cut near the start of the sheet")
                        continue
                    root = _ROOT.search(data, 0, opened.start())
                    if root is None:
                        raise _CannotCut("no root element")
                    prefix = opened.group(1)
                    _check_dimension(data[:opened.end()], self.archive.path.name, self.name)
                    head = _DIMENSION.sub(b"", bytes(data[:opened.end()]), count=1)  # the sheet's size, not a segment's
                    tail = b"</" + prefix + b"sheetData></" + root.group(1) + b">"
                    row, close = b"<" + prefix + b"row", b"</" + prefix + b"sheetData>"
                    body = opened.end()
                ends = data.find(close, body)
                limit = ends if ends >= 0 else len(data)
                while body + step < limit:
                    at = data.find(row, body + step, limit)
                    while at >= 0 and data[at + len(row):at + len(row) + 1] not in _ROW_FOLLOW:
                        at = data.find(row, at + 1, limit)
                    tag_end = data.find(b">", at, limit) if at >= 0 else -1
                    if tag_end < 0:
                        break  # the next row starts in data not read yet
                    if not _ROW_NUMBER.search(data, at, tag_end):
                        raise _CannotCut("a row without its number")
                    self._bound(data, body, at, row)
                    yield self._segment_xml(data, head, body, at, tail), base + body, base + at, False
                    del data[:at]
                    base, body = base + at, 0
                    ends = data.find(close)
                    limit = ends if ends >= 0 else len(data)
                if ends >= 0:
                    self._bound(data, body, ends, row)
                    yield self._segment_xml(data, head, body, ends, tail), base + body, base + ends, True
                    return
                if eof:
                    raise _CannotCut("no end of the sheet's rows")

    def _bound(self, data: bytearray, start: int, end: int, row: bytes) -> None:
        """Refuses a segment whose cells calamine would allocate beyond the limits. One search
        when every reference is in the rows between the segment's first and last row and up
        to column GR; otherwise every reference is looked at."""
        lo = self._row_number(data, data.find(row, start, end), end)
        hi = self._row_number(data, data.rfind(row, start, end), end)
        if lo is not None and hi is not None and lo <= hi and (hi - lo + 1) * MAX_XLSX_COLUMNS <= MAX_XLSX_CELLS:
            # r = 'A1' is read as r="A1" too: the search runs on the XML without whitespace
            text = data[start:end].translate(_QUOTES if data.find(b"'", start, end) >= 0 else None, _SPACES)
            if _quick_check(lo, hi).search(text) is None or _quick_check(lo, hi, wide=True).search(text) is None:
                return
        _Extent(self.archive.path.name, self.name).scan(data, start, end)

    @staticmethod
    def _row_number(data: bytearray, at: int, end: int) -> int | None:
        if at < 0:
            return None
        found = _ROW_VALUE.search(data, at, max(at, data.find(b">", at, end)))
        return int(found.group(1)) if found else None

    @staticmethod
    def _segment_xml(data: bytearray, head: bytes, start: int, end: int, tail: bytes) -> bytes:
        # "<" is everywhere in XML, so "<!" and "<?" are looked for only where "!" or "?" is
        # (memchr finds a lone byte fast; neither is common in sheet XML).
        for mark in (b"!", b"?"):
            if data.find(mark, start, end) >= 0 and data.find(b"<" + mark, start, end) >= 0:
                raise _CannotCut("a comment, CDATA or processing instruction among the rows")  # could hide a "<row"
        return head + data[start:end] + tail

    def parse_segment(self, xml: bytes, start: int, end: int, last: bool) -> _Segment:
        """calamine's reading of one segment, as a workbook of the archive's small parts."""
        import python_calamine

        parts = self.archive.parts
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
            out.writestr(self.part, xml)
            for name, data in parts.items():
                if name != self.part:
                    out.writestr(name, data)
            for name in set(self.archive.sheets.values()) - {self.part, None} - parts.keys():
                out.writestr(name, _EMPTY_SHEET)  # other worksheets are not read (nor kept)
        buffer.seek(0)
        try:
            sheet = python_calamine.CalamineWorkbook.from_filelike(buffer).get_sheet_by_name(self.name)
            if sheet.start is None:
                return _Segment(0, 0, [], start, end, last)
            return _Segment(sheet.start[0], sheet.start[1], sheet.to_python(skip_empty_area=True), start, end, last)
        except Exception as exc:  # noqa: BLE001 - calamine's own error types; the whole sheet decides
            raise _CannotCut(_printable(exc)) from None

    # -- on the importer's thread ----------------------------------------------------------

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(0-based row, cells from column A) for every row of the range, in order."""
        if self.whole:
            yield from self._whole_rows(-1)
            return
        parser, self._parser = self._parser or _SegmentParser(self), None
        last = -1
        try:
            while True:
                item = parser.get()
                if item is _END:
                    return
                if isinstance(item, _CannotCut):
                    yield from self._whole_rows(last)
                    return
                if isinstance(item, BaseException):
                    raise item
                self.done = item.start
                pad = [""] * item.first_col
                for k, cells in enumerate(item.rows, start=item.first_row):
                    last = k
                    yield k, (pad + cells if pad else cells)
                self.done = item.end
        finally:
            parser.stop()

    def first_rows(self, count: int) -> list[tuple[int, list[Any]]]:
        """The first `count` non-blank rows (the header is among them)."""
        found: list[tuple[int, list[Any]]] = []
        if not self.whole:
            if self._parser is None:
                self._parser = _SegmentParser(self)
            item = self._parser.peek()
            if isinstance(item, _Segment):
                pad = [""] * item.first_col
                for k, cells in enumerate(item.rows, start=item.first_row):
                    if any(c not in ("", None) for c in cells):
                        found.append((k, pad + cells if pad else cells))
                        if len(found) >= count:
                            return found
                if item.last:
                    return found
                found = []
            elif isinstance(item, BaseException) and not isinstance(item, _CannotCut):
                raise item
        rows = self.rows()
        try:
            for k, cells in rows:
                if any(c not in ("", None) for c in cells):
                    found.append((k, cells))
                    if len(found) >= count:
                        break
        finally:
            rows.close()
        return found

    def close(self) -> None:
        """Stop the background parse (rows() starts it again if asked)."""
        parser, self._parser = self._parser, None
        if parser is not None:
            parser.stop()

    # -- the whole sheet at once ---------------------------------------------------------------

    def _whole_sheet(self) -> Any:
        if self._whole is None:
            import python_calamine

            path = self.archive.path
            # Checked before calamine inflates it (every worksheet, when which one is unknown).
            unchecked = [self.part] if self.part else [p for p in self.archive.sizes if _is_worksheet(p)]
            try:
                with zipfile.ZipFile(io.BytesIO(self.archive.raw)) as archive:
                    for part in unchecked:
                        self._bound_whole(_checked_chunks(archive, archive.getinfo(part), path.name))
            except _DAMAGED as exc:
                raise ValidationError(_not_valid_xlsx(path, exc)) from None
            try:
                workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(self.archive.raw))
                self._whole = workbook.get_sheet_by_name(self.name)
            except Exception as exc:  # noqa: BLE001 - calamine raises its own error types for broken files
                raise ValidationError(f"{path.name}: cannot read the workbook ({type(exc).__name__}: {_printable(exc)})") from None
        return self._whole

    def _bound_whole(self, chunks: Iterator[bytes]) -> None:
        """The checks of _bound over a whole sheet, chunk by chunk, before calamine parses it."""
        extent = _Extent(self.archive.path.name, self.name)
        # Every reference is scanned here (a sheet read whole is the rare path): a quick check per
        # chunk would miss a rectangle whose corners sit in different chunks (GR1 ... A1048576).
        carry = b""
        first = True
        for chunk in chunks:
            data = carry + chunk
            if first:
                _check_dimension(data[:_SEGMENT_MAX], self.archive.path.name, self.name)
                first = False
            cut = data.rfind(b"<")
            if cut < 0:
                carry = data[-4096:]
                continue
            extent.scan(data, 0, cut)
            carry = data[cut:]
        extent.scan(carry, 0, len(carry))

    def _whole_rows(self, after: int) -> Iterator[tuple[int, list[Any]]]:
        """Rows after row `after` from the sheet parsed whole."""
        import python_calamine

        sheet = self._whole_sheet()
        if sheet.start is None:
            return
        first_row, first_col = sheet.start
        pad = [""] * first_col
        rows_total = sheet.end[0] + 1
        iterator = iter(sheet.iter_rows())
        try:
            first = next(iterator, None)
            if first is None:
                return
            # python-calamine 0.9 starts iter_rows at row 0 whatever the first row of the range
            # (dimastbk/python-calamine#177); other versions start at the range. The range's
            # first row holds a value, so a blank first row means rows are counted from 0.
            index = 0 if first_row and all(c in ("", None) for c in first) else first_row
            for cells in itertools.chain((first,), iterator):
                if index > after:
                    yield index, (pad + cells if pad else cells)
                index += 1
                if not index % 1000:
                    self.done = self.size * index // rows_total
        except python_calamine.CalamineError as exc:
            path = self.archive.path
            raise ValidationError(f"{path.name}: cannot read the sheet ({type(exc).__name__}: {_printable(exc)})") from None


def _choose_sheet(archive: _Archive, sheet: str | None, known: Callable[[str], bool],
                  first: _SheetReader | None) -> _SheetReader:
    """The sheet asked for, or the first one with a recognisable header (an export's Summary sheet
    comes first). `first` is the reader _prepare started."""
    names = list(archive.sheets)
    if not names:
        raise ValidationError(f"{archive.path.name} has no sheets")

    def reader(name: str) -> _SheetReader:
        return first if first is not None and first.name == name else _SheetReader(archive, name)

    if sheet is not None:
        lowered = {n.lower(): n for n in names}
        if sheet not in names and sheet.lower() not in lowered:
            raise ValidationError(f"{archive.path.name} has no sheet {sheet!r}; its sheets are: {', '.join(names)}")
        chosen = reader(sheet if sheet in names else lowered[sheet.lower()])
    else:
        chosen = None
        for name in names:
            probe = reader(name)
            head = [cells for _, cells in probe.first_rows(30)]
            if any(sum(1 for c in cells if isinstance(c, str) and known(normalise_header(c))) >= 3 for cells in head):
                chosen = probe
                break
            if probe is not first:
                probe.close()
        chosen = chosen or reader(names[0])
    if first is not None and first is not chosen:
        first.close()
    return chosen


def _default_sheet(names: list[str], sheet: str | None) -> str | None:
    """The sheet to start reading before the importer has chosen: the one asked for, or the first."""
    if sheet is not None:
        lowered = {n.lower(): n for n in names}
        return sheet if sheet in names else lowered.get(sheet.lower())
    return names[0] if names else None


_PREFETCHED: dict[tuple[str, str | None], Any] = {}


def prefetch_xlsx(path: Path, *, sheet: str | None) -> None:
    """Check the workbook and start parsing it on a daemon thread while the rest of the import
    starts up; open_xlsx then takes the result, or the error, as if it had done the work itself.
    The caller ends with discard_prefetch(), whether open_xlsx took the work or not."""
    import threading
    from concurrent.futures import Future

    key = (str(path.resolve()), sheet)
    if key in _PREFETCHED:
        return
    future: Future = Future()
    _PREFETCHED[key] = future

    def work() -> None:
        try:
            future.set_result(_prepare(path, sheet))
        except BaseException as exc:  # noqa: BLE001 - handed to open_xlsx, which raises it
            future.set_exception(exc)

    threading.Thread(target=work, name="cuentas-xlsx-check", daemon=True).start()


def discard_prefetch(path: Path, *, sheet: str | None) -> None:
    """Stop what prefetch_xlsx started and open_xlsx did not take (the import failed before)."""
    future = _PREFETCHED.pop((str(path.resolve()), sheet), None)

    def stop(done: Any) -> None:
        if done.exception() is None:
            archive, _ = done.result()
            archive.close()

    if future is not None:
        future.add_done_callback(stop)


def _prepare(path: Path, sheet: str | None) -> tuple[_Archive, _SheetReader | None]:
    archive = _open_archive(path)
    name = _default_sheet(list(archive.sheets), sheet)
    first = _SheetReader(archive, name) if name is not None else None
    if first is not None:
        first.start()
    return archive, first


def open_xlsx(path: Path, *, sheet: str | None, known: Callable[[str], bool]) -> Source:
    future = _PREFETCHED.pop((str(path.resolve()), sheet), None)
    archive, first = future.result() if future is not None else _prepare(path, sheet)
    try:
        reader = _choose_sheet(archive, sheet, known, first)
        candidates = [(k + 1, cells) for k, cells in reader.first_rows(30)]
        index, header_row = find_header(candidates, known)
    except BaseException:
        archive.close()
        raise
    header = [str(c) if c is not None else "" for c in candidates[index][1]]
    width = len(header)

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for k, cells in reader.rows():
            if k < header_row:  # k is 0-based: the rows up to the header's
                continue
            if len(cells) < width:  # a segment whose cells end left of the header's last column
                cells = cells + [""] * (width - len(cells))
            yield k + 1, cells

    def peek(count: int) -> list[tuple[int, list[Any]]]:
        found = [(k + 1, cells) for k, cells in reader.first_rows(index + 1 + count) if k >= header_row]
        return [(k, cells + [""] * (width - len(cells)) if len(cells) < width else cells) for k, cells in found]

    return Source(path, "xlsx", header, header_row, rows, size=reader.size, position=lambda: reader.done,
                  close=archive.close, peek=peek)


# --- PLE -----------------------------------------------------------------------------------


def open_ple(path: Path, *, encoding: str | None, book: str | None = None) -> Source:
    match = PLE_NAME.match(path.name)
    if book is None:
        if match is None:
            raise UsageError(
                f"{path.name}: not a PLE file name (LE + RUC + period + 140100/080100 ... .txt); "
                "say which register with --kind cxc (ventas) or --kind cxp (compras)"
            )
        code = match.group(4)
        if code not in PLE_BOOKS:
            raise ValidationError(f"{path.name}: PLE book {code} is not supported; import 140100 (ventas) or 080100 (compras)")
        book = PLE_BOOKS[code]
        if match.group(6) == "0":
            raise ValidationError(f"{path.name}: the PLE file name says it has no data (indicator 0)")
    with path.open("rb") as handle:
        sample = handle.read(_SAMPLE_BYTES)
    if not sample.strip():
        raise ValidationError(f"{path.name} is empty: no rows to import")
    if encoding:
        check_encoding(encoding)
    # SUNAT's PLE program writes ISO-8859-1 unless told otherwise.
    enc = encoding or ("utf-8-sig" if sample.startswith(codecs.BOM_UTF8) else ("utf-8" if _is_utf8(sample) else "latin-1"))
    fields = _PLE_FIELDS[book]
    header = ["tipo", *fields.keys()]
    kind = "cxc" if book == "ventas" else "cxp"
    minimum = PLE_MIN_FIELDS[book]
    position_holder: dict[str, Any] = {}

    def rows() -> Iterator[tuple[int, list[str]]]:
        with path.open("rb") as binary:
            if position_holder.get("f") is None or position_holder["f"].closed:
                position_holder["f"] = binary  # a bounded second read (a sample) leaves the import's own
            stream = io.TextIOWrapper(binary, encoding=enc, newline=None, errors="strict")
            readline = stream.readline
            limit = MAX_LINE_CHARS + 1
            line_no = 0
            try:
                while True:
                    line = readline(limit)  # capped: a huge line is refused, never held whole
                    if not line:
                        break
                    line_no += 1
                    if len(line) > MAX_LINE_CHARS:
                        raise ValidationError(_too_long(path.name, line_no, line_no))
                    line = line.rstrip("\r\n")
                    if not line.strip():
                        continue
                    parts = line.split("|")
                    if "\0" in line:
                        raise ValidationError(_has_nul(path.name, line_no))
                    if len(parts) < minimum:
                        yield line_no, ShortRow(len(parts), minimum, parts)
                        continue
                    cells = [kind, *(_ple_get(parts, i) for i in fields.values())]
                    yield line_no, cells
            except UnicodeDecodeError as exc:
                raise ValidationError(f"{path.name}: line {line_no + 1} is not valid {enc} ({exc.reason}); pass --encoding") from None

    position = _position_of(position_holder)

    return Source(path, "ple", header, 0, rows, size=path.stat().st_size, position=position, delimiter="|",
                  encoding=enc, ple_book=book, fixed_date_format="DD/MM/YYYY")


def _ple_get(parts: list[str], position: int) -> str:
    return parts[position - 1].strip() if position - 1 < len(parts) else ""


def _is_utf8(sample: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return True
    except UnicodeDecodeError:
        return False
