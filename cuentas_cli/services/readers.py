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
_XLSX_CHUNK = 1024**2

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

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        return self._rows()


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
        try:
            codecs.lookup(forced)
        except LookupError:
            raise UsageError(f"--encoding {forced!r} is not an encoding Python knows (try utf-8, cp1252, latin-1)") from None
        return forced
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
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
        yield line


def open_csv(path: Path, *, encoding: str | None, known: Callable[[str], bool], delimiter: str | None = None) -> Source:
    with path.open("rb") as handle:
        sample = handle.read(_SAMPLE_BYTES)
    if not sample.strip():
        raise ValidationError(f"{path.name} is empty")
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
    position_holder: dict[str, Any] = {}

    def rows() -> Iterator[tuple[int, list[str]]]:
        with path.open("rb") as binary:
            position_holder["f"] = binary
            stream = io.TextIOWrapper(binary, encoding=enc, newline="", errors="strict")
            record = [0]
            reader = csv.reader(_bounded_lines(stream, path.name, record), delimiter=delim)
            line_num = 0
            try:
                for cells in reader:
                    record[0] = 0
                    line_num = reader.line_num
                    if line_num <= header_row:
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


# --- XLSX ----------------------------------------------------------------------------------


def check_xlsx_archive(path: Path) -> list[str]:
    """Refuse damaged archives, zip bombs and XML with entity declarations before any parser
    inflates the file; returns the sheet names from the workbook (parsed with defusedxml)."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ValidationError(f"{path.name} is not an .xlsx workbook (not a zip archive); is it a CSV with the wrong extension?") from None
    except _DAMAGED as exc:
        raise ValidationError(_not_valid_xlsx(path, exc)) from None
    try:
        with archive:
            return _check_archive(archive, path.name)
    except _DAMAGED as exc:
        raise ValidationError(_not_valid_xlsx(path, exc)) from None


# What zipfile/zlib raise on a damaged archive (garbled names, bad offsets, bad CRC, truncation).
_DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, UnicodeDecodeError, ValueError,
            NotImplementedError, RuntimeError, zlib.error)


def _not_valid_xlsx(path: Path, exc: BaseException) -> str:
    reason = _printable(exc) or type(exc).__name__
    return f"the file is not a valid XLSX workbook: {path.name}: {reason}"


def _check_archive(archive: zipfile.ZipFile, name: str) -> list[str]:
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
    # and its XML scanned for DOCTYPE/ENTITY declarations, whatever its headers say.
    total = 0
    for info in members:
        if not info.is_dir():
            total = _inflate_part(archive, info, total, name)
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(archive.read("xl/workbook.xml"))
    except (DefusedXmlException, Exception) as exc:  # noqa: BLE001 - any parse failure means a broken workbook
        raise ValidationError(f"{name}: unreadable workbook.xml ({type(exc).__name__})") from None
    return [el.get("name", "") for el in root.iter() if el.tag.endswith("}sheet") or el.tag == "sheet"]


def _inflate_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, total: int, name: str) -> int:
    """Inflate one part in chunks, never past the archive's remaining size budget, and return the
    new running total. zipfile stops at the size the headers declare, so the part is opened with
    the budget as its size: a part that inflates to more than it declares is caught here."""
    probe = copy.copy(info)
    probe.file_size = MAX_XLSX_UNCOMPRESSED - total + 1
    scan = not info.filename.startswith(("xl/media/", "xl/embeddings/"))  # images, embedded files
    size = 0
    tail = b""
    with archive.open(probe) as part:
        while chunk := part.read(_XLSX_CHUNK):
            size += len(chunk)
            if total + size > MAX_XLSX_UNCOMPRESSED:
                raise ValidationError(f"{name}: {_XLSX_TOO_BIG} (or a zip bomb); refused")
            if size > 10 * 1024**2 and size > MAX_XLSX_RATIO * max(info.compress_size, 1):
                raise ValidationError(f"{name}: part {info.filename} inflates over {MAX_XLSX_RATIO}x; refused as a possible zip bomb")
            if scan:
                # "!" is rare in sheet XML, and memchr finds it fast; only then the full check.
                if (b"!" in chunk or b"!" in tail) and _declares_entities((tail + chunk).lower()):
                    raise ValidationError(f"{name}: part {info.filename} declares XML entities (DOCTYPE); refused as unsafe")
                tail = chunk[-32:]
    if size != info.file_size:
        raise ValidationError(
            f"{name}: part {info.filename} inflates to {size:,} bytes where its header says {info.file_size:,}; "
            "refused as damaged or unsafe"
        )
    return total + size


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


def _choose_sheet(workbook: Any, sheet: str | None, sheet_names: list[str], path: Path, known: Callable[[str], bool],
                  loaded: dict[str, Any]) -> Any:
    """The sheet asked for, or the first one with a recognisable header (an export's Summary sheet
    comes first). `loaded` holds sheets already parsed (by prefetch_xlsx)."""
    def get(name: str) -> Any:
        return loaded.pop(name) if name in loaded else workbook.get_sheet_by_name(name)

    names = workbook.sheet_names or sheet_names
    if sheet is None:
        for name in names:
            probe = get(name)
            head = [cells for _, cells in zip(range(30), probe.iter_rows())]
            if any(sum(1 for c in cells if isinstance(c, str) and known(normalise_header(c))) >= 3 for cells in head):
                return probe
        return workbook.get_sheet_by_name(names[0])
    if sheet in names:
        return get(sheet)
    lowered = {n.lower(): n for n in names}
    if sheet.lower() not in lowered:
        raise ValidationError(f"{path.name} has no sheet {sheet!r}; its sheets are: {', '.join(names)}")
    return get(lowered[sheet.lower()])


_PREFETCHED: dict[tuple[str, str | None], Any] = {}


def prefetch_xlsx(path: Path, *, sheet: str | None) -> None:
    """Check and parse a workbook on a daemon thread while the rest of the import starts up.

    calamine parses in Rust without holding the GIL, so on two cores the parse (0.7 s for 100k
    rows) overlaps the imports, the database session and the permission checks; open_xlsx then
    takes the result, or the error, as if it had loaded the workbook itself.
    """
    import threading
    from concurrent.futures import Future

    key = (str(path.resolve()), sheet)
    if key in _PREFETCHED:
        return
    future: Future = Future()
    _PREFETCHED[key] = future

    def work() -> None:
        try:
            future.set_result(_load_workbook(path, sheet))
        except BaseException as exc:  # noqa: BLE001 - handed to open_xlsx, which raises it
            future.set_exception(exc)

    threading.Thread(target=work, name="cuentas-xlsx", daemon=True).start()


def _load_workbook(path: Path, sheet: str | None) -> tuple[list[str], Any, dict[str, Any]]:
    """(sheet names, workbook, {name: parsed sheet}) after the archive checks; the sheet asked
    for (or the first) is parsed already."""
    import python_calamine

    sheet_names = check_xlsx_archive(path)
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # noqa: BLE001 - calamine raises its own error types for broken files
        raise ValidationError(f"{path.name}: cannot read the workbook ({type(exc).__name__}: {_printable(exc)})") from None
    names = workbook.sheet_names or sheet_names
    first = sheet if sheet in names else (names[0] if names and sheet is None else None)
    loaded: dict[str, Any] = {}
    if first is not None:
        try:
            loaded[first] = workbook.get_sheet_by_name(first)
        except python_calamine.CalamineError:
            pass  # _choose_sheet asks again and reports it
    return sheet_names, workbook, loaded


def open_xlsx(path: Path, *, sheet: str | None, known: Callable[[str], bool]) -> Source:
    # python-calamine (Rust) reads a 100k-row sheet about 10x faster than openpyxl (0.9 s against
    # 9 s measured on these machines) and returns typed cells (dates as date objects), so it is
    # the reader here; openpyxl is kept for writing tests' fixtures only.
    import python_calamine

    future = _PREFETCHED.pop((str(path.resolve()), sheet), None)
    sheet_names, workbook, loaded = future.result() if future is not None else _load_workbook(path, sheet)
    try:
        ws = _choose_sheet(workbook, sheet, sheet_names, path, known, loaded)
    except python_calamine.CalamineError as exc:  # e.g. XmlError on XML the checks let through
        raise ValidationError(f"{path.name}: cannot read the workbook ({type(exc).__name__}: {_printable(exc)})") from None
    first_row = ws.start[0] if ws.start else 0

    def all_rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for index, cells in enumerate(ws.iter_rows()):
                yield first_row + index + 1, cells
        except python_calamine.CalamineError as exc:
            raise ValidationError(f"{path.name}: cannot read the sheet ({type(exc).__name__}: {_printable(exc)})") from None

    candidates = []
    for row_no, cells in all_rows():
        if any(c not in ("", None) for c in cells):
            candidates.append((row_no, cells))
        if len(candidates) >= 30:
            break
    index, header_row = find_header(candidates, known)
    header = [str(c) if c is not None else "" for c in candidates[index][1]]
    state = {"pos": 0}

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for row_no, cells in all_rows():
            state["pos"] = row_no
            if row_no <= header_row:
                continue
            yield row_no, cells

    return Source(path, "xlsx", header, header_row, rows, size=(ws.height or 0) + first_row,
                  position=lambda: state["pos"])


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
    # SUNAT's PLE program writes ISO-8859-1 unless told otherwise.
    enc = encoding or ("utf-8-sig" if sample.startswith(codecs.BOM_UTF8) else ("utf-8" if _is_utf8(sample) else "latin-1"))
    fields = _PLE_FIELDS[book]
    header = ["tipo", *fields.keys()]
    kind = "cxc" if book == "ventas" else "cxp"
    minimum = PLE_MIN_FIELDS[book]
    position_holder: dict[str, Any] = {}

    def rows() -> Iterator[tuple[int, list[str]]]:
        with path.open("rb") as binary:
            position_holder["f"] = binary
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
