"""`notify preview`: exactly what a reminder of one invoice at one level would say, sending and
writing nothing. The message is rendered by the same code a run uses (messages.render_reminder),
with the same policy, templates, channels and bank accounts; a run that finds only this invoice
due for this recipient sends this very subject and body."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.config import Config
from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import _
from cuentas_cli.reminders import messages
from cuentas_cli.reminders.policy import load_policy

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass
class Preview:
    invoice: str
    level: int
    channels: str
    language: str
    to: list[str]
    cc: list[str]
    attach_statement: bool
    subject: str
    text: str
    html: str
    webhook: str = ""
    notes: list[str] = field(default_factory=list)


def reached_level(levels: list[int], due: date, today: date) -> int | None:
    """The highest level reached today (due + L <= today), None before the first."""
    reached = [level for level in levels if (today - due).days >= level]
    return max(reached) if reached else None


def preview(*, session: "Session", actor: Actor | None, config: Config, invoice: str, today: date,
            level: int | None = None) -> Preview:
    from sqlalchemy import select

    from cuentas_cli.ledger.records import find_invoice
    from cuentas_cli.reminders import templates
    from cuentas_cli.reminders.outbox import tables

    require(actor, "notify")
    policy = load_policy(session, config)
    row = find_invoice(session, invoice)
    notes: list[str] = []
    if level is None:
        level = reached_level(policy.levels, row.due_date, today)
        if level is None:
            level = min(policy.levels)
            notes.append(_("no level reached yet today; shown at the first one, {level}").format(level=level))
    elif level not in policy.levels:
        raise ValidationError(_("--level {level} is not one of notify.levels ({levels})")
                              .format(level=level, levels=",".join(map(str, policy.levels))))
    line = messages.line_of_invoice(session, row.id, level=level)
    if line is None:
        raise ValidationError(_("invoice {invoice} not found").format(invoice=invoice))
    if line.balance_cents <= 0 or row.status in ("PAGADA", "ANULADA"):
        notes.append(_("the invoice has no open balance: no reminder would be sent"))
    channels = policy.channels.for_level(level)
    if channels.digest_only:
        notes.append(_("level {level} only goes in the staff digest (notify.channels)").format(level=level))
    _n, _i, p = tables()
    email = session.execute(select(p.c.email).where(p.c.id == row.party_id)).scalar()
    receivable = line.direction == "receivable"
    to = ([email] if email else []) if receivable else list(policy.staff_emails)
    if channels.email and not to:
        notes.append(_("no e-mail address to send it to"))
    cc = ([a for a in policy.staff_emails if not email or a.lower() != email.lower()]
          if receivable and channels.staff else [])
    attach = receivable and channels.attach
    subject, text, html_body = messages.render_reminder([line], policy=policy, today=today, level=level,
                                                        attach=attach)
    hook = ""
    if channels.webhook and policy.webhook_url:
        context = templates.message_context(lines=[line], today=today, language=policy.language, level=level,
                                            company=policy.company, ruc=policy.company_ruc)
        hook = messages.render_set("webhook", context, policy.language, parts=("text",))["text"].rstrip("\n")
    return Preview(line.document, level, channels.text(), policy.language, to if channels.email else [],
                   cc if channels.email else [], attach, subject, text, html_body, hook, notes)
