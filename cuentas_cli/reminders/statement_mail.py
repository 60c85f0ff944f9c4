"""E-mailing statements of account: each client with an open balance (and an e-mail address) gets
its statement as a PDF attachment, through the outbox, once per month.

A run (`cuentas clients statement --all --email`):

1. picks the clients with a balance as of the as-of date (`reports.statements.candidates`:
   at least --min-balance in S/, with --overdue-only at least one document past due);
2. takes the notify run lock (`sending.run_lock`: a statement run and `notify run` never send at
   the same time) and queues one outbox row per client: kind "statement", party_id, level =
   the period YYYYMM, channel "email", the client's address, with INSERT ... ON CONFLICT DO
   NOTHING over the unique key (party_id, level, channel, recipient); a second run in the same
   month queues nothing;
3. sends each row still to send (pending, left "sending" by a stopped run, or failed and due
   again, as `notify run` does): claimed (-> "sending", committed), the statement built and
   rendered (reminders/attachments.py, which a reminder of an `attach` level shares; the PDF
   renderer is passed in: exports sit beside reminders, not below), handed to the SMTP server,
   then marked "sent" or "failed" with the error and the next attempt's time.

A dry run reads only: it lists who would get one (and who already has it this month, or has no
e-mail) and writes nothing, not even an outbox row.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cuentas_cli.admin import audit
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.config import Config
from cuentas_cli.i18n import _
from cuentas_cli.reminders.attachments import attachment, month_start, party_statement
from cuentas_cli.reminders.outbox import MAX_ATTEMPTS, backoff, sendable, tables
from cuentas_cli.reports.common import money as decimal_money
from cuentas_cli.reports.statements import Candidate, Statement, candidates, company_context

if TYPE_CHECKING:
    from sqlmodel import Session

SessionFactory = Callable[..., Any]
KIND = "statement"
CHANNEL = "email"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def period_key(as_of: date) -> int:
    """The outbox's period of a statement: YYYYMM of its as-of date (one per client per month)."""
    return as_of.year * 100 + as_of.month


@dataclass
class Mailed:
    """One client of a run and what happened: sent, failed, already sent, no e-mail, would send."""

    doc_number: str
    name: str
    email: str | None
    balance_pen: Decimal
    overdue_count: int
    result: str
    error: str | None = None


@dataclass
class MailRun:
    as_of: date
    period: str  # YYYY-MM
    dry_run: bool
    items: list[Mailed] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for item in self.items if item.result == result)

    @property
    def errors(self) -> list[str]:
        return sorted({item.error for item in self.items if item.error})

    def line(self) -> str:
        if self.dry_run:
            return (_("statements {period} --dry-run: would send {would}, already sent {already}, without e-mail "
                      "{missing}; nothing was sent or written")
                    .format(period=self.period, would=self.count("would send"), already=self.count("already sent"),
                            missing=self.count("no e-mail")))
        return (_("statements {period}: sent {sent}, failed {failed}, already sent {already}, without e-mail "
                  "{missing}").format(period=self.period, sent=self.count("sent"), failed=self.count("failed"),
                                      already=self.count("already sent"), missing=self.count("no e-mail")))


def message_texts(stmt: Statement, *, company: str) -> tuple[str, str, str]:
    """(subject, text, html) of a statement e-mail: short, in the active language."""
    from cuentas_cli.integrations.email import money

    as_of = f"{stmt.as_of:%d/%m/%Y}"
    who = company or stmt.company_name
    subject = _("Statement of account as of {as_of}").format(as_of=as_of) + (f" - {who}" if who else "")
    balances = ", ".join(money(s.closing, s.currency) for s in stmt.sections if s.closing) or money(0, "PEN")
    paragraphs = [
        greeting(stmt.party.doc_type, stmt.party.doc_number, stmt.party.name),
        _("Attached is your statement of account as of {as_of}: the documents and payments of the period, the "
          "balance ({balances}) and the documents still open.").format(as_of=as_of, balances=balances),
        _("If you have already paid, please send us the proof of payment, or disregard this message."),
    ]
    if who:
        paragraphs.append(who)
    text = "\n\n".join(paragraphs) + "\n"
    html_body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return subject, text, f"<html><body>{html_body}</body></html>"


def greeting(doc_type: str, doc_number: str, name: str) -> str:
    """A persona natural (DNI, or a RUC starting 10) is greeted by name, a company as its señores."""
    if doc_type == "1" or (doc_type == "6" and doc_number.startswith("10")):
        return _("Dear {name}:").format(name=name)
    return _("Dear Sirs of {name}:").format(name=name)


def _item(c: Candidate, result: str, error: str | None = None) -> Mailed:
    return Mailed(c.party.doc_number, c.party.name, c.party.email, decimal_money(c.balance_pen), c.overdue_count,
                  result, error)


def _existing(session: "Session", level: int) -> dict[tuple[int, str], str]:
    from sqlalchemy import select

    n, _i, _p = tables()
    rows = session.execute(select(n.c.party_id, n.c.recipient, n.c.status)
                           .where(n.c.kind == KIND, n.c.level == level, n.c.channel == CHANNEL))
    return {(int(pid), recipient): status for pid, recipient, status in rows}


