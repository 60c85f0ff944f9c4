"""SQLModel tables: the data model of design.md (the firm's register: db/models_firm.py).
Money is an integer number of céntimos (BigInteger); exchange rates are an integer number of
ten-thousandths (3.7391 -> 37391) so no float ever touches either. Enumerations are text with
CHECK constraints, which reads the same on SQLite and PostgreSQL. The schema itself is made
only by the Alembic migrations in `db/migrations`; a test keeps the two in agreement.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from cuentas_cli.db.enums import (  # noqa: F401 - the vocabulary, re-exported for the models' users
    CHANNELS,
    CURRENCIES,
    DIRECTIONS,
    INVOICE_STATUSES,
    NOTIFICATION_KINDS,
    NOTIFICATION_STATUSES,
    OPEN_INDEX_COLUMNS,
    OPEN_STATUSES,
    PARTY_KINDS,
    PAYMENT_METHODS,
    ROLES,
    TOKEN_KINDS,
    utcnow,
)


# Named constraints let Alembic's batch mode on SQLite find and alter them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# Partial indexes: the predicate of each, by index name. It is attached per dialect when an engine
# of that dialect is made (`partial_predicates`), not in the Index() call: a `postgresql_where`
# keyword makes SQLAlchemy load the whole PostgreSQL dialect (about 20 ms) in every command,
# also on SQLite. The migrations create the same predicates.
PARTIAL_WHERE: dict[str, str] = {}


def _partial(name: str, *columns: str, where: str) -> Index:
    PARTIAL_WHERE[name] = where
    return Index(name, *columns)


def partial_predicates(dialect_name: str) -> None:
    """Attach each partial index's WHERE for `dialect_name` (sqlite, postgresql); idempotent."""
    for table in SQLModel.metadata.tables.values():
        for index in table.indexes:
            where = PARTIAL_WHERE.get(index.name or "")
            if where is not None and index.dialect_options[dialect_name].get("where") is None:
                index.dialect_options[dialect_name]["where"] = text(where)


def _fk(target: str, *, nullable: bool = True, ondelete: str | None = None) -> Column:
    return Column(Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable)


class User(SQLModel, table=True):
    """A person (or the owner of a service token) who runs cuentas."""

    # "user" is a reserved word in PostgreSQL.
    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    email: Optional[str] = Field(default=None, max_length=254)
    role: str = Field(max_length=20)
    password_hash: str = Field(max_length=255)
    is_active: bool = Field(default=True)
    failed_logins: int = Field(default=0)
    first_failed_at: Optional[datetime] = None
    locked_until: Optional[datetime] = None
    last_login_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)
    # The person's own PostgreSQL login (team mode, admin/team.py): a connection made as this
    # login is this user, with no cuentas session, and the server holds them to the grants of
    # their role's group.
    pg_login: Optional[str] = Field(default=None, max_length=63, unique=True)


