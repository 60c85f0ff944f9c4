"""XLSX/XLSM workbooks: the sheet to read, its header, and its rows as a Source.

python-calamine (Rust) reads a 100k-row sheet about 10x faster than openpyxl (0.9 s against
9 s measured on these machines) and returns typed cells (dates as date objects), so it is the
reader; openpyxl only writes tests' fixtures. calamine has no streaming API, though: it
parses a whole sheet before the first row can be read, so an import would wait for the whole
parse and then hold every cell of the sheet. So a workbook is read in two steps:

1. The file is read into memory (it is compressed: a few MiB for 100k rows) and checked part
   by part while inflating (zip bombs, XML entities: xlsx_archive). The small parts
   (workbook, styles, shared strings) are kept; worksheets are not.
2. A background thread inflates the chosen sheet (checking it as above), cuts its XML at row
   boundaries into segments of 1-2 MiB and gives calamine each segment, between the sheet's own head and a
   closing tail, as a small uncompressed workbook with the original styles and shared
   strings. Rows carry their `r` numbers, so every row lands at its real position. The thread
   stays up to _LOOKAHEAD segments ahead of the import (it fills them while the import starts
   up), and memory holds a few segments, never the whole sheet (xlsx_sheet).

calamine holds the GIL while it parses (a Python thread ran at a fifth of its speed beside a
parse), so the parse takes turns with the import's row conversion rather than overlapping it;
what overlaps is inflating and the SQLite writer's statements. Parsing the segments in two
worker processes instead was measured on two cores: no faster (more CPU in all, for the
pickling and the processes' start), so it is not done.

A sheet that cannot be cut safely (rows without `r`, comments, CDATA or processing
instructions between rows) is parsed whole, from where the segments stopped, and so is the
rest of a sheet when calamine refuses a segment: cutting never changes what is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cuentas_cli.errors import ValidationError
from cuentas_cli.imports.sources.base import Source, find_header, normalise_header
from cuentas_cli.imports.sources.xlsx_archive import _Archive, _open_archive
from cuentas_cli.imports.sources.xlsx_sheet import _SheetReader
from cuentas_cli.i18n import _


def _choose_sheet(archive: _Archive, sheet: str | None, known: Callable[[str], bool],
                  first: _SheetReader | None) -> _SheetReader:
    """The sheet asked for, or the first one with a recognisable header (an export's Summary sheet
    comes first). `first` is the reader _prepare started."""
    names = list(archive.sheets)
    if not names:
        raise ValidationError(_("{name} has no sheets").format(name=archive.path.name))

    def reader(name: str) -> _SheetReader:
        return first if first is not None and first.name == name else _SheetReader(archive, name)

    if sheet is not None:
        lowered = {n.lower(): n for n in names}
        if sheet not in names and sheet.lower() not in lowered:
            raise ValidationError(_("{name} has no sheet {sheet!r}; its sheets are: {join_names}")
                                  .format(name=archive.path.name, sheet=sheet, join_names=', '.join(names)))
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
