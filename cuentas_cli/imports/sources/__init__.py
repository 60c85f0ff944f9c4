"""The sources of an import: the first stage of the pipeline, which opens a file and yields its
raw rows with the row numbers the user sees (CSV, XLSX, SUNAT PLE).

This module is the package's public interface: the rest of the importer uses these names only.
"""

from __future__ import annotations

from pathlib import Path

from cuentas_cli.errors import UsageError, ValidationError
from cuentas_cli.imports.sources.base import (
    BadRow,
    ShortRow,
    Source,
    check_delimiter,
    check_encoding,
    check_input,
    normalise_header,
    printable,
)
from cuentas_cli.imports.sources.delimited import open_csv
from cuentas_cli.imports.sources.ple import PLE_NAME, open_ple
from cuentas_cli.imports.sources.xlsx import discard_prefetch, open_xlsx, prefetch_xlsx

__all__ = [
    "PLE_NAME", "BadRow", "ShortRow", "Source", "check_delimiter", "check_encoding", "check_input", "detect_format",
    "discard_prefetch", "normalise_header", "open_csv", "open_ple", "open_xlsx", "prefetch_xlsx", "printable",
]


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
