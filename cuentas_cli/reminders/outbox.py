"""The outbox: set-based enqueueing, cancelling and superseding of reminders and digests, the
states a message's rows go through when sent (claimed, sent, failed with backoff), the run's
counts and the listing.

The outbox's unique keys make a second enqueue a no-op (INSERT ... SELECT ... ON CONFLICT DO
NOTHING), so reminders are queued exactly once whatever runs overlap or repeat.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import ValidationError
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.reminders.policy import Policy
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(minutes=5)
BACKOFF_CAP = timedelta(hours=6)
WEBHOOK_RECIPIENT = "webhook"
CLOSED_STATUSES = ("ANULADA", "PAGADA")


def backoff(attempts: int) -> timedelta:
    """Pause before attempt `attempts + 1`: 5 min, 10, 20, 40 ... capped at 6 h."""
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


# --- SQL building blocks -----------------------------------------------------------------


def tables():  # noqa: ANN202
    from cuentas_cli.db.models import Invoice, Notification, Party

    return Notification.__table__, Invoice.__table__, Party.__table__


def _insert(session: "Session"):  # noqa: ANN202
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def balance_of(i):  # noqa: ANN001, ANN202
    """The open balance of an invoice already known to be open (the ledger's rule, ledger/balances.py)."""
    from cuentas_cli.ledger import balances

    return balances.cached_balance(i.c)


def open_invoice(i):  # noqa: ANN001, ANN202
    from cuentas_cli.ledger import balances

    return balances.is_open(i.c)


def _settled(n, i):  # noqa: ANN001, ANN202
    from sqlalchemy import exists, or_, select

    return exists(select(1).where(i.c.id == n.c.invoice_id,
                                  or_(i.c.status.in_(CLOSED_STATUSES), balance_of(i) <= 0)))


def sendable(n, *, now: datetime, retry_now: bool):  # noqa: ANN001, ANN202
    """Rows a run sends: pending, left "sending" by a stopped run, or failed and due again."""
    from sqlalchemy import and_, or_

    if retry_now:
        failed = n.c.status == "failed"
    else:
        failed = and_(n.c.status == "failed", n.c.attempts < MAX_ATTEMPTS,
                      or_(n.c.next_attempt_at.is_(None), n.c.next_attempt_at <= now))
    return or_(n.c.status.in_(("pending", "sending")), failed)


def chased(session: "Session", i):  # noqa: ANN001, ANN202
    """(the date reminders count from, the cuota it is of): the due date and 0, or, when any
    invoice has cuotas, the earliest cuota each invoice still owes (ledger/due.py)."""
    from sqlalchemy import literal_column

    from cuentas_cli.ledger import balances

    if not balances.has_cuotas(session):
        return i.c.due_date, literal_column("0")
    return balances.next_due(i.c), balances.next_due(i.c, number=True)


def _level_case(due, levels: list[int], today: date):  # noqa: ANN001, ANN202
    """The highest level reached: due + L <= today, i.e. due <= today - L."""
    from sqlalchemy import case, literal_column

    whens = [(due <= today - timedelta(days=level), literal_column(str(int(level))))
             for level in sorted(levels, reverse=True)]
    return case(*whens)


# --- cancel, enqueue, supersede ----------------------------------------------------------


def cancel_settled(session: "Session", *, channel: str | None = None, recipient: str | None = None) -> int:
    """Cancel queued reminders of invoices paid, voided or without a balance, and those of a
    cuota paid since (the invoice still owes a later cuota, which has its own levels); returns
    how many."""
    from sqlalchemy import exists, select, update

    from cuentas_cli.ledger import balances

    n, i, _ = tables()
    queued = (n.c.kind == "reminder", n.c.status.in_(("pending", "sending", "failed")))
    if channel is not None:
        queued += (n.c.channel == channel, n.c.recipient == recipient)
    stmt = (update(n).where(*queued, _settled(n, i))
            .values(status="cancelled", last_error="invoice paid or voided", next_attempt_at=None))
    cancelled = session.execute(stmt).rowcount or 0
    if balances.has_cuotas(session):  # cuota k is paid when the earliest cuota owed comes after it
        paid = exists(select(1).where(i.c.id == n.c.invoice_id, balances.next_due(i.c, number=True) > n.c.cuota))
        stmt = (update(n).where(*queued, n.c.cuota > 0, paid)
                .values(status="cancelled", last_error="cuota paid", next_attempt_at=None))
        cancelled += session.execute(stmt).rowcount or 0
    return cancelled


def _targets(policy: Policy):  # noqa: ANN202
    """Who gets a due invoice at each level, as a tiny derived table r(level, direction, channel,
    addr): per notify.channels, the client's own e-mail (addr NULL) for receivables and each staff
    address for payables where the level says `email`, the webhook for both where it says
    `webhook`; a `digest` level has no row (the digest lists it). None when no level sends."""
    from sqlalchemy import String, cast, literal, literal_column, null, select, union_all

    def row(level: int, direction: str, channel: str, addr: str | None):  # noqa: ANN202
        return select(literal_column(str(int(level))).label("level"),
                      literal_column(f"'{direction}'").label("direction"), literal_column(f"'{channel}'").label("channel"),
                      (cast(null(), String) if addr is None else literal(addr, String)).label("addr"))

    rows = []
    for level in policy.levels:
        channels = policy.channels.for_level(level)
        if channels.email:
            rows.append(row(level, "receivable", "email", None))
            rows += [row(level, "payable", "email", address) for address in policy.staff_emails]
        if channels.webhook and policy.webhook_url:
            rows += [row(level, "receivable", "webhook", WEBHOOK_RECIPIENT),
                     row(level, "payable", "webhook", WEBHOOK_RECIPIENT)]
    if not rows:
        return None
    return (rows[0] if len(rows) == 1 else union_all(*rows)).subquery("r")


def enqueue(session: "Session", *, policy: Policy, today: date, now: datetime) -> int:
    """Queue the due reminders in one INSERT ... SELECT ... ON CONFLICT DO NOTHING; returns rows added.

    Each open invoice whose due date + the lowest level has come is joined to the recipients
    of the highest level it reached (r, per notify.channels); that level is queued unless a row of that level or a higher one exists
    for the same invoice, channel and recipient (so levels skipped while cron was off are not
    all sent at once, and a date moved back never re-sends a lower level). An invoice in cuotas
    is chased cuota by cuota: its levels count from the earliest cuota it still owes, and each
    cuota has its own (`notification.cuota`).
    """
    from sqlalchemy import and_, exists, func, literal, literal_column, select
    from sqlmodel.sql.sqltypes import UTCDateTime

    if not policy.levels:
        return 0
    n, i, p = tables()
    h = n.alias("h")
    r = _targets(policy)
    if r is None:
        return 0
    due, cuota = chased(session, i)
    level = _level_case(due, policy.levels, today)
    last_due = today - timedelta(days=min(policy.levels))
    recipient = func.coalesce(r.c.addr, p.c.email)
    already = exists(select(1).select_from(h).where(
        h.c.invoice_id == i.c.id, h.c.cuota == cuota, h.c.channel == r.c.channel, h.c.recipient == recipient,
        h.c.level >= level))
    query = (select(literal_column("'reminder'"), i.c.id, cuota, level, r.c.channel, recipient,
                    literal_column("'pending'"), literal_column("0"), literal(now, UTCDateTime()))
             .select_from(i.join(p, p.c.id == i.c.party_id)
                          .join(r, and_(r.c.direction == i.c.direction, r.c.level == level)))
             .where(and_(due <= last_due, open_invoice(i), recipient.isnot(None), recipient != ""),
                    ~already))
    columns = ["kind", "invoice_id", "cuota", "level", "channel", "recipient", "status", "attempts", "created_at"]
    stmt = (_insert(session)(n).from_select(columns, query).on_conflict_do_nothing()
            .execution_options(preserve_rowcount=True))  # INSERT rowcount is not kept otherwise
    return session.execute(stmt).rowcount or 0


def supersede(session: "Session", *, before: datetime) -> int:
    """Cancel queued lower levels of an invoice that has a higher level queued or sent.

    Only rows queued before this run (created_at < before) can have been overtaken: a run
    queues one level per invoice and recipient, never below an existing one."""
    from sqlalchemy import exists, select, update

    n, _, _ = tables()
    h = n.alias("h")
    higher = exists(select(1).select_from(h).where(
        h.c.invoice_id == n.c.invoice_id, h.c.cuota == n.c.cuota, h.c.channel == n.c.channel,
        h.c.recipient == n.c.recipient, h.c.level > n.c.level))
    stmt = (update(n).where(n.c.kind == "reminder", n.c.status.in_(("pending", "failed")), n.c.created_at < before,
                            higher)
            .values(status="cancelled", last_error="superseded by a later reminder level", next_attempt_at=None))
    return session.execute(stmt).rowcount or 0


def cancel_old_digests(session: "Session", *, today: date) -> int:
    from sqlalchemy import update

    n, _, _ = tables()
    stmt = (update(n).where(n.c.kind == "digest", n.c.status.in_(("pending", "sending", "failed")),
                            n.c.digest_date < today)
            .values(status="cancelled", last_error="superseded by a newer digest", next_attempt_at=None))
    return session.execute(stmt).rowcount or 0


def enqueue_digests(session: "Session", *, policy: Policy, today: date, now: datetime) -> int:
    """Today's staff digest: one row per staff address (and one for the webhook), unique per day."""
    n, _, _ = tables()
    insert = _insert(session)
    recipients = [("email", address) for address in policy.staff_emails]
    if policy.webhook_url:
        recipients.append(("webhook", WEBHOOK_RECIPIENT))
    added = 0
    for channel, recipient in recipients:
        stmt = insert(n).values(kind="digest", invoice_id=None, digest_date=today, level=0, channel=channel,
                                recipient=recipient, status="pending", attempts=0, created_at=now)
        stmt = stmt.on_conflict_do_nothing().execution_options(preserve_rowcount=True)
        added += session.execute(stmt).rowcount or 0
    return added


# --- messages due: one per (kind, channel, recipient) ---------------------------------------


@dataclass(frozen=True)
class Group:
    kind: str
    channel: str
    recipient: str
    rows: int


def due_groups(session: "Session", *, now: datetime, retry_now: bool = False) -> list[Group]:
    from sqlalchemy import func, select

    n, _, _ = tables()
    # statements of account are sent by `clients statement --all --email` (reminders/statement_mail.py)
    query = (select(n.c.kind, n.c.channel, n.c.recipient, func.count())
             .where(sendable(n, now=now, retry_now=retry_now), n.c.kind != "statement")
             .group_by(n.c.kind, n.c.channel, n.c.recipient)
             .order_by(n.c.channel, n.c.kind, n.c.recipient))
    return [Group(kind, channel, recipient, int(count)) for kind, channel, recipient, count in session.execute(query)]


def group_where(n, group: Group):  # noqa: ANN001, ANN202
    from sqlalchemy import and_

    return and_(n.c.kind == group.kind, n.c.channel == group.channel, n.c.recipient == group.recipient)


def document_label(serie: str, numero: int) -> str:
    return f"{serie}-{numero}"


# --- marking -----------------------------------------------------------------------------


def claim(session: "Session", group: Group, *, now: datetime, retry_now: bool) -> int:
    from sqlalchemy import update

    n, _, _ = tables()
    stmt = (update(n).where(group_where(n, group), sendable(n, now=now, retry_now=retry_now))
            .values(status="sending"))
    return session.execute(stmt).rowcount or 0


def mark_sent(session: "Session", group: Group, *, now: datetime) -> int:
    from sqlalchemy import update

    n, _, _ = tables()
    stmt = (update(n).where(group_where(n, group), n.c.status == "sending")
            .values(status="sent", sent_at=now, attempts=n.c.attempts + 1, last_error=None, next_attempt_at=None))
    return session.execute(stmt).rowcount or 0


def mark_failed(session: "Session", group: Group, *, now: datetime, error: str) -> tuple[int, int]:
    """Rows back to "failed" with the error, attempts + 1 and the next attempt's time
    (none once MAX_ATTEMPTS is reached: given up). Returns (failed, given up)."""
    from sqlalchemy import select, update

    n, _, _ = tables()
    mine = (group_where(n, group), n.c.status == "sending")
    failed = gave_up = 0
    for (attempts,) in session.execute(select(n.c.attempts).where(*mine).distinct()).all():
        done = attempts + 1
        retry_at = None if done >= MAX_ATTEMPTS else now + backoff(done)
        count = session.execute(update(n).where(*mine, n.c.attempts == attempts).values(
            status="failed", attempts=done, last_error=error[:2000], next_attempt_at=retry_at)).rowcount or 0
        failed += count
        if retry_at is None:
            gave_up += count
    return failed, gave_up


# --- a run's summary and its set-based part -------------------------------------------------


@dataclass
class Planned:
    kind: str
    channel: str
    recipient: str
    reminders: int
    invoices: int
    subject: str
    attach_statement: bool = False  # notify.channels `attach`: the statement goes with this e-mail


@dataclass
class RunSummary:
    today: date
    dry_run: bool = False
    enqueued: int = 0
    sent: int = 0
    messages: int = 0
    failed: int = 0
    cancelled: int = 0
    waiting: int = 0
    gave_up: int = 0
    resumed: int = 0
    errors: list[str] = field(default_factory=list)
    planned: list[Planned] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.enqueued or self.sent or self.failed or self.cancelled)

    def line(self) -> str:
        if self.dry_run:
            reminders = sum(p.reminders for p in self.planned)
            return (f"notify run --dry-run: would enqueue {self.enqueued}, would send {reminders} "
                    f"({len(self.planned)} messages), would cancel {self.cancelled}; nothing was sent or written")
        text = (f"notify run: enqueued {self.enqueued}, sent {self.sent} ({self.messages} messages), "
                f"failed {self.failed}, cancelled {self.cancelled}")
        if self.waiting:
            text += f", waiting to retry {self.waiting}"
        if self.gave_up:
            text += f", gave up {self.gave_up}"
        return text

    def record(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("planned")
        data["errors"] = sorted(set(self.errors))
        return data


def prepare(session: "Session", *, policy: Policy, today: date, now: datetime, enqueue_due: bool,
            summary: RunSummary) -> None:
    """The set-based part of a run, in the caller's transaction: cancel, enqueue, supersede, digest."""
    summary.cancelled += cancel_settled(session)
    summary.cancelled += cancel_old_digests(session, today=today)
    if enqueue_due:
        summary.enqueued += enqueue(session, policy=policy, today=today, now=now)
        summary.cancelled += supersede(session, before=now)
        summary.enqueued += enqueue_digests(session, policy=policy, today=today, now=now)


def counts_after(session: "Session", summary: RunSummary, *, now: datetime) -> None:
    from sqlalchemy import func, select

    n, _, _ = tables()
    summary.waiting = int(session.execute(select(func.count()).where(
        n.c.status == "failed", n.c.attempts < MAX_ATTEMPTS, n.c.next_attempt_at > now,
        n.c.kind != "statement")).scalar() or 0)


def count_status(session: "Session", status: str) -> int:
    from sqlalchemy import func, select

    n, _, _ = tables()
    return session.execute(select(func.count()).where(n.c.status == status)).scalar() or 0


def cancel_group(session: "Session", group: Group, *, now: datetime, retry_now: bool, reason: str) -> int:
    from sqlalchemy import update

    n, _, _ = tables()
    stmt = (update(n).where(group_where(n, group), sendable(n, now=now, retry_now=retry_now))
            .values(status="cancelled", last_error=reason, next_attempt_at=None))
    return session.execute(stmt).rowcount or 0


# --- the listing ---------------------------------------------------------------------------


@dataclass
class OutboxRow:
    id: int
    kind: str
    document: str
    party: str | None
    level: int
    channel: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None


def list_outbox(*, session: "Session", actor: Actor | None, status: str | None = None,
                limit: int = 100) -> list[OutboxRow]:
    from sqlalchemy import func, select

    from cuentas_cli.db.models import NOTIFICATION_STATUSES

    require(actor, "notify")
    if status is not None and status not in NOTIFICATION_STATUSES:
        raise ValidationError(_("unknown status {status!r}; use one of {join_notification_status}")
                              .format(status=status, join_notification_status=', '.join(NOTIFICATION_STATUSES)))
    n, i, p = tables()
    query = (select(n.c.id, n.c.kind, i.c.serie, i.c.numero, n.c.digest_date, p.c.name, n.c.level, n.c.channel,
                    n.c.recipient, n.c.status, n.c.attempts, n.c.last_error, n.c.next_attempt_at, n.c.created_at,
                    n.c.sent_at)
             .select_from(n.outerjoin(i, i.c.id == n.c.invoice_id)
                          .outerjoin(p, p.c.id == func.coalesce(i.c.party_id, n.c.party_id)))
             .order_by(n.c.id.desc()).limit(limit))
    if status:
        query = query.where(n.c.status == status)
    rows = []
    for r in session.execute(query):
        if r.serie:
            document = document_label(r.serie, r.numero)
        elif r.kind == "statement":  # level holds the period, YYYYMM
            document = f"estado de cuenta {r.level // 100}-{r.level % 100:02d}"
        else:
            document = f"resumen {r.digest_date.isoformat()}"
        rows.append(OutboxRow(r.id, r.kind, document, r.name, r.level, r.channel, r.recipient, r.status, r.attempts,
                              r.last_error, _aware(r.next_attempt_at), _aware(r.created_at), _aware(r.sent_at)))
    return rows


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value
