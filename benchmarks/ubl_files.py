"""SUNAT UBL 2.1 documents as the benchmark and the tests write them: namespaces, signature
extension and all, in the shape SUNAT's own validator accepts."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

NS = {
    "Invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "CreditNote": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "DebitNote": "urn:oasis:names:specification:ubl:schema:xsd:DebitNote-2",
}
_COMMON = (
    'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2" '
    'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" '
    'xmlns:ext="urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"'
)


@dataclass
class Doc:
    """One comprobante; amounts as text with two decimals."""

    id: str = "F001-1"
    kind: str = "Invoice"  # Invoice | CreditNote | DebitNote
    type_code: str = "01"  # Invoice only: 01 factura, 03 boleta
    issued: str = "2026-06-01"
    due: str | None = None
    currency: str = "PEN"
    issuer: tuple[str, str, str] = ("6", "20100070970", "EMPRESA EMISORA S.A.C.")
    customer: tuple[str, str, str] = ("6", "20131312955", "CLIENTE S.A.")
    customer_address: str | None = "AV. GARCILASO DE LA VEGA 1472, LIMA"
    base: str = "1000.00"
    igv: str = "180.00"
    total: str = "1180.00"
    forma: str | None = "Contado"  # Contado | Credito | None
    pending: str | None = None  # Credito: the net amount pending
    cuotas: list[tuple[str, str]] = field(default_factory=list)  # (amount, due date)
    detraccion: tuple[str, str, str] | None = None  # (code, percent, amount)
    retencion: str | None = None  # amount
    reference: tuple[str, str] | None = None  # notes: (serie-número, type code)
    reason: tuple[str, str] = ("01", "ANULACION DE LA OPERACION")

    def xml(self) -> str:
        root = self.kind
        lines = [f'<?xml version="1.0" encoding="UTF-8"?>',
                 f'<{root} xmlns="{NS[root]}" {_COMMON}>',
                 "<ext:UBLExtensions><ext:UBLExtension><ext:ExtensionContent>"
                 '<ds:Signature Id="SignSUNAT"><ds:SignedInfo><ds:CanonicalizationMethod '
                 'Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/></ds:SignedInfo>'
                 "<ds:SignatureValue>QUJDREVGR0g=</ds:SignatureValue></ds:Signature>"
                 "</ext:ExtensionContent></ext:UBLExtension></ext:UBLExtensions>",
                 "<cbc:UBLVersionID>2.1</cbc:UBLVersionID><cbc:CustomizationID>2.0</cbc:CustomizationID>",
                 f"<cbc:ID>{self.id}</cbc:ID>",
                 f"<cbc:IssueDate>{self.issued}</cbc:IssueDate><cbc:IssueTime>10:00:00</cbc:IssueTime>"]
        if self.due and root == "Invoice":
            lines.append(f"<cbc:DueDate>{self.due}</cbc:DueDate>")
        if root == "Invoice":
            operation = "1001" if self.detraccion else "0101"
            lines.append(f'<cbc:InvoiceTypeCode listAgencyName="PE:SUNAT" listID="{operation}" '
                         f'listURI="urn:pe:gob:sunat:cpe:see:gem:catalogos:catalogo01">{self.type_code}</cbc:InvoiceTypeCode>')
        lines.append("<cbc:Note languageLocaleID=\"1000\"><![CDATA[MIL CIENTO OCHENTA CON 00/100 SOLES]]></cbc:Note>")
        lines.append(f'<cbc:DocumentCurrencyCode listID="ISO 4217 Alpha">{self.currency}</cbc:DocumentCurrencyCode>')
        if root != "Invoice":
            code, text = self.reason
            ref_id, ref_type = self.reference or ("F001-1", "01")
            lines.append(f"<cac:DiscrepancyResponse><cbc:ReferenceID>{ref_id}</cbc:ReferenceID>"
                         f"<cbc:ResponseCode>{code}</cbc:ResponseCode><cbc:Description>{text}</cbc:Description>"
                         "</cac:DiscrepancyResponse>")
            lines.append(f"<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>{ref_id}</cbc:ID>"
                         f"<cbc:DocumentTypeCode>{ref_type}</cbc:DocumentTypeCode></cac:InvoiceDocumentReference>"
                         "</cac:BillingReference>")
        lines.append('<cac:Signature><cbc:ID>SignSUNAT</cbc:ID><cac:SignatoryParty><cac:PartyIdentification>'
                     f"<cbc:ID>{self.issuer[1]}</cbc:ID></cac:PartyIdentification></cac:SignatoryParty></cac:Signature>")
        lines.append(self._party("AccountingSupplierParty", self.issuer, "AV. LOS OLIVOS 123, LIMA"))
        lines.append(self._party("AccountingCustomerParty", self.customer, self.customer_address))
        if self.detraccion:
            code, percent, amount = self.detraccion
            lines.append("<cac:PaymentMeans><cbc:ID>Detraccion</cbc:ID><cbc:PaymentMeansCode>001</cbc:PaymentMeansCode>"
                         "<cac:PayeeFinancialAccount><cbc:ID>00-000-123456</cbc:ID></cac:PayeeFinancialAccount>"
                         "</cac:PaymentMeans>")
            lines.append(f"<cac:PaymentTerms><cbc:ID>Detraccion</cbc:ID><cbc:PaymentMeansID>{code}</cbc:PaymentMeansID>"
                         f"<cbc:PaymentPercent>{percent}</cbc:PaymentPercent>"
                         f'<cbc:Amount currencyID="PEN">{amount}</cbc:Amount></cac:PaymentTerms>')
        if self.forma:
            amount = f'<cbc:Amount currencyID="{self.currency}">{self.pending}</cbc:Amount>' if self.pending else ""
            lines.append(f"<cac:PaymentTerms><cbc:ID>FormaPago</cbc:ID><cbc:PaymentMeansID>{self.forma}"
                         f"</cbc:PaymentMeansID>{amount}</cac:PaymentTerms>")
        for n, (amount, when) in enumerate(self.cuotas, start=1):
            lines.append(f"<cac:PaymentTerms><cbc:ID>FormaPago</cbc:ID><cbc:PaymentMeansID>Cuota{n:03d}</cbc:PaymentMeansID>"
                         f'<cbc:Amount currencyID="{self.currency}">{amount}</cbc:Amount>'
                         f"<cbc:PaymentDueDate>{when}</cbc:PaymentDueDate></cac:PaymentTerms>")
        if self.retencion:
            lines.append("<cac:AllowanceCharge><cbc:ChargeIndicator>false</cbc:ChargeIndicator>"
                         "<cbc:AllowanceChargeReasonCode>62</cbc:AllowanceChargeReasonCode>"
                         "<cbc:MultiplierFactorNumeric>0.03</cbc:MultiplierFactorNumeric>"
                         f'<cbc:Amount currencyID="PEN">{self.retencion}</cbc:Amount>'
                         f'<cbc:BaseAmount currencyID="PEN">{self.total}</cbc:BaseAmount></cac:AllowanceCharge>')
        cur = self.currency
        lines.append(f'<cac:TaxTotal><cbc:TaxAmount currencyID="{cur}">{self.igv}</cbc:TaxAmount><cac:TaxSubtotal>'
                     f'<cbc:TaxableAmount currencyID="{cur}">{self.base}</cbc:TaxableAmount>'
                     f'<cbc:TaxAmount currencyID="{cur}">{self.igv}</cbc:TaxAmount><cac:TaxCategory><cac:TaxScheme>'
                     "<cbc:ID>1000</cbc:ID><cbc:Name>IGV</cbc:Name><cbc:TaxTypeCode>VAT</cbc:TaxTypeCode>"
                     "</cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal></cac:TaxTotal>")
        total = "RequestedMonetaryTotal" if root == "DebitNote" else "LegalMonetaryTotal"
        lines.append(f'<cac:{total}><cbc:LineExtensionAmount currencyID="{cur}">{self.base}</cbc:LineExtensionAmount>'
                     f'<cbc:TaxInclusiveAmount currencyID="{cur}">{self.total}</cbc:TaxInclusiveAmount>'
                     f'<cbc:PayableAmount currencyID="{cur}">{self.total}</cbc:PayableAmount></cac:{total}>')
        line = {"Invoice": "InvoiceLine", "CreditNote": "CreditNoteLine", "DebitNote": "DebitNoteLine"}[root]
        quantity = {"Invoice": "InvoicedQuantity", "CreditNote": "CreditedQuantity", "DebitNote": "DebitedQuantity"}[root]
        unit = (Decimal(self.base) or Decimal(0)).quantize(Decimal("0.01"))
        lines.append(f'<cac:{line}><cbc:ID>1</cbc:ID><cbc:{quantity} unitCode="NIU">1</cbc:{quantity}>'
                     f'<cbc:LineExtensionAmount currencyID="{cur}">{unit}</cbc:LineExtensionAmount>'
                     f'<cac:Item><cbc:Description><![CDATA[SERVICIO DE MANTENIMIENTO]]></cbc:Description></cac:Item>'
                     f'<cac:Price><cbc:PriceAmount currencyID="{cur}">{unit}</cbc:PriceAmount></cac:Price></cac:{line}>')
        lines.append(f"</{root}>")
        return "\n".join(lines)

    @staticmethod
    def _party(tag: str, party: tuple[str, str, str], address: str | None) -> str:
        scheme, number, name = party
        where = (f"<cac:RegistrationAddress><cbc:AddressTypeCode>0000</cbc:AddressTypeCode><cac:AddressLine>"
                 f"<cbc:Line>{address}</cbc:Line></cac:AddressLine></cac:RegistrationAddress>") if address else ""
        return (f'<cac:{tag}><cac:Party><cac:PartyIdentification><cbc:ID schemeID="{scheme}" schemeName="Documento de '
                f'Identidad" schemeAgencyName="PE:SUNAT">{number}</cbc:ID></cac:PartyIdentification>'
                f"<cac:PartyName><cbc:Name><![CDATA[{name}]]></cbc:Name></cac:PartyName>"
                f"<cac:PartyLegalEntity><cbc:RegistrationName><![CDATA[{name}]]></cbc:RegistrationName>{where}"
                f"</cac:PartyLegalEntity></cac:Party></cac:{tag}>")


def cdr(document: str = "F001-1", ruc: str = "20100070970") -> str:
    """SUNAT's answer (constancia de recepción) for a document."""
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<ar:ApplicationResponse xmlns:ar="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2" '
            f"{_COMMON}><cbc:UBLVersionID>2.0</cbc:UBLVersionID><cbc:ID>{ruc}</cbc:ID>"
            "<cbc:IssueDate>2026-06-01</cbc:IssueDate><cac:DocumentResponse><cac:Response>"
            f"<cbc:ReferenceID>{document}</cbc:ReferenceID><cbc:ResponseCode>0</cbc:ResponseCode>"
            f"<cbc:Description>La Factura numero {document}, ha sido aceptada</cbc:Description>"
            "</cac:Response></cac:DocumentResponse></ar:ApplicationResponse>")
