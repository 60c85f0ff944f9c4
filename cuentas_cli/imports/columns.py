"""Column resolution: which column of a file holds which field of an invoice.

Headers are matched after `sources.normalise_header` (no accents, lower case, punctuation as
spaces) against the Spanish and English names below, or named by a --mapping TOML file; a
header that names different fields in different registers ("Tipo Doc") is told by its values
and its neighbours. Also the vocabulary a cell may use for a field (kind, identity document
type, date format) and the reading of a cell as text, which the later stages share.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cuentas_cli.errors import UsageError, ValidationError
from cuentas_cli.imports import sources
from cuentas_cli.rules.invoice_columns import INVOICE_COLUMNS
from cuentas_cli.i18n import _


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
    "retencion": ("retencion", "retencion monto", "monto retencion", "importe retencion", "retencion igv",
                  "monto retencion igv", "retention", "retention amount", "igv retenido"),
    "ref_doc_type": ("ref tipo", "ref doc type", "tipo comprobante referencia", "tipo referencia",
                     "tipo comprobante modificado", "ref tipo comprobante"),
    "ref_serie": ("ref serie", "serie referencia", "serie comprobante modificado"),
    "ref_numero": ("ref numero", "numero referencia", "numero comprobante modificado"),
    "ple_status": ("estado ple",),
    "forma_pago": ("forma pago", "forma de pago", "condicion de pago", "condicion pago", "payment terms",
                   "payment form"),
}
# The cuotas of a credit sale: one column pair per cuota, as the UBL source emits them
# (`cuota_1_fecha`, `cuota_1_monto`, ... N = 1..MAX_CUOTA_COLUMNS).
MAX_CUOTA_COLUMNS = 36


def _cuota_aliases(n: int, part: str) -> tuple[str, ...]:
    if part == "fecha":
        return (f"cuota {n} fecha", f"fecha cuota {n}", f"fecha de cuota {n}", f"cuota {n} vencimiento",
                f"vencimiento cuota {n}", f"fecha vencimiento cuota {n}", f"installment {n} date",
                f"installment {n} due date")
    return (f"cuota {n} monto", f"monto cuota {n}", f"monto de cuota {n}", f"cuota {n} importe",
            f"importe cuota {n}", f"cuota {n} amount", f"installment {n} amount")


CUOTA_PAIRS = tuple((f"cuota_{n}_fecha", f"cuota_{n}_monto") for n in range(1, MAX_CUOTA_COLUMNS + 1))
for _n, _pair in enumerate(CUOTA_PAIRS, start=1):
    for _name, _part in zip(_pair, ("fecha", "monto")):
        FIELDS[_name] = _cuota_aliases(_n, _part)
LABELS = {
    "kind": "tipo (cxc/cxp)", "party_doc": "ruc (RUC/DNI)", "party_name": "razon_social", "doc_type": "tipo_comprobante",
    "serie": "serie", "numero": "numero", "document": "comprobante (F001-123)", "issue_date": "fecha_emision",
    "due_date": "fecha_vencimiento", "currency": "moneda", "rate": "tipo_cambio", "base": "base_imponible", "igv": "igv",
    "total": "total", "description": "descripcion", "detraccion": "detraccion_pct", "party_doc_type": "tipo_doc_identidad",
    "retencion": "retencion (monto)", "ref_doc_type": "ref_tipo", "ref_serie": "ref_serie", "ref_numero": "ref_numero", "ple_status": "estado_ple",
    "forma_pago": "forma_pago (contado/credito)", **{name: name for pair in CUOTA_PAIRS for name in pair},
}
_HEADER_INDEX = {alias: name for name, aliases in FIELDS.items() for alias in aliases}
# PLE columns as the PLE reader names them.
_HEADER_INDEX.update({"tipo doc identidad": "party_doc_type", "estado": "ple_status", "ref tipo": "ref_doc_type"})


def _register_workbook_headers() -> None:
    """The headers `export` writes in a workbook, in every language, name the field their column's
    key names (so `Razón social` and `Business name` both read as party_name)."""
    from cuentas_cli.i18n import LANGUAGES, catalog

    for key, _kind, label in INVOICE_COLUMNS:
        field = _HEADER_INDEX.get(sources.normalise_header(key))
        if field is None:  # a column the import does not read (id, paid, balance...)
            continue
        for code in LANGUAGES:
            _HEADER_INDEX.setdefault(sources.normalise_header(catalog(code).gettext(label)), field)


_register_workbook_headers()

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


def date_order(date_format: str | None) -> str | None:
    """`--date-format` (DD/MM/YYYY, MM/DD/YYYY, YYYY-MM-DD and their strftime spellings) as the
    order DateReader reads (dmy, mdy, iso); None when not given."""
    if not date_format:
        return None
    order = DATE_FORMATS.get(date_format.strip()) or DATE_FORMATS.get(date_format.strip().lower())
    if order is None:
        raise UsageError(_("--date-format {date_format!r}: use DD/MM/YYYY, MM/DD/YYYY or YYYY-MM-DD")
                         .format(date_format=date_format))
    return order


def known_header(text: str) -> bool:
    return text in _HEADER_INDEX


def load_mapping(path: Path) -> dict[str, Any]:
    """A TOML file: [columns] field = "Header in the file" (or a 1-based column number);
    optional [options] kind, date_format, encoding, delimiter, sheet."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(_("--mapping: no file {path}").format(path=path)) from None
    except IsADirectoryError:
        raise UsageError(_("--mapping {path}: is a directory; give the TOML file").format(path=path)) from None
    except OSError as exc:  # unreadable, a name too long, a special file
        raise UsageError(_("--mapping {path}: cannot read it ({exc_strerror_or_type_exc})")
                         .format(path=path, exc_strerror_or_type_exc=exc.strerror or type(exc).__name__)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(_("--mapping {name}: not valid TOML ({sources_printable_str_ex})")
                              .format(name=path.name, sources_printable_str_ex=sources.printable(str(exc)))) from None
    columns = data.get("columns", {})
    if not isinstance(columns, dict):
        raise ValidationError(_("--mapping {name}: [columns] must be a table of field = \"header\"")
                              .format(name=path.name))
    unknown = [k for k in columns if k not in FIELDS]
    if unknown:
        raise ValidationError(_("--mapping {name}: unknown field(s) {join_unknown}; fields are: "
                                "{join_fields}")
                              .format(name=path.name, join_unknown=', '.join(unknown), join_fields=', '.join(FIELDS)))
    for name, target in columns.items():
        # bool is an int in Python: `party_doc = true` is not column 1
        if isinstance(target, bool) or not isinstance(target, (str, int)) or (isinstance(target, str) and not target.strip()):
            raise ValidationError(_("--mapping {name}: {name2} = {sources_printable_repr_t}: give the "
                                    "column's header as text (e.g. \"RUC\") or its number counting from 1")
                                  .format(name=path.name, name2=name, sources_printable_repr_t=sources.printable(repr(target))[:40]))
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise ValidationError(_("--mapping {name}: [options] must be a table of option = value")
                              .format(name=path.name))
    allowed = {"kind", "date_format", "encoding", "delimiter", "sheet", "format"}
    bad = [k for k in options if k not in allowed]
    if bad:
        raise ValidationError(_("--mapping {name}: unknown option(s) {join_bad}; options are: "
                                "{join_sorted_allowed}")
                              .format(name=path.name, join_bad=', '.join(bad), join_sorted_allowed=', '.join(sorted(allowed))))
    wrong = [k for k, v in options.items() if not isinstance(v, str)]
    if wrong:
        raise ValidationError(_("--mapping {name}: option(s) {join_wrong} must be text (e.g. kind = "
                                "\"cxc\")")
                              .format(name=path.name, join_wrong=', '.join(wrong)))
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
        return sources.normalise_header(value) in KIND_TO_DIRECTION
    if name == "doc_type":
        return value.zfill(2) in DOC_TYPES
    return sources.normalise_header(value) in PARTY_DOC_TYPES


def _column_label(index: int, header: list[str]) -> str:
    return f"column {index + 1} ({sources.printable(str(header[index]).strip())[:40]!r})"


def _resolve_ambiguous(index: int, header: list[str], candidates: tuple[str, ...], fields_at: dict[int, str],
                       sample: list[list[Any]] | None) -> str | None:
    """The field an ambiguous header names, from its values and its neighbours; None when the
    field it would take is claimed already."""
    values = {v for v in (cell_text(row[index]) for row in (sample or []) if index < len(row)) if v}
    score = {n: sum(1 for v in values if _fits(n, v)) for n in candidates}
    best = max(score.values(), default=0)
    # the field most of its distinct values fit (a typo among them is the row's error, later)
    fits = [n for n in candidates if score[n] == best] if values and 2 * best >= len(values) else []
    if len(fits) == 1:
        return fits[0]
    if not fits:
        usual = _HEADER_INDEX.get(sources.normalise_header(header[index]))  # nothing to go by: the usual reading
        if usual is not None:
            return usual
        fits = list(candidates)
    near = {fields_at.get(index - 1), fields_at.get(index + 1)}
    by_neighbour = [n for n in fits if (n == "doc_type" and near & _DOC_FIELDS) or (n == "party_doc_type" and near & _PARTY_FIELDS)]
    if len(by_neighbour) == 1:
        return by_neighbour[0]
    shown = ", ".join(sorted(values)[:6])
    raise ValidationError(
        _("{column_label_index_heade} could be {or_join_labels_n_for_n_i}: its values ({shown}) do not "
          "say which; name it with --mapping FILE (e.g. [columns] {fits_0} = {str_header_index_strip!r})")
        .format(column_label_index_heade=_column_label(index, header), or_join_labels_n_for_n_i=' or '.join(LABELS[n] for n in fits), shown=shown, fits_0=fits[0], str_header_index_strip=str(header[index]).strip())
    )


def resolve_columns(header: list[str], mapping: dict[str, Any] | None, *, need_kind: bool,
                    sample: list[list[Any]] | None = None) -> tuple[dict[str, int], list[str]]:
    """Field -> column index; raises listing found and expected headers when a required one is
    missing, when two columns have the same header, or when an ambiguous header ("Tipo Doc")
    cannot be told from `sample` (the first data rows)."""
    positions: dict[str, int] = {}
    ignored: list[str] = []
    normalised = [sources.normalise_header(h) for h in header]
    if mapping:
        for name, target in mapping["columns"].items():
            if isinstance(target, int) and not isinstance(target, bool):
                if not 1 <= target <= len(header):
                    raise ValidationError(_("mapping: {name} = {target} but the file has {n_header} "
                                            "columns")
                                          .format(name=name, target=target, n_header=len(header)))
                positions[name] = target - 1
                continue
            wanted = sources.normalise_header(target)
            if wanted not in normalised:
                found = ", ".join(sources.printable(str(h).strip()) for h in header if h and str(h).strip())
                raise ValidationError(_("mapping: {name} = {target!r} is not a column of the file; "
                                        "found: {found}")
                                      .format(name=name, target=target, found=found))
            twice = [i for i, n in enumerate(normalised) if n == wanted]
            if len(twice) > 1:
                raise ValidationError(_("mapping: {name} = {target!r} names {and_join_column_label_i}; "
                                        "give the column's number instead")
                                      .format(name=name, target=target, and_join_column_label_i=' and '.join(_column_label(i, header) for i in twice)))
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
                _("{column_label_first_of_no} and {column_label_index_heade} have the same header; "
                  "rename one, or say which to import with --mapping FILE")
                .format(column_label_first_of_no=_column_label(first_of[norm], header), column_label_index_heade=_column_label(index, header))
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
                ignored.append(sources.printable(str(header[index]).strip()))
            continue
        positions[name] = index
    missing = []
    if "party_doc" not in positions:
        missing.append("party_doc")
    if not ("serie" in positions and "numero" in positions) and "document" not in positions:
        missing.extend(n for n in ("serie", "numero") if n not in positions)
    for name in ("issue_date", "due_date"):
        if name not in positions and not (name == "due_date" and has_cuota_columns(positions)):
            missing.append(name)
    if "total" not in positions and not ("base" in positions and "igv" in positions):
        missing.append("total")
    if need_kind and "kind" not in positions:
        missing.append("kind")
    if missing:
        expected = "; ".join(f"{LABELS[n]} (or {', '.join(FIELDS[n][:3])})" for n in missing)
        found = ", ".join(sources.printable(str(h).strip()) for h in header if h and str(h).strip()) or "(no header)"
        hint = " (or pass --kind cxc|cxp)" if "kind" in missing else ""
        raise ValidationError(
            _("missing required column(s): {expected}{hint}. Found: {found}. Use --mapping FILE to name "
              "them").format(expected=expected, hint=hint, found=found)
        )
    return positions, ignored


def has_cuota_columns(positions: dict[str, int]) -> bool:
    """A file with forma de pago or cuota columns may leave the due date out: a row in cuotas is
    due on its last one, a row al contado on its issue date."""
    return "forma_pago" in positions or any(f in positions or m in positions for f, m in CUOTA_PAIRS)


def resolve_source(source: sources.Source, mapping: dict[str, Any] | None, *,
                   need_kind: bool) -> tuple[dict[str, int], list[str]]:
    """resolve_columns() for an open source, reading ahead a sample of its rows only when a
    header is ambiguous."""
    sample = _sample(source) if any(sources.normalise_header(h) in _AMBIGUOUS for h in source.header) else None
    return resolve_columns(source.header, mapping, need_kind=need_kind, sample=sample)


def _sample(source: sources.Source) -> list[list[Any]]:
    """The first SAMPLE_ROWS data rows, to tell what an ambiguous header names (a bounded read
    ahead; the import reads the file from its start as usual)."""
    rows: list[list[Any]] = []
    iterator = source.peek(SAMPLE_ROWS) if source.peek is not None else source.rows()
    try:
        for _, cells in iterator:
            if isinstance(cells, list) and not blank(cells):
                rows.append(cells)
                if len(rows) >= SAMPLE_ROWS:
                    break
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    return rows


def direction_of(kind: str) -> str:
    value = sources.normalise_header(kind)
    direction = KIND_TO_DIRECTION.get(value)
    if direction is None:
        raise UsageError(_("--kind {kind!r}: use cxc (receivables) or cxp (payables)").format(kind=kind))
    return direction


# --- cells --------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    return str(value).strip()


def blank(cells: list[Any]) -> bool:
    return not any(c not in ("", None) and (not isinstance(c, str) or c.strip()) for c in cells)
