"""One SUNAT UBL 2.1 document (Invoice 01/03, CreditNote 07, DebitNote 08) read into the
importer's canonical columns; the file walking and the safety limits are in ubl.py.

The XML is parsed with lxml with entity resolution, network access, DTD loading and huge trees
off, after the bytes were checked for DOCTYPE/ENTITY declarations (ubl.py): a UBL document
never needs a DTD, so one that declares anything is refused before a parser sees it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import _

_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


_C = "{%s}" % _NS["cac"]  # Clark notation: lxml compares tags without resolving prefixes
_B = "{%s}" % _NS["cbc"]
_B_ID = _B + "ID"


_ROOTS = {
    "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice": "Invoice",
    "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote": "CreditNote",
    "{urn:oasis:names:specification:ubl:schema:xsd:DebitNote-2}DebitNote": "DebitNote",
}
CDR_ROOT = "ApplicationResponse"  # SUNAT's answer (constancia de recepción), any namespace
IGV_SCHEME = "1000"
RETENCION_REASON = "62"  # catalogue 53: retención del IGV, an AllowanceCharge of the invoice
CUOTA_CORRECTION = "13"  # catalogue 09: corrección del monto o fecha de las cuotas (a 0.00 credit note)

# Columns the importer reads, named as its header vocabulary names them (columns.FIELDS), in
# the order a row carries them. "archivo" (which file a row came from) comes first: row errors
# and the --errors file name the file by it.
READ_COLUMNS = ("archivo", "kind", "tipo_doc_identidad", "ruc", "razon_social", "tipo_comprobante", "serie", "numero",
                "fecha_emision", "fecha_vencimiento", "moneda", "base_imponible", "igv", "total", "detraccion_pct",
                "ref_tipo", "ref_serie", "ref_numero", "descripcion", "retencion_monto")
# Read from the XML and given to the importer, which does not store them yet (the party's address,
# the detracción's code and SUNAT's amount, the net pending amount) or stores them as any file's
# columns of those names (the forma de pago and its cuotas, imports/cuotas.py): they ride along in
# every row, so a stage that learns them needs no change here (see cuota_columns).
EXTRA_COLUMNS = ("direccion", "detraccion_codigo", "detraccion_monto", "forma_pago", "monto_neto_pendiente")
# At most this many cuotas per document: a source's header is fixed before its first file is read.
MAX_CUOTAS = 36


def cuota_columns(count: int = MAX_CUOTAS) -> tuple[str, ...]:
    """`cuota_1_fecha`, `cuota_1_monto`, ... `cuota_N_monto`: the forma de pago's installments,
    as the pipeline's cuota columns name them (ISO dates, plain decimal amounts)."""
    return tuple(name for n in range(1, count + 1) for name in (f"cuota_{n}_fecha", f"cuota_{n}_monto"))


HEADER = (*READ_COLUMNS, *EXTRA_COLUMNS, *cuota_columns())
PENDING_COLUMNS = frozenset((*EXTRA_COLUMNS, *cuota_columns()))
_AT = {name: i for i, name in enumerate(HEADER)}
_DOC_TYPES = {"Invoice": ("01", "03"), "CreditNote": ("07",), "DebitNote": ("08",)}
_CENT = Decimal("0.01")


