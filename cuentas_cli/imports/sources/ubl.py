"""SUNAT UBL 2.1 electronic invoices as an import source: one .xml file, a folder of them
(sub-folders included) or a .zip holding them, each document one row of the importer's
canonical columns (ubl_document.py reads a document).

Every row names its file in its first column ("F001-123.xml", "lote.zip:F001-123.xml"), which
the importer's row errors and --errors file show. SUNAT's answers (CDRs: an ApplicationResponse,
or a file named R-*.xml / R-*.zip) are skipped and counted. A credit note of type 13 (new
cuotas, 0.00) is not a row: it goes to `cuota_corrections`, applied after the rows
(imports/corrections.py).

Hostile input is refused before a parser sees it, with the workbook reader's limits
(xlsx_archive.py): a document that declares a DTD or entities, a zip that inflates past 256 MiB
or 250x, holds more than 10,000 members, lies about its sizes or nests another zip, and a
document larger than one record of a CSV may be (MAX_LINE_CHARS).
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cuentas_cli.errors import UsageError, ValidationError
from cuentas_cli.imports.sources.base import MAX_LINE_CHARS, BadRow, Source, printable
from cuentas_cli.imports.sources.ubl_document import (HEADER, PENDING_COLUMNS, CuotaCorrection, NotADocument, make_parser,
                                                      parse, read)
from cuentas_cli.imports.sources.xlsx_archive import (
    _DAMAGED,
    MAX_XLSX_MEMBERS,
    MAX_XLSX_RATIO,
    MAX_XLSX_UNCOMPRESSED,
    _checked_chunks,
    _declares_entities,
)
from cuentas_cli.i18n import _

# One document is one row of the import: no larger than one record of a CSV or PLE file.
MAX_UBL_DOCUMENT_BYTES = MAX_LINE_CHARS
CDR_NAME = re.compile(r"^R-.*\.(xml|zip)$", re.IGNORECASE)
_SUFFIXES = (".xml", ".zip")
_BOMB_FLOOR = 10 * 1024**2  # as the workbook reader: the ratio is judged on parts above this size


def claims(path: Path) -> bool:
    """A folder, an .xml or a .zip file is read as UBL (no --format given)."""
    return path.suffix.lower() in _SUFFIXES or path.is_dir()


def open_ubl(path: Path, *, company_ruc: str | None) -> Source:
    if path.is_dir():
        entries = _folder_entries(path)  # (file, label)
        if not entries:
            raise ValidationError(_("{name} is a folder with no .xml or .zip files (UBL invoices) to import")
                                  .format(name=printable(str(path))))
    else:
        entries = [(str(path), path.name)]
    if not company_ruc:
        raise UsageError(_("importing UBL XML needs this company's RUC, to tell sales (cxc) from purchases (cxp): "
                           "set it with `cuentas settings set company.ruc RUC`"))
    if path.is_file() and path.suffix.lower() == ".zip" and not CDR_NAME.match(path.name):
        _check_zip_headers(path, path.name)  # a bomb is refused before the import starts
    state: dict[str, Any] = {"at": 0}
    counts: dict[str, int] = {}
    corrections: list[tuple[int, CuotaCorrection, list[str]]] = []
    digest_holder: dict[str, Any] = {}

    def rows() -> Iterator[tuple[int, list[Any]]]:
        parser = make_parser()
        counts.clear()
        corrections.clear()
        digest = digest_holder["d"] = hashlib.sha256()
        row_no = 0
        for index, (entry, label) in enumerate(entries):
            state["at"] = index
            for name, data in _documents(entry, label):
                if data is None:
                    counts["cdr"] = counts.get("cdr", 0) + 1  # named as SUNAT names its answers
                    continue
                digest.update(name.encode("utf-8", "replace") + b"\0")
                digest.update(data)
                row_no += 1
                try:
                    yield row_no, read(parse(data, parser), name, company_ruc)
                except CuotaCorrection as correction:  # applied once the import's invoices are in
                    cells = [""] * len(HEADER)
                    cells[0] = name
                    corrections.append((row_no, correction, cells))
                except NotADocument as skipped:
                    counts[skipped.kind] = counts.get(skipped.kind, 0) + 1
                except ValidationError as exc:
                    raise ValidationError(f"{name}: {exc.message}") from None
                except ValueError as exc:
                    cells = [""] * len(HEADER)
                    cells[0] = name
                    yield row_no, BadRow(0, 0, cells, problem=str(exc))
        state["at"] = len(entries)

    source = Source(path, "ubl", list(HEADER), 0, rows, size=len(entries), position=lambda: state["at"])
    source.label_column = 0
    source.pending_columns = PENDING_COLUMNS
    source.counts = counts
    source.cuota_corrections = corrections
    if path.is_dir():  # a file's digest is the file's own (the pipeline's)
        source.digest = lambda: digest_holder["d"].hexdigest() if "d" in digest_holder else ""
    return source


def _folder_entries(folder: Path) -> list[tuple[str, str]]:
    """(path, label) of the .xml and .zip files under a folder, sub-folders included, in name
    order (hidden files and folders left out; symbolic links to folders are not followed); the
    label is the path inside the folder, with "/" (plain strings: 10,000 Path objects cost more
    than the documents' reading)."""
    found: list[tuple[str, str]] = []
    root = str(folder)
    for top, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        inside = os.path.relpath(top, root).replace(os.sep, "/")
        prefix = "" if inside == "." else inside + "/"
        for name in sorted(files):
            if not name.startswith(".") and name.lower().endswith(_SUFFIXES):
                found.append((os.path.join(top, name), prefix + name))
    return found


def _documents(entry: str, label: str) -> Iterator[tuple[str, bytes | None]]:
    """(label, bytes) of each document in an .xml or .zip file; bytes None for a CDR named as
    SUNAT names them."""
    if CDR_NAME.match(os.path.basename(entry)):
        yield label, None
        return
    if entry.lower().endswith(".xml"):
        yield label, _read_file(entry, label)
        return
    yield from _zip_documents(entry, label)


def _read_file(entry: str, label: str) -> bytes:
    try:
        with open(entry, "rb") as handle:
            data = handle.read(MAX_UBL_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise ValidationError(_("{name}: cannot read it ({reason})")
                              .format(name=label, reason=exc.strerror or type(exc).__name__)) from None
    if len(data) > MAX_UBL_DOCUMENT_BYTES:
        raise ValidationError(_too_big(label))
    _check_declarations(data, label)
    return data


def _too_big(label: str) -> str:
    return _("{name}: larger than {mib} MiB, more than one invoice can be; refused").format(
        name=label, mib=MAX_UBL_DOCUMENT_BYTES // 1024**2)


_DECLARES = re.compile(rb"<!(?:doctype|entity)", re.IGNORECASE)


def _check_declarations(data: bytes, label: str) -> None:
    # One search for the UTF-8 spelling; a NUL byte (UTF-16) gets the full check of every spelling.
    if _DECLARES.search(data) or (b"\0" in data and _declares_entities(data.lower())):
        raise ValidationError(_("{name}: declares a DTD or XML entities (DOCTYPE/ENTITY); refused as unsafe")
                              .format(name=label))


def _check_zip_headers(entry: Path | str, label: str) -> list[zipfile.ZipInfo]:
    """The archive's members after the checks its headers allow (cheap; nothing inflated): the
    workbook reader's limits, one document's size, no nested archives."""
    if os.stat(entry).st_size > MAX_XLSX_UNCOMPRESSED:
        raise ValidationError(_("{name}: a zip over {mib} MiB; refused (split it)")
                              .format(name=label, mib=MAX_XLSX_UNCOMPRESSED // 1024**2))
    try:
        with zipfile.ZipFile(entry) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise ValidationError(_("{name} is not a zip archive").format(name=label)) from None
    except _DAMAGED as exc:
        raise ValidationError(_("{name}: a damaged zip archive ({reason})")
                              .format(name=label, reason=printable(str(exc))[:200])) from None
    if len(members) > MAX_XLSX_MEMBERS:
        raise ValidationError(_("{name}: {n} members in the archive, more than {max:,}; refused as unsafe")
                              .format(name=label, n=len(members), max=MAX_XLSX_MEMBERS))
    declared = 0
    for info in members:
        member = f"{label}:{info.filename}"
        declared += info.file_size
        if info.file_size > _BOMB_FLOOR and info.compress_size and info.file_size / info.compress_size > MAX_XLSX_RATIO:
            raise ValidationError(_("{name} inflates {ratio}x; refused as a possible zip bomb")
                                  .format(name=member, ratio=info.file_size // info.compress_size))
        if info.is_dir() or CDR_NAME.match(info.filename.rpartition("/")[2]):
            continue
        if info.filename.lower().endswith(".zip"):
            raise ValidationError(_("{name}: a zip inside a zip; refused (unzip the outer one first)")
                                  .format(name=member))
        if info.filename.lower().endswith(".xml") and info.file_size > MAX_UBL_DOCUMENT_BYTES:
            raise ValidationError(_too_big(member))
    if declared > MAX_XLSX_UNCOMPRESSED:
        raise ValidationError(_("{name}: inflates to {mib:,.0f} MiB, more than {max} MiB; refused as a possible "
                                "zip bomb").format(name=label, mib=declared / 1024**2, max=MAX_XLSX_UNCOMPRESSED // 1024**2))
    return members


def _zip_documents(entry: str, label: str) -> Iterator[tuple[str, bytes | None]]:
    members = _check_zip_headers(entry, label)
    try:
        with zipfile.ZipFile(entry) as archive:
            for info in members:
                base = info.filename.rpartition("/")[2]
                if info.is_dir() or base.startswith(".") or info.filename.startswith("__MACOSX/"):
                    continue
                name = f"{label}:{info.filename}"
                if CDR_NAME.match(base):
                    yield name, None
                    continue
                if not base.lower().endswith(".xml"):
                    continue
                # inflated in chunks and checked as it goes: sizes, ratio, CRC, DOCTYPE/ENTITY
                data = b"".join(_checked_chunks(archive, info, label))
                _check_declarations(data, name)
                yield name, data
    except _DAMAGED as exc:
        raise ValidationError(_("{name}: a damaged zip archive ({reason})")
                              .format(name=label, reason=printable(str(exc))[:200])) from None
