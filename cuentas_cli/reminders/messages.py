"""What a message says: the invoices behind a reminder, the staff digest's sections, and the
subject and body of an e-mail or a webhook post (`compose`), rendered from the templates
(reminders/templates.py) in the language of notify.language.

A client's e-mail that gathers invoices of several levels uses the template of the highest level
among them; it copies the staff when any of those levels says `staff` and attaches the statement
when any says `attach` (notify.channels): one statement per client with an invoice at such a level
(one, unless several clients share the address), built when the message is sent
(reminders/attachments.py). A payable (the staff's e-mail) never brings one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from cuentas_cli.i18n import N_
from cuentas_cli.reminders.outbox import Group, balance_of, chased, document_label, group_where, open_invoice, tables
from cuentas_cli.reminders.policy import Policy
from cuentas_cli.reminders.templates import Line

if TYPE_CHECKING:
    from sqlmodel import Session

DIGEST_DAYS = 7
DIGEST_LINES = 20
WEBHOOK_LINES = 50
SECTION_TITLES = {
    ("receivable", "overdue"): N_("To collect — overdue"),
    ("receivable", "upcoming"): N_("To collect — due in the next {days} days"),
    ("payable", "overdue"): N_("To pay — overdue"),
    ("payable", "upcoming"): N_("To pay — due in the next {days} days"),
}


def reminder_lines(session: "Session", group: Group, status_filter: Any) -> list[Line]:
    """The invoices behind a group's rows, in the order a reader expects (each once, at the
    highest of its levels in the group)."""
    from sqlalchemy import func, select

    from cuentas_cli.ledger import balances

    n, i, p = tables()
    due = chased(session, i)[0]  # in cuotas: the earliest cuota still owed
    query = (select(i.c.direction, i.c.serie, i.c.numero, p.c.name, i.c.issue_date, due, i.c.currency,
                    balances.open_balance(i.c), p.c.doc_type, p.c.doc_number, func.max(n.c.level), i.c.party_id)
             .select_from(n.join(i, i.c.id == n.c.invoice_id).join(p, p.c.id == i.c.party_id))
             .where(group_where(n, group), status_filter)
             .group_by(i.c.id, i.c.direction, i.c.serie, i.c.numero, p.c.name, i.c.issue_date, due,
                       i.c.currency, p.c.doc_type, p.c.doc_number, i.c.party_id)
             .order_by(i.c.direction.desc(), p.c.name, due, i.c.id))
    return [Line(direction, document_label(serie, numero), name, issued, due, currency, int(balance), doc_type,
                 doc_number, int(level), int(party_id))
            for direction, serie, numero, name, issued, due, currency, balance, doc_type, doc_number, level, party_id
            in session.execute(query)]


def line_of_invoice(session: "Session", invoice_id: int, *, level: int) -> Line | None:
    """One invoice as a message line (for `notify preview`); None when it has no open balance."""
    from sqlalchemy import select

    from cuentas_cli.ledger import balances

    _, i, p = tables()
    row = session.execute(
        select(i.c.direction, i.c.serie, i.c.numero, p.c.name, i.c.issue_date, i.c.due_date, i.c.currency,
               balances.open_balance(i.c), p.c.doc_type, p.c.doc_number)
        .select_from(i.join(p, p.c.id == i.c.party_id)).where(i.c.id == invoice_id)).first()
    if row is None:
        return None
    direction, serie, numero, name, issued, due, currency, balance, doc_type, doc_number = row
    return Line(direction, document_label(serie, numero), name, issued, due, currency, int(balance), doc_type,
                doc_number, level)


def digest_sections(session: "Session", *, today: date, language: str) -> list[dict[str, Any]]:
    """What the staff digest reports: overdue and due within DIGEST_DAYS, both directions."""
    from sqlalchemy import and_, func, select

    from cuentas_cli import i18n
    from cuentas_cli.reminders import templates

    gettext = i18n.catalog(language).gettext
    _, i, p = tables()
    upcoming_end = today + timedelta(days=DIGEST_DAYS)
    sections = []
    due = chased(session, i)[0]  # in cuotas: the earliest cuota still owed
    for direction in ("receivable", "payable"):
        for window, condition in (("overdue", due < today),
                                  ("upcoming", and_(due >= today, due <= upcoming_end))):
            where = and_(i.c.direction == direction, condition, open_invoice(i))
            count, sums = 0, {}
            for currency, number, total in session.execute(
                    select(i.c.currency, func.count(), func.sum(balance_of(i))).where(where).group_by(i.c.currency)):
                count += int(number)
                sums[currency] = int(total or 0)
            lines: list[Line] = []
            if count:
                rows = session.execute(
                    select(i.c.direction, i.c.serie, i.c.numero, p.c.name, i.c.issue_date, due, i.c.currency,
                           balance_of(i))
                    .select_from(i.join(p, p.c.id == i.c.party_id)).where(where)
                    .order_by(due, i.c.id).limit(DIGEST_LINES))
                lines = [Line(d, document_label(s, num), name, iss, due, cur, int(bal))
                         for d, s, num, name, iss, due, cur, bal in rows]
            sections.append({
                "direction": direction, "window": window,
                "title": gettext(SECTION_TITLES[(direction, window)]).format(days=DIGEST_DAYS),
                "count": count, "total": templates.totals_of(sums)[1],
                "documents": [templates.document_of(line, today, gettext) for line in lines],
                "more": max(count - len(lines), 0),
            })
    return sections


@dataclass
class Composed:
    group: Group
    subject: str
    text: str
    html: str
    invoices: int = 0
    cc: list[str] = field(default_factory=list)
    level: int | None = None
    attach_statement: bool = False
    statement_parties: tuple[int, ...] = ()  # the clients whose statement goes attached, in the message's order


def render_set(kind: str, context: dict[str, Any], language: str, *, sources: dict[str, str] | None = None,
                parts: tuple[str, ...] = ("subject", "text", "html")) -> dict[str, str]:
    from cuentas_cli.errors import ValidationError
    from cuentas_cli.i18n import _
    from cuentas_cli.reminders import templates

    out = {}
    for part in parts:
        source = (sources or {}).get(part) or templates.default_source(kind, part)
        try:
            out[part] = templates.render(source, context, part=part, language=language)
        except templates.TemplateProblem as problem:
            # a stored template that no longer renders (or a broken install): nothing is sent
            raise ValidationError(_("the {kind} template ({part}, line {line}) cannot be rendered: {problem}; fix "
                                    "it with `cuentas notify templates edit` or `reset`")
                                  .format(kind=kind, part=part, line=problem.line, problem=problem.message)) from None
    return out


def sample_message(policy: Policy) -> tuple[str, str, str]:
    """(subject, text, html) of `notify test-email`, in notify.language."""
    from cuentas_cli.reminders import templates

    context = {"company": {"name": policy.company, "ruc": policy.company_ruc}}
    parts = render_set("sample", context, policy.language)
    return parts["subject"], parts["text"], templates.html_document(parts["html"], policy.language)


def render_reminder(lines: list[Line], *, policy: Policy, today: date, level: int, attach: bool = False
                    ) -> tuple[str, str, str]:
    """(subject, text, html) of an e-mail about `lines`: the client's part from the level's
    template, the staff's payables from the payables template."""
    from cuentas_cli.reminders import template_store, templates

    language = policy.language
    receivable = [line for line in lines if line.direction == "receivable"]
    payable = [line for line in lines if line.direction == "payable"]
    common = dict(today=today, language=language, level=level, company=policy.company, ruc=policy.company_ruc,
                  bank_accounts=policy.bank_accounts, attach=attach)
    texts, bodies, subject = [], [], ""
    if receivable:
        sources = {part: template_store.source(policy.custom_templates, level, part)[0] for part in templates.PARTS}
        mine = render_set("reminder", templates.message_context(lines=receivable, **common), language, sources=sources)
        subject = mine["subject"]
        texts.append(mine["text"])
        bodies.append(mine["html"])
    if payable:
        theirs = render_set("payables", templates.message_context(lines=payable, **common), language)
        subject = subject or theirs["subject"]
        texts.append(theirs["text"])
        bodies.append(theirs["html"])
    text = "\n—\n\n".join(t if t.endswith("\n") else t + "\n" for t in texts)
    return subject, text, templates.html_document("<hr>".join(bodies), language)