class NotADocument(Exception):
    """Not a row of this source: `kind` says what it is (cdr, or cuota_correction: CuotaCorrection)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.detail = detail


class CuotaCorrection(NotADocument):
    """A credit note of type 13 (new cuotas, total 0.00): not a row of the import but a change
    to the invoice it references, applied once the import's invoices are in (imports/corrections.py).
    `direction` is cxc/cxp; `party` the other party's (document type, number); `note` and
    `reference` (serie, número) and (type, serie, número); `cuotas` [(ISO date, amount)]."""

    def __init__(self, *, direction: str, party: tuple[str, str], note: tuple[str, str], issued: str,
                 reference: tuple[str, str, str], cuotas: list[tuple[str, str]]) -> None:
        super().__init__("cuota_correction", f"{note[0]}-{note[1]} -> {reference[1]}-{reference[2]}")
        self.direction = direction
        self.party = party
        self.note = note
        self.issued = issued
        self.reference = reference
        self.cuotas = cuotas


def make_parser() -> Any:
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           dtd_validation=False, remove_comments=True, remove_pis=True, collect_ids=False)


def parse(data: bytes, parser: Any) -> Any:
    """The document's root element; ValueError (with lxml's reason) for XML that is not well formed,
    ValidationError for one that carries a DOCTYPE after all."""
    from lxml import etree

    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(str(exc).splitlines()[0][:200]) from None
    if root.getroottree().docinfo.doctype:
        raise ValidationError(_("declares a DOCTYPE; refused as unsafe"))
    return root


def read(root: Any, label: str, company_ruc: str) -> list[str]:
    """The row of one document: `label` (which file), then READ_COLUMNS and the rest of HEADER.
    Raises NotADocument for a CDR or a cuota correction, ValueError for what the row cannot be.

    The root's children are walked once and indexed by tag; every field is then one or two
    steps down from its top-level element (a path search per field cost twice the parse)."""
    tag = root.tag
    if isinstance(tag, str) and tag.rpartition("}")[2] == CDR_ROOT:
        raise NotADocument("cdr")
    kind = _ROOTS.get(tag)
    if kind is None:
        raise ValueError(_("not a UBL invoice, credit note or debit note (root element {tag})")
                         .format(tag=str(tag).rpartition("}")[2][:60]))
    top: dict[Any, list[Any]] = {}
    for child in root:
        top.setdefault(child.tag, []).append(child)

    def first(name: str) -> Any:
        found = top.get(name)
        return found[0] if found else None

    def text(name: str) -> str:
        return _text(first(name))

    row = [""] * len(HEADER)
    row[0] = label
    if kind == "Invoice":
        doc_type = text(_B + "InvoiceTypeCode")
        if doc_type not in _DOC_TYPES["Invoice"]:
            raise ValueError(_("InvoiceTypeCode {code!r}: this import reads facturas (01) and boletas (03)")
                             .format(code=doc_type))
    else:
        doc_type = _DOC_TYPES[kind][0]
    document = text(_B + "ID")
    serie, dash, numero = document.rpartition("-")
    if not dash or not serie or not numero:
        raise ValueError(_("cbc:ID {document!r} is not a serie-número such as F001-123").format(document=document))
    supplier = _party(_child(first(_C + "AccountingSupplierParty"), _C + "Party"))
    customer = _party(_child(first(_C + "AccountingCustomerParty"), _C + "Party"))
    if supplier[1] == company_ruc:
        direction, party = "cxc", customer
    elif customer[1] == company_ruc and customer[0] == "6":
        direction, party = "cxp", supplier
    else:
        raise ValueError(_("neither the issuer (RUC {issuer}) nor the customer ({customer}) is this company's RUC "
                           "{ours} (company.ruc): not our document")
                         .format(issuer=supplier[1] or "-", customer=customer[1] or "-", ours=company_ruc))
    issued = text(_B + "IssueDate")
    currency = text(_B + "DocumentCurrencyCode")
    totals = "RequestedMonetaryTotal" if kind == "DebitNote" else "LegalMonetaryTotal"
    total_path = f"cac:{totals}/cbc:PayableAmount"
    total = _amount(_text(_child(first(_C + totals), _B + "PayableAmount")), total_path)
    if total is None:
        raise ValueError(_("no {path}: the document's total").format(path=total_path))
    base = igv = None
    for tax_total in top.get(_C + "TaxTotal", ()):
        for sub in tax_total.iterchildren(_C + "TaxSubtotal"):
            if _text(_child(_child(_child(sub, _C + "TaxCategory"), _C + "TaxScheme"), _B + "ID")) == IGV_SCHEME:
                b = _amount(_text(_child(sub, _B + "TaxableAmount")), "TaxableAmount")
                t = _amount(_text(_child(sub, _B + "TaxAmount")), "TaxAmount")
                base, igv = (base or 0) + (b or 0), (igv or 0) + (t or 0)
    if igv is None:
        igv = Decimal(0)  # no IGV subtotal: exonerado, inafecto or exportación
    if base is None or abs(base + igv - total) > _CENT:
        base = total - igv  # other taxes or untaxed lines: the base is what the total holds beyond its IGV
    terms = _payment_terms(top.get(_C + "PaymentTerms", ()))
    due = text(_B + "DueDate")
    pay = terms.get("formapago", [])
    forma = next((m for m, _a, _d, _p in pay if m.lower() in ("contado", "credito")), "")
    cuotas = sorted(((d, a) for m, a, d, _p in pay if m.lower().startswith("cuota")), key=lambda c: c[0])
    discrepancy = first(_C + "DiscrepancyResponse")
    reason = _text(_child(discrepancy, _B + "ResponseCode"))
    if kind == "CreditNote" and reason == CUOTA_CORRECTION and total == 0:
        raise CuotaCorrection(direction=direction, party=(party[0], party[1]), note=(serie.strip(), numero.strip()),
                              issued=issued, reference=_reference(top.get(_C + "BillingReference", ())),
                              cuotas=[(when, _plain(_amount(amount, "Cuota/Amount"))) for when, amount in cuotas])
    if not due:
        if forma.lower() == "credito" or cuotas:
            if not cuotas:
                raise ValueError(_("forma de pago Crédito without cuotas or cbc:DueDate: no due date"))
            due = cuotas[-1][0]  # an invoice in cuotas is due on the last one
        else:
            due = issued  # al contado (and notes): due on issue
    if len(cuotas) > MAX_CUOTAS:
        raise ValueError(_("{n} cuotas; an import reads at most {max}").format(n=len(cuotas), max=MAX_CUOTAS))
    at = _AT
    row[at["kind"]] = direction
    row[at["tipo_doc_identidad"]], row[at["ruc"]], row[at["razon_social"]] = party[0], party[1], party[2]
    row[at["direccion"]] = party[3]
    row[at["tipo_comprobante"]], row[at["serie"]], row[at["numero"]] = doc_type, serie.strip(), numero.strip()
    row[at["fecha_emision"]], row[at["fecha_vencimiento"]], row[at["moneda"]] = issued, due, currency
    row[at["base_imponible"]], row[at["igv"]], row[at["total"]] = _plain(base), _plain(igv), _plain(total)
    for means, amount, _due, percent in terms.get("detraccion", [])[:1]:
        row[at["detraccion_pct"]], row[at["detraccion_codigo"]] = percent, means
        row[at["detraccion_monto"]] = _plain(_amount(amount, "Detraccion/Amount"))
    retencion = _retencion(top.get(_C + "AllowanceCharge", ()))
    if retencion is not None:
        row[at["retencion_monto"]] = _plain(retencion)
    if forma:
        row[at["forma_pago"]] = "credito" if forma.lower() == "credito" else "contado"
        pending = next((a for m, a, _d, _p in pay if m.lower() == "credito"), "")
        row[at["monto_neto_pendiente"]] = _plain(_amount(pending, "FormaPago/Amount"))
    for n, (when, amount) in enumerate(cuotas, start=1):
        row[at[f"cuota_{n}_fecha"]], row[at[f"cuota_{n}_monto"]] = when, _plain(_amount(amount, "Cuota/Amount"))
    if kind != "Invoice":
        ref = _reference(top.get(_C + "BillingReference", ()))
        row[at["ref_tipo"]], row[at["ref_serie"]], row[at["ref_numero"]] = ref
        why = " ".join(_text(_child(discrepancy, _B + "Description")).split())
        row[at["descripcion"]] = f"{reason}: {why}" if reason and why else reason or why
    return row


def _child(element: Any, tag: str) -> Any:
    """The first child of `element` with this tag (Clark notation); None when there is none."""
    if element is None:
        return None
    for found in element.iterchildren(tag):
        return found
    return None


def _text(element: Any) -> str:
    return (element.text or "").strip() if element is not None else ""


def _party(party: Any) -> tuple[str, str, str, str]:
    """(identity document type, number, name, address) of a supplier or customer party."""
    if party is None:
        return "", "", "", ""
    ident = None
    for identification in party.iterchildren(_C + "PartyIdentification"):
        ident = _child(identification, _B + "ID")
        if ident is not None:
            break
    scheme = (ident.get("schemeID") or "").strip() if ident is not None else ""
    number = _text(ident)
    entity = _child(party, _C + "PartyLegalEntity")
    name = _text(_child(entity, _B + "RegistrationName")) or _text(_child(_child(party, _C + "PartyName"), _B + "Name"))
    line = _child(_child(_child(entity, _C + "RegistrationAddress"), _C + "AddressLine"), _B + "Line")
    return scheme, number, " ".join(name.split()), " ".join(_text(line).split())


_TERM_FIELDS = {_B + name: i for i, name in enumerate(("PaymentMeansID", "Amount", "PaymentDueDate", "PaymentPercent"))}


def _payment_terms(terms: Any) -> dict[str, list[tuple[str, str, str, str]]]:
    """cac:PaymentTerms by their cbc:ID (lower case): [(PaymentMeansID, Amount, PaymentDueDate, PaymentPercent)]."""
    found: dict[str, list[tuple[str, str, str, str]]] = {}
    for term in terms:
        key = ""
        values = ["", "", "", ""]
        seen = [False] * 4
        for child in term:
            tag = child.tag
            if tag == _B_ID and not key:
                key = (child.text or "").strip().lower()
            else:
                at = _TERM_FIELDS.get(tag)
                if at is not None and not seen[at]:
                    values[at], seen[at] = (child.text or "").strip(), True
        found.setdefault(key, []).append(tuple(values))
    return found


def _retencion(charges: Any) -> Decimal | None:
    for charge in charges:
        if _text(_child(charge, _B + "AllowanceChargeReasonCode")) == RETENCION_REASON:
            return _amount(_text(_child(charge, _B + "Amount")), "AllowanceCharge/Amount")
    return None


def _reference(billing: Any) -> tuple[str, str, str]:
    """(document type, serie, número) of the document a note modifies."""
    refs = [r for b in billing for r in b.iterchildren(_C + "InvoiceDocumentReference")]
    if not refs:
        raise ValueError(_("a credit or debit note without cac:BillingReference: which document does it modify?"))
    distinct = {_text(_child(r, _B_ID)) for r in refs}
    if len(distinct) > 1:
        raise ValueError(_("the note modifies {n} documents ({docs}); the ledger links a note to one")
                         .format(n=len(distinct), docs=", ".join(sorted(distinct))))
    ref = refs[0]
    document = _text(_child(ref, _B_ID))
    serie, dash, numero = document.rpartition("-")
    if not dash:
        raise ValueError(_("BillingReference {document!r} is not a serie-número such as F001-123")
                         .format(document=document))
    return _text(_child(ref, _B + "DocumentTypeCode")) or "01", serie.strip(), numero.strip()


def _amount(raw: str | None, where: str) -> Decimal | None:
    """An XML decimal (1180.00, 1180, 1180.5) as a Decimal of céntimos precision; None when absent."""
    value = (raw or "").strip()
    if not value:
        return None
    try:
        amount = Decimal(value)
        exact = amount.is_finite() and "e" not in value.lower() and len(value) <= 40 and amount == amount.quantize(_CENT)
    except InvalidOperation:
        raise ValueError(_("{where} {value!r} is not an amount").format(where=where, value=value[:40])) from None
    if not exact:
        raise ValueError(_("{where} {value!r} is not an amount with at most 2 decimals")
                         .format(where=where, value=value[:40]))
    return amount


def _plain(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount.quantize(_CENT)}"
