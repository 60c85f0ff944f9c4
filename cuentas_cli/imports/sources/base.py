"""What every source shares: the `Source` an opened file becomes, the rows it cannot give as
cells, and the checks of the user's options (file, encoding, delimiter) and of the header.

Each source yields `(row_number, cells)` with the row number the user sees in their editor or
in Excel, so every error can name it. Sources stream: a CSV of a million rows is never held in
memory. Nothing here knows about invoices; the importer maps cells to fields.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cuentas_cli.errors import UsageError, ValidationError
from cuentas_cli.i18n import _

_SAMPLE_BYTES = 256 * 1024
# A CSV record or a PLE line longer than this is refused: lines are read with this cap, so a
# file with a multi-gigabyte line costs no more memory than a normal one.
MAX_LINE_CHARS = 1024**2


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
    format: str  # csv | xlsx | ple | ubl
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
    # The column whose cell names the file a row came from (UBL: "lote.zip:F001-123.xml"), which
    # row errors show instead of the row number; None: rows are lines of the one file
    label_column: int | None = None
    # Columns the source gives that the importer does not read yet: not reported as ignored
    pending_columns: frozenset[str] = frozenset()
    # What the source skipped, by kind (UBL: "cdr"), and lines for the user about it; filled as rows are read
    counts: dict[str, int] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    # UBL: credit notes of type 13, (row, ubl_document.CuotaCorrection, cells), applied after the rows
    cuota_corrections: list[Any] = field(default_factory=list)
    # The sha256 of what was read, where the input is not one file (a folder); None: the file's own
    digest: Callable[[], str] | None = None

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        return self._rows()


def printable(text: str) -> str:
    """Text from a file as an error message may show it: control characters (a NUL from a
    UTF-16 file read as bytes, an escape sequence) as "?"."""
    return "".join(c if c.isprintable() else "?" for c in text)


def check_input(path: Path, *, folders: bool = False) -> None:
    """The file to import exists and is a regular file this process can read (a clear error,
    not an OSError, for a name too long, a folder, a device or a file without permission).
    With `folders`, a readable folder is accepted too (a folder of UBL XML files)."""
    import errno
    import os
    import stat

    try:
        info = path.stat()
    except FileNotFoundError:
        raise UsageError(_("no file {printable_str_path}").format(printable_str_path=printable(str(path)))) from None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise UsageError(_("no file {printable_str_path_80}...: the name is too long for this system")
                             .format(printable_str_path_80=printable(str(path))[:80])) from None
        if exc.errno == errno.ENOTDIR:
            raise UsageError(_("no file {printable_str_path}")
                             .format(printable_str_path=printable(str(path)))) from None
        raise ValidationError(_("{printable_str_path}: cannot read it ({exc_strerror_or_type_exc})")
                              .format(printable_str_path=printable(str(path)), exc_strerror_or_type_exc=exc.strerror or type(exc).__name__)) from None
    if stat.S_ISDIR(info.st_mode) and folders:
        if not os.access(path, os.R_OK | os.X_OK):
            raise ValidationError(_("{printable_str_path}: no permission to read it")
                                  .format(printable_str_path=printable(str(path))))
        return
    if stat.S_ISDIR(info.st_mode):
        raise ValidationError(_("{printable_str_path} is a folder; give the file to import")
                              .format(printable_str_path=printable(str(path))))
    if not stat.S_ISREG(info.st_mode):
        raise ValidationError(_("{printable_str_path} is not a regular file (a device, pipe or socket); "
                                "copy it to a file first")
                              .format(printable_str_path=printable(str(path))))
    if not os.access(path, os.R_OK):
        raise ValidationError(_("{printable_str_path}: no permission to read it")
                              .format(printable_str_path=printable(str(path))))


def check_encoding(name: str) -> str:
    """A text encoding Python knows (not a bytes-to-bytes codec such as base64 or rot13)."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        raise UsageError(_("--encoding {printable_name!r} is not an encoding Python knows (try utf-8, "
                           "cp1252, latin-1)")
                         .format(printable_name=printable(name))) from None
    if not getattr(info, "_is_text_encoding", True) or info.name in {"rot-13", "rot13"}:
        raise UsageError(_("--encoding {printable_name!r} is a transformation, not a text encoding (try "
                           "utf-8, cp1252, latin-1)")
                         .format(printable_name=printable(name)))
    return name


_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}


def check_delimiter(value: str) -> str:
    """One character (or tab, comma, semicolon, pipe, space by name); not a quote or line end."""
    delimiter = _DELIMITER_NAMES.get(value.lower(), value) if len(value) > 1 else value
    if len(delimiter) != 1 or delimiter in {'"', "\r", "\n", "\0"}:
        raise UsageError(_("--delimiter {printable_value!r}: give one character such as , ; | or tab")
                         .format(printable_value=printable(value)))
    return delimiter


def normalise_header(text: Any) -> str:
    """'Fecha de Emisión' / 'fecha_emision' / ' FECHA  EMISION ' -> 'fecha de emision' style text."""
    value = unicodedata.normalize("NFKD", str(text or ""))
    value = "".join(c for c in value if not unicodedata.combining(c)).lower()
    value = re.sub(r"[^a-z0-9%]+", " ", value)
    return value.strip()


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
    raise ValidationError(_("the file is empty: no header row and no data"))


def _too_long(name: str, start: int, line_no: int) -> str:
    limit = f"{MAX_LINE_CHARS // 1024**2} MiB ({MAX_LINE_CHARS:,} characters)"
    if start == line_no:
        return f"{name}: line {line_no} is longer than {limit}; refused (is it really a CSV/PLE file?)"
    return f"{name}: line {start}: the row runs to line {line_no} and is longer than {limit}; refused (is a quote left open?)"


def _has_nul(name: str, line_no: int) -> str:
    # PostgreSQL cannot store it and SQLite would: refused alike, before anything is written
    return (f"{name}: line {line_no} has a NUL character (byte 0), which no text column can hold: is the file "
            "UTF-16? pass --encoding utf-16, or remove it")


def _position_of(holder: dict[str, Any]) -> Callable[[], int]:
    """How far the file in holder["f"] has been read, for the progress bar."""
    def position() -> int:
        f = holder.get("f")
        try:
            return f.tell() if f is not None and not f.closed else 0
        except (OSError, ValueError):
            return 0

    return position