def compose(session: "Session", group: Group, *, policy: Policy, today: date, status_filter: Any) -> Composed | None:
    from cuentas_cli.reminders import templates

    language = policy.language
    if group.kind == "digest":
        context = {"today": templates.Day.of(today), "company": {"name": policy.company, "ruc": policy.company_ruc},
                   "sections": digest_sections(session, today=today, language=language)}
        context["nothing"] = not any(s["count"] for s in context["sections"])
        parts = render_set("digest", context, language)
        subject, text = parts["subject"], parts["text"]
        if group.channel == "webhook":
            text = f"*{subject}*\n" + text
        return Composed(group, subject, text, templates.html_document(parts["html"], language))
    lines = reminder_lines(session, group, status_filter)
    if not lines:
        return None
    level = max(line.level for line in lines)
    if group.channel == "webhook":
        context = templates.message_context(lines=lines[:WEBHOOK_LINES], today=today, language=language, level=level,
                                            company=policy.company, ruc=policy.company_ruc)
        context.update(count=len(lines), more=max(len(lines) - WEBHOOK_LINES, 0))
        text = render_set("webhook", context, language, parts=("text",))["text"].rstrip("\n")
        return Composed(group, text.splitlines()[0].strip("*"), text, "", invoices=len(lines), level=level)
    receivable = [line for line in lines if line.direction == "receivable"]
    levels = {line.level for line in receivable}
    # a payable never brings a statement; a client's does when one of its invoices is at an `attach` level
    parties = tuple(dict.fromkeys(line.party_id for line in receivable
                                  if line.party_id is not None and policy.channels.for_level(line.level).attach))
    attach = bool(parties)
    subject, text, html_body = render_reminder(lines, policy=policy, today=today, level=level, attach=attach)
    cc: list[str] = []
    if any(policy.channels.for_level(lvl).staff for lvl in levels):
        cc = [a for a in policy.staff_emails if a.lower() != group.recipient.lower()]
    return Composed(group, subject, text, html_body, invoices=len(lines), cc=cc, level=level, attach_statement=attach,
                    statement_parties=parties)
