"""Reading SUNAT's padrón reducido file: a .zip (its one .txt) or the .txt, ISO-8859-1 text,
`|`-delimited with a trailing `|`, `-` for an empty field, a header line and millions of rows.

The text is streamed (never the whole file in memory) and parsed in blocks; lines that do not
have the 15 fields or whose RUC is not 11 digits are counted as malformed (the first few kept
with their line numbers for the report), never abort the read.
"""

from __future__ import annotations

import hashlib
import io
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cuentas_cli.errors import UsageError, ValidationError
from cuentas_cli.parties.padron import fold
from cuentas_cli.i18n import _

HEADER = ("RUC", "NOMBRE O RAZÓN SOCIAL", "ESTADO DEL CONTRIBUYENTE", "CONDICIÓN DE DOMICILIO", "UBIGEO",
          "TIPO DE VÍA", "NOMBRE DE VÍA", "CÓDIGO DE ZONA", "TIPO DE ZONA", "NÚMERO", "INTERIOR", "LOTE",
          "DEPARTAMENTO", "MANZANA", "KILÓMETRO")
SEPARATORS = len(HEADER)  # every line ends with '|': 15 fields, 15 separators

MAX_EXAMPLES = 5
MAX_LINE_CHARS = 1_000_000
READ_BUFFER = 1 << 20


class _Tap(io.RawIOBase):
    """Counts (and optionally hashes) the bytes that pass through, for progress and sha256."""

    def __init__(self, raw: Any, hasher: Any = None) -> None:
        super().__init__()
        self.raw = raw
        self.hasher = hasher
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)
        if n:
            self.count += n
            if self.hasher is not None:
                self.hasher.update(memoryview(buffer)[:n])
        return n or 0


@dataclass
class Source:
    path: Path
    member: str | None
    file_date: date | None
    size: int
    sha256: Any  # a hashlib object, complete once the text has been read to the end
    tap: _Tap = field(repr=False)


def _sha256_of(path: Path) -> Any:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_BUFFER):
            digest.update(chunk)
    return digest


@contextmanager
def open_source(path: Path) -> Iterator[tuple[Source, io.BufferedReader]]:
    """The padrón text as a binary stream, from a .zip (its one .txt entry) or a .txt."""
    import zipfile

    if not path.exists():
        raise UsageError(_("no file {path}").format(path=path))
    if path.is_dir():
        raise UsageError(_("{path} is a folder; give the padrón .zip or .txt file").format(path=path))
    if zipfile.is_zipfile(path):
        digest = _sha256_of(path)  # of the file as downloaded
        with zipfile.ZipFile(path) as archive:
            entries = [i for i in archive.infolist() if not i.is_dir()]
            texts = [i for i in entries if i.filename.lower().endswith(".txt")] or entries
            if len(texts) != 1:
                names = ", ".join(i.filename for i in entries[:5]) or "nothing"
                raise ValidationError(_("{name}: expected one .txt inside the zip "
                                        "(padron_reducido_ruc.txt), found {names}")
                                      .format(name=path.name, names=names))
            entry = texts[0]
            y, m, d = entry.date_time[:3]
            try:
                stamp: date | None = date(y, m, d)
            except ValueError:
                stamp = None
            with archive.open(entry) as raw:
                tap = _Tap(raw)
                yield (Source(path, entry.filename, stamp, entry.file_size, digest, tap),
                       io.BufferedReader(tap, READ_BUFFER))
        return
    stat = path.stat()
    try:
        raw_file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise UsageError(_("cannot read {path}: {exc_strerror_or_exc}")
                         .format(path=path, exc_strerror_or_exc=exc.strerror or exc)) from None
    with raw_file as raw:
        digest = hashlib.sha256()
        tap = _Tap(raw, digest)
        yield (Source(path, None, date.fromtimestamp(stat.st_mtime), stat.st_size, digest, tap),
               io.BufferedReader(tap, READ_BUFFER))


