"""SUNAT PLE registers: Registro de Ventas 14.1 and Registro de Compras 8.1, pipe-separated
text whose fields sit at fixed positions, turned into the importer's canonical columns."""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cuentas_cli.errors import UsageError, ValidationError
from cuentas_cli.imports.sources.base import (
    _SAMPLE_BYTES,
    MAX_LINE_CHARS,
    ShortRow,
    Source,
    _has_nul,
    _position_of,
    _too_long,
    check_encoding,
)
from cuentas_cli.i18n import _

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


def open_ple(path: Path, *, encoding: str | None, book: str | None = None) -> Source:
    match = PLE_NAME.match(path.name)
    if book is None:
        if match is None:
            raise UsageError(
                _("{name}: not a PLE file name (LE + RUC + period + 140100/080100 ... .txt); say which "
                  "register with --kind cxc (ventas) or --kind cxp (compras)")
                .format(name=path.name)
            )
        code = match.group(4)
        if code not in PLE_BOOKS:
            raise ValidationError(_("{name}: PLE book {code} is not supported; import 140100 (ventas) or "
                                    "080100 (compras)")
                                  .format(name=path.name, code=code))
        book = PLE_BOOKS[code]
        if match.group(6) == "0":
            raise ValidationError(_("{name}: the PLE file name says it has no data (indicator 0)")
                                  .format(name=path.name))
    with path.open("rb") as handle:
        sample = handle.read(_SAMPLE_BYTES)
    if not sample.strip():
        raise ValidationError(_("{name} is empty: no rows to import").format(name=path.name))
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
                raise ValidationError(_("{name}: line {line_no_1} is not valid {enc} ({reason}); pass "
                                        "--encoding")
                                      .format(name=path.name, line_no_1=line_no + 1, enc=enc, reason=exc.reason)) from None

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
