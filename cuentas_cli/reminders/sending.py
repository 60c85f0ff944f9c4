"""Sending reminders: a run (prepare the outbox, then send each message), the run lock, the
test e-mail.

A run (`cuentas notify run`, or a job of `notify serve`):

1. takes the run lock (a file lock next to a SQLite database, `pg_try_advisory_lock` on
   PostgreSQL) or stops with LockHeld (exit 6): overlapping runs never both send;
2. in one transaction (`outbox.prepare`): cancels queued reminders of invoices that are paid,
   voided or have no balance; enqueues what is due with INSERT ... SELECT ... ON CONFLICT DO
   NOTHING (the outbox's unique keys make a second enqueue a no-op); cancels lower levels
   superseded by a higher one; enqueues today's staff digest;
3. sends, one message per (kind, channel, recipient): a client's invoices in one e-mail, a
   staff member's payables in one e-mail, all reminders in one webhook post. Each message is
   claimed (rows -> "sending", committed), handed to the server, and then marked "sent"
   (committed) or "failed" with the error, attempts + 1 and the time of the next attempt.
   A client's e-mail at a level that says `attach` (notify.channels) carries the client's
   statement of account as a PDF, built when the message is sent, each attempt anew: the outbox
   stores no file, and a retry attaches the statement of the day it goes out.

The policy (who is due which level) is in `policy` and `outbox.enqueue`. Crash window: a kill
after the server accepted a message and before "sent" was committed leaves that one message's
rows in "sending"; the next run sends it again (at most that one message is duplicated; nothing
is ever lost).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from cuentas_cli.config import Config
from cuentas_cli.errors import LockHeld, ValidationError
from cuentas_cli.admin import audit
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.reminders.attachments import AttachmentName, RenderPdf, attachment, party_statement
from cuentas_cli.reminders.messages import Composed, compose
from cuentas_cli.reports.statements import company_context
from cuentas_cli.reminders.outbox import (Group, Planned, RunSummary, cancel_group, cancel_settled, claim,
                                          count_status, counts_after, due_groups, mark_failed, mark_sent, prepare,
                                          sendable, tables)
from cuentas_cli.reminders.policy import Policy, load_policy
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

    from cuentas_cli.reports.statements import Statement

log = logging.getLogger("cuentas.notify")

SessionFactory = Callable[..., AbstractContextManager["Session"]]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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
            raise LockHeld(_("another `cuentas notify run` holds the lock {path}; nothing was sent by "
                             "this one").format(path=path)) from None
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
            raise LockHeld(_("another `cuentas notify run` holds the advisory lock on this database; "
                             "nothing was sent by this one"))
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            except Exception:  # noqa: BLE001 - a dead connection has released the lock already
                conn.invalidate()
    finally:
        conn.close()


# --- the run -----------------------------------------------------------------------------


def run(*, session_factory: SessionFactory, url: str, actor: Actor | None, config: Config, today: date,
        render_pdf: RenderPdf, attachment_name: AttachmentName, dry_run: bool = False, retry_now: bool = False,
        enqueue_due: bool = True, now_fn: Callable[[], datetime] = utcnow) -> RunSummary:
    """One reminder run; see the module docstring. `session_factory(write=...)` opens a transaction.

    `render_pdf` and `attachment_name` turn a statement of account into the PDF a reminder of an
    `attach` level carries (exports.statements, passed in by the command: exports sit beside
    reminders, not below them). A dry run builds no PDF."""
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
            files = StatementFiles(company_context(session, config), render_pdf, attachment_name)
        with session_factory() as session:
            groups = due_groups(session, now=now, retry_now=retry_now)
            summary.resumed = int(count_status(session, "sending"))
        if summary.resumed:
            log.warning("%d reminder(s) were being sent when an earlier run stopped; sending them again",
                        summary.resumed)
        _send_all(session_factory, groups, policy=policy, today=today, now_fn=now_fn, retry_now=retry_now,
                  summary=summary, files=files)
        with session_factory() as session:
            counts_after(session, summary, now=now_fn())
        if summary.changed:
            with session_factory(write=True) as session:
                audit.record(session, actor, action="notify.run", entity="notification",
                             entity_id=today.isoformat(), after=summary.record())
    return summary


@dataclass(frozen=True)
class StatementFiles:
    """What a run needs to attach statements: the company's header, the PDF renderer, the file name."""

    context: dict[str, Any]
    render_pdf: RenderPdf
    attachment_name: AttachmentName