def check_header(first: bytes, name: str) -> str:
    """The text encoding to read the file with, once its header is the padrón's; else ValidationError."""
    if not first:
        raise ValidationError(_("{name}: the file is empty; expected the padrón reducido header "
                                "({join_header_3}|...)")
                              .format(name=name, join_header_3='|'.join(HEADER[:3])))
    encoding = "latin-1"
    if first.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        try:
            first.decode("utf-8")
            if any(b > 0x7F for b in first):
                encoding = "utf-8"  # a re-saved copy; SUNAT's own file is ISO-8859-1
        except UnicodeDecodeError:
            pass
    line = first.decode(encoding, errors="replace").rstrip("\r\n")
    fields = line.split("|")
    if fields and fields[-1] == "":
        fields = fields[:-1]
    expected = [fold(h) for h in HEADER]
    got = [fold(f.strip()) for f in fields]
    if got != expected:
        shown = line if len(line) <= 120 else line[:117] + "..."
        raise ValidationError(
            _("{name}: not a padrón reducido file: the first line should be the header "
              "{join_header_4}|... ({n_HEADER} fields ending in '|'), found {shown!r}")
            .format(name=name, join_header_4='|'.join(HEADER[:4]), n_HEADER=len(HEADER), shown=shown)
        )
    return encoding


@dataclass
class Tally:
    malformed: int = 0
    examples: list[tuple[int, str]] = field(default_factory=list)

    def bad(self, lineno: int, line: str) -> None:
        self.malformed += 1
        if len(self.examples) < MAX_EXAMPLES:
            text = line.rstrip("\r\n")
            self.examples.append((lineno, text if len(text) <= 160 else text[:157] + "..."))


@dataclass
class Block:
    """Well-formed rows of one block of the file, flattened: three values per row
    (ruc, name, the rest of the line as published)."""

    flat: list[str]
    rows: int


def read_blocks(text: Any, newline: str, tally: Tally, *, block_chars: int,
            reject_nul: bool = False) -> Iterator[Block]:
    """Parse the data lines of the padrón in blocks of about `block_chars` characters.

    This is the hot loop of a 10-million-line import, so a block is checked as a whole with
    C-level string operations (split on the line end '|' + newline, count the '|' of every
    line, one newline per line, every RUC 11 digits) and split with one str.split per line.
    Only a block that fails a check is walked line by line, to count and show its malformed
    lines with their numbers.
    """
    sep = "|" + newline
    left = ""
    lineno = 2  # the header is line 1
    repeat = itertools.repeat
    while True:
        piece = text.read(block_chars)
        data = left + piece
        if not piece:
            if not data.strip():
                return
            if not data.endswith("\n"):
                data += newline
        parts = data.split(sep)
        left = parts.pop()
        if len(left) > MAX_LINE_CHARS:
            raise ValidationError(_("line {lineno_len_parts}: no end of line within {MAX_LINE_CHARS:,} "
                                    "characters; not a padrón reducido file (the register was not "
                                    "changed)")
                                  .format(lineno_len_parts=lineno + len(parts), MAX_LINE_CHARS=MAX_LINE_CHARS))
        tail = ""
        if not piece:  # the end: text after the last '|' + newline is no line of the padrón
            tail, left = left, ""
        if not parts and not tail:
            if not piece:
                return
            continue
        n = len(parts)
        consumed = len(data) - len(left)
        fast = (
            list(map(str.count, parts, repeat("|"))).count(SEPARATORS - 1) == n
            and data.count("\n", 0, consumed) == n
            and not (reject_nul and "\x00" in data)
        )
        if fast:
            rows = [line.split("|", 2) for line in parts]
            flat = list(itertools.chain.from_iterable(rows))
            rucs = flat[0::3]
            # bytes.isdigit is ASCII-only and several times faster than str.isdigit
            fast = set(map(len, rucs)) == {11} and "".join(rucs).encode("latin-1", "replace").isdigit()
        if fast:
            lineno += n
            yield Block(flat, n)
        elif parts:
            block, lineno = _slow_block(parts, lineno, tally, reject_nul=reject_nul)
            if block.rows:
                yield block
        if not piece:
            for line in tail.split("\n"):
                if line.strip():
                    tally.bad(lineno, line)
                lineno += 1
            return


def _slow_block(parts: list[str], lineno: int, tally: Tally, *, reject_nul: bool) -> tuple[Block, int]:
    """A block with some malformed line: check every line, keep the good ones."""
    flat: list[str] = []
    rows = 0
    for unit in parts:
        lines = unit.split("\n")
        # All but the last physical line of a unit lacked the trailing '|': malformed (or blank).
        for line in lines[:-1]:
            if line.strip():
                tally.bad(lineno, line)
            lineno += 1
        line = lines[-1]
        ruc = line.split("|", 1)[0]
        if (line.count("|") == SEPARATORS - 1 and len(ruc) == 11 and ruc.isascii() and ruc.isdigit()
                and not (reject_nul and "\x00" in line)):
            flat.extend(line.split("|", 2))
            rows += 1
        else:
            tally.bad(lineno, line + "|")
        lineno += 1
    return Block(flat, rows), lineno
