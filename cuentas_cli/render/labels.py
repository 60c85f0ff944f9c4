"""Column headers for people: each field a table shows, by the name its JSON/CSV key has (the
key never changes; the header is in the active language). A field without an entry shows its
key, so a new field is visible at once and is given a label here."""

from __future__ import annotations

from cuentas_cli.i18n import N_, _

LABELS: dict[str, str] = {
    "alias": N_("Alias"), "books": N_("Books"), "company": N_("Company"), "company_ruc": N_("RUC"),
    "cxc_open": N_("CxC open"), "cxc_overdue": N_("CxC overdue"), "cxp_open": N_("CxP open"),
    "cxp_overdue": N_("CxP overdue"), "cxc_outstanding": N_("CxC outstanding"), "cxp_outstanding": N_("CxP outstanding"),
    "cxc_due_7d": N_("CxC due in 7 days"), "cxp_due_7d": N_("CxP due in 7 days"), "dso": N_("DSO (days)"),
    "dpo": N_("DPO (days)"), "cxc_invoiced_90d": N_("CxC invoiced, 90 days"), "cxp_invoiced_90d": N_("CxP invoiced, 90 days"),
    "action": N_("Action"), "audited_tables": N_("Audited tables"), "grants": N_("Grants"), "groups": N_("Groups"),
    "members": N_("Members"), "prefix": N_("Prefix"), "active": N_("Active"), "address": N_("Address"), "adjustments": N_("Adjustments"),
    "after": N_("After"), "age_days": N_("Age (days)"), "amount": N_("Amount"), "as_of": N_("As of"),
    "at": N_("At"), "avg_days_late": N_("Average days late"), "balance": N_("Balance"),
    "balance_pen": N_("Balance (S/)"), "base": N_("Tax base"), "before": N_("Before"), "buy": N_("Buy"),
    "cached": N_("Cached"), "changed": N_("Changed"), "channel": N_("Channel"), "column": N_("Column"),
    "computed": N_("Computed"), "condicion": N_("Condition"), "count": N_("Count"), "created_at": N_("Created"),
    "created_by": N_("Created by"), "cumulative": N_("Cumulative"), "currency": N_("Currency"),
    "database": N_("Database"), "date": N_("Date"), "days_outstanding": N_("DSO / DPO (days)"),
    "days_overdue": N_("Days overdue"), "description": N_("Description"), "detraccion": N_("Detracción"),
    "detraccion_pct": N_("Detracción (%)"), "detraccion_recorded": N_("Detracción recorded"),
    "doc_number": N_("Document"), "doc_type": N_("Doc. type"), "doc_type_name": N_("Document type"),
    "document": N_("Document"), "due_7d": N_("Due in 7 days"), "due_7d_count": N_("Due in 7 days (count)"),
    "due_date": N_("Due date"), "duplicate_count": N_("Duplicates"), "email": N_("E-mail"), "end": N_("End"),
    "entity": N_("Entity"), "entity_id": N_("Entity id"), "estado": N_("Status (SUNAT)"),
    "exchange_rate": N_("Exchange rate"), "expires_at": N_("Expires"), "field": N_("Field"),
    "file_date": N_("File date"), "file_name": N_("File"), "id": N_("Id"), "igv": N_("IGV"),
    "imported_at": N_("Imported"), "imported_by": N_("Imported by"), "inflows": N_("Inflows"),
    "interrupted_import": N_("Interrupted import"), "invoice_id": N_("Invoice id"), "invoiced_90d": N_("Invoiced, 90 days"),
    "invoices": N_("Invoices"), "is_good_taxpayer": N_("Good taxpayer"), "is_retention_agent": N_("Retention agent"),
    "issue_date": N_("Issue date"), "key": N_("Key"), "kind": N_("Kind"), "last_login_at": N_("Last login"),
    "last_payment_amount": N_("Last payment"), "last_payment_currency": N_("Last payment currency"),
    "last_payment_date": N_("Last payment date"), "loaded": N_("Loaded"), "locked_until": N_("Locked until"),
    "malformed_count": N_("Malformed"), "method": N_("Method"), "name": N_("Name"), "net": N_("Net"),
    "notes": N_("Notes"), "numero": N_("Number"), "oldest_due_date": N_("Oldest due date"),
    "open_balance_pen": N_("Open balance (S/)"), "open_count": N_("Open invoices"),
    "open_invoices": N_("Open invoices"), "outflows": N_("Outflows"), "outstanding": N_("Outstanding"),
    "outstanding_pen": N_("Outstanding (S/)"), "outstanding_usd": N_("Outstanding (US$)"),
    "overdue": N_("Overdue"), "overdue_count": N_("Overdue invoices"), "overdue_invoices": N_("Overdue invoices"),
    "overdue_pen": N_("Overdue (S/)"), "overdue_share_pct": N_("Overdue share (%)"), "padron_date": N_("Register date"),
    "paid": N_("Paid"), "paid_90d_count": N_("Paid off, 90 days"), "paid_directly": N_("Paid directly"),
    "paid_directly_expected": N_("Paid directly (expected)"), "paid_on": N_("Paid on"), "party": N_("Party"),
    "party_doc": N_("RUC/DNI"), "party_name": N_("Name"), "payments": N_("Payments"),
    "period": N_("Period"), "permission": N_("Permission"), "pg_login": N_("PostgreSQL login"), "permissions": N_("Permissions"), "phone": N_("Phone"),
    "rank": N_("Rank"), "reason": N_("Reason"), "recipient": N_("Recipient"), "recorded_by": N_("Recorded by"),
    "reference": N_("Reference"), "references": N_("References"), "reminders": N_("Reminders"),
    "reminders_sent": N_("Reminders sent"), "result": N_("Result"), "retencion": N_("Retención"),
    "retencion_recorded": N_("Retención recorded"), "role": N_("Role"), "row": N_("Row"), "row_count": N_("Rows"),
    "ruc": N_("RUC"), "search_index": N_("Search index"), "section": N_("Section"), "sell": N_("Sell"),
    "serie": N_("Series"), "sha256": N_("SHA-256"), "source": N_("Source"), "start": N_("Start"),
    "status": N_("Status"), "subject": N_("Subject"), "sunat_condicion": N_("SUNAT condition"),
    "sunat_estado": N_("SUNAT status"), "token": N_("Token"), "total": N_("Total"), "total_pen": N_("Total (S/)"),
    "ubigeo": N_("Ubigeo"), "updated_at": N_("Updated"), "user": N_("User"), "username": N_("User"),
    "value": N_("Value"), "verified_at": N_("Verified"),
    "bank": N_("Bank code"), "bank_name": N_("Bank"), "number": N_("Account number"), "cci": N_("CCI"),
    "detracciones": N_("Detracciones account"),
    # a statement of account's lines
    "concept": N_("Concept"), "credit": N_("Credit"), "debit": N_("Debit"), "opening_balance": N_("Opening balance"),
    "closing_balance": N_("Closing balance"),
    # bank reconciliation (bank match | review | status)
    "line": N_("Line"), "account": N_("Account"), "operation": N_("Operation no."), "state": N_("State"),
    "score": N_("Score"), "documents": N_("Documents"), "why": N_("Why"), "month": N_("Month"),
    "movements": N_("Movements"), "credits": N_("Credits"), "debits": N_("Debits"), "matched": N_("Matched"),
    "recorded": N_("Recorded"), "ignored": N_("Ignored"), "ignored_amount": N_("Ignored amount"),
    "unmatched": N_("Unmatched"), "unmatched_amount": N_("Unmatched amount"), "difference": N_("Difference"),
    "bank_line": N_("Bank line"), "cuota": N_("Cuota"),
}
LABELS.update({  # the reminder templates (notify templates list | show)
    "level": N_("Level"), "channels": N_("Channels"), "text": N_("Text"), "html": N_("HTML"),
    "part": N_("Part"), "custom": N_("The firm's own"), "attach_statement": N_("Statement attached"),
})


def label(name: str) -> str:
    """The header of the field `name` in the active language (the name itself when unlabelled)."""
    text = LABELS.get(name)
    return _(text) if text else name


PERIOD_WORDS = {"vencido": N_("overdue"), "posterior": N_("later")}


def period_label(period: str, start, end) -> str:  # noqa: ANN001 - dates or None
    """A cash-flow period for people: `15/06–21/06/2026` (both years when they differ); the
    overdue and later rows by their word in the language. JSON keeps `period` as it is."""
    word = PERIOD_WORDS.get(period)
    if word is not None or start is None or end is None:
        return _(word) if word else period
    if start.year == end.year:
        return f"{start:%d/%m}–{end:%d/%m/%Y}"
    return f"{start:%d/%m/%Y}–{end:%d/%m/%Y}"


def bucket_label(key: str, bucket: str) -> str:
    """An aging bucket's column header: the not-yet-due one by its word in the language (its JSON
    key stays `corriente`), the others as their day ranges."""
    return _("current") if key == "corriente" else bucket
