"""Batch import of invoices from CSV, XLSX and SUNAT PLE registers: validated, atomic,
idempotent and fast.

How it stays fast and lean on a million rows: the file is streamed (readers.py), each row is
validated into a plain tuple with the shared document rules (documents.py, identity.py) and
per-value caches (a file has a few thousand distinct RUCs and dates, not a million), and rows
are written in chunks through a staging table: on SQLite a second thread stages and moves each
chunk into `invoice` while the next one is converted (_SqliteMover); on PostgreSQL COPY fills
the staging table and one INSERT ... SELECT ... ON CONFLICT moves it at the end. No ORM object
is made per row. Everything runs in the caller's single transaction, so an interrupted or
failed import leaves nothing behind.

Idempotent by the invoice's unique key (direction, party, document type, serie, número): a
row whose invoice exists is skipped, updated or an error (`on_duplicate`). A document that
appears twice in one file is an error for the second row.
"""

from __future__ import annotations

import csv
import hashlib
import re
import sys
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import UsageError, ValidationError
from cuentas_cli.admin import audit
from cuentas_cli.imports import readers
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.rules.dates import MAX_YEAR, MIN_YEAR, check_year
from cuentas_cli.ledger.documents import (
    DECIMAL_STYLES,
    DETRACCION_THRESHOLD_CENTS,
    MAX_AMOUNT_DIGITS,
    AmountStyleError,
    amount_style,
    check_doc_type,
    check_numero,
    check_serie,
    parse_amount,
    parse_rate,
    percentage_cents,
    split_document,
    split_total,
)
from cuentas_cli.rules.identity import validate_ruc
from cuentas_cli.ledger.statuses import STATUS_CASE, status_for

if TYPE_CHECKING:
    from sqlmodel import Session

CHUNK_ROWS = 10_000
SCREEN_ERRORS = 20
ON_DUPLICATE = ("skip", "update", "error")

# Canonical field -> accepted headers (compared after normalise_header: no accents, lower case,
# punctuation and underscores as spaces). English and Spanish, plus the names `export` writes.
FIELDS: dict[str, tuple[str, ...]] = {
    "kind": ("tipo", "kind", "cuenta", "tipo cuenta", "tipo de cuenta", "direction", "direccion", "cxc cxp", "libro"),
    "party_doc": ("ruc", "dni", "ruc dni", "ruc o dni", "documento", "nro documento", "numero documento",
                  "numero de documento", "num documento", "doc", "party doc", "tax id", "ruc cliente", "ruc proveedor",
                  "ruc del cliente", "ruc del proveedor", "documento identidad", "numero documento identidad", "nro doc",
                  "ruc dni cliente", "ruc dni proveedor", "document number"),
    "party_doc_type": ("tipo doc identidad", "tipo documento identidad", "tipo de documento de identidad",
                       "tipo documento de identidad", "party doc type", "tipo doc"),
    "party_name": ("razon social", "nombre", "name", "cliente", "proveedor", "party name", "party",
                   "nombre o razon social", "razon social cliente", "razon social proveedor", "apellidos y nombres",
                   "denominacion", "client", "supplier", "customer", "vendor", "razon social o nombre"),
    "doc_type": ("tipo comprobante", "tipo de comprobante", "doc type", "document type", "tipo cp", "tipo documento",
                 "comprobante tipo", "cod comprobante", "tipo de documento"),
    "serie": ("serie", "series", "serie comprobante", "nro serie", "serie del comprobante"),
    "numero": ("numero", "number", "correlativo", "nro", "numero comprobante", "nro comprobante", "num",
               "numero del comprobante"),
    "document": ("comprobante", "document", "invoice", "invoice number", "factura", "nro factura", "serie numero",
                 "serie y numero", "numero de comprobante"),
    "issue_date": ("fecha emision", "fecha de emision", "fecha", "issue date", "issued", "date", "emision",
                   "invoice date", "fecha comprobante", "f emision"),
    "due_date": ("fecha vencimiento", "fecha de vencimiento", "vencimiento", "due date", "due", "fecha vence", "vence",
                 "f vencimiento", "fecha de vencimiento o pago"),
    "currency": ("moneda", "currency", "divisa", "cod moneda"),
    "rate": ("tipo cambio", "tipo de cambio", "tc", "t c", "exchange rate", "rate", "fx", "fx rate"),
    "base": ("base imponible", "base", "subtotal", "valor venta", "valor de venta", "taxable base", "net amount",
             "valor compra", "base imponible gravada"),
    "igv": ("igv", "vat", "tax", "impuesto", "igv ipm", "igv 18%", "igv 18"),
    "total": ("total", "importe total", "monto total", "amount", "importe", "monto", "total amount",
              "total comprobante", "importe total del comprobante"),
    "description": ("descripcion", "glosa", "concepto", "description", "detalle", "observacion", "observaciones"),
    "detraccion": ("detraccion %", "% detraccion", "detraccion pct", "porcentaje detraccion", "tasa detraccion",
                   "detraccion rate", "detraccion porcentaje"),
    "ref_doc_type": ("ref tipo", "ref doc type", "tipo comprobante referencia", "tipo referencia",
                     "tipo comprobante modificado", "ref tipo comprobante"),
    "ref_serie": ("ref serie", "serie referencia", "serie comprobante modificado"),
    "ref_numero": ("ref numero", "numero referencia", "numero comprobante modificado"),
    "ple_status": ("estado ple",),
}
LABELS = {
    "kind": "tipo (cxc/cxp)", "party_doc": "ruc (RUC/DNI)", "party_name": "razon_social", "doc_type": "tipo_comprobante",
    "serie": "serie", "numero": "numero", "document": "comprobante (F001-123)", "issue_date": "fecha_emision",
    "due_date": "fecha_vencimiento", "currency": "moneda", "rate": "tipo_cambio", "base": "base_imponible", "igv": "igv",
    "total": "total", "description": "descripcion", "detraccion": "detraccion_pct", "party_doc_type": "tipo_doc_identidad",
    "ref_doc_type": "ref_tipo", "ref_serie": "ref_serie", "ref_numero": "ref_numero", "ple_status": "estado_ple",
}
_HEADER_INDEX = {alias: name for name, aliases in FIELDS.items() for alias in aliases}
# PLE columns as the PLE reader names them.
_HEADER_INDEX.update({"tipo doc identidad": "party_doc_type", "estado": "ple_status", "ref tipo": "ref_doc_type"})

KIND_TO_DIRECTION = {
    "cxc": "receivable", "receivable": "receivable", "cobrar": "receivable", "por cobrar": "receivable",
    "cliente": "receivable", "client": "receivable", "venta": "receivable", "ventas": "receivable", "sales": "receivable",
    "cxp": "payable", "payable": "payable", "pagar": "payable", "por pagar": "payable", "proveedor": "payable",
    "supplier": "payable", "compra": "payable", "compras": "payable", "purchases": "payable",
}
PARTY_DOC_TYPES = {"6": "6", "1": "1", "4": "4", "7": "7", "a": "A", "0": "0", "ruc": "6", "dni": "1", "ce": "4",
                   "pasaporte": "7", "passport": "7"}
DATE_FORMATS = {
    "dd/mm/yyyy": "dmy", "%d/%m/%y": "dmy", "%d/%m/%Y": "dmy", "dmy": "dmy", "dd-mm-yyyy": "dmy", "%d-%m-%Y": "dmy",
    "mm/dd/yyyy": "mdy", "%m/%d/%Y": "mdy", "mdy": "mdy", "mm-dd-yyyy": "mdy", "%m-%d-%Y": "mdy",
    "yyyy-mm-dd": "iso", "%Y-%m-%d": "iso", "iso": "iso",
}
_SLASH_DATE = re.compile(r"^([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})$")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ].*)?")
_EXCEL_SERIAL = re.compile(r"^[0-9]{5}(\.0+)?$")
# Amounts whose decimal mark could be a point or a comma ("1.180") are read by the evidence of
# the file's other amounts; this many rows from the top are looked at, never the whole file.
DECIMAL_SCAN_ROWS = 10_000
_DECIMAL_OPTIONS = "pass --decimal-comma or --decimal-point"
_EXCEL_EPOCH = date(1899, 12, 30)
# Formula injection: text starting with these is neutralised with a leading apostrophe on
# export; the importer takes that apostrophe off again so a round trip gives the same text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class RowError(Exception):
    """One bad cell: the column (as the file names it), the value, and what is wrong."""

    def __init__(self, column: str, value: Any, message: str) -> None:
        super().__init__(message)
        self.column, self.value, self.message = column, value, message


@dataclass
class ImportError_:
    row: int
    column: str
    value: str
    message: str

    def line(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        shown = f", value {self.value!r}" if self.value not in ("", None) else ""
        return f"{where}{shown}: {self.message}"


@dataclass
class ImportResult:
    file: str
    sha256: str
    format: str
    rows: int = 0
    new: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    anulados: int = 0
    parties_created: int = 0
    dry_run: bool = False
    committed: bool = False
    errors_file: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0
    errors: list[ImportError_] = field(default_factory=list)  # the first ones, for the screen

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.file, "sha256": self.sha256, "format": self.format, "rows": self.rows, "new": self.new,
            "updated": self.updated, "skipped": self.skipped, "rejected": self.rejected, "anulados": self.anulados,
            "parties_created": self.parties_created, "dry_run": self.dry_run, "committed": self.committed,
            "errors_file": self.errors_file,
        }