def _statements(session: "Session", composed: Composed, *, today: date, files: StatementFiles) -> list[Statement]:
    """The statements a message carries, built in the transaction that claimed it (the figures
    of the moment it is sent; a retry builds them again): from the first day of the month to today."""
    return [party_statement(session, party_id, as_of=today, context=files.context)
            for party_id in composed.statement_parties]


def _send_all(session_factory: SessionFactory, groups: list[Group], *, policy: Policy, today: date,
              now_fn: Callable[[], datetime], retry_now: bool, summary: RunSummary, files: StatementFiles) -> None:
    from cuentas_cli.integrations import webhook
    from cuentas_cli.integrations.email import SendRefused, SmtpConnection, SmtpUnavailable, build_message

    n, _, _ = tables()
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
                    summary.cancelled += cancel_group(session, group, now=now, retry_now=retry_now,
                                                       reason="notify.webhook_url is no longer set")
                    continue
                if not claim(session, group, now=now, retry_now=retry_now):
                    continue
                composed = compose(session, group, policy=policy, today=today, status_filter=n.c.status == "sending")
                if composed is None:  # nothing left to say (e.g. the invoices were deleted)
                    summary.cancelled += cancel_group(session, group, now=now, retry_now=True,
                                                       reason="nothing left to send")
                    continue
                statements = ([] if email_down or group.channel != "email" else
                              _statements(session, composed, today=today, files=files))
            error = None
            if group.channel == "email":
                if email_down:
                    error = email_down
                else:
                    attached = [attachment(stmt, render_pdf=files.render_pdf, attachment_name=files.attachment_name,
                                           language=policy.language) for stmt in statements]
                    message = build_message(policy.smtp, to=[group.recipient], cc=composed.cc,
                                            subject=composed.subject, text=composed.text, html_body=composed.html,
                                            attachments=attached)
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


def _dry_run(session_factory: SessionFactory, *, config: Config, today: date, now: datetime, retry_now: bool,
             enqueue_due: bool, summary: RunSummary) -> RunSummary:
    """Everything a run would do, computed in a transaction that is rolled back."""
    n, _, _ = tables()
    with session_factory(write=True) as session:
        try:
            policy = load_policy(session, config)
            prepare(session, policy=policy, today=today, now=now, enqueue_due=enqueue_due, summary=summary)
            for group in due_groups(session, now=now, retry_now=retry_now):
                eligible = sendable(n, now=now, retry_now=retry_now)
                composed = compose(session, group, policy=policy, today=today, status_filter=eligible)
                if composed is None:
                    continue
                summary.planned.append(Planned(group.kind, group.channel, group.recipient, group.rows,
                                               composed.invoices, composed.subject, composed.attach_statement))
        finally:
            session.rollback()
    return summary


# --- test e-mail -------------------------------------------------------------------------


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
        raise ValidationError(_("{address!r} is not an e-mail address like cobranzas@empresa.pe")
                              .format(address=address)) from None
    if not address:
        raise ValidationError(_("give the address to send the test e-mail to"))
    with session_factory() as session:
        policy = load_policy(session, config)
    from cuentas_cli.reminders.messages import sample_message

    subject, text, html_body = sample_message(policy)
    message = email.build_message(policy.smtp, to=[address], subject=subject, text=text, html_body=html_body)
    try:
        with email.SmtpConnection(policy.smtp) as smtp:
            smtp.send(message)
    except (email.SmtpUnavailable, email.SendRefused) as exc:
        raise ExternalError(_("{exc}; check `cuentas settings show` (smtp.*) and the smtp-password secret")
                            .format(exc=exc)) from None
    with session_factory(write=True) as session:
        audit.record(session, actor, action="notify.test_email", entity="notification", after={"to": address})
    return policy.smtp.where
