"""The rows of one worksheet, cut at row boundaries and parsed segment by segment on a
background thread (the two steps are described in xlsx.py)."""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cuentas_cli.errors import ValidationError
from cuentas_cli.imports.sources.xlsx_archive import (
    _DAMAGED,
    _Archive,
    _checked_chunks,
    _is_worksheet,
    _not_valid_xlsx,
    _printable,
)
from cuentas_cli.imports.sources.xlsx_extent import (
    _DIMENSION,
    _PREFIX,
    _QUOTES,
    _SPACES,
    MAX_XLSX_CELLS,
    MAX_XLSX_COLUMNS,
    _check_dimension,
    _Extent,
    _quick_check,
)
from cuentas_cli.i18n import _

# Segments of 1-2 MiB of XML (about 3,500 rows of 13 columns): on a 100k-row sheet they were as
# fast as 8 MiB ones and kept the import's peak memory 70 MiB lower (benchmarks/).
_SEGMENTS = 32  # a sheet is cut into about this many segments ...
_SEGMENT_MIN, _SEGMENT_MAX = 1024**2, 2 * 1024**2  # ... of this many bytes of XML
_SHARED_FACTOR = 4  # a segment is at least this many times the shared strings (see segments())
_LOOKAHEAD = 6  # parsed segments waiting for the import: filled while the import starts up
_STREAM_CHUNK = 4 * 1024**2
_SHEET_DATA = re.compile(rb"<(" + _PREFIX + rb")sheetData(?:\s[^>]*)?(/?)>")
_ROOT = re.compile(rb"<(" + _PREFIX + rb"[A-Za-z_][\w.-]*)[\s/>]")
_ROW_NUMBER = re.compile(rb"\sr\s*=\s*[\"']\d+[\"']")
_ROW_VALUE = re.compile(rb"\sr\s*=\s*[\"'](\d{1,12})[\"']")
_ROW_FOLLOW = (b" ", b"\t", b"\r", b"\n", b">", b"/")
_EMPTY_SHEET = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>')


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
    """The rows of one worksheet, parsed segment by segment on a background thread (see xlsx.py)."""

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
                raise ValidationError(_("{name}: cannot read the workbook ({__name__}: {printable_exc})")
                                      .format(name=path.name, __name__=type(exc).__name__, printable_exc=_printable(exc))) from None
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
            raise ValidationError(_("{name}: cannot read the sheet ({__name__}: {printable_exc})")
                                  .format(name=path.name, __name__=type(exc).__name__, printable_exc=_printable(exc))) from None
