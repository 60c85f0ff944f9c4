"""TEMPORARY shim until the sources/ package lands: the readers' interface plus open_source."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from cuentas_cli.imports.readers import *  # noqa: F401,F403
from cuentas_cli.imports.readers import (  # noqa: F401
    PLE_NAME, BadRow, ShortRow, Source, check_delimiter, check_encoding, check_input, detect_format, discard_prefetch,
    normalise_header, open_csv, open_ple, open_xlsx, prefetch_xlsx, printable,
)


def open_source(path: Path, fmt: str, *, known: Callable[[str], bool], encoding: str | None = None,
                delimiter: str | None = None, sheet: str | None = None, book: str | None = None) -> Source:
    if fmt == "ple":
        return open_ple(path, encoding=encoding, book=book)
    if fmt == "xlsx":
        return open_xlsx(path, sheet=sheet, known=known)
    return open_csv(path, encoding=encoding, known=known, delimiter=delimiter)