class ImportRejected(ValidationError):
    """An atomic import that found bad rows: nothing was written."""

    def __init__(self, message: str, result: ImportResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class Options:
    kind: str | None = None  # cxc | cxp, for files without a kind column
    sheet: str | None = None
    format: str | None = None  # csv | xlsx | ple (default: from the file)
    encoding: str | None = None
    delimiter: str | None = None
    date_format: str | None = None
    on_duplicate: str = "skip"
    partial: bool = False
    dry_run: bool = False
    errors_path: Path | None = None
    mapping_path: Path | None = None
    lookup: bool = False
    decimal: str | None = None  # point | comma: the amounts' decimal mark (default: the file's own evidence)


# --- columns -------------------------------------------------------------------------------


def _known_header(text: str) -> bool:
    return text in _HEADER_INDEX


def load_mapping(path: Path) -> dict[str, Any]:
    """A TOML file: [columns] field = "Header in the file" (or a 1-based column number);
    optional [options] kind, date_format, encoding, delimiter, sheet."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--mapping: no file {path}") from None
    except IsADirectoryError:
        raise UsageError(f"--mapping {path}: is a directory; give the TOML file") from None
    except OSError as exc:  # unreadable, a name too long, a special file
        raise UsageError(f"--mapping {path}: cannot read it ({exc.strerror or type(exc).__name__})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(f"--mapping {path.name}: not valid TOML ({readers.printable(str(exc))})") from None
    columns = data.get("columns", {})
    if not isinstance(columns, dict):
        raise ValidationError(f"--mapping {path.name}: [columns] must be a table of field = \"header\"")
    unknown = [k for k in columns if k not in FIELDS]
    if unknown:
        raise ValidationError(f"--mapping {path.name}: unknown field(s) {', '.join(unknown)}; fields are: {', '.join(FIELDS)}")
    for name, target in columns.items():
        # bool is an int in Python: `party_doc = true` is not column 1
        if isinstance(target, bool) or not isinstance(target, (str, int)) or (isinstance(target, str) and not target.strip()):
            raise ValidationError(f"--mapping {path.name}: {name} = {readers.printable(repr(target))[:40]}: give the column's "
                                  "header as text (e.g. \"RUC\") or its number counting from 1")
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise ValidationError(f"--mapping {path.name}: [options] must be a table of option = value")
    allowed = {"kind", "date_format", "encoding", "delimiter", "sheet", "format"}
    bad = [k for k in options if k not in allowed]
    if bad:
        raise ValidationError(f"--mapping {path.name}: unknown option(s) {', '.join(bad)}; options are: {', '.join(sorted(allowed))}")
    wrong = [k for k, v in options.items() if not isinstance(v, str)]
    if wrong:
        raise ValidationError(f"--mapping {path.name}: option(s) {', '.join(wrong)} must be text (e.g. kind = \"cxc\")")
    return {"columns": columns, "options": options}


# Headers that name different fields in different registers ("Tipo Doc" is the comprobante's
# type next to Serie and Número, the identity document's next to the RUC): the column's values
# decide, then its neighbours; otherwise the import asks for --mapping.
_AMBIGUOUS: dict[str, tuple[str, ...]] = {
    "tipo": ("kind", "doc_type", "party_doc_type"),
    "tipo doc": ("doc_type", "party_doc_type"),
    "tipo de doc": ("doc_type", "party_doc_type"),
    "tipo documento": ("doc_type", "party_doc_type"),
    "tipo de documento": ("doc_type", "party_doc_type"),
}
SAMPLE_ROWS = 200  # rows read ahead to resolve an ambiguous header
_DOC_FIELDS = {"serie", "numero", "document"}
_PARTY_FIELDS = {"party_doc", "party_name"}


def _fits(name: str, value: str) -> bool:
    from cuentas_cli.ledger.documents import DOC_TYPES

    if name == "kind":
        return readers.normalise_header(value) in KIND_TO_DIRECTION
    if name == "doc_type":
        return value.zfill(2) in DOC_TYPES
    return readers.normalise_header(value) in PARTY_DOC_TYPES


def _column_label(index: int, header: list[str]) -> str:
    return f"column {index + 1} ({readers.printable(str(header[index]).strip())[:40]!r})"


def _resolve_ambiguous(index: int, header: list[str], candidates: tuple[str, ...], fields_at: dict[int, str],
                       sample: list[list[Any]] | None) -> str | None:
    """The field an ambiguous header names, from its values and its neighbours; None when the
    field it would take is claimed already."""
    values = {v for v in (_text(row[index]) for row in (sample or []) if index < len(row)) if v}
    score = {n: sum(1 for v in values if _fits(n, v)) for n in candidates}
    best = max(score.values(), default=0)
    # the field most of its distinct values fit (a typo among them is the row's error, later)
    fits = [n for n in candidates if score[n] == best] if values and 2 * best >= len(values) else []
    if len(fits) == 1:
        return fits[0]
    if not fits:
        usual = _HEADER_INDEX.get(readers.normalise_header(header[index]))  # nothing to go by: the usual reading
        if usual is not None:
            return usual
        fits = list(candidates)
    near = {fields_at.get(index - 1), fields_at.get(index + 1)}
    by_neighbour = [n for n in fits if (n == "doc_type" and near & _DOC_FIELDS) or (n == "party_doc_type" and near & _PARTY_FIELDS)]
    if len(by_neighbour) == 1:
        return by_neighbour[0]
    shown = ", ".join(sorted(values)[:6])
    raise ValidationError(
        f"{_column_label(index, header)} could be {' or '.join(LABELS[n] for n in fits)}: its values ({shown}) do not say "
        f"which; name it with --mapping FILE (e.g. [columns] {fits[0]} = {str(header[index]).strip()!r})"
    )


def resolve_columns(header: list[str], mapping: dict[str, Any] | None, *, need_kind: bool,
                    sample: list[list[Any]] | None = None) -> tuple[dict[str, int], list[str]]:
    """Field -> column index; raises listing found and expected headers when a required one is
    missing, when two columns have the same header, or when an ambiguous header ("Tipo Doc")
    cannot be told from `sample` (the first data rows)."""
    positions: dict[str, int] = {}
    ignored: list[str] = []
    normalised = [readers.normalise_header(h) for h in header]
    if mapping:
        for name, target in mapping["columns"].items():
            if isinstance(target, int) and not isinstance(target, bool):
                if not 1 <= target <= len(header):
                    raise ValidationError(f"mapping: {name} = {target} but the file has {len(header)} columns")
                positions[name] = target - 1
                continue
            wanted = readers.normalise_header(target)
            if wanted not in normalised:
                found = ", ".join(readers.printable(str(h).strip()) for h in header if h and str(h).strip())
                raise ValidationError(f"mapping: {name} = {target!r} is not a column of the file; found: {found}")
            twice = [i for i, n in enumerate(normalised) if n == wanted]
            if len(twice) > 1:
                raise ValidationError(f"mapping: {name} = {target!r} names {' and '.join(_column_label(i, header) for i in twice)}; "
                                      "give the column's number instead")
            positions[name] = twice[0]
    taken = set(positions.values())
    fields_at: dict[int, str] = {}  # column -> the field its header names, when unambiguous
    first_of: dict[str, int] = {}
    for index, norm in enumerate(normalised):
        name = _HEADER_INDEX.get(norm)
        if name is None or norm in _AMBIGUOUS:
            continue
        fields_at[index] = name
        if norm in first_of and name not in positions and index not in taken:
            raise ValidationError(
                f"{_column_label(first_of[norm], header)} and {_column_label(index, header)} have the same header; "
                "rename one, or say which to import with --mapping FILE"
            )
        first_of.setdefault(norm, index)
    for index, norm in enumerate(normalised):
        if index in taken:
            continue
        name = fields_at.get(index)
        if name is None and norm in _AMBIGUOUS:
            claimed = {n for i, n in fields_at.items()} | set(positions)
            candidates = tuple(n for n in _AMBIGUOUS[norm] if n not in claimed)
            if candidates:
                name = _resolve_ambiguous(index, header, candidates, fields_at, sample)
        if name is None or name in positions:
            if str(header[index]).strip():
                ignored.append(readers.printable(str(header[index]).strip()))
            continue
        positions[name] = index
    missing = []
    if "party_doc" not in positions:
        missing.append("party_doc")
    if not ("serie" in positions and "numero" in positions) and "document" not in positions:
        missing.extend(n for n in ("serie", "numero") if n not in positions)
    for name in ("issue_date", "due_date"):
        if name not in positions:
            missing.append(name)
    if "total" not in positions and not ("base" in positions and "igv" in positions):
        missing.append("total")
    if need_kind and "kind" not in positions:
        missing.append("kind")
    if missing:
        expected = "; ".join(f"{LABELS[n]} (or {', '.join(FIELDS[n][:3])})" for n in missing)
        found = ", ".join(readers.printable(str(h).strip()) for h in header if h and str(h).strip()) or "(no header)"
        hint = " (or pass --kind cxc|cxp)" if "kind" in missing else ""
        raise ValidationError(
            f"missing required column(s): {expected}{hint}. Found: {found}. Use --mapping FILE to name them"
        )
    return positions, ignored


# --- values --------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    return str(value).strip()


def unneutralise(text: str) -> str:
    """Undo export's formula neutralisation: "'=SUMA(..)" -> "=SUMA(..)"."""
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_STARTS:
        return text[1:]
    return text


def _float_cents(value: float, column: str) -> int:
    # A number cell in Excel is a binary double: 1180.4 arrives as 1180.4000000000001. Accept it
    # when it is within a millionth of a céntimo value; anything else has more than 2 decimals.
    if value != value or value in (float("inf"), float("-inf")):
        raise RowError(column, value, "is not an amount")
    if abs(value) >= 10**MAX_AMOUNT_DIGITS:
        raise RowError(column, value, f"too large (at most {MAX_AMOUNT_DIGITS} digits before the decimals)")
    cents = round(value * 100)
    if abs(value * 100 - cents) > 1e-4:
        raise RowError(column, value, "at most 2 decimals")
    return int(cents)


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes '²' and other scripts' digits, which int() may refuse."""
    return text.isascii() and text.isdigit()


def cell_rows_text(cells: Iterable[Any]) -> list[str]:
    return [_text(c) if not isinstance(c, str) else c for c in cells]


# --- the import -----------------------------------------------------------------------------


def check_permissions(actor: Actor | None, options: Options) -> None:
    """What an import needs before its file is read: invoices.create, and with --on-duplicate
    update invoices.edit (updating a stored invoice is editing it). One check per effect, not
    per command: creating a client or supplier (parties.write) is checked when the file names
    the first unknown RUC/DNI, before anything is written."""
    require(actor, "invoices.create")
    if options.on_duplicate not in ON_DUPLICATE:
        raise UsageError(f"--on-duplicate {options.on_duplicate!r}: use skip, update or error")
    if options.on_duplicate == "update":
        require(actor, "invoices.edit")


def import_file(
    *,
    session: "Session",
    actor: Actor | None,
    path: Path,
    options: Options,
    today: date,
    progress: Callable[[int, int, int], None] | None = None,
    config: Any = None,
) -> ImportResult:
    """Import one file in the session's transaction. Raises ImportRejected (nothing written)
    when rows are invalid and `options.partial` is off; with `dry_run` the caller rolls back."""
    check_permissions(actor, options)
    started = time.perf_counter()
    if options.partial and options.errors_path is None:
        raise UsageError("--partial needs --errors FILE: the rejected rows are written there to fix and re-import")
    readers.check_input(path)
    mapping = load_mapping(options.mapping_path) if options.mapping_path else None
    mopts = mapping["options"] if mapping else {}
    kind_default = options.kind or mopts.get("kind")
    date_format = options.date_format or mopts.get("date_format")
    fmt = readers.detect_format(path, options.format or mopts.get("format"))
    encoding = options.encoding or mopts.get("encoding")
    if encoding:
        readers.check_encoding(encoding)
    delimiter = options.delimiter or mopts.get("delimiter")
    if delimiter:
        delimiter = readers.check_delimiter(delimiter)
    if fmt == "ple":
        book = None
        if options.format == "ple" and not readers.PLE_NAME.match(path.name):
            if not kind_default:
                raise UsageError("--format ple with a file not named as SUNAT names PLE files: say --kind cxc (ventas 14.1) or --kind cxp (compras 8.1)")
            book = "ventas" if _direction_of(kind_default) == "receivable" else "compras"
        source = readers.open_ple(path, encoding=encoding, book=book)
    elif fmt == "xlsx":
        source = readers.open_xlsx(path, sheet=options.sheet or mopts.get("sheet"), known=_known_header)
    else:
        source = readers.open_csv(path, encoding=encoding, known=_known_header, delimiter=delimiter)
    try:
        default_direction = _direction_of(kind_default) if kind_default else None
        sample = _sample(source) if any(readers.normalise_header(h) in _AMBIGUOUS for h in source.header) else None
        positions, ignored = resolve_columns(source.header, mapping, need_kind=default_direction is None, sample=sample)
        order = None
        if date_format:
            order = DATE_FORMATS.get(date_format.strip()) or DATE_FORMATS.get(date_format.strip().lower())
            if order is None:
                raise UsageError(f"--date-format {date_format!r}: use DD/MM/YYYY, MM/DD/YYYY or YYYY-MM-DD")
        elif source.fixed_date_format:
            order = "dmy"
        result = ImportResult(file=path.name, sha256=_sha256(path), format=source.format, dry_run=options.dry_run,
                              ignored_columns=ignored)
        job = _Job(session=session, actor=actor, source=source, positions=positions, options=options, today=today,
                   default_direction=default_direction, date_order=order, result=result, progress=progress, config=config)
        try:
            job.run()
        finally:
            if job.provider is not None:
                job.provider.close()
        result.seconds = time.perf_counter() - started
        if job.all_errors_count and not options.partial:
            result.rejected = job.all_errors_count
            first = result.errors[0].line() if result.errors else ""
            where = f"; all of them in {options.errors_path}" if options.errors_path else "; pass --errors FILE for the full list"
            raise ImportRejected(
                f"{job.all_errors_count} row error(s) in {path.name}; nothing was imported (first: {first}){where}. "
                "Fix the file, or import the valid rows with --partial --errors FILE",
                result,
            )
        audit.record(
            session, actor, action="import.dry_run" if options.dry_run else "import", entity="import",
            entity_id=result.sha256[:16], after={**{k: v for k, v in result.summary().items() if k != "committed"}, "user": actor.username if actor else None},
        )
        return result
    finally:
        source.close()  # a workbook's background parse


def _sample(source: readers.Source) -> list[list[Any]]:
    """The first SAMPLE_ROWS data rows, to tell what an ambiguous header names (a bounded read
    ahead; the import reads the file from its start as usual)."""
    rows: list[list[Any]] = []
    iterator = source.peek(SAMPLE_ROWS) if source.peek is not None else source.rows()
    try:
        for _, cells in iterator:
            if isinstance(cells, list) and not _blank(cells):
                rows.append(cells)
                if len(rows) >= SAMPLE_ROWS:
                    break
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    return rows


def _direction_of(kind: str) -> str:
    value = readers.normalise_header(kind)
    direction = KIND_TO_DIRECTION.get(value)
    if direction is None:
        raise UsageError(f"--kind {kind!r}: use cxc (receivables) or cxp (payables)")
    return direction


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Job:
    """The state of one import: caches, the pending chunk, counters and errors."""

    def __init__(self, *, session, actor, source, positions, options, today, default_direction, date_order, result,
                 progress, config=None) -> None:  # noqa: ANN001
        self.session = session
        self.config = config
        self.actor = actor
        self.source = source
        self.pos = positions
        self.options = options
        self.today = today
        self.default_direction = default_direction
        self.date_order = date_order
        self.result = result
        self.progress = progress
        self.header = source.header
        self.doc_column = (source.header[positions["party_doc"]] or "").strip() or LABELS["party_doc"]
        self.ncols = len(source.header)
        self.sqlite = session.get_bind().dialect.name == "sqlite"
        self.all_errors_count = 0
        self.error_rows: set[int] = set()
        self.errors_writer = None
        self.errors_handle = None
        self.seen: set[int] = set()
        self.party_ids: dict[tuple[str, str, str], int] = {}
        # (kind, doc type, doc) -> (party id, its part of the invoice key), for the parties above
        self.party_keys = _PartyKeys(self.party_ids)
        self.party_names: dict[tuple[str, str, str], str] = {}
        self.notes: list[tuple] = []
        self.touched_refs: set[int] = set()
        self.updates: list[tuple[int, dict, dict]] = []  # (invoice id, columns before, after) of --on-duplicate update
        self.rates: dict[tuple[str, date], int | str] = {}
        self.stamp = datetime.now(timezone.utc)
        self.strict = self._strict_mode()
        self.max_before = 0
        self.stage_ready = False
        self.written = 0
        self.mover: _SqliteMover | None = None
        self.provider = None
        self.iso: dict[date, str] = {}

    # -- errors ---------------------------------------------------------------------------

    def error(self, row: int, column: str, value: Any, message: str, cells: list[Any] | None) -> None:
        if row in self.error_rows:
            return
        self.error_rows.add(row)
        self.all_errors_count += 1
        err = ImportError_(row, column, _text(value), message)
        if len(self.result.errors) < SCREEN_ERRORS:
            self.result.errors.append(err)
        if self.options.errors_path is None:
            return
        if self.errors_writer is None:
            self._open_errors_file()
            if self.options.partial:
                self.errors_writer.writerow([*self.header, "error"])
            else:
                self.errors_writer.writerow(["row", "column", "value", "message"])
        if self.options.partial:
            raw = cells.cells if isinstance(cells, readers.ShortRow) else (cells or [])
            self.errors_writer.writerow([*cell_rows_text(raw), err.line()])
        else:
            self.errors_writer.writerow([row, column, err.value, message])

    def _open_errors_file(self) -> None:
        """The --errors file goes to a temporary file beside it (mode 0600, or files.mode); it
        replaces the target only once the run has finished (`_close_errors_file`)."""
        from cuentas_cli import outputs

        target = outputs.ensure(self.options.errors_path, option="--errors", session=self.session)
        self.errors_file = outputs.AtomicFile(target, mode=outputs.configured_mode(self.session, self.config))
        self.errors_handle = self.errors_file.open("w", newline="", encoding="utf-8-sig")
        self.errors_writer = csv.writer(self.errors_handle)

    def _close_errors_file(self, *, keep: bool) -> None:
        if self.errors_handle is None:
            return
        handle, self.errors_handle = self.errors_handle, None
        handle.close()
        if keep:
            self.result.errors_file = str(self.errors_file.commit())
        else:
            self.errors_file.discard()  # the run failed: the old file, if any, stays as it was

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> None:
        from sqlalchemy import text

        self.max_before = self.session.execute(text("SELECT COALESCE(MAX(id), 0) FROM invoice")).scalar_one()
        convert = self._converter()
        pending: list[tuple] = []
        ncols = self.ncols
        doc_index = self.pos["party_doc"]
        result = self.result
        last_progress = 0
        try:
            for row_no, cells in self.source.rows():
                if isinstance(cells, readers.ShortRow):
                    result.rows += 1
                    self.error(row_no, "", "", cells.message, cells)  # a short or unreadable line (readers)
                    continue
                if len(cells) < ncols:
                    if _blank(cells):
                        continue  # a blank line
                    result.rows += 1
                    self.error(row_no, "", "", f"short row: {len(cells)} fields, the header has {ncols}", cells)
                    continue
                if not cells[doc_index] and _blank(cells):
                    continue  # a row of empty cells (Excel leaves them below the data)
                result.rows += 1
                try:
                    record = convert(cells)
                except RowError as exc:
                    self.error(row_no, exc.column, exc.value, exc.message, cells)
                    continue
                except ValidationError as exc:  # raised by a shared rule without a column
                    self.error(row_no, "", "", exc.message, cells)
                    continue
                if record is None:
                    result.anulados += 1
                    continue
                pending.append((row_no, record, cells))
                if len(pending) >= CHUNK_ROWS:
                    self._flush(pending)
                    pending = []
                    if self.progress and result.rows - last_progress >= CHUNK_ROWS:
                        last_progress = result.rows
                        self.progress(result.rows, self.source.position(), self.source.size)
            self._flush(pending)
            self._finish()
            self._close_errors_file(keep=True)
        finally:
            if self.mover is not None:
                self.mover.close(quiet=True)  # after an error: stop the mover before the rollback
            self._close_errors_file(keep=False)
        if self.progress:
            self.progress(result.rows, self.source.size, self.source.size)
        result.rejected = self.all_errors_count

    def _strict_mode(self) -> bool:
        from sqlalchemy import text

        if self.config is not None:
            from cuentas_cli.admin import settings

            return bool(settings.get(self.session, self.config, "validation.strict"))

        row = self.session.execute(text("SELECT value FROM setting WHERE key = 'validation.strict'")).first()
        return bool(row) and str(row[0]).strip().lower() in {"true", "yes", "1", "on", "si", "sí"}

    # -- one row -> a tuple ------------------------------------------------------------------

    def _converter(self) -> Callable[[list[Any]], tuple | None]:
        pos = self.pos
        header = self.header

        def col(name: str) -> int | None:
            return pos.get(name)

        i_kind, i_doc, i_doctype_party, i_name = col("kind"), col("party_doc"), col("party_doc_type"), col("party_name")
        i_type, i_serie, i_num, i_document = col("doc_type"), col("serie"), col("numero"), col("document")
        i_issue, i_due, i_cur, i_rate = col("issue_date"), col("due_date"), col("currency"), col("rate")
        i_base, i_igv, i_total, i_desc = col("base"), col("igv"), col("total"), col("description")
        i_det, i_rtype, i_rserie, i_rnum = col("detraccion"), col("ref_doc_type"), col("ref_serie"), col("ref_numero")
        i_ple = col("ple_status")
        names = {i: (header[i].strip() or LABELS.get(n, n)) for n, i in pos.items()}
        default_direction = self.default_direction
        is_ple = self.source.format == "ple"
        today = self.today

        kind_cache: dict[str, str] = {}
        doc_cache: dict[tuple[str, str], tuple[str, str] | RowError] = {}
        type_cache: dict[str, str | RowError] = {}
        serie_cache: dict[tuple[str, str], str | RowError] = {}
        date_cache: dict[Any, date | RowError] = {}
        cur_cache: dict[str, str] = {}
        rate_cache: dict[Any, int | RowError] = {}
        status_cache: dict[date, str] = {}

        def get(cells: list[Any], i: int | None) -> Any:
            if i is None:
                return ""
            value = cells[i]
            return value.strip() if isinstance(value, str) else value

        def direction_of(cells: list[Any]) -> str:
            raw = cells[i_kind]
            value = raw.strip() if isinstance(raw, str) else _text(raw)
            if not value:
                if default_direction:
                    return default_direction
                raise RowError(names[i_kind], raw, "empty: cxc (receivable) or cxp (payable)")
            found = kind_cache.get(value)
            if found is None:
                found = KIND_TO_DIRECTION.get(readers.normalise_header(value))
                if found is None:
                    raise RowError(names[i_kind], raw, "use cxc (receivable) or cxp (payable)")
                kind_cache[value] = found
            return found

        def party_doc(cells: list[Any]) -> tuple[str, str]:
            raw = cells[i_doc]
            doc = raw.strip() if isinstance(raw, str) else _text(raw)
            declared = _text(cells[i_doctype_party]) if i_doctype_party is not None else ""
            key = (declared, doc)
            found = doc_cache.get(key)
            if found is None:
                found = _check_party_doc(declared, doc, names[i_doc], raw)
                doc_cache[key] = found
            if isinstance(found, RowError):
                raise found
            return found

        def doc_type_of(cells: list[Any]) -> str:
            if i_type is None:
                return "01"
            raw = cells[i_type]
            value = raw.strip() if isinstance(raw, str) else _text(raw)
            if not value:
                return "01"
            found = type_cache.get(value)
            if found is None:
                try:
                    found = check_doc_type(value)
                except ValidationError as exc:
                    found = RowError(names[i_type], raw, exc.message)
                type_cache[value] = found
            if isinstance(found, RowError):
                raise found
            return found

        def serie_numero(cells: list[Any], doc_type: str) -> tuple[str, int]:
            if i_serie is not None and i_num is not None:
                raw_serie, raw_num = cells[i_serie], cells[i_num]
                serie_text = raw_serie.strip() if isinstance(raw_serie, str) else _text(raw_serie)
                num_text = raw_num.strip() if isinstance(raw_num, str) else _text(raw_num)
            else:
                raw = cells[i_document]
                try:
                    serie_text, number = split_document(_text(raw))
                except ValidationError as exc:
                    raise RowError(names[i_document], raw, exc.message) from None
                num_text = str(number)
                raw_serie = raw_num = raw
            key = (doc_type, serie_text)
            serie = serie_cache.get(key)
            if serie is None:
                try:
                    serie = check_serie(doc_type, serie_text.zfill(4) if _digits(serie_text) else serie_text)
                except ValidationError as exc:
                    serie = RowError(names[i_serie if i_serie is not None else i_document], raw_serie, exc.message)
                serie_cache[key] = serie
            if isinstance(serie, RowError):
                raise serie
            if _digits(num_text) and 0 < len(num_text) <= 8 and num_text != "0" * len(num_text):
                return serie, int(num_text)
            try:
                return serie, check_numero(num_text)
            except ValidationError as exc:
                raise RowError(names[i_num if i_num is not None else i_document], raw_num, exc.message) from None

        def date_of(cells: list[Any], i: int) -> date:
            raw = cells[i]
            key = raw.strip() if isinstance(raw, str) else raw
            found = date_cache.get(key)
            if found is None:
                found = self._parse_date(key, names[i], raw)
                if not isinstance(found, RowError) and not isinstance(key, (list, dict)):
                    date_cache[key] = found
            if isinstance(found, RowError):
                raise found
            return found

        # The decimal mark of the file's amounts: from --decimal-comma/--decimal-point, else from
        # the first amount that shows it (1,180.50 / 1.180,50 / 350,75); an amount that could be
        # either (1.180) while nothing has shown it looks at the first DECIMAL_SCAN_ROWS rows.
        style = self.options.decimal
        if style is not None and style not in DECIMAL_STYLES:
            raise UsageError(f"decimal style {style!r}: use --decimal-comma or --decimal-point")
        style_why = f"as --decimal-{style} says" if style else ""
        point_fast = style == "point"  # the inline "1234.50" paths of convert() apply
        scanned = False

        def decide(found: str, why: str) -> None:
            nonlocal style, style_why, point_fast
            style, style_why, point_fast = found, why, found == "point"

        def amount(cells: list[Any], i: int | None, currency: str | None = None) -> int | None:
            nonlocal scanned
            if i is None:
                return None
            raw = cells[i]
            if isinstance(raw, str):
                s = raw.strip()
                if not s:
                    return None
                # Fast paths for the plain "1234.50" / "1234,50" every system writes; anything else
                # goes through the shared rule (thousands separators, S/ and US$, parentheses).
                if len(s) > 3 and s.isascii() and s[:-3].isdigit() and s[-2:].isdigit():
                    if s[-3] == "." and point_fast or s[-3] == "," and style == "comma":
                        return int(s[:-3]) * 100 + int(s[-2:])
                if style is None:
                    shown = amount_style(s)
                    if shown in DECIMAL_STYLES:
                        decide(shown, f"as {s!r} shows")
                    elif shown == "ambiguous" and not scanned:
                        scanned = True
                        found = self._infer_decimal()
                        if found is not None:
                            decide(found[0], f"as {found[2]!r} in row {found[1]} shows")
                prefix = f"{names[i]} {s!r}"
                try:
                    return parse_amount(s, field=names[i], allow_negative=True, decimal=style, currency=currency)
                except AmountStyleError as exc:
                    if exc.ambiguous and style is None:
                        message = (f"{exc.reading}, and the first {DECIMAL_SCAN_ROWS:,} rows have no amount that "
                                   f"shows the decimal mark: {_DECIMAL_OPTIONS}")
                    else:
                        detail = exc.message[len(prefix):].lstrip(": ").split(", but", 1)[0]
                        message = (f"{detail}, but this file's amounts have a decimal {style} ({style_why}): "
                                   f"fix the value, or {_DECIMAL_OPTIONS}")
                    raise RowError(names[i], raw, message) from None
                except ValidationError as exc:
                    message = exc.message[len(prefix):].lstrip(": ") if exc.message.startswith(prefix) else exc.message
                    raise RowError(names[i], raw, message) from None
            if raw is None:
                return None
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                raise RowError(names[i], raw, "is not an amount")
            if isinstance(raw, int):
                if abs(raw) >= 10**MAX_AMOUNT_DIGITS:
                    raise RowError(names[i], raw, f"too large (at most {MAX_AMOUNT_DIGITS} digits before the decimals)")
                return raw * 100
            return _float_cents(raw, names[i])

        def currency_of(cells: list[Any]) -> str:
            if i_cur is None:
                return "PEN"
            raw = cells[i_cur]
            value = raw.strip() if isinstance(raw, str) else _text(raw)
            found = cur_cache.get(value)
            if found is None:
                found = _currency(value)
                if found is None:
                    raise RowError(names[i_cur], raw, "use PEN (soles) or USD")
                cur_cache[value] = found
            return found

        def rate_of(cells: list[Any], currency: str, issued: date) -> int:
            if currency == "PEN":
                return 10000
            raw = cells[i_rate] if i_rate is not None else ""
            key = raw.strip() if isinstance(raw, str) else raw
            if key in ("", None):
                return self._fx_rate(currency, issued, names.get(i_rate, "tipo_cambio"))
            found = rate_cache.get(key)
            if found is None:
                try:
                    value = repr(key) if isinstance(key, float) else str(key)
                    found = parse_rate(value)
                except ValidationError as exc:
                    found = RowError(names[i_rate], raw, exc.message)
                rate_cache[key] = found
            if isinstance(found, RowError):
                raise found
            return found

        def text_of(cells: list[Any], i: int | None, limit: int) -> str | None:
            if i is None:
                return None
            value = _text(cells[i])
            return unneutralise(value)[:limit] if value else None

        # Fast paths: a raw cell value seen before maps straight to its checked value (a file
        # of a million rows has a few thousand distinct RUCs, series and dates).
        fast_kind: dict[Any, str] = {}
        fast_doc: dict[Any, tuple[str, str]] = {}
        fast_type: dict[Any, str] = {}
        fast_date: dict[Any, date] = {}
        fast_serie: dict[tuple, tuple[str, int]] = {}  # (doc type, raw serie) -> (serie, its part of the key)
        party_keys: dict[str, dict[Any, tuple[str, str, str]]] = {"receivable": {}, "payable": {}}
        fast_cur: dict[Any, str] = {}
        fast_name: dict[Any, str] = {}
        total_col = names[i_total] if i_total is not None else names.get(i_base, "total")

        def convert(cells: list[Any]) -> tuple | None:
            if i_ple is not None and is_ple and _text(cells[i_ple]) == "2":
                return None  # anulado in the register
            if i_kind is not None:
                direction = fast_kind.get(cells[i_kind])
                if direction is None:
                    direction = direction_of(cells)
                    if cells[i_kind].__hash__ is not None:
                        fast_kind[cells[i_kind]] = direction
            else:
                direction = default_direction
            if i_doctype_party is None:
                party = fast_doc.get(cells[i_doc])
                if party is None:
                    party = party_doc(cells)
                    fast_doc[cells[i_doc]] = party
                known_keys = party_keys[direction]
                party_key = known_keys.get(cells[i_doc])
                if party_key is None:
                    party_key = known_keys[cells[i_doc]] = (_party_kind(direction), party[0], party[1])
            else:
                party = party_doc(cells)
                party_key = (_party_kind(direction), party[0], party[1])
            if i_name is not None:
                name = fast_name.get(cells[i_name])
                if name is None:
                    name = text_of(cells, i_name, 255) or ""
                    fast_name[cells[i_name]] = name
            else:
                name = ""
            if i_type is None:
                doc_type = "01"
            else:
                doc_type = fast_type.get(cells[i_type])
                if doc_type is None:
                    doc_type = doc_type_of(cells)
                    fast_type[cells[i_type]] = doc_type
            if i_serie is not None and i_num is not None:
                found = fast_serie.get((doc_type, cells[i_serie]))
                num_text = cells[i_num]
                if found is not None and num_text.__class__ is str and num_text.isascii() and num_text.isdigit() \
                        and 0 < len(num_text) <= 8 and int(num_text) > 0:
                    serie, key_part = found
                    numero = int(num_text)
                elif found is not None and num_text.__class__ is float and num_text.is_integer() and 0 < num_text < 1e8:
                    serie, key_part = found
                    numero = int(num_text)  # a number cell of a workbook
                else:
                    serie, numero = serie_numero(cells, doc_type)
                    key_part = _document_key_part(doc_type, serie)
                    fast_serie[(doc_type, cells[i_serie])] = (serie, key_part)
            else:
                serie, numero = serie_numero(cells, doc_type)
                key_part = _document_key_part(doc_type, serie)
            issued = fast_date.get(cells[i_issue])
            if issued is None:
                issued = date_of(cells, i_issue)
                fast_date[cells[i_issue]] = issued
            due_raw = cells[i_due]
            due = fast_date.get(due_raw)
            if due is None:
                if is_ple and _text(due_raw) in ("", "01/01/0001"):
                    due = issued  # PLE: no due date means paid or due on issue (al contado)
                else:
                    due = date_of(cells, i_due)
                    fast_date[due_raw] = due
            if due < issued:
                raise RowError(names[i_due], due_raw, f"due date {due.isoformat()} is before the issue date {issued.isoformat()}")
            if i_cur is None:
                currency = "PEN"
            else:
                currency = fast_cur.get(cells[i_cur])
                if currency is None:
                    currency = currency_of(cells)
                    fast_cur[cells[i_cur]] = currency
            # The plain "1234.50" every system writes, parsed inline (this runs a million times);
            # anything else goes through the shared rule in amount().
            s = cells[i_total] if i_total is not None else None
            if point_fast and s.__class__ is str and len(s) > 3 and s[-3] == "." and s.isascii() and s[:-3].isdigit() \
                    and s[-2:].isdigit():
                total = int(s[:-3]) * 100 + int(s[-2:])
            elif s.__class__ is float and -1e15 < (c := s * 100) < 1e15 and -1e-4 <= c - (r := round(c)) <= 1e-4:
                total = r  # a number cell (see _float_cents)
            else:
                total = amount(cells, i_total, currency)
            s = cells[i_base] if i_base is not None else None
            if point_fast and s.__class__ is str and len(s) > 3 and s[-3] == "." and s.isascii() and s[:-3].isdigit() \
                    and s[-2:].isdigit():
                base = int(s[:-3]) * 100 + int(s[-2:])
            elif s.__class__ is float and -1e15 < (c := s * 100) < 1e15 and -1e-4 <= c - (r := round(c)) <= 1e-4:
                base = r  # a number cell (see _float_cents)
            else:
                base = amount(cells, i_base, currency)
            s = cells[i_igv] if i_igv is not None else None
            if point_fast and s.__class__ is str and len(s) > 3 and s[-3] == "." and s.isascii() and s[:-3].isdigit() \
                    and s[-2:].isdigit():
                igv = int(s[:-3]) * 100 + int(s[-2:])
            elif s.__class__ is float and -1e15 < (c := s * 100) < 1e15 and -1e-4 <= c - (r := round(c)) <= 1e-4:
                igv = r  # a number cell (see _float_cents)
            else:
                igv = amount(cells, i_igv, currency)
            if (total is not None and total < 0) or (base is not None and base < 0) or (igv is not None and igv < 0):
                if doc_type != "07":
                    raise RowError(total_col, cells[i_total] if i_total is not None else cells[i_base],
                                   "negative amount on a document that is not a nota de crédito (07)")
                total, base, igv = (None if v is None else -v for v in (total, base, igv))
            if total is None:
                if base is None or igv is None:
                    raise RowError(total_col, "", "empty: give the total (or the base and the IGV)")
                total = base + igv
            if total <= 0 or total >= 10**15:
                raise RowError(total_col, cells[i_total] if i_total is not None else "",
                               "the total must be greater than zero" if total <= 0 else "too large")
            if base is not None:
                if igv is None:
                    igv = total - base
                elif abs(base + igv - total) > 1:
                    raise RowError(total_col, cells[i_total] if i_total is not None else "",
                                   f"total {total / 100:.2f} is not base {base / 100:.2f} + IGV {igv / 100:.2f}")
            elif igv is not None:
                base = total - igv
            else:
                base, igv, total = split_total(total=total, base=None, igv=None)  # the shared 18% derivation
            if base < 0 or igv < 0:  # e.g. a base above the total: the IGV would come out negative
                raise RowError(total_col, cells[i_total] if i_total is not None else "",
                               f"total {total / 100:.2f} cannot be base {base / 100:.2f} + IGV {igv / 100:.2f}: "
                               "neither can be negative")
            rate = 10000 if currency == "PEN" else rate_of(cells, currency, issued)
            det_bp = det_cents = None
            if i_det is not None:
                det_bp = _detraccion_bp(cells[i_det], names[i_det])
                if det_bp:
                    total_pen = total * rate // 10000
                    det_cents = percentage_cents(total, det_bp) if total_pen > DETRACCION_THRESHOLD_CENTS else 0
            ref = None
            if i_rserie is not None and i_rnum is not None and (doc_type == "07" or doc_type == "08"):
                rserie, rnum = _text(cells[i_rserie]), _text(cells[i_rnum])
                if rserie and rserie != "-" and rnum and rnum != "-":
                    rtype_raw = _text(cells[i_rtype]) if i_rtype is not None else "01"
                    try:
                        rtype = check_doc_type(rtype_raw or "01")
                        ref = (rtype, rserie.upper(), check_numero(rnum))
                    except ValidationError as exc:
                        raise RowError(names[i_rnum], rnum, f"reference: {exc.message}") from None
            status = status_cache.get(due)
            if status is None:
                status = status_for(total_cents=1, adjust_cents=0, paid_cents=0, due_date=due, today=today, current="PENDIENTE")
                status_cache[due] = status
            description = text_of(cells, i_desc, 10_000) if i_desc is not None else None
            return (direction, party[0], party[1], name, doc_type, serie, numero, issued, due, currency, rate, base, igv,
                    total, det_bp, det_cents or 0, description, ref, status, party_key, key_part + numero)

        return convert

    def _parse_date(self, value: Any, column: str, raw: Any) -> date | RowError:
        found = self._read_date(value, column, raw)
        if isinstance(found, date):
            try:
                check_year(found)
            except ValidationError:
                return RowError(column, raw, f"is outside the years {MIN_YEAR}-{MAX_YEAR}")
        return found

    def _read_date(self, value: Any, column: str, raw: Any) -> date | RowError:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _excel_serial(value, column, raw)
        text = _text(value)
        if not text:
            return RowError(column, raw, "empty: every invoice needs this date")
        iso = _ISO_DATE.fullmatch(text)
        if iso:
            try:
                return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
            except ValueError:
                return RowError(column, raw, "is not a valid date (YYYY-MM-DD)")
        match = _SLASH_DATE.match(text)
        if match:
            if self.date_order is None:
                self.date_order = self._infer_date_order()
            a, b, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
            day, month = (a, b) if self.date_order != "mdy" else (b, a)
            if self.date_order == "iso":
                return RowError(column, raw, "is not YYYY-MM-DD as --date-format says")
            try:
                return date(year, month, day)
            except ValueError:
                fmt = "DD/MM/YYYY" if self.date_order != "mdy" else "MM/DD/YYYY"
                return RowError(column, raw, f"is not a valid date as {fmt}")
        if _EXCEL_SERIAL.match(text):
            return _excel_serial(float(text), column, raw)
        return RowError(column, raw, "is not a date: use YYYY-MM-DD, DD/MM/YYYY (with --date-format if ambiguous) or an Excel date")

    def _infer_decimal(self) -> tuple[str, int, str] | None:
        """(style, row, value) of the first amount in the first DECIMAL_SCAN_ROWS rows that shows
        its decimal mark (1,180.50 / 1.180,50 / 350,75), or None."""
        columns = [self.pos[n] for n in ("total", "base", "igv") if n in self.pos]
        for seen, (row_no, cells) in enumerate(self.source.rows()):
            if seen >= DECIMAL_SCAN_ROWS:
                break
            if isinstance(cells, readers.ShortRow):
                continue
            for i in columns:
                if i < len(cells) and isinstance(cells[i], str):
                    shown = amount_style(cells[i])
                    if shown in DECIMAL_STYLES:
                        return shown, row_no, cells[i].strip()
        return None

    def _infer_date_order(self) -> str:
        """Day-first or month-first, from the file's own unambiguous dates (a day above 12);
        a file with none, or with both, needs --date-format. Never a guess."""
        dmy_at = mdy_at = None
        columns = [self.pos[n] for n in ("issue_date", "due_date") if n in self.pos]
        for row_no, cells in self.source.rows():
            if isinstance(cells, readers.ShortRow):
                continue
            for i in columns:
                if i >= len(cells):
                    continue
                match = _SLASH_DATE.match(_text(cells[i]))
                if not match:
                    continue
                a, b = int(match.group(1)), int(match.group(2))
                if a > 12 and b <= 12 and dmy_at is None:
                    dmy_at = (row_no, _text(cells[i]))
                elif b > 12 and a <= 12 and mdy_at is None:
                    mdy_at = (row_no, _text(cells[i]))
            if dmy_at and mdy_at:
                break
        if dmy_at and mdy_at:
            raise ValidationError(
                f"dates disagree: row {dmy_at[0]} has {dmy_at[1]} (DD/MM/YYYY) but row {mdy_at[0]} has {mdy_at[1]} (MM/DD/YYYY); "
                "fix the file or pass --date-format"
            )
        if dmy_at:
            return "dmy"
        if mdy_at:
            return "mdy"
        raise ValidationError(
            "ambiguous dates: every date like 03/04/2026 could be DD/MM/YYYY or MM/DD/YYYY; "
            "pass --date-format DD/MM/YYYY (or MM/DD/YYYY)"
        )

    def _fx_rate(self, currency: str, issued: date, column: str) -> int:
        from cuentas_cli.ledger.fx import sell_rate_e4

        key = (currency, issued)
        found = self.rates.get(key)
        if found is None:
            try:
                found = sell_rate_e4(self.session, on=issued, currency=currency)
            except ValidationError as exc:
                found = exc.message
            self.rates[key] = found
        if isinstance(found, str):
            raise RowError(column, "", f"empty and {found}")
        return found

    # -- writing ----------------------------------------------------------------------------

    def _flush(self, pending: list[tuple]) -> None:
        if not pending:
            return
        self._resolve_parties(pending)
        rows: list[tuple] = []
        seen = self.seen
        on_dup = self.options.on_duplicate
        party_keys = self.party_keys
        append = rows.append
        for row_no, rec, cells in pending:
            found = party_keys[rec[19]]
            if found is None:
                continue  # its error was recorded by _resolve_parties
            party_id, party_part = found
            key = party_part + rec[20]  # the invoice's unique key as one integer (see _document_key_part)
            if key in seen:
                self.error(row_no, LABELS["numero"], f"{rec[5]}-{rec[6]}",
                           f"document {rec[4]} {rec[5]}-{rec[6]} of {rec[2]} appears more than once in this file", cells)
                continue
            seen.add(key)
            if rec[4] in _NOTE_TYPES and not self._note_fields_ok(row_no, rec, cells):
                continue
            append((row_no, party_id, rec, cells))
        if not rows:
            return
        if on_dup == "error" and self.max_before:
            rows = self._reject_existing(rows)
        elif on_dup == "update" and self.max_before:
            rows = self._check_updates(rows)
        if self.sqlite:
            self._write_sqlite(rows)
        else:
            self._write_postgres(rows)
        for row_no, party_id, rec, cells in rows:
            if rec[17] is not None:
                self.notes.append((row_no, rec[0], party_id, rec[4], rec[5], rec[6], rec[17], cells))

    def _note_fields_ok(self, row_no: int, rec: tuple, cells: list[Any]) -> bool:
        """A credit/debit note row follows the rules of `invoices add --doc-type 07/08`: it names
        the factura or boleta it modifies and carries no withholdings of its own."""
        ref = rec[17]
        if ref is None:
            self.error(row_no, self._column("ref_numero"), "",
                       f"{rec[4]} {rec[5]}-{rec[6]} is a credit or debit note: give the document it modifies "
                       "(ref_tipo, ref_serie and ref_numero columns; fields 29-31 of a PLE register)", cells)
            return False
        if ref[0] not in _NOTE_TARGET_TYPES:
            self.error(row_no, self._column("ref_doc_type"), ref[0],
                       "a credit or debit note modifies a factura (01) or a boleta (03)", cells)
            return False
        if rec[14] or rec[15]:
            self.error(row_no, self._column("detraccion"), rec[14],
                       "detracción and retención apply to the invoice, not to a credit or debit note", cells)
            return False
        return True

    def _column(self, name: str) -> str:
        """The file's own header for a field (or its usual name when the file lacks it)."""
        index = self.pos.get(name)
        if index is None and name in ("serie", "numero"):
            index = self.pos.get("document")
        if index is not None and index < len(self.header) and (self.header[index] or "").strip():
            return self.header[index].strip()
        return LABELS.get(name, name)

    def _check_updates(self, rows: list[tuple]) -> list[tuple]:
        """--on-duplicate update: a row that would change a stored invoice is validated like
        `invoices edit` (invoices.check_edit) and kept, with its before/after, for the audit
        log; a row that breaks a rule is a row error and is not written."""
        from cuentas_cli.ledger.invoices import EditRefused, check_edit

        found = self._find_documents([(rec[0], party_id, rec[4], rec[5], rec[6]) for _, party_id, rec, _ in rows],
                                     ("id", *_EDIT_SELECT))
        for old in found.values():
            old["issue_date"], old["due_date"] = _as_date(old["issue_date"]), _as_date(old["due_date"])
        if not found:
            return rows
        kept = []
        for row in rows:
            row_no, party_id, rec, cells = row
            old = found.get((rec[0], party_id, rec[4], rec[5], rec[6]))
            if old is None or old["id"] > self.max_before:
                kept.append(row)
                continue
            new = dict(old)
            new.update(zip(self._UPDATABLE, (rec[7], rec[8], rec[9], rec[10], rec[11], rec[12], rec[13], rec[14],
                                             rec[15] or 0, rec[16])))
            if all(new[c] == old[c] for c in self._UPDATABLE):
                kept.append(row)  # nothing to change: the upsert leaves it as it is
                continue
            try:
                check_edit(old, new, invoice_id=old["id"])
            except EditRefused as exc:
                field = _EDIT_FIELDS.get(exc.column, "numero")
                if field == "total" and "total" not in self.pos:
                    field = "base"
                index = self.pos.get(field)
                self.error(row_no, self._column(field), cells[index] if index is not None else "",
                           f"cannot update invoice {old['id']}: {exc.message}", cells)
                continue
            new["status"] = status_for(total_cents=new["total_cents"], adjust_cents=new["adjust_cents"],
                                       paid_cents=new["paid_cents"], due_date=new["due_date"], today=self.today,
                                       current=old["status"])
            self.updates.append((old["id"], old, new))
            kept.append(row)
        return kept

    def _resolve_parties(self, pending: list[tuple]) -> None:
        from sqlalchemy import bindparam, text

        known = self.party_ids
        if not {rec[19] for _, rec, _ in pending}.difference(known):
            return
        wanted: dict[tuple[str, str, str], tuple[int, str | None, list]] = {}
        for row_no, rec, cells in pending:
            key = rec[19]
            if key in known:
                continue
            current = wanted.get(key)
            if current is None:
                wanted[key] = (row_no, rec[3], [(row_no, cells)])
            else:
                current[2].append((row_no, cells))
                if not current[1] and rec[3]:
                    wanted[key] = (current[0], rec[3], current[2])
        if not wanted:
            return
        by_kind: dict[str, list[str]] = {}
        for kind, _doc_type, doc in wanted:
            by_kind.setdefault(kind, []).append(doc)
        query = text("SELECT id, kind, doc_type, doc_number FROM party WHERE kind = :kind AND doc_number IN :docs").bindparams(
            bindparam("docs", expanding=True))
        for kind, docs in by_kind.items():
            for start in range(0, len(docs), 500):
                for pid, k, dt, dn in self.session.execute(query, {"kind": kind, "docs": docs[start:start + 500]}):
                    self.party_ids[(k, dt, dn)] = pid
        missing = [key for key in wanted if key not in self.party_ids]
        if not missing:
            return
        # Creating clients or suppliers is the permission of `clients add`, checked at the first
        # unknown RUC/DNI, before any party is written (the import is one transaction).
        require(self.actor, "parties.write")
        if (self.strict or self.options.lookup) and self.config is not None:
            self._ensure_parties(missing, wanted)
            return
        create = []
        for key in missing:
            first_row, name, rows = wanted[key]
            problem = None
            if self.strict:
                problem = (f"{key[2]} is not a known {key[0]}, and validation.strict is on: add it first with "
                           f"`cuentas {'clients' if key[0] == 'client' else 'suppliers'} add --ruc {key[2]} --lookup`")
            elif not name:
                problem = (f"{key[2]} is not a known {key[0]} and the file gives no name for it "
                           "(add a razon_social column, or add the party first)")
            if problem:
                for row_no, cells in rows:
                    self.error(row_no, self.doc_column, key[2], problem, cells)
                continue
            create.append((key[0], key[1], key[2], name))
        if not create:
            return
        now = self.stamp if not self.sqlite else _sqlite_ts(self.stamp)
        self.session.execute(
            text("INSERT INTO party (kind, doc_type, doc_number, name, source, is_retention_agent, is_good_taxpayer, "
                 "created_at, updated_at) VALUES (:kind, :doc_type, :doc, :name, 'import', false, false, :now, :now)"),
            [{"kind": k, "doc_type": dt, "doc": dn, "name": nm, "now": now} for k, dt, dn, nm in create],
        )
        self.result.parties_created += len(create)
        for kind in {c[0] for c in create}:
            docs = [c[2] for c in create if c[0] == kind]
            for start in range(0, len(docs), 500):
                for pid, k, dt, dn in self.session.execute(query, {"kind": kind, "docs": docs[start:start + 500]}):
                    self.party_ids[(k, dt, dn)] = pid

    def _ensure_parties(self, missing: list[tuple[str, str, str]], wanted: dict) -> None:
        """--lookup or validation.strict: new parties go through the parties service, which asks
        the lookup provider (with its cache) and applies strict mode, one party at a time."""
        from cuentas_cli.errors import ExternalError, NotFound
        from cuentas_cli.parties import lookup as party_lookup
        from cuentas_cli.parties import service as parties

        if self.provider is None and self.options.lookup:
            self.provider = party_lookup.open_provider(party_lookup.lookup_settings(self.session, self.config))
        for key in missing:
            kind, doc_type, doc = key
            _, name, rows = wanted[key]
            try:
                made = parties.ensure_party(self.session, self.actor, config=self.config, kind=kind, doc_type=doc_type,
                                            doc_number=doc, name=name or None, lookup=True, provider=self.provider,
                                            source="import")
            except (ValidationError, NotFound, ExternalError) as exc:
                for row_no, cells in rows:
                    self.error(row_no, self.doc_column, doc, exc.message, cells)
                continue
            self.party_ids[key] = made.party.id
            if made.created:
                self.result.parties_created += 1

    def _reject_existing(self, rows: list[tuple]) -> list[tuple]:
        """--on-duplicate error: rows whose invoice already existed before this import."""
        found = self._find_documents([(rec[0], party_id, rec[4], rec[5], rec[6]) for _, party_id, rec, _ in rows], ("id",))
        existing = {key for key, columns in found.items() if columns["id"] <= self.max_before}
        kept = []
        for row in rows:
            row_no, party_id, rec, cells = row
            if (rec[0], party_id, rec[4], rec[5], rec[6]) in existing:
                self.error(row_no, LABELS["numero"], f"{rec[5]}-{rec[6]}",
                           f"invoice {rec[4]} {rec[5]}-{rec[6]} of {rec[2]} already exists (--on-duplicate error)", cells)
            else:
                kept.append(row)
        return kept

    _COLUMNS = ("direction", "party_id", "doc_type", "serie", "numero", "issue_date", "due_date", "currency",
                "exchange_rate_e4", "base_cents", "igv_cents", "total_cents", "detraccion_bp", "detraccion_cents",
                "description", "status")
    _UPDATABLE = ("issue_date", "due_date", "currency", "exchange_rate_e4", "base_cents", "igv_cents", "total_cents",
                  "detraccion_bp", "detraccion_cents", "description")
    _STAGE = "cuentas_import_stage"

    # PostgreSQL stages the validated rows with COPY into a temp table and moves them with ONE
    # INSERT ... SELECT ... ON CONFLICT at the end (the work of the benchmark's psql floor).
    # SQLite stages and moves chunk by chunk on a second thread (_SqliteMover). Memory stays
    # flat either way, and the import is one transaction either way.

    def _conflict_clause(self) -> str:
        if self.options.on_duplicate != "update":
            return "DO NOTHING"
        sets = ", ".join(f"{c} = excluded.{c}" for c in self._UPDATABLE)
        distinct = "IS NOT" if self.sqlite else "IS DISTINCT FROM"
        differs = " OR ".join(f"invoice.{c} {distinct} excluded.{c}" for c in self._UPDATABLE)
        # check_edit refused every change of an ANULADA document already; the guard keeps it so.
        return f"DO UPDATE SET {sets}, updated_at = excluded.updated_at WHERE invoice.status <> 'ANULADA' AND ({differs})"

    def _create_stage(self) -> None:
        from sqlalchemy import text

        self.session.execute(text(
            f"CREATE TEMP TABLE {self._STAGE} ({_STAGE_COLUMNS}) ON COMMIT DROP"
        ))
        self.stage_ready = True

    def _write_sqlite(self, rows: list[tuple]) -> None:
        if self.mover is None:
            self.mover = _SqliteMover(self.session, columns=self._COLUMNS, conflict=self._conflict_clause(),
                                      move_params=(self.actor.user_id if self.actor else None,
                                                   _sqlite_ts(self.stamp), _sqlite_ts(self.stamp)))
            self.stage_ready = True
        iso = self.iso
        params = []
        for row_no, pid, r, _ in rows:
            issued, due = iso.get(r[7]), iso.get(r[8])
            if issued is None:
                issued = iso[r[7]] = r[7].isoformat()
            if due is None:
                due = iso[r[8]] = r[8].isoformat()
            params.append((row_no, r[0], pid, r[4], r[5], r[6], issued, due, r[9], r[10], r[11], r[12], r[13], r[14],
                           r[15], r[16], r[18] if r[17] is None else "PAGADA"))  # a note carries no balance
        self.mover.stage(params)
        self.written += len(params)

    def _write_postgres(self, rows: list[tuple]) -> None:
        if not self.stage_ready:
            self._create_stage()
        conn = self.session.connection().connection.driver_connection
        with conn.cursor() as cur:
            with cur.copy(f"COPY {self._STAGE} FROM STDIN") as copy:
                for row_no, pid, r, _ in rows:
                    copy.write_row((row_no, r[0], pid, r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
                                    r[14], r[15], r[16], r[18] if r[17] is None else "PAGADA"))  # a note: no balance
        self.written += len(rows)

    def _finish(self) -> None:
        from sqlalchemy import text

        update = self.options.on_duplicate == "update"
        if self.stage_ready:
            if self.mover is not None:
                self.mover.close()
                # Counted, not summed from rowcount: with statements of two threads on one
                # connection, a statement's change count can be read after the other's.
                new = self.session.execute(text("SELECT COUNT(*) FROM invoice WHERE id > :m"),
                                           {"m": self.max_before}).scalar_one()
                updated = 0 if not update else self.session.execute(
                    text("SELECT COUNT(*) FROM invoice WHERE id <= :m AND updated_at = :stamp"),
                    {"m": self.max_before, "stamp": _sqlite_ts(self.stamp)}).scalar_one()
                changed = new + updated
            else:
                cols = ", ".join(self._COLUMNS)
                insert = (
                    f"INSERT INTO invoice ({cols}, retencion_cents, paid_cents, adjust_cents, created_by, created_at, "
                    f"updated_at) SELECT {cols}, 0, 0, {_NOTE_ADJUST}, :user, :stamp, :stamp FROM {self._STAGE} "
                    f"ORDER BY row_no ON CONFLICT (direction, party_id, doc_type, serie, numero) {self._conflict_clause()}"
                )
                changed = self.session.execute(
                    text(insert), {"user": self.actor.user_id if self.actor else None, "stamp": self.stamp}
                ).rowcount
                new = changed
                if update:
                    new = self.session.execute(text("SELECT COUNT(*) FROM invoice WHERE id > :m"),
                                               {"m": self.max_before}).scalar_one()
            self.result.updated += changed - new
            self.result.new += new
            self.result.skipped += self.written - changed
            if not self.sqlite:
                self.session.execute(text(f"DROP TABLE {self._STAGE}"))
        if self.options.on_duplicate == "update" and self.result.updated:
            # Updated rows kept their payments: recompute their status with the one rule.
            stamp = _sqlite_ts(self.stamp) if self.sqlite else self.stamp
            self.session.execute(
                text(f"UPDATE invoice SET status = {STATUS_CASE} WHERE updated_at = :stamp AND id <= :m "
                     f"AND status <> 'ANULADA' AND status <> ({STATUS_CASE})"),
                {"today": self.today, "stamp": stamp, "m": self.max_before},
            )
        self._link_notes()
        self._audit_updates()

    def _link_notes(self) -> None:
        """Credit/debit notes of this import, applied exactly as `invoices add` applies one: each
        is linked to the document it modifies (references_id) and carries adjust_cents = -total
        (no balance of its own; set when it was moved in), the modified document's adjust_cents
        is the sum of its non-ANULADA notes (07 -, 08 +) and its status is refreshed with the
        one rule. A note that does not fit (document missing, ANULADA or paid, another currency,
        a credit above the open balance) is a row error, by the shared rules of invoices.py.

        The notes and their documents are read set-based; the per-note work is in Python, in
        file order, so two credit notes on one invoice are checked against the balance the
        first one leaves."""
        from sqlalchemy import bindparam, text

        from cuentas_cli.ledger.notes import check_note_applies, check_note_fits
        from cuentas_cli.ledger.statuses import refresh

        if not self.notes:
            return
        note_rows = self._find_documents([(n[1], n[2], n[3], n[4], n[5]) for n in self.notes],
                                         ("id", "total_cents", "currency", "references_id"))
        targets = self._find_documents([(n[1], n[2], *n[6]) for n in self.notes],
                                       ("id", "doc_type", "serie", "numero", "status", "currency", "total_cents",
                                        "adjust_cents", "paid_cents", "due_date"))
        views: dict[int, _RowView] = {}
        links: list[dict[str, int]] = []
        dropped: list[int] = []
        for row_no, direction, party_id, doc_type, serie, numero, ref, cells in self.notes:
            note = note_rows.get((direction, party_id, doc_type, serie, numero))
            if note is None:
                continue
            target = targets.get((direction, party_id, *ref))
            if target is None:
                problem = f"the modified document {ref[0]} {ref[1]}-{ref[2]} is neither in the database nor in this file"
            elif note["references_id"] == target["id"]:
                links.append({"n": note["id"], "t": target["id"]})  # applied by an earlier import
                continue
            elif note["references_id"] is not None:
                problem = (f"{doc_type} {serie}-{numero} already modifies invoice {note['references_id']}; a note cannot "
                           f"move to {ref[1]}-{ref[2]} (delete it and import it again)")
            else:
                view = views.get(target["id"])
                if view is None:
                    view = views[target["id"]] = _RowView({**target, "due_date": _as_date(target["due_date"])})
                try:
                    check_note_fits(doc_type=doc_type, serie=serie, currency=note["currency"], target=view)
                    check_note_applies(doc_type=doc_type, total_cents=note["total_cents"], target=view)
                except ValidationError as exc:
                    problem = exc.message
                else:
                    view.adjust_cents += -note["total_cents"] if doc_type == "07" else note["total_cents"]
                    view.status = status_for(total_cents=view.total_cents, adjust_cents=view.adjust_cents,
                                             paid_cents=view.paid_cents, due_date=view.due_date, today=self.today,
                                             current=view.status)
                    links.append({"n": note["id"], "t": target["id"]})
                    continue
            self.error(row_no, self._column("ref_numero"), f"{ref[1]}-{ref[2]}", problem, cells)
            if self.options.partial and note["id"] > self.max_before:
                dropped.append(note["id"])
        if dropped:
            self.session.execute(text("DELETE FROM invoice WHERE id IN :ids").bindparams(bindparam("ids", expanding=True)),
                                 {"ids": dropped})
            self.result.new -= len(dropped)
        if not links:
            return
        # The note's own adjust_cents is set again too: a note imported before this rule carried 0.
        self.session.execute(text("UPDATE invoice SET references_id = :t, adjust_cents = -total_cents WHERE id = :n"), links)
        self.touched_refs.update(link["t"] for link in links)
        ids = sorted(self.touched_refs)
        note_ids = sorted({link["n"] for link in links})
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            marks = ", ".join(str(int(i)) for i in part)
            self.session.execute(text(
                "UPDATE invoice SET adjust_cents = COALESCE((SELECT SUM(CASE WHEN n.doc_type = '07' THEN -n.total_cents "
                "ELSE n.total_cents END) FROM invoice n WHERE n.references_id = invoice.id AND n.status <> 'ANULADA'), 0) "
                f"WHERE id IN ({marks})"
            ))
            refresh(self.session, today=self.today, invoice_ids=part)
        for start in range(0, len(note_ids), 500):
            refresh(self.session, today=self.today, invoice_ids=note_ids[start:start + 500])

    def _find_documents(self, keys: list[tuple], columns: tuple[str, ...]) -> dict[tuple, dict[str, Any]]:
        """Invoices by their unique key (direction, party, doc type, serie, número), read in
        chunks with one join each: key -> the columns asked for."""
        from sqlalchemy import text

        found: dict[tuple, dict[str, Any]] = {}
        unique = list(dict.fromkeys(keys))
        select = ", ".join(f"i.{c}" for c in ("direction", "party_id", "doc_type", "serie", "numero", *columns))
        on = "ON i.direction = k.d AND i.party_id = k.p AND i.doc_type = k.t AND i.serie = k.s AND i.numero = k.n"
        for start in range(0, len(unique), 900):
            part = unique[start:start + 900]
            values = ", ".join(f"(:d{i}, :p{i}, :t{i}, :s{i}, :n{i})" for i in range(len(part)))
            params: dict[str, Any] = {}
            for i, key in enumerate(part):
                params.update({f"d{i}": key[0], f"p{i}": key[1], f"t{i}": key[2], f"s{i}": key[3], f"n{i}": key[4]})
            sql = text(f"SELECT {select} FROM invoice i JOIN (VALUES {values}) AS k(d, p, t, s, n) {on}") \
                if not self.sqlite else text(f"WITH k(d, p, t, s, n) AS (VALUES {values}) SELECT {select} "
                                             f"FROM invoice i JOIN k {on}")
            for r in self.session.execute(sql, params):
                found[tuple(r[:5])] = dict(zip(columns, r[5:]))
        return found

    def _audit_updates(self) -> None:
        """Each invoice an --on-duplicate update changed, in the audit log with its before/after
        (the changed fields only), as `invoices edit` records it."""
        from cuentas_cli.ledger.records import audit_view

        def changes() -> Iterator[tuple[int, dict, dict]]:
            for invoice_id, old, new in self.updates:
                before, after = audit_view(_RowView(old)), audit_view(_RowView(new))
                changed = [k for k in after if after[k] != before[k]]
                if changed:
                    yield invoice_id, {k: before[k] for k in changed}, {k: after[k] for k in changed}

        audit.record_many(self.session, self.actor, action="invoice.import_update", entity="invoice", items=changes())


# --- helpers -------------------------------------------------------------------------------


def _blank(cells: list[Any]) -> bool:
    return not any(c not in ("", None) and (not isinstance(c, str) or c.strip()) for c in cells)


def _party_kind(direction: str) -> str:
    return "client" if direction == "receivable" else "supplier"


# The invoice's unique key (direction, party, document type, serie, número) packed exactly into
# one integer, to tell a document that appears twice in a file (a set of a million of these
# takes a fraction of the memory of a set of tuples). A serie is 4 characters of [0-9A-Z], so a
# base-36 number below 36**4; a número is below 10**8. The key is the party's part plus the
# document's part plus the número; each part is computed once per party and per serie.


def _document_key_part(doc_type: str, serie: str) -> int:
    return (int(doc_type) * 1_679_616 + int(serie, 36)) * 100_000_000


def _party_key_part(direction: str, party_id: int) -> int:
    return (party_id * 2 + (direction == "payable")) * 100 * 1_679_616 * 100_000_000


class _PartyKeys(dict):
    """(kind, doc type, doc) -> (party id, _party_key_part()), derived from the party ids on
    first use."""

    def __init__(self, party_ids: dict[tuple[str, str, str], int]) -> None:
        super().__init__()
        self.party_ids = party_ids

    def __missing__(self, key: tuple[str, str, str]) -> tuple[int, int] | None:
        party_id = self.party_ids.get(key)
        if party_id is None:
            return None  # not remembered: the party may be created by a later chunk
        found = self[key] = (party_id, _party_key_part("payable" if key[0] == "supplier" else "receivable", party_id))
        return found


_NOTE_TYPES = ("07", "08")
_NOTE_TARGET_TYPES = ("01", "03")
# What _check_updates reads of a stored invoice (invoices.edit_view's columns and its key).
_EDIT_SELECT = ("direction", "party_id", "doc_type", "serie", "numero", "issue_date", "due_date", "currency",
                "exchange_rate_e4", "base_cents", "igv_cents", "total_cents", "detraccion_bp", "detraccion_cents",
                "retencion_cents", "description", "references_id", "status", "paid_cents", "adjust_cents")
# An invoice column refused by invoices.check_edit -> the import field (file column) to name.
_EDIT_FIELDS = {"status": "numero", "total_cents": "total", "base_cents": "base", "igv_cents": "igv",
                "currency": "currency", "exchange_rate_e4": "rate", "detraccion_bp": "detraccion",
                "detraccion_cents": "detraccion", "doc_type": "doc_type", "references_id": "ref_numero",
                "issue_date": "issue_date", "due_date": "due_date", "description": "description"}


# A credit or debit note's own adjust_cents, as `invoices add` sets it: minus its total, so the
# note never carries a balance (its amount moves the invoice it references; _link_notes).
_NOTE_ADJUST = "CASE WHEN doc_type IN ('07', '08') THEN -total_cents ELSE 0 END"


def _as_date(value: Any) -> date:
    # Read back through plain SQL, SQLite gives a date column as its text.
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


class _RowView:
    """An invoice's columns as attributes, for the shared rules and audit views."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


_STAGE_COLUMNS = (
    "row_no integer, direction text, party_id integer, doc_type text, serie text, numero integer, issue_date date, "
    "due_date date, currency text, exchange_rate_e4 integer, base_cents bigint, igv_cents bigint, total_cents bigint, "
    "detraccion_bp integer, detraccion_cents bigint, description text, status text"
)


@contextmanager
def quick_gil_handoffs(interval: float = 0.0005) -> Iterator[None]:
    """A shorter thread switch interval for the length of an import.

    The workbook reader's and the SQLite writer's threads run native code that releases the
    GIL (calamine, SQLite), and each needs it back for a moment between calls; with Python's
    default 5 ms interval they spend much of that waiting for the thread converting rows. On a
    100k-row workbook on two cores, 0.5 ms made the import about 10% faster (benchmarks/).
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


_QUEUED_CHUNKS = 2  # chunks handed to the SQLite writer thread and not yet written


class _SqliteMover:
    """Writes each chunk into `invoice` on a second thread while the main thread converts the
    next chunks.

    The thread stages the chunk into a temp table with multi-row INSERTs (a few statements per
    chunk, so it takes the GIL a few times, not once per row) and moves it into `invoice` with
    one INSERT ... SELECT; SQLite releases the GIL while a statement runs, so on two cores the
    index work overlaps the conversion (pure Python). Both threads use the import's one
    connection (SQLite serialises calls on a connection; Python's sqlite3 here is threadsafety
    3), so the import stays ONE transaction. At most two chunks are queued; an error surfaces
    at the next stage() or at close(). The caller counts what was written (rowcount would race).
    """

    _TABLE = "temp.cuentas_import_stage"

    def __init__(self, session: Any, *, columns: tuple[str, ...], conflict: str, move_params: tuple) -> None:
        import sqlite3
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        self.dbapi = session.connection().connection.driver_connection
        cur = self.dbapi.cursor()
        try:
            # A bigger page cache (32 MiB) while the invoice indexes grow (the default 2 MiB
            # makes SQLite spill and re-read pages); reset in close().
            cur.execute("PRAGMA cache_size = -32768")
            cur.execute(f"DROP TABLE IF EXISTS {self._TABLE}")
            cur.execute(f"CREATE TEMP TABLE {self._TABLE.removeprefix('temp.')} ({_STAGE_COLUMNS})")
        finally:
            cur.close()
        width = _STAGE_COLUMNS.count(",") + 1
        self.batch = max(1, self.dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width)
        self.row_marks = "(" + ", ".join("?" * width) + ")"
        cols = ", ".join(columns)
        # "WHERE true" lets SQLite tell the upsert's ON from a join's ON; a staging table is
        # read in insertion (= file) order.
        self.move = (
            f"INSERT INTO invoice ({cols}, retencion_cents, paid_cents, adjust_cents, created_by, created_at, updated_at) "
            f"SELECT {cols}, 0, 0, {_NOTE_ADJUST}, ?, ?, ? FROM {self._TABLE} WHERE true "
            f"ON CONFLICT (direction, party_id, doc_type, serie, numero) {conflict}"
        )
        self.move_params = move_params
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cuentas-import")
        self.queued: deque = deque()
        self.closed = False

    def stage(self, params: list[tuple]) -> None:
        """Queue a chunk of staging rows (the caller hands the list over)."""
        if not params:
            return
        while len(self.queued) >= _QUEUED_CHUNKS:
            self.queued.popleft().result()
        self.queued.append(self.pool.submit(self._write, params))

    def _write(self, params: list[tuple]) -> None:
        import itertools

        cur = self.dbapi.cursor()
        try:
            for start in range(0, len(params), self.batch):
                part = params[start:start + self.batch]
                cur.execute(f"INSERT INTO {self._TABLE} VALUES " + ", ".join([self.row_marks] * len(part)),
                            list(itertools.chain.from_iterable(part)))
            cur.execute(self.move, self.move_params)
            cur.execute(f"DELETE FROM {self._TABLE}")
        finally:
            cur.close()

    def close(self, *, quiet: bool = False) -> None:
        """Finish the queued chunks and drop the staging table."""
        if self.closed:
            return
        self.closed = True
        try:
            while self.queued:
                self.queued.popleft().result()
            cur = self.dbapi.cursor()
            try:
                cur.execute(f"DROP TABLE IF EXISTS {self._TABLE}")
                cur.execute("PRAGMA cache_size = -2000")
            finally:
                cur.close()
        except Exception:
            if not quiet:
                raise
        finally:
            for future in self.queued:
                future.cancel()
            self.pool.shutdown(wait=True)


def _sqlite_ts(value: datetime) -> str:
    # The text SQLAlchemy's DateTime writes on SQLite, so rows read back like any other.
    return value.astimezone(timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _currency(value: str) -> str | None:
    v = value.strip().upper().replace(".", "").replace(" ", "")
    if v in ("", "PEN", "S/", "SOLES", "SOL", "S", "1", "MN"):
        return "PEN"
    if v in ("USD", "US$", "$", "DOLARES", "DÓLARES", "DOLAR", "2", "ME", "US"):
        return "USD"
    return None


def _check_party_doc(declared: str, doc: str, column: str, raw: Any) -> tuple[str, str] | RowError:
    if not doc:
        return RowError(column, raw, "empty: every invoice needs the RUC or DNI of its client or supplier")
    kind = PARTY_DOC_TYPES.get(declared.strip().lower()) if declared else None
    if declared and kind is None:
        return RowError(LABELS["party_doc_type"], declared, "identity document type: use 6 (RUC), 1 (DNI), 4, 7, A or 0")
    if kind is None:
        if len(doc) == 11 and doc.isdigit():
            kind = "6"
        elif len(doc) == 8 and doc.isdigit():
            kind = "1"
        else:
            return RowError(column, raw, "is not a RUC (11 digits) or a DNI (8 digits); add a tipo_doc_identidad column for other documents")
    if kind == "6":
        try:
            validate_ruc(doc)
        except ValidationError as exc:
            return RowError(column, raw, exc.message.split(": ", 1)[-1])
    elif kind == "1":
        if len(doc) != 8 or not doc.isdigit():
            return RowError(column, raw, "DNI must be 8 digits")
    elif not doc.isalnum() or len(doc) > 15:
        return RowError(column, raw, "document number: letters and digits, at most 15")
    return kind, doc.upper()


def _detraccion_bp(raw: Any, column: str) -> int | None:
    value = _text(raw).rstrip("%").strip()
    if not value or value == "0":
        return None
    try:
        pct = Decimal(value)
    except InvalidOperation:
        raise RowError(column, raw, "is not a percentage (e.g. 12)") from None
    if not pct.is_finite() or pct <= 0 or pct > 100 or pct != pct.quantize(Decimal("0.01")):
        raise RowError(column, raw, "is not a percentage from 0.01 to 100 (e.g. 12)")
    return int(pct * 100)


def _excel_serial(value: float, column: str, raw: Any) -> date | RowError:
    if value != int(value) or not 1 <= value <= 2_958_465:
        return RowError(column, raw, "is not a date (an Excel date is a whole day number)")
    if not 20_000 <= value <= 80_000:
        return RowError(column, raw, "is not a plausible Excel date (1954-2119)")
    return _EXCEL_EPOCH + timedelta(days=int(value))
