"""The columns of an invoice file that cuentas writes: each column's key (the JSON/CSV name, the
script contract, never translated), the kind of its values, and the header a person reads in a
workbook, in the active language.

The importer knows those headers in every language (imports/columns.py registers them), so a
workbook exported in Spanish or in English imports back to the same invoices; a test keeps every
header resolving to the field its key names, and the columns the import does not read (id, paid,
balance, status, the detracción amount) resolving to none.
"""

from __future__ import annotations

from cuentas_cli.i18n import N_

# (key, kind of value, header for people)
INVOICE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("id", "int", N_("Id")),
    ("kind", "text", N_("Kind (CxC/CxP)")),
    ("party_doc_type", "text", N_("ID document type")),
    ("party_doc", "text", N_("RUC/DNI")),
    ("party_name", "text", N_("Business name")),
    ("doc_type", "text", N_("Document type (SUNAT)")),
    ("serie", "text", N_("Series")),
    ("numero", "int", N_("Number")),
    ("issue_date", "date", N_("Issue date")),
    ("due_date", "date", N_("Due date")),
    ("currency", "text", N_("Currency")),
    ("exchange_rate", "rate", N_("Exchange rate")),
    ("base", "money", N_("Tax base")),
    ("igv", "money", N_("IGV")),
    ("total", "money", N_("Total")),
    ("detraccion_pct", "pct", N_("Detracción (%)")),
    ("detraccion_amount", "money", N_("Detracción (amount)")),
    ("paid", "money", N_("Paid")),
    ("balance", "money", N_("Balance")),
    ("status", "text", N_("Invoice status")),
    ("description", "text", N_("Description")),
    ("ref_doc_type", "text", N_("Ref. document type")),
    ("ref_serie", "text", N_("Ref. series")),
    ("ref_numero", "int", N_("Ref. number")),
)
