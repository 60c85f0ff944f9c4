"""The statement of account that goes with an e-mail, for `clients statement --all --email` and for
the reminders of a level that says `attach` (notify.channels).

The statement is `reports.statements.build`, the figures of `cuentas clients statement DOC`; the
PDF is rendered by the function the command layer passes in (`exports.statements.pdf_bytes` and
`attachment_name`: exports sit beside reminders, not below them). The default period runs from
the first day of the as-of month to the as-of date, as `clients statement --all --email` sends it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from cuentas_cli.reports.statements import PartyInfo, Statement, build

if TYPE_CHECKING:
    from sqlmodel import Session

    from cuentas_cli.integrations.email import Attachment

RenderPdf = Callable[[Statement], bytes]
AttachmentName = Callable[[Statement], str]


def month_start(as_of: date) -> date:
    """Where an e-mailed statement's period starts unless told: the first day of the as-of month."""
    return as_of.replace(day=1)


def party_info(session: "Session", party_id: int) -> PartyInfo:
    from sqlalchemy import select

    from cuentas_cli.reminders.outbox import tables

    _n, _i, p = tables()
    row = session.execute(select(p).where(p.c.id == party_id)).one()
    return PartyInfo(row.id, row.kind, row.doc_type, row.doc_number, row.name, row.address, row.email)


def party_statement(session: "Session", party_id: int, *, as_of: date, date_from: date | None = None,
                    open_only: bool = False, context: dict[str, Any]) -> Statement:
    """One party's statement as of `as_of`, from `date_from` (default: the first day of that month)."""
    return build(session, party=party_info(session, party_id), date_from=date_from or month_start(as_of),
                 date_to=as_of, as_of=as_of, open_only=open_only, **context)


def attachment(stmt: Statement, *, render_pdf: RenderPdf, attachment_name: AttachmentName,
               language: str | None = None) -> "Attachment":
    """The statement as a PDF attachment; in `language` when given (a reminder's: notify.language,
    what the client reads), else in the active language."""
    from contextlib import nullcontext

    from cuentas_cli import i18n
    from cuentas_cli.integrations.email import Attachment

    with i18n.speaking(language) if language else nullcontext():
        return Attachment(attachment_name(stmt), render_pdf(stmt))
