"""The size calamine would allocate for a sheet, checked from the cell references in its XML
before calamine sees them."""

from __future__ import annotations

import re

from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import _

_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
_DIMENSION = re.compile(rb"<" + _PREFIX + rb"dimension\b[^>]*>")

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
                _("{where}: cell {cell_name_self_widest} holds a value in column {right:,}; an import "
                  "reads up to column {cell_name_max_xlsx_colum} ({MAX_XLSX_COLUMNS}); clear the cells "
                  "beyond the data or export the sheet as CSV")
                .format(where=where, cell_name_self_widest=_cell_name(*self.widest), right=self.right, cell_name_max_xlsx_colum=_cell_name(MAX_XLSX_COLUMNS, 1)[:-1], MAX_XLSX_COLUMNS=MAX_XLSX_COLUMNS)
            )
        if self.bottom > EXCEL_ROWS:
            raise ValidationError(_("{where}: cell {cell_name_self_last} is beyond Excel's last row "
                                    "({EXCEL_ROWS:,}); refused as a damaged or crafted workbook")
                                  .format(where=where, cell_name_self_last=_cell_name(*self.last), EXCEL_ROWS=EXCEL_ROWS))
        rows, columns = self.bottom - self.top + 1, self.right - self.left + 1
        if rows * columns > MAX_XLSX_CELLS:
            raise ValidationError(
                _("{where}: its cells run from {cell_name_self_first} to {cell_name_self_last}, {rows:,} "
                  "rows x {columns:,} columns ({rows_columns:,} cells), more than an import reads "
                  "({MAX_XLSX_CELLS:,}); clear the cells beyond the data or export the sheet as CSV")
                .format(where=where, cell_name_self_first=_cell_name(*self.first), cell_name_self_last=_cell_name(*self.last), rows=rows, columns=columns, rows_columns=rows * columns, MAX_XLSX_CELLS=MAX_XLSX_CELLS)
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
                _("{file}: sheet {sheet!r} declares its size as {ref_group_1_decode_ascii}, beyond "
                  "Excel's grid ({cell_name_excel_columns}); refused as a damaged or crafted workbook")
                .format(file=file, sheet=sheet, ref_group_1_decode_ascii=ref.group(1).decode('ascii', 'replace')[:40], cell_name_excel_columns=_cell_name(EXCEL_COLUMNS, EXCEL_ROWS))
            )
