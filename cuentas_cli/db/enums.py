"""The data model's vocabulary (statuses, kinds, currencies, methods...) and its clock, without
the models: modules on the fast commands' path import these names from here, since importing
db/models loads SQLModel (see db/tables_gen.py)."""

from __future__ import annotations

from datetime import datetime, timezone

PARTY_KINDS = ("client", "supplier")
DIRECTIONS = ("receivable", "payable")
INVOICE_STATUSES = ("PENDIENTE", "PARCIAL", "PAGADA", "VENCIDA", "ANULADA")
OPEN_STATUSES = ("PENDIENTE", "PARCIAL", "VENCIDA")
# ix_invoice_open: what reports/open_balances.py reads of an open invoice (id comes with it).
OPEN_INDEX_COLUMNS = ("direction", "due_date", "currency", "exchange_rate_e4", "total_cents", "adjust_cents",
                      "paid_cents", "issue_date", "doc_type", "party_id", "detraccion_cents", "id")
CURRENCIES = ("PEN", "USD")
PAYMENT_METHODS = ("transferencia", "efectivo", "cheque", "detraccion", "retencion")
ROLES = ("contador", "gerente", "administrador")
TOKEN_KINDS = ("session", "service")
NOTIFICATION_STATUSES = ("pending", "sending", "sent", "failed", "cancelled")
NOTIFICATION_KINDS = ("reminder", "digest", "statement")
CHANNELS = ("email", "webhook")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
