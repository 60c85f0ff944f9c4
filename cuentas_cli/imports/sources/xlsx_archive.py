"""An XLSX workbook checked before any parser inflates it: a damaged archive, a zip bomb, a
part that lies about its size or XML with entity declarations is refused (worksheets are
checked the same way as xlsx_sheet reads them)."""

from __future__ import annotations

import copy
import io
import posixpath
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import _

# XLSX is a zip of XML, and python-calamine holds a whole sheet in memory: refuse archives that
# inflate beyond these (a "zip bomb", or simply too big for a spreadsheet import; CSV streams).
# The sizes are counted while inflating, not taken from the archive's headers.
MAX_XLSX_UNCOMPRESSED = 256 * 1024**2
MAX_XLSX_RATIO = 250
MAX_XLSX_MEMBERS = 10_000
_XLSX_TOO_BIG = f"more than {MAX_XLSX_UNCOMPRESSED // 1024**2} MiB of XML, the limit for a workbook; export it as CSV to import it"
# Parts are scanned for XML entity declarations (case-insensitive, UTF-8 and UTF-16 spellings).
_XML_DECLARATIONS = tuple(
    word.encode(enc) for word in ("<!doctype", "<!entity") for enc in ("utf-8", "utf-16-le", "utf-16-be")
)
# Parts are inflated in big chunks: the check runs on a thread while the import starts up, and
# each chunk costs a hand-over of the GIL (inflate and CRC release it), so 1 MiB chunks made the
# check of a 60 MiB sheet take 4x longer under that contention than 16 MiB chunks.
_XLSX_CHUNK = 16 * 1024**2

_WORKSHEETS = "xl/worksheets/"  # worksheets are checked as they are read, and not kept
_SKIPPED_PARTS = ("xl/media/", "xl/embeddings/")  # images and embedded files: never read


@dataclass
class _Archive:
    """A workbook after the safety checks."""

    path: Path
    raw: bytes  # the file as checked: every later read is of these bytes
    parts: dict[str, bytes | bytearray]  # inflated parts but worksheets, media and embeddings
    sizes: dict[str, int]  # every part's checked size
    sheets: dict[str, str | None]  # sheet name -> its part ("xl/worksheets/sheet1.xml"), if known
    readers: list[Any] = field(default_factory=list)  # its sheets' readers (xlsx_sheet), to close

    def close(self) -> None:
        """Stop every background parse of this workbook."""
        for reader in self.readers:
            reader.close()


