"""The sources of an import: the first stage of the pipeline, which opens a file and yields its
raw rows with the row numbers the user sees (CSV, XLSX, SUNAT PLE, UBL XML).

This module is the package's public interface: what the rest of the importer needs from a source.
A new kind of file (a bank statement, UBL XML) plugs in as one module with an opener and one
entry in FORMATS; nothing downstream of the Source changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
from cuentas_cli.imports.sources.ubl import claims as ubl_claims
from cuentas_cli.imports.sources.ubl import open_ubl
from cuentas_cli.imports.sources.xlsx import discard_prefetch, open_xlsx, prefetch_xlsx
from cuentas_cli.i18n import _

__all__ = [
    "DEFAULT_FORMAT", "FORMATS", "PLE_NAME", "BadRow", "Format", "Options", "ShortRow", "Source", "check_delimiter",
    "check_encoding", "check_input", "detect_format", "discard_prefetch", "normalise_header", "open_source",
    "prefetch_xlsx", "printable",
]


@dataclass(frozen=True)
class Options:
    """What the user said about how to read the file; each format takes what applies to it."""

    known: Callable[[str], bool]  # is this (normalised) header cell a column the importer knows?
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    book: str | None = None  # PLE register (ventas | compras) when the file name does not say
    company_ruc: str | None = None  # UBL: our RUC, which says whether a document is a sale or a purchase


@dataclass(frozen=True)
class Format:
    """One kind of file the importer reads."""

    open: Callable[[Path, Options], Source]
    claims: Callable[[Path], bool]  # the file's name says it is of this format (no --format given)


FORMATS: dict[str, Format] = {
    # The default: a file no other format claims is read as CSV.
    "csv": Format(lambda path, o: open_csv(path, encoding=o.encoding, known=o.known, delimiter=o.delimiter),
                  lambda path: False),
    "xlsx": Format(lambda path, o: open_xlsx(path, sheet=o.sheet, known=o.known),
                   lambda path: path.suffix.lower() in {".xlsx", ".xlsm"}),
    "ple": Format(lambda path, o: open_ple(path, encoding=o.encoding, book=o.book),
                  lambda path: PLE_NAME.match(path.name) is not None),
    # SUNAT electronic invoices: an .xml, a .zip of them or a folder
    "ubl": Format(lambda path, o: open_ubl(path, company_ruc=o.company_ruc), ubl_claims),
}
DEFAULT_FORMAT = "csv"


def detect_format(path: Path, forced: str | None) -> str:
    """The format given with --format, else the one the file's name claims, else CSV."""
    if forced:
        value = forced.lower()
        if value not in FORMATS:
            *others, last = FORMATS
            raise UsageError(_("--format {forced!r}: use {join_others} or {last}")
                             .format(forced=forced, join_others=', '.join(others), last=last))
        return value
    for name, fmt in FORMATS.items():
        if fmt.claims(path):
            return name
    if path.suffix.lower() == ".xls":
        raise ValidationError(_("{name}: old .xls workbooks are not supported; save it as .xlsx or .csv "
                                "in Excel").format(name=path.name))
    return DEFAULT_FORMAT


def open_source(path: Path, fmt: str, *, known: Callable[[str], bool], encoding: str | None = None,
                delimiter: str | None = None, sheet: str | None = None, book: str | None = None,
                company_ruc: str | None = None) -> Source:
    """The file opened as `fmt` (a name in FORMATS, as detect_format gives it): its header found
    with `known`, its rows ready to stream."""
    return FORMATS[fmt].open(path, Options(known, encoding=encoding, delimiter=delimiter, sheet=sheet, book=book,
                                           company_ruc=company_ruc))
