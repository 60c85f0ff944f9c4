"""What a message says: the invoices behind a reminder, the staff digest's sections, and the
subject and body of an e-mail or a webhook post (`compose`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from cuentas_cli.reminders.outbox import Group, balance_of, document_label, group_where, open_invoice, tables
from cuentas_cli.reminders.policy import Policy

if TYPE_CHECKING:
    from sqlmodel import Session

DIGEST_DAYS = 7
DIGEST_LINES = 20
WEBHOOK_LINES = 50


def reminder_lines(session: "Session", group: Group, status_filter: Any) -> list:
    """The invoices behind a group's rows, in the order a reader expects."""
    from sqlalchemy import select

    from cuentas_cli.integrations.email import Line
    from cuentas_cli.ledger import balances

    n, i, p = tables()
    query = (select(i.c.direction, i.c.serie, i.c.numero, p.c.name, i.c.issue_date, i.c.due_date, i.c.currency,
                    balances.open_balance(i.c))
             .select_from(n.join(i, i.c.id == n.c.invoice_id).join(p, p.c.id == i.c.party_id))
             .where(group_where(n, group), status_filter)
             .order_by(i.c.direction.desc(), p.c.name, i.c.due_date, i.c.id))
    seen: set[tuple] = set()
    lines = []
    for direction, serie, numero, name, issued, due, currency, balance in session.execute(query):
        key = (direction, serie, numero, name)
        if key in seen:  # two levels of one invoice in one message: list it once
            continue
        seen.add(key)
        lines.append(Line(direction, document_label(serie, numero), name, issued, due, currency, int(balance)))
    return lines


def digest_sections(session: "Session", *, today: date) -> list:
    """What the staff digest reports: overdue and due within DIGEST_DAYS, both directions."""
    from sqlalchemy import and_, func, select

    from cuentas_cli.integrations.email import DigestSection, Line

    _, i, p = tables()
    upcoming_end = today + timedelta(days=DIGEST_DAYS)
    sections = []
    for direction, word in (("receivable", "Por cobrar"), ("payable", "Por pagar")):
        for title, window, order in (
            (f"{word} — vencidos", i.c.due_date < today, i.c.due_date),
            (f"{word} — vencen en los próximos {DIGEST_DAYS} días", and_(i.c.due_date >= today,
                                                                         i.c.due_date <= upcoming_end), i.c.due_date),
        ):
            where = and_(i.c.direction == direction, window, open_invoice(i))
            section = DigestSection(title)
            for currency, count, total in session.execute(
                    select(i.c.currency, func.count(), func.sum(balance_of(i))).where(where).group_by(i.c.currency)):
                section.count += int(count)
                section.totals[currency] = int(total or 0)
            if section.count:
                rows = session.execute(
                    select(i.c.direction, i.c.serie, i.c.numero, p.c.name, i.c.issue_date, i.c.due_date, i.c.currency,
                           balance_of(i))
                    .select_from(i.join(p, p.c.id == i.c.party_id)).where(where)
                    .order_by(order, i.c.id).limit(DIGEST_LINES))
                section.lines = [Line(d, document_label(s, num), name, iss, due, cur, int(bal))
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