def _open_archive(path: Path) -> _Archive:
    """The workbook, after refusing damaged archives, zip bombs and XML with entity declarations
    before any parser inflates it (worksheets are checked as they are read)."""
    if path.stat().st_size > MAX_XLSX_UNCOMPRESSED:
        raise ValidationError(_("{name}: a {path_stat_st_size_1024_2:,.0f} MiB workbook is more than an "
                                "import reads ({max_xlsx_uncompressed_10} MiB); export it as CSV to "
                                "import it")
                              .format(name=path.name, path_stat_st_size_1024_2=path.stat().st_size / 1024**2, max_xlsx_uncompressed_10=MAX_XLSX_UNCOMPRESSED // 1024**2))
    raw = path.read_bytes()
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise ValidationError(_("{name} is not an .xlsx workbook (not a zip archive); is it a CSV with "
                                "the wrong extension?")
                              .format(name=path.name)) from None
    except _DAMAGED as exc:
        raise ValidationError(_not_valid_xlsx(path, exc)) from None
    try:
        with archive:
            parts, sizes = _check_archive(archive, path.name)
    except _DAMAGED as exc:
        raise ValidationError(_not_valid_xlsx(path, exc)) from None
    return _Archive(path, raw, parts, sizes, _sheet_parts(parts, sizes, path.name))


# What zipfile/zlib raise on a damaged archive (garbled names, bad offsets, bad CRC, truncation).
_DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, UnicodeDecodeError, ValueError,
            NotImplementedError, RuntimeError, zlib.error)


def _not_valid_xlsx(path: Path, exc: BaseException) -> str:
    reason = _printable(exc) or type(exc).__name__
    return f"the file is not a valid XLSX workbook: {path.name}: {reason}"


def _check_archive(archive: zipfile.ZipFile, name: str) -> tuple[dict[str, bytes | bytearray], dict[str, int]]:
    members = archive.infolist()
    if len(members) > MAX_XLSX_MEMBERS:
        raise ValidationError(_("{name}: {n_members} parts in the workbook archive; refused as unsafe")
                              .format(name=name, n_members=len(members)))
    # First what the headers declare (cheap; refuses the obvious cases without inflating) ...
    declared = 0
    for info in members:
        declared += info.file_size
        if info.file_size > 10 * 1024**2 and info.compress_size and info.file_size / info.compress_size > MAX_XLSX_RATIO:
            raise ValidationError(
                _("{name}: part {filename} inflates {info_file_size_info_comp}x; refused as a possible "
                  "zip bomb")
                .format(name=name, filename=info.filename, info_file_size_info_comp=info.file_size // info.compress_size)
            )
    if declared > MAX_XLSX_UNCOMPRESSED:
        raise ValidationError(_("{name}: inflates to {declared_1024_2:,.0f} MiB; refused as a possible "
                                "zip bomb or {_XLSX_TOO_BIG}")
                              .format(name=name, declared_1024_2=declared / 1024**2, _XLSX_TOO_BIG=_XLSX_TOO_BIG))
    if "xl/workbook.xml" not in {m.filename for m in members}:
        raise ValidationError(_("{name} is not an Excel workbook (no xl/workbook.xml)").format(name=name))
    # ... then what the parts really hold: every part inflated (streamed, counted, CRC-checked)
    # and its XML scanned for DOCTYPE/ENTITY declarations, whatever its headers say. Worksheets
    # are checked the same way as xlsx_sheet reads them, so they are inflated once.
    parts: dict[str, bytes | bytearray] = {}
    sizes: dict[str, int] = {}
    for info in members:
        if info.is_dir():
            continue
        sizes[info.filename] = info.file_size
        if _is_worksheet(info.filename):
            continue
        keep = not info.filename.startswith(_SKIPPED_PARTS)
        data = bytearray()
        for chunk in _checked_chunks(archive, info, name):
            if keep:
                data += chunk
        if keep:
            parts[info.filename] = data
    return parts, sizes


def _is_worksheet(name: str) -> bool:
    return name.startswith(_WORKSHEETS) and name.endswith(".xml") and "/_rels/" not in name


def _sheet_parts(parts: dict[str, bytes | bytearray], sizes: dict[str, int], name: str) -> dict[str, str | None]:
    """Sheet name -> its part, from workbook.xml and its relationships (parsed with defusedxml)."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        root = fromstring(bytes(parts["xl/workbook.xml"]))
    except (DefusedXmlException, Exception) as exc:  # noqa: BLE001 - any parse failure means a broken workbook
        raise ValidationError(_("{name}: unreadable workbook.xml ({__name__})")
                              .format(name=name, __name__=type(exc).__name__)) from None
    targets: dict[str, str] = {}
    try:
        rels = fromstring(bytes(parts.get("xl/_rels/workbook.xml.rels", b"<Relationships/>")))
        for el in rels.iter():
            target = el.get("Target")
            if el.tag.endswith("Relationship") and el.get("Id") and target:
                targets[el.get("Id", "")] = target[1:] if target.startswith("/") else posixpath.normpath("xl/" + target)
    except (DefusedXmlException, Exception):  # noqa: BLE001 - without relationships every sheet is read whole
        targets = {}
    sheets: dict[str, str | None] = {}
    for el in root.iter():
        if el.tag.endswith("}sheet") or el.tag == "sheet":
            rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            part = targets.get(rid or "")
            sheets[el.get("name", "")] = part if part in sizes else None
    return sheets


def _checked_chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str,
                   chunk_size: int = _XLSX_CHUNK) -> Iterator[bytes]:
    """One part, inflated in chunks and refused as soon as it inflates past the size its header
    declares (the declared sizes are within the budget: checked before), past MAX_XLSX_RATIO, or
    declares XML entities. zipfile stops at the declared size, so the part is opened as one byte
    bigger to see a part that lies; it checks the CRC at the end."""
    probe = copy.copy(info)
    probe.file_size = info.file_size + 1
    scan = not info.filename.startswith(_SKIPPED_PARTS)
    size = 0
    tail = b""
    with archive.open(probe) as part:
        while chunk := part.read(chunk_size):
            size += len(chunk)
            if size > info.file_size:
                raise ValidationError(_("{name}: part {filename} inflates past the {file_size:,} bytes "
                                        "its header says; refused as damaged or unsafe (or a zip bomb)")
                                      .format(name=name, filename=info.filename, file_size=info.file_size))
            if size > 10 * 1024**2 and size > MAX_XLSX_RATIO * max(info.compress_size, 1):
                raise ValidationError(_("{name}: part {filename} inflates over {MAX_XLSX_RATIO}x; "
                                        "refused as a possible zip bomb")
                                      .format(name=name, filename=info.filename, MAX_XLSX_RATIO=MAX_XLSX_RATIO))
            if scan:
                # "!" is rare in sheet XML, and memchr finds it fast; only then the full check.
                if (b"!" in chunk or b"!" in tail) and _declares_entities((tail + chunk).lower()):
                    raise ValidationError(_("{name}: part {filename} declares XML entities (DOCTYPE); "
                                            "refused as unsafe")
                                          .format(name=name, filename=info.filename))
                tail = chunk[-32:]
            yield chunk
    if size != info.file_size:
        raise ValidationError(
            _("{name}: part {filename} inflates to {size:,} bytes where its header says {file_size:,}; "
              "refused as damaged or unsafe")
            .format(name=name, filename=info.filename, size=size, file_size=info.file_size)
        )


def _declares_entities(lowered: bytes) -> bool:
    return any(word in lowered for word in _XML_DECLARATIONS)



def _printable(exc: BaseException) -> str:
    return "".join(c if c.isprintable() else "?" for c in str(exc))[:200]
