"""CSV files: any common delimiter and encoding, detected from the first 256 KiB when not given."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cuentas_cli.errors import ValidationError
from cuentas_cli.imports.sources.base import (
    _SAMPLE_BYTES,
    MAX_LINE_CHARS,
    BadRow,
    Source,
    _has_nul,
    _position_of,
    _too_long,
    check_delimiter,
    check_encoding,
    find_header,
)
from cuentas_cli.i18n import _

DELIMITERS = (",", ";", "\t", "|")


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


# --- CSV -----------------------------------------------------------------------------------


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
        raise ValidationError(_("{name} is empty: no rows to import").format(name=path.name))
    if delimiter is not None:
        delimiter = check_delimiter(delimiter)
    enc = detect_encoding(sample, encoding)
    try:
        text = sample.decode(enc, errors="strict") if len(sample) < _SAMPLE_BYTES else codecs.getincrementaldecoder(enc)().decode(sample, final=False)
    except UnicodeDecodeError as exc:
        raise ValidationError(_("{name} is not valid {enc} at byte {start}; pass --encoding (e.g. cp1252)")
                              .format(name=path.name, enc=enc, start=exc.start)) from None
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
                    _("{name}: line {reader_line_num_1} is not valid {enc} (byte "
                      "{exc_object_exc_start_exc!r}); pass --encoding cp1252 (or the file's encoding)")
                    .format(name=path.name, reader_line_num_1=reader.line_num + 1, enc=enc, exc_object_exc_start_exc=exc.object[exc.start:exc.start + 1])
                ) from None
            except csv.Error as exc:
                raise ValidationError(_("{name}: line {line_num}: malformed CSV ({exc})")
                                      .format(name=path.name, line_num=reader.line_num, exc=exc)) from None

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
                    _("{name}: line {line_num_1} is not valid {enc} ({reason}); pass --encoding cp1252 "
                      "(or the file's encoding)")
                    .format(name=path.name, line_num_1=line_num + 1, enc=enc, reason=exc.reason)
                ) from None
            except csv.Error as exc:
                raise ValidationError(_("{name}: line {line_num_1}: malformed CSV ({exc})")
                                      .format(name=path.name, line_num_1=line_num + 1, exc=exc)) from None

    position = _position_of(position_holder)

    return Source(path, "csv", header, header_row, rows, size=path.stat().st_size, position=position,
                  delimiter=delim, encoding=enc)


def _long_row(cells: list[str], width: int, delimiter: str) -> BadRow:
    used = max(i for i, c in enumerate(cells) if c.strip()) + 1
    shown = {"\t": "tab", " ": "space"}.get(delimiter, delimiter)
    return BadRow(len(cells), width, cells,
                  f"has values in {used} fields but the header has {width} columns: is a {shown!r} inside a value "
                  "without quotes (e.g. 1,180.50)?")