class ApiToken(SQLModel, table=True):
    """A login session or a named service token; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    __table_args__ = (
        CheckConstraint(_in("kind", TOKEN_KINDS), name="kind"),
        Index("ix_api_token_user_id", "user_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=_fk("app_user.id", nullable=False, ondelete="CASCADE"))
    kind: str = Field(max_length=10)
    name: Optional[str] = Field(default=None, max_length=64, unique=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: Optional[datetime] = None
    last_used_at: Optional[datetime] = None
    revoked_at: Optional[datetime] = None


class RolePermission(SQLModel, table=True):
    """One cell of the permission matrix that is granted."""

    __tablename__ = "role_permission"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    role: str = Field(max_length=20, primary_key=True)
    permission: str = Field(max_length=40, primary_key=True)


class Setting(SQLModel, table=True):
    """A shared setting stored for the whole team; secrets never land here."""

    __tablename__ = "setting"

    key: str = Field(max_length=64, primary_key=True)
    value: str = Field(sa_type=Text)
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: Optional[int] = Field(default=None, sa_column=_fk("app_user.id", ondelete="SET NULL"))


class BankAccount(SQLModel, table=True):
    """One of the company's own bank accounts: shown where a client is asked to pay (statements,
    reminders, the PDF report); the Banco de la Nación detracciones account is flagged."""

    __tablename__ = "bank_account"
    __table_args__ = (
        UniqueConstraint("bank", "number", name="uq_bank_account_bank_number"),
        CheckConstraint(_in("currency", CURRENCIES), name="currency"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=60, unique=True)
    bank: str = Field(max_length=20)  # short code: BCP, BBVA, IBK, SCOTIA, BN...
    currency: str = Field(max_length=3)
    number: str = Field(max_length=40)
    cci: Optional[str] = Field(default=None, max_length=20)
    detracciones: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)


class BankLine(SQLModel, table=True):
    """One movement of a company's bank account, from the bank's statement (`bank import`):
    a credit (abono, amount > 0) or a debit (cargo, amount < 0). `line_hash` (account, date,
    amount, description, operation number, running balance) keeps an overlapping download from
    adding a movement twice. Matched lines are linked from the payments they recorded."""

    __tablename__ = "bank_line"
    __table_args__ = (
        CheckConstraint(_in("state", ("unmatched", "matched", "ignored")), name="state"),
        Index("ix_bank_line_account_date", "account_id", "line_date"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column=_fk("bank_account.id", nullable=False, ondelete="CASCADE"))
    line_date: date
    amount_cents: int = Field(sa_type=BigInteger)
    description: str = Field(default="", max_length=500)
    operation: Optional[str] = Field(default=None, max_length=60)
    balance_cents: Optional[int] = Field(default=None, sa_type=BigInteger)
    line_hash: str = Field(max_length=64, unique=True)
    file_row: Optional[int] = None
    import_sha256: Optional[str] = Field(default=None, max_length=64)
    state: str = Field(default="unmatched", max_length=10)
    ignore_reason: Optional[str] = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class Party(SQLModel, table=True):
    """A client or a supplier; `kind` tells which, everything else is shared."""

    __tablename__ = "party"
    __table_args__ = (
        UniqueConstraint("kind", "doc_type", "doc_number", name="uq_party_kind_doc"),
        CheckConstraint(_in("kind", PARTY_KINDS), name="kind"),
        CheckConstraint(_in("doc_type", ("0", "1", "4", "6", "7", "A")), name="doc_type"),
        CheckConstraint(_in("source", ("manual", "provider", "padron", "import")), name="source"),
        Index("ix_party_doc_number", "doc_number"),
        Index("ix_party_name", "name"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)
    doc_type: str = Field(max_length=1)  # SUNAT catalogue 06
    doc_number: str = Field(max_length=15)
    name: str = Field(max_length=255)
    address: Optional[str] = Field(default=None, max_length=500)
    email: Optional[str] = Field(default=None, max_length=254)
    phone: Optional[str] = Field(default=None, max_length=40)
    sunat_estado: Optional[str] = Field(default=None, max_length=40)
    sunat_condicion: Optional[str] = Field(default=None, max_length=40)
    is_retention_agent: bool = Field(default=False)
    is_good_taxpayer: bool = Field(default=False)
    source: str = Field(default="manual", max_length=10)
    verified_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Invoice(SQLModel, table=True):
    """A comprobante to collect (receivable, CxC) or to pay (payable, CxP).

    `paid_cents` is the sum of the invoice's payments and `adjust_cents` the net of the
    credit (-) and debit (+) notes that reference it, both kept in the same transaction as
    the rows they summarise, so the balance (total + adjust - paid) and the status can be
    computed set-based over a million invoices without a join.
    """

    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("direction", "party_id", "doc_type", "serie", "numero", name="uq_invoice_document"),
        CheckConstraint(_in("direction", DIRECTIONS), name="direction"),
        CheckConstraint(_in("status", INVOICE_STATUSES), name="status"),
        CheckConstraint(_in("currency", CURRENCIES), name="currency"),
        CheckConstraint("numero BETWEEN 1 AND 99999999", name="numero"),
        CheckConstraint("total_cents > 0", name="total_positive"),
        CheckConstraint("due_date >= issue_date", name="due_after_issue"),
        CheckConstraint("exchange_rate_e4 > 0", name="rate_positive"),
        CheckConstraint("paid_cents >= 0", name="paid_nonnegative"),
        Index("ix_invoice_party_id", "party_id"),
        Index("ix_invoice_due_date", "due_date", "id"),  # the listings' order (migration 0010 says why)
        Index("ix_invoice_references_id", "references_id"),
        Index("ix_invoice_issue_date", "issue_date"),
        # a document named by its serie-número (`invoices show F001-123`, `payments import`)
        Index("ix_invoice_serie_numero", "serie", "numero"),
        # Reports scan every open invoice; this partial covering index holds just those rows and
        # the columns the reports read (measured on 1M invoices: aging 0.78 -> 0.52 s on SQLite,
        # 0.28 -> 0.16 s on PostgreSQL). Queries must state the statuses literally to use it.
        _partial("ix_invoice_open", *OPEN_INDEX_COLUMNS, where=_in("status", OPEN_STATUSES)),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    direction: str = Field(max_length=10)
    party_id: int = Field(sa_column=_fk("party.id", nullable=False))
    doc_type: str = Field(default="01", max_length=2)  # SUNAT catalogue 01
    serie: str = Field(max_length=4)
    numero: int
    issue_date: date
    due_date: date
    currency: str = Field(default="PEN", max_length=3)
    exchange_rate_e4: int = Field(default=10000)  # PEN per unit of currency x 10,000
    base_cents: Optional[int] = Field(default=None, sa_type=BigInteger)
    igv_cents: Optional[int] = Field(default=None, sa_type=BigInteger)
    total_cents: int = Field(sa_type=BigInteger)
    detraccion_bp: Optional[int] = None  # detracción rate in basis points (1200 = 12%)
    detraccion_cents: int = Field(default=0, sa_type=BigInteger)
    retencion_cents: int = Field(default=0, sa_type=BigInteger)
    paid_cents: int = Field(default=0, sa_type=BigInteger)
    adjust_cents: int = Field(default=0, sa_type=BigInteger)
    references_id: Optional[int] = Field(default=None, sa_column=_fk("invoice.id"))
    description: Optional[str] = Field(default=None, sa_type=Text)
    status: str = Field(default="PENDIENTE", max_length=10)
    created_by: Optional[int] = Field(default=None, sa_column=_fk("app_user.id", ondelete="SET NULL"))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Payment(SQLModel, table=True):
    """Money received for (or paid on) one invoice, in the invoice's currency."""

    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint(_in("method", PAYMENT_METHODS), name="method"),
        Index("ix_payment_invoice_id", "invoice_id"),
        Index("ix_payment_bank_line_id", "bank_line_id"),
        Index("ix_payment_paid_on", "paid_on"),
        # The few detracción deposits, for the cash-flow projection (net of detracción).
        _partial("ix_payment_detraccion", "invoice_id", "paid_on", "amount_cents", where="method = 'detraccion'"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    invoice_id: int = Field(sa_column=_fk("invoice.id", nullable=False))
    paid_on: date
    amount_cents: int = Field(sa_type=BigInteger)
    method: str = Field(default="transferencia", max_length=15)
    reference: Optional[str] = Field(default=None, max_length=100)
    recorded_by: Optional[int] = Field(default=None, sa_column=_fk("app_user.id", ondelete="SET NULL"))
    created_at: datetime = Field(default_factory=utcnow)
    bank_line_id: Optional[int] = Field(default=None, sa_column=_fk("bank_line.id", ondelete="SET NULL"))


class InvoiceCuota(SQLModel, table=True):
    """One installment (cuota) of a credit sale or purchase, as SUNAT's forma de pago Crédito
    states it: its number, due date and amount. The cuotas of an invoice add up to its net
    pending amount (total - detracción - retención); an invoice without cuotas is due whole on
    its due date."""

    __tablename__ = "invoice_cuota"
    __table_args__ = (
        UniqueConstraint("invoice_id", "number", name="uq_invoice_cuota_number"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("number BETWEEN 1 AND 999", name="number"),
        CheckConstraint("after_cents >= 0", name="after_not_negative"),
        Index("ix_invoice_cuota_due_date", "due_date"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    invoice_id: int = Field(sa_column=_fk("invoice.id", nullable=False, ondelete="CASCADE"))
    number: int
    due_date: date
    amount_cents: int = Field(sa_type=BigInteger)
    # The sum of the cuotas after this one: a balance of B still owes on this cuota when
    # B > after_cents (payments settle the oldest cuota first).
    after_cents: int = Field(default=0, sa_type=BigInteger)


class CuotaCorrection(SQLModel, table=True):
    """A credit note of type 13 (catalogue 09: corrección del monto neto pendiente y/o de las
    fechas de vencimiento, total 0.00) applied to the invoice it modifies: that invoice's cuotas
    were replaced by the note's. Kept so a re-import of the note changes nothing and an older
    note cannot undo a newer one."""

    __tablename__ = "cuota_correction"
    __table_args__ = (
        UniqueConstraint("invoice_id", "serie", "numero", name="uq_cuota_correction_note"),
        CheckConstraint("numero > 0", name="numero_positive"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    invoice_id: int = Field(sa_column=_fk("invoice.id", nullable=False, ondelete="CASCADE"))
    serie: str = Field(max_length=4)
    numero: int
    issue_date: date
    created_by: Optional[int] = Field(default=None, sa_column=_fk("app_user.id", ondelete="SET NULL"))
    created_at: datetime = Field(default_factory=utcnow)


class ExchangeRate(SQLModel, table=True):
    """SBS/SUNAT rate of one day: PEN per USD x 10,000."""

    __tablename__ = "exchange_rate"
    __table_args__ = (CheckConstraint("sell_e4 > 0", name="sell_positive"),)

    rate_date: date = Field(primary_key=True)
    currency: str = Field(default="USD", max_length=3, primary_key=True)
    buy_e4: Optional[int] = None
    sell_e4: int
    source: str = Field(default="manual", max_length=20)
    created_at: datetime = Field(default_factory=utcnow)


class Notification(SQLModel, table=True):
    """The reminder outbox: one row per invoice x level x channel x recipient.

    A statement of account e-mailed to a client (`clients statement --all --email`) is a row of
    kind "statement" with the client in party_id and the period (YYYYMM) in level, unique per
    (party_id, level, channel, recipient): one per client per month.

    A staff digest has no single invoice: it is a row of kind "digest" with no invoice_id
    and the day it summarises in digest_date, unique per (digest_date, channel, recipient)
    (a NULL digest_date never collides, so reminder rows are unaffected). "sending" marks
    rows whose message is being handed to the server right now (see docs/reminders.md).
    """

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("invoice_id", "cuota", "level", "channel", "recipient", name="uq_notification_once"),
        UniqueConstraint("digest_date", "channel", "recipient", name="uq_notification_digest"),
        UniqueConstraint("party_id", "level", "channel", "recipient", name="uq_notification_statement"),
        CheckConstraint(_in("status", NOTIFICATION_STATUSES), name="status"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("kind", NOTIFICATION_KINDS), name="kind"),
        CheckConstraint(
            "(kind = 'reminder' AND invoice_id IS NOT NULL AND digest_date IS NULL) OR "
            "(kind = 'digest' AND invoice_id IS NULL AND digest_date IS NOT NULL) OR "
            "(kind = 'statement' AND party_id IS NOT NULL AND invoice_id IS NULL AND digest_date IS NULL)",
            name="kind_target",
        ),
        Index("ix_notification_outbox", "status", "channel", "recipient"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(default="reminder", max_length=10)
    invoice_id: Optional[int] = Field(default=None, sa_column=_fk("invoice.id", ondelete="CASCADE"))
    digest_date: Optional[date] = None
    # a statement of account (kind "statement"): the client it goes to, its period in `level` (YYYYMM)
    party_id: Optional[int] = Field(default=None, sa_column=_fk("party.id", ondelete="CASCADE"))
    level: int  # days from the due date (negative: before it); 0 for a digest; YYYYMM for a statement
    # the cuota a reminder chases (its levels count from that cuota's due date); 0: the whole invoice
    cuota: int = 0
    channel: str = Field(max_length=10)
    recipient: str = Field(max_length=500)
    status: str = Field(default="pending", max_length=10)
    attempts: int = Field(default=0)
    last_error: Optional[str] = Field(default=None, sa_type=Text)
    next_attempt_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: Optional[datetime] = None


class AuditLog(SQLModel, table=True):
    """Who changed what, when, with the values before and after (JSON text)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_entity", "entity", "entity_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    user_id: Optional[int] = Field(default=None, sa_column=_fk("app_user.id", ondelete="SET NULL"))
    username: Optional[str] = Field(default=None, max_length=64)
    action: str = Field(max_length=40)
    entity: str = Field(max_length=40)
    entity_id: Optional[str] = Field(default=None, max_length=64)
    before: Optional[str] = Field(default=None, sa_type=Text)
    after: Optional[str] = Field(default=None, sa_type=Text)


class DbAudit(SQLModel, table=True):
    """What the database itself saw change on the money tables (PostgreSQL team mode): written by
    triggers whoever makes the change, cuentas or psql, with the PostgreSQL login that made it.
    Only the schema owner can write or delete here; on SQLite it stays empty."""

    __tablename__ = "db_audit"
    __table_args__ = (Index("ix_db_audit_at", "at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    db_user: str = Field(max_length=63)
    operation: str = Field(max_length=6)
    table_name: str = Field(max_length=40)
    row_id: Optional[str] = Field(default=None, max_length=130)
    before: Optional[str] = Field(default=None, sa_type=Text)
    after: Optional[str] = Field(default=None, sa_type=Text)


class RucRegistry(SQLModel, table=True):
    """One row of SUNAT's padrón reducido (the offline RUC register).
    Replaced as a whole by `cuentas padron import` (parties/padron_load.py loads a staging copy
    and renames it in). `detail` is the rest of the padrón's line after the name, verbatim:
    estado|condición|ubigeo|tipo de vía|nombre de vía|código de zona|tipo de zona|número|
    interior|lote|departamento|manzana|kilómetro, '-' for empty; parties/padron.py reads
    the fields. One text column instead of thirteen makes a 10-million-line import about 40%
    faster (fewer values to bind per row), and only one row is ever decoded at a time.
    On SQLite the table is WITHOUT ROWID: one B-tree keyed by RUC.
    """

    __tablename__ = "ruc_registry"
    __table_args__ = {"sqlite_with_rowid": False}

    ruc: str = Field(max_length=11, primary_key=True)
    name: str = Field(sa_type=Text)
    detail: str = Field(sa_type=Text)


# Made by `cuentas padron import` outside these models: the staging copy, the SQLite FTS5
# name index (and its shadow tables), the PostgreSQL trigram index. Not schema drift.
UNMANAGED_PREFIX = "ruc_registry_"


def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
    """Alembic autogenerate filter: skip the padrón's unmanaged objects."""
    return not (reflected and compare_to is None and (name or "").startswith(UNMANAGED_PREFIX))


class PadronImport(SQLModel, table=True):
    """A load of the padrón: which file, when, how many rows."""

    __tablename__ = "padron_import"

    id: Optional[int] = Field(default=None, primary_key=True)
    file_name: str = Field(max_length=255)
    file_date: Optional[date] = None
    sha256: str = Field(max_length=64)
    row_count: int = Field(sa_type=BigInteger)
    malformed_count: int = Field(default=0)
    duplicate_count: int = Field(default=0)  # lines whose RUC was already loaded (the first one wins)
    imported_at: datetime = Field(default_factory=utcnow)
    imported_by: Optional[int] = Field(default=None, sa_column=_fk("app_user.id", ondelete="SET NULL"))


from cuentas_cli.db.models_firm import Company  # noqa: E402,F401 - the firm's register, same metadata


def _attach_known_dialects() -> None:
    from cuentas_cli.db.engine import _DIALECTS

    for dialect in _DIALECTS:
        partial_predicates(dialect)


_attach_known_dialects()