def send_statements(*, session_factory: SessionFactory, url: str, actor: Actor | None, config: Config, today: date,
                    as_of: date, date_from: date | None, open_only: bool, min_balance_cents: int = 0,
                    overdue_only: bool = False, dry_run: bool = False,
                    render_pdf: Callable[[Statement], bytes], attachment_name: Callable[[Statement], str],
                    now_fn: Callable[[], datetime] = utcnow) -> MailRun:
    """One statement run; see the module docstring. Needs `notify` (as reminders do) and `read`."""
    from cuentas_cli.reminders.policy import load_policy

    require(actor, "notify")
    require(actor, "read")
    level = period_key(as_of)
    run = MailRun(as_of=as_of, period=f"{as_of:%Y-%m}", dry_run=dry_run)
    date_from = date_from or month_start(as_of)
    with session_factory() as session:
        found = candidates(session, as_of=as_of, min_balance_cents=min_balance_cents, overdue_only=overdue_only)
        existing = _existing(session, level)
        policy = load_policy(session, config)
        context = company_context(session, config)
    by_party = {c.party.id: c for c in found}
    mailable = []
    for c in found:
        email = (c.party.email or "").strip()
        if not email:
            run.items.append(_item(c, "no e-mail"))
        elif existing.get((c.party.id, email)) in ("sent", "cancelled"):
            run.items.append(_item(c, "already sent"))
        else:
            mailable.append(c)
    if dry_run:
        run.items.extend(_item(c, "would send") for c in mailable)
        return run
    from cuentas_cli.reminders.sending import run_lock

    with run_lock(url):
        now = now_fn()
        with session_factory(write=True) as session:
            _enqueue(session, mailable, level=level, now=now)
        with session_factory() as session:
            n, _i, _p = tables()
            from sqlalchemy import select

            queued = session.execute(select(n.c.id, n.c.party_id, n.c.recipient).where(
                n.c.kind == KIND, n.c.level == level, sendable(n, now=now, retry_now=False))
                .order_by(n.c.id)).all()
        _send(session_factory, queued, by_party=by_party, run=run, policy=policy, as_of=as_of, date_from=date_from,
              open_only=open_only, context=context, render_pdf=render_pdf, attachment_name=attachment_name,
              now_fn=now_fn)
        if run.count("sent") or run.count("failed"):
            with session_factory(write=True) as session:
                audit.record(session, actor, action="statement.email", entity="notification",
                             entity_id=run.period, after={"sent": run.count("sent"), "failed": run.count("failed"),
                                                          "errors": run.errors})
    return run


def _enqueue(session: "Session", mailable: list[Candidate], *, level: int, now: datetime) -> None:
    from cuentas_cli.reminders.outbox import _insert

    n, _i, _p = tables()
    insert = _insert(session)
    for c in mailable:
        stmt = insert(n).values(kind=KIND, party_id=c.party.id, invoice_id=None, digest_date=None, level=level,
                                channel=CHANNEL, recipient=c.party.email.strip(), status="pending", attempts=0,
                                created_at=now)
        session.execute(stmt.on_conflict_do_nothing())


def _mark(session: "Session", row_id: int, *, now: datetime, error: str | None) -> None:
    from sqlalchemy import select, update

    n, _i, _p = tables()
    if error is None:
        session.execute(update(n).where(n.c.id == row_id).values(
            status="sent", sent_at=now, attempts=n.c.attempts + 1, last_error=None, next_attempt_at=None))
        return
    attempts = int(session.execute(select(n.c.attempts).where(n.c.id == row_id)).scalar() or 0) + 1
    retry_at = None if attempts >= MAX_ATTEMPTS else now + backoff(attempts)
    session.execute(update(n).where(n.c.id == row_id).values(
        status="failed", attempts=attempts, last_error=error[:2000], next_attempt_at=retry_at))


def _send(session_factory: SessionFactory, queued: list[Any], *, by_party: dict[int, Candidate], run: MailRun,
          policy: Any, as_of: date, date_from: date, open_only: bool, context: dict[str, Any],
          render_pdf: Callable[[Statement], bytes], attachment_name: Callable[[Statement], str],
          now_fn: Callable[[], datetime]) -> None:
    from sqlalchemy import update

    from cuentas_cli.integrations.email import SendRefused, SmtpConnection, SmtpUnavailable, build_message

    if not queued:
        return
    n, _i, _p = tables()
    smtp = SmtpConnection(policy.smtp)
    down: str | None = None
    try:
        try:
            smtp.connect()
        except SmtpUnavailable as exc:
            down = str(exc)
        for row_id, party_id, recipient in queued:
            now = now_fn()
            with session_factory(write=True) as session:
                claimed = session.execute(update(n).where(n.c.id == row_id, sendable(n, now=now, retry_now=False))
                                          .values(status="sending")).rowcount
            if not claimed:
                continue
            with session_factory() as session:
                stmt = party_statement(session, party_id, as_of=as_of, date_from=date_from, open_only=open_only,
                                       context=context)
            subject, text, html_body = message_texts(stmt, company=policy.company)
            error = down
            if error is None:
                pdf = attachment(stmt, render_pdf=render_pdf, attachment_name=attachment_name)
                message = build_message(policy.smtp, to=[recipient], subject=subject, text=text, html_body=html_body,
                                        attachments=[pdf])
                try:
                    smtp.send(message)
                except SmtpUnavailable as exc:
                    error = down = str(exc)
                except SendRefused as exc:
                    error = str(exc)
            with session_factory(write=True) as session:
                _mark(session, row_id, now=now_fn(), error=error)
            c = by_party.get(party_id) or Candidate(stmt.party, 0, 0)
            run.items.append(_item(c, "sent" if error is None else "failed", error))
    finally:
        smtp.close()
