"""Reminders: the policy, the outbox, set-based enqueueing, sending, and the run lock.

A run (`cuentas notify run`, or a job of `notify serve`):

1. takes the run lock (a file lock next to a SQLite database, `pg_try_advisory_lock` on
   PostgreSQL) or stops with LockHeld (exit 6): overlapping runs never both send;
2. in one transaction: cancels queued reminders of invoices that are paid, voided or have no
   balance; enqueues what is due with INSERT ... SELECT ... ON CONFLICT DO NOTHING (the
   outbox's unique keys make a second enqueue a no-op); cancels lower levels superseded by a
   higher one; enqueues today's staff digest;
3. sends, one message per (kind, channel, recipient): a client's invoices in one e-mail, a
   staff member's payables in one e-mail, all reminders in one webhook post. Each message is
   claimed (rows -> "sending", committed), handed to the server, and then marked "sent"
   (committed) or "failed" with the error, attempts + 1 and the time of the next attempt.

Policy (documented in docs/reminders.md): levels are day offsets from the due date; an invoice
with a balance, not PAGADA/ANULADA, is due for level L from due_date + L on. Only the highest
level reached is enqueued, and only if the outbox holds no row of that level or a higher one
for the same invoice, channel and recipient: an invoice found 90 days overdue on a first run
gets one "vencida" reminder, not five. Crash window: a kill after the server accepted a message
and before "sent" was committed leaves that one message's rows in "sending"; the next run
sends it again (at most that one message is duplicated; nothing is ever lost).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from cuentas_cli.config import Config
from cuentas_cli.errors import LockHeld, ValidationError
from cuentas_cli.admin import audit
from cuentas_cli.admin.auth import Actor, require

if TYPE_CHECKING:
    from sqlmodel import Session

log = logging.getLogger("cuentas.notify")

MAX_ATTEMPTS = 8
BACKOFF_FIRST = timedelta(minutes=5)
BACKOFF_CAP = timedelta(hours=6)
DIGEST_DAYS = 7
DIGEST_LINES = 20
WEBHOOK_LINES = 50
WEBHOOK_RECIPIENT = "webhook"
CLOSED_STATUSES = ("ANULADA", "PAGADA")

SessionFactory = Callable[..., AbstractContextManager["Session"]]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def level_label(level: int) -> str:
    if level < 0:
        return "próximo a vencer"
    if level == 0:
        return "vence hoy"
    return "vencida"


def backoff(attempts: int) -> timedelta:
    """Pause before attempt `attempts + 1`: 5 min, 10, 20, 40 ... capped at 6 h."""
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)


# --- policy ------------------------------------------------------------------------------


@dataclass
class Policy:
    levels: list[int]
    staff_emails: list[str]
    webhook_url: str
    company: str
    smtp: Any  # integrations.email.SmtpSettings


def load_policy(session: "Session", config: Config) -> Policy:
    from cuentas_cli.integrations.email import SmtpSettings
    from cuentas_cli.admin import settings

    def get(key: str) -> Any:
        return settings.get(session, config, key)

    company = get("company.name")
    smtp = SmtpSettings(
        host=get("smtp.host"), port=get("smtp.port"), security=get("smtp.security"), user=get("smtp.user"),
        from_addr=get("smtp.from"), reply_to=get("smtp.reply_to"), company=company,
    )
    return Policy(levels=list(get("notify.levels")), staff_emails=list(get("notify.staff_emails")),
                  webhook_url=get("notify.webhook_url"), company=company, smtp=smtp)


# --- the run lock ------------------------------------------------------------------------


def _pg_lock_key(schema: str) -> int:
    digest = hashlib.sha256(f"cuentas-notify:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def run_lock(url: str) -> Iterator[None]:
    """Exclusive right to send for this database; LockHeld (exit 6) when another run has it."""
    from cuentas_cli.db.engine import is_sqlite, sqlite_path

    if is_sqlite(url):
        from filelock import FileLock, Timeout

        db_path = sqlite_path(url)
        path = db_path.with_name(db_path.name + ".notify.lock")
        lock = FileLock(str(path), timeout=0, mode=0o600, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise LockHeld(f"another `cuentas notify run` holds the lock {path}; nothing was sent by this one") from None
        try:
            yield
        finally:
            lock.release()
        return
    from sqlalchemy import text

    from cuentas_cli.db.engine import get_engine

    conn = get_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        schema = conn.execute(text("SELECT current_schema()")).scalar() or "public"
        key = _pg_lock_key(schema)
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            raise LockHeld("another `cuentas notify run` holds the advisory lock on this database; "
                           "nothing was sent by this one")
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            except Exception:  # noqa: BLE001 - a dead connection has released the lock already
                conn.invalidate()
    finally:
        conn.close()


# --- SQL building blocks -----------------------------------------------------------------


def _tables():  # noqa: ANN202
    from cuentas_cli.db.models import Invoice, Notification, Party

    return Notification.__table__, Invoice.__table__, Party.__table__


def _insert(session: "Session"):  # noqa: ANN202
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _balance(i):  # noqa: ANN001, ANN202
    """The open balance of an invoice already known to be open (the ledger's rule, ledger/balances.py)."""
    from cuentas_cli.ledger import balances

    return balances.cached_balance(i.c)


def _open_invoice(i):  # noqa: ANN001, ANN202
    from cuentas_cli.ledger import balances

    return balances.is_open(i.c)


def _settled(n, i):  # noqa: ANN001, ANN202
    from sqlalchemy import exists, or_, select

    return exists(select(1).where(i.c.id == n.c.invoice_id,
                                  or_(i.c.status.in_(CLOSED_STATUSES), _balance(i) <= 0)))


def _eligible(n, *, now: datetime, retry_now: bool):  # noqa: ANN001, ANN202
    """Rows a run sends: pending, left "sending" by a stopped run, or failed and due again."""
    from sqlalchemy import and_, or_

    if retry_now:
        failed = n.c.status == "failed"
    else:
        failed = and_(n.c.status == "failed", n.c.attempts < MAX_ATTEMPTS,
                      or_(n.c.next_attempt_at.is_(None), n.c.next_attempt_at <= now))
    return or_(n.c.status.in_(("pending", "sending")), failed)


def _level_case(i, levels: list[int], today: date):  # noqa: ANN001, ANN202
    """The highest level reached: due_date + L <= today, i.e. due_date <= today - L."""
    from sqlalchemy import case, literal_column

    whens = [(i.c.due_date <= today - timedelta(days=level), literal_column(str(int(level))))
             for level in sorted(levels, reverse=True)]
    return case(*whens)


# --- cancel, enqueue, supersede ----------------------------------------------------------


def cancel_settled(session: "Session", *, channel: str | None = None, recipient: str | None = None) -> int:
    """Cancel queued reminders of invoices paid, voided or without a balance; returns how many."""
    from sqlalchemy import update

    n, i, _ = _tables()
    stmt = (update(n)
            .where(n.c.kind == "reminder", n.c.status.in_(("pending", "sending", "failed")), _settled(n, i))
            .values(status="cancelled", last_error="invoice paid or voided", next_attempt_at=None))
    if channel is not None:
        stmt = stmt.where(n.c.channel == channel, n.c.recipient == recipient)
    return session.execute(stmt).rowcount or 0


def _targets(policy: Policy):  # noqa: ANN202
    """Who gets a due invoice, as a tiny derived table r(direction, channel, addr): the client's own
    e-mail (addr NULL) for receivables, each staff address for payables, the webhook for both."""
    from sqlalchemy import String, cast, literal, literal_column, null, select, union_all

    def row(direction: str, channel: str, addr: str | None):  # noqa: ANN202
        return select(literal_column(f"'{direction}'").label("direction"), literal_column(f"'{channel}'").label("channel"),
                      (cast(null(), String) if addr is None else literal(addr, String)).label("addr"))

    rows = [row("receivable", "email", None)]
    rows += [row("payable", "email", address) for address in policy.staff_emails]
    if policy.webhook_url:
        rows += [row("receivable", "webhook", WEBHOOK_RECIPIENT), row("payable", "webhook", WEBHOOK_RECIPIENT)]
    return (rows[0] if len(rows) == 1 else union_all(*rows)).subquery("r")


def enqueue(session: "Session", *, policy: Policy, today: date, now: datetime) -> int:
    """Queue the due reminders in one INSERT ... SELECT ... ON CONFLICT DO NOTHING; returns rows added.

    Each open invoice whose due date + the lowest level has come is joined to its recipients
    (r); the highest level reached is queued unless a row of that level or a higher one exists
    for the same invoice, channel and recipient (so levels skipped while cron was off are not
    all sent at once, and a date moved back never re-sends a lower level).
    """
    from sqlalchemy import and_, exists, func, literal, literal_column, select
    from sqlmodel.sql.sqltypes import UTCDateTime

    if not policy.levels:
        return 0
    n, i, p = _tables()
    h = n.alias("h")
    r = _targets(policy)
    level = _level_case(i, policy.levels, today)
    last_due = today - timedelta(days=min(policy.levels))
    recipient = func.coalesce(r.c.addr, p.c.email)
    already = exists(select(1).select_from(h).where(
        h.c.invoice_id == i.c.id, h.c.channel == r.c.channel, h.c.recipient == recipient, h.c.level >= level))
    query = (select(literal_column("'reminder'"), i.c.id, level, r.c.channel, recipient, literal_column("'pending'"),
                    literal_column("0"), literal(now, UTCDateTime()))
             .select_from(i.join(p, p.c.id == i.c.party_id).join(r, r.c.direction == i.c.direction))
             .where(and_(i.c.due_date <= last_due, _open_invoice(i), recipient.isnot(None), recipient != ""),
                    ~already))
    columns = ["kind", "invoice_id", "level", "channel", "recipient", "status", "attempts", "created_at"]
    stmt = (_insert(session)(n).from_select(columns, query).on_conflict_do_nothing()
            .execution_options(preserve_rowcount=True))  # INSERT rowcount is not kept otherwise
    return session.execute(stmt).rowcount or 0


def supersede(session: "Session", *, before: datetime) -> int:
    """Cancel queued lower levels of an invoice that has a higher level queued or sent.

    Only rows queued before this run (created_at < before) can have been overtaken: a run
    queues one level per invoice and recipient, never below an existing one."""
    from sqlalchemy import exists, select, update

    n, _, _ = _tables()
    h = n.alias("h")
    higher = exists(select(1).select_from(h).where(
        h.c.invoice_id == n.c.invoice_id, h.c.channel == n.c.channel, h.c.recipient == n.c.recipient,
        h.c.level > n.c.level))
    stmt = (update(n).where(n.c.kind == "reminder", n.c.status.in_(("pending", "failed")), n.c.created_at < before,
                            higher)
            .values(status="cancelled", last_error="superseded by a later reminder level", next_attempt_at=None))
    return session.execute(stmt).rowcount or 0


def cancel_old_digests(session: "Session", *, today: date) -> int:
    from sqlalchemy import update

    n, _, _ = _tables()
    stmt = (update(n).where(n.c.kind == "digest", n.c.status.in_(("pending", "sending", "failed")),
                            n.c.digest_date < today)
            .values(status="cancelled", last_error="superseded by a newer digest", next_attempt_at=None))
    return session.execute(stmt).rowcount or 0


def enqueue_digests(session: "Session", *, policy: Policy, today: date, now: datetime) -> int:
    """Today's staff digest: one row per staff address (and one for the webhook), unique per day."""
    n, _, _ = _tables()
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


# --- composing messages ------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    kind: str
    channel: str
    recipient: str
    rows: int


def due_groups(session: "Session", *, now: datetime, retry_now: bool = False) -> list[Group]:
    from sqlalchemy import func, select

    n, _, _ = _tables()
    query = (select(n.c.kind, n.c.channel, n.c.recipient, func.count())
             .where(_eligible(n, now=now, retry_now=retry_now))
             .group_by(n.c.kind, n.c.channel, n.c.recipient)
             .order_by(n.c.channel, n.c.kind, n.c.recipient))
    return [Group(kind, channel, recipient, int(count)) for kind, channel, recipient, count in session.execute(query)]


def _group_where(n, group: Group):  # noqa: ANN001, ANN202
    from sqlalchemy import and_

    return and_(n.c.kind == group.kind, n.c.channel == group.channel, n.c.recipient == group.recipient)


def _document(serie: str, numero: int) -> str:
    return f"{serie}-{numero}"


def reminder_lines(session: "Session", group: Group, status_filter: Any) -> list:
    """The invoices behind a group's rows, in the order a reader expects."""
    from sqlalchemy import select

    from cuentas_cli.integrations.email import Line
    from cuentas_cli.ledger import balances

    n, i, p = _tables()
    query = (select(i.c.direction, i.c.serie, i.c.numero, p.c.name, i.c.issue_date, i.c.due_date, i.c.currency,
                    balances.open_balance(i.c))
             .select_from(n.join(i, i.c.id == n.c.invoice_id).join(p, p.c.id == i.c.party_id))
             .where(_group_where(n, group), status_filter)
             .order_by(i.c.direction.desc(), p.c.name, i.c.due_date, i.c.id))
    seen: set[tuple] = set()
    lines = []
    for direction, serie, numero, name, issued, due, currency, balance in session.execute(query):
        key = (direction, serie, numero, name)
        if key in seen:  # two levels of one invoice in one message: list it once
            continue
        seen.add(key)
        lines.append(Line(direction, _document(serie, numero), name, issued, due, currency, int(balance)))
    return lines


def digest_sections(session: "Session", *, today: date) -> list:
    """What the staff digest reports: overdue and due within DIGEST_DAYS, both directions."""
    from sqlalchemy import and_, func, select

    from cuentas_cli.integrations.email import DigestSection, Line

    _, i, p = _tables()
    upcoming_end = today + timedelta(days=DIGEST_DAYS)
    sections = []
    for direction, word in (("receivable", "Por cobrar"), ("payable", "Por pagar")):
        for title, window, order in (
            (f"{word} — vencidos", i.c.due_date < today, i.c.due_date),
            (f"{word} — vencen en los próximos {DIGEST_DAYS} días", and_(i.c.due_date >= today,
                                                                         i.c.due_date <= upcoming_end), i.c.due_date),
        ):
            where = and_(i.c.direction == direction, window, _open_invoice(i))
            section = DigestSection(title)
            for currency, count, total in session.execute(
                    select(i.c.currency, func.count(), func.sum(_balance(i))).where(where).group_by(i.c.currency)):
                section.count += int(count)
                section.totals[currency] = int(total or 0)
            if section.count:
                rows = session.execute(
                    select(i.c.direction, i.c.serie, i.c.numero, p.c.name, i.c.issue_date, i.c.due_date, i.c.currency,
                           _balance(i))
                    .select_from(i.join(p, p.c.id == i.c.party_id)).where(where)
                    .order_by(order, i.c.id).limit(DIGEST_LINES))
                section.lines = [Line(d, _document(s, num), name, iss, due, cur, int(bal))
                                 for d, s, num, name, iss, due, cur, bal in rows]
            sections.append(section)
    return sections


@dataclass
class Composed:
    group: Group
    subject: str
    text: str
    html: str
    invoices: int = 0
    cc: list[str] = field(default_factory=list)


def compose(session: "Session", group: Group, *, policy: Policy, today: date, status_filter: Any) -> Composed | None:
    from cuentas_cli.integrations import email

    if group.kind == "digest":
        sections = digest_sections(session, today=today)
        subject, text, html_body = email.digest_email(company=policy.company, today=today, sections=sections)
        if group.channel == "webhook":
            text = f"*{subject}*\n" + text
        return Composed(group, subject, text, html_body)
    lines = reminder_lines(session, group, status_filter)
    if not lines:
        return None
    if group.channel == "webhook":
        subject = f"Recordatorios de cobranza y pagos al {today.isoformat()}: {len(lines)} comprobante(s)"
        body = [f"*{subject}*"]
        for line in lines[:WEBHOOK_LINES]:
            kind = "CxC" if line.direction == "receivable" else "CxP"
            body.append(f"• {kind} {line.document} {line.party} — {line.situation(today)} — "
                        f"{email.money(line.balance_cents, line.currency)}")
        if len(lines) > WEBHOOK_LINES:
            body.append(f"… y {len(lines) - WEBHOOK_LINES} más (ver `cuentas notify list`)")
        return Composed(group, subject, "\n".join(body), "", invoices=len(lines))
    subject, text, html_body = email.reminder_email(company=policy.company, today=today, lines=lines)
    cc: list[str] = []
    if any(line.direction == "receivable" for line in lines):
        cc = [a for a in policy.staff_emails if a.lower() != group.recipient.lower()]
    return Composed(group, subject, text, html_body, invoices=len(lines), cc=cc)


# --- marking -----------------------------------------------------------------------------


def claim(session: "Session", group: Group, *, now: datetime, retry_now: bool) -> int:
    from sqlalchemy import update

    n, _, _ = _tables()
    stmt = (update(n).where(_group_where(n, group), _eligible(n, now=now, retry_now=retry_now))
            .values(status="sending"))
    return session.execute(stmt).rowcount or 0


def mark_sent(session: "Session", group: Group, *, now: datetime) -> int:
    from sqlalchemy import update

    n, _, _ = _tables()
    stmt = (update(n).where(_group_where(n, group), n.c.status == "sending")
            .values(status="sent", sent_at=now, attempts=n.c.attempts + 1, last_error=None, next_attempt_at=None))
    return session.execute(stmt).rowcount or 0


def mark_failed(session: "Session", group: Group, *, now: datetime, error: str) -> tuple[int, int]:
    """Rows back to "failed" with the error, attempts + 1 and the next attempt's time
    (none once MAX_ATTEMPTS is reached: given up). Returns (failed, given up)."""
    from sqlalchemy import select, update

    n, _, _ = _tables()
    mine = (_group_where(n, group), n.c.status == "sending")
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


# --- the run -----------------------------------------------------------------------------


@dataclass
class Planned:
    kind: str
    channel: str
    recipient: str
    reminders: int
    invoices: int
    subject: str


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


def _counts_after(session: "Session", summary: RunSummary, *, now: datetime) -> None:
    from sqlalchemy import func, select

    n, _, _ = _tables()
    summary.waiting = int(session.execute(select(func.count()).where(
        n.c.status == "failed", n.c.attempts < MAX_ATTEMPTS, n.c.next_attempt_at > now)).scalar() or 0)


def run(*, session_factory: SessionFactory, url: str, actor: Actor | None, config: Config, today: date,
        dry_run: bool = False, retry_now: bool = False, enqueue_due: bool = True,
        now_fn: Callable[[], datetime] = utcnow) -> RunSummary:
    """One reminder run; see the module docstring. `session_factory(write=...)` opens a transaction."""
    require(actor, "notify")
    summary = RunSummary(today=today, dry_run=dry_run)
    if dry_run:
        return _dry_run(session_factory, config=config, today=today, now=now_fn(), retry_now=retry_now,
                        enqueue_due=enqueue_due, summary=summary)
    with run_lock(url):
        now = now_fn()
        with session_factory(write=True) as session:
            policy = load_policy(session, config)
            prepare(session, policy=policy, today=today, now=now, enqueue_due=enqueue_due, summary=summary)
        with session_factory() as session:
            groups = due_groups(session, now=now, retry_now=retry_now)
            summary.resumed = int(_count_status(session, "sending"))
        if summary.resumed:
            log.warning("%d reminder(s) were being sent when an earlier run stopped; sending them again",
                        summary.resumed)
        _send_all(session_factory, groups, policy=policy, today=today, now_fn=now_fn, retry_now=retry_now,
                  summary=summary)
        with session_factory() as session:
            _counts_after(session, summary, now=now_fn())
        if summary.changed:
            with session_factory(write=True) as session:
                audit.record(session, actor, action="notify.run", entity="notification",
                             entity_id=today.isoformat(), after=summary.record())
    return summary


def _count_status(session: "Session", status: str) -> int:
    from sqlalchemy import func, select

    n, _, _ = _tables()
    return session.execute(select(func.count()).where(n.c.status == status)).scalar() or 0


def _send_all(session_factory: SessionFactory, groups: list[Group], *, policy: Policy, today: date,
              now_fn: Callable[[], datetime], retry_now: bool, summary: RunSummary) -> None:
    from cuentas_cli.integrations import webhook
    from cuentas_cli.integrations.email import SendRefused, SmtpConnection, SmtpUnavailable, build_message

    n, _, _ = _tables()
    webhook_settings = webhook.WebhookSettings(policy.webhook_url) if policy.webhook_url else None
    # configuration problems (unreadable token file, missing SMTP settings or password) stop the
    # run here, before anything is claimed: the rows simply stay queued
    webhook_token = webhook.token() if webhook_settings and any(g.channel == "webhook" for g in groups) else None
    smtp = SmtpConnection(policy.smtp)
    email_down: str | None = None
    try:
        if any(g.channel == "email" for g in groups):
            try:
                smtp.connect()
            except SmtpUnavailable as exc:
                email_down = str(exc)
        for group in groups:
            now = now_fn()
            with session_factory(write=True) as session:
                if group.kind == "reminder":
                    summary.cancelled += cancel_settled(session, channel=group.channel, recipient=group.recipient)
                if group.channel == "webhook" and webhook_settings is None:
                    summary.cancelled += _cancel_group(session, group, now=now, retry_now=retry_now,
                                                       reason="notify.webhook_url is no longer set")
                    continue
                if not claim(session, group, now=now, retry_now=retry_now):
                    continue
                composed = compose(session, group, policy=policy, today=today, status_filter=n.c.status == "sending")
                if composed is None:  # nothing left to say (e.g. the invoices were deleted)
                    summary.cancelled += _cancel_group(session, group, now=now, retry_now=True,
                                                       reason="nothing left to send")
                    continue
            error = None
            if group.channel == "email":
                if email_down:
                    error = email_down
                else:
                    message = build_message(policy.smtp, to=[group.recipient], cc=composed.cc,
                                            subject=composed.subject, text=composed.text, html_body=composed.html)
                    try:
                        smtp.send(message)
                    except SmtpUnavailable as exc:
                        error = email_down = str(exc)
                    except SendRefused as exc:
                        error = str(exc)
            else:
                try:
                    webhook.post(webhook_settings, composed.text, token=webhook_token)
                except webhook.WebhookError as exc:
                    error = str(exc)
            with session_factory(write=True) as session:
                if error is None:
                    summary.sent += mark_sent(session, group, now=now_fn())
                    summary.messages += 1
                else:
                    failed, gave_up = mark_failed(session, group, now=now_fn(), error=error)
                    summary.failed += failed
                    summary.gave_up += gave_up
                    summary.errors.append(error)
                    log.warning("sending to %s (%s) failed: %s", group.recipient, group.channel, error)
    finally:
        smtp.close()


def _cancel_group(session: "Session", group: Group, *, now: datetime, retry_now: bool, reason: str) -> int:
    from sqlalchemy import update

    n, _, _ = _tables()
    stmt = (update(n).where(_group_where(n, group), _eligible(n, now=now, retry_now=retry_now))
            .values(status="cancelled", last_error=reason, next_attempt_at=None))
    return session.execute(stmt).rowcount or 0


def _dry_run(session_factory: SessionFactory, *, config: Config, today: date, now: datetime, retry_now: bool,
             enqueue_due: bool, summary: RunSummary) -> RunSummary:
    """Everything a run would do, computed in a transaction that is rolled back."""
    n, _, _ = _tables()
    with session_factory(write=True) as session:
        try:
            policy = load_policy(session, config)
            prepare(session, policy=policy, today=today, now=now, enqueue_due=enqueue_due, summary=summary)
            for group in due_groups(session, now=now, retry_now=retry_now):
                eligible = _eligible(n, now=now, retry_now=retry_now)
                composed = compose(session, group, policy=policy, today=today, status_filter=eligible)
                if composed is None:
                    continue
                summary.planned.append(Planned(group.kind, group.channel, group.recipient, group.rows,
                                               composed.invoices, composed.subject))
        finally:
            session.rollback()
    return summary


# --- list, test e-mail -------------------------------------------------------------------


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
    from sqlalchemy import select

    from cuentas_cli.db.models import NOTIFICATION_STATUSES

    require(actor, "notify")
    if status is not None and status not in NOTIFICATION_STATUSES:
        raise ValidationError(f"unknown status {status!r}; use one of {', '.join(NOTIFICATION_STATUSES)}")
    n, i, p = _tables()
    query = (select(n.c.id, n.c.kind, i.c.serie, i.c.numero, n.c.digest_date, p.c.name, n.c.level, n.c.channel,
                    n.c.recipient, n.c.status, n.c.attempts, n.c.last_error, n.c.next_attempt_at, n.c.created_at,
                    n.c.sent_at)
             .select_from(n.outerjoin(i, i.c.id == n.c.invoice_id).outerjoin(p, p.c.id == i.c.party_id))
             .order_by(n.c.id.desc()).limit(limit))
    if status:
        query = query.where(n.c.status == status)
    rows = []
    for r in session.execute(query):
        document = _document(r.serie, r.numero) if r.serie else f"resumen {r.digest_date.isoformat()}"
        rows.append(OutboxRow(r.id, r.kind, document, r.name, r.level, r.channel, r.recipient, r.status, r.attempts,
                              r.last_error, _aware(r.next_attempt_at), _aware(r.created_at), _aware(r.sent_at)))
    return rows


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def send_test_email(*, session_factory: SessionFactory, actor: Actor | None, config: Config, address: str) -> str:
    """Send a sample e-mail now (no outbox row); returns the server it went through."""
    from cuentas_cli.config import parse_value
    from cuentas_cli.errors import ExternalError
    from cuentas_cli.integrations import email

    require(actor, "notify")
    address = address.strip()
    try:
        parse_value("smtp.from", address)
    except ValidationError:
        raise ValidationError(f"{address!r} is not an e-mail address like cobranzas@empresa.pe") from None
    if not address:
        raise ValidationError("give the address to send the test e-mail to")
    with session_factory() as session:
        policy = load_policy(session, config)
    subject, text, html_body = email.sample_email(company=policy.company)
    message = email.build_message(policy.smtp, to=[address], subject=subject, text=text, html_body=html_body)
    try:
        with email.SmtpConnection(policy.smtp) as smtp:
            smtp.send(message)
    except (email.SmtpUnavailable, email.SendRefused) as exc:
        raise ExternalError(f"{exc}; check `cuentas settings show` (smtp.*) and the smtp-password secret") from None
    with session_factory(write=True) as session:
        audit.record(session, actor, action="notify.test_email", entity="notification", after={"to": address})
    return policy.smtp.where


# --- serve -------------------------------------------------------------------------------


def guarded(name: str, job: Callable[[], Any], logger: logging.Logger = log) -> None:
    """Run one scheduled job; an exception is logged and the scheduler keeps going."""
    from cuentas_cli.errors import CuentasError

    try:
        job()
    except CuentasError as exc:
        logger.warning("%s job: %s", name, exc.message)
    except Exception:  # noqa: BLE001 - a scheduler must survive any failure of one job
        logger.exception("%s job failed", name)


def serve(*, daily: Callable[[], Any], retry: Callable[[], Any], at: str, stop: Any, run_now: bool = False,
          poll_seconds: float = 1.0, logger: logging.Logger = log) -> None:
    """The daily job at `at` (HH:MM, local time) and a retry job every hour, until `stop` is set."""
    import schedule

    scheduler = schedule.Scheduler()
    scheduler.every().day.at(at).do(guarded, "daily", daily, logger)
    scheduler.every().hour.do(guarded, "retry", retry, logger)
    logger.info("notify serve: daily run at %s, retries every hour", at)
    if run_now:
        guarded("daily", daily, logger)
    while not stop.is_set():
        scheduler.run_pending()
        idle = scheduler.idle_seconds
        stop.wait(poll_seconds if idle is None else max(0.0, min(poll_seconds, idle)))
    scheduler.clear()
    logger.info("notify serve: stopped")
