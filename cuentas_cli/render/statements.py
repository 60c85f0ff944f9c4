"""A statement of account (reports/statements.py) on the terminal: a heading, then per currency
its lines with the running balance, its aging and its open documents, then the bank accounts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cuentas_cli.i18n import _
from cuentas_cli.render import print_rows, safe
from cuentas_cli.render.console import stdout_console
from cuentas_cli.reports.common import money
from cuentas_cli.reports.statements import MOVEMENT_WORDS, Statement, concept

LINE_FIELDS = ["date", "document", "concept", "due_date", "debit", "credit", "balance"]
OPEN_FIELDS = ["document", "doc_type", "issue_date", "due_date", "days_overdue", "total", "balance"]


def _amount(cents: int) -> Decimal | None:
    return money(cents) if cents else None


def print_statement(stmt: Statement) -> None:
    console = stdout_console()
    p = stmt.party
    who = _("Client") if p.kind == "client" else _("Supplier")
    period = (_("up to {date_to:%d/%m/%Y}").format(date_to=stmt.date_to) if stmt.date_from is None else
              _("from {date_from:%d/%m/%Y} to {date_to:%d/%m/%Y}").format(date_from=stmt.date_from,
                                                                        date_to=stmt.date_to))
    company = " - ".join(x for x in (stmt.company_name, f"RUC {stmt.company_ruc}" if stmt.company_ruc else "") if x)
    heading = [company, _("Statement of account of {who} {doc} {name}").format(who=who.lower(), doc=p.doc_number,
                                                                              name=p.name),
               _("Period {period}; aging and open documents as of {as_of:%d/%m/%Y}").format(period=period,
                                                                                          as_of=stmt.as_of)]
    for text in filter(None, heading):
        console.print(safe(text, one_line=True), markup=False, highlight=False)
    if not stmt.sections:
        console.print(_("(no documents or payments in this period)"))
    for s in stmt.sections:
        rows: list[dict[str, Any]] = [{"date": stmt.date_from, "document": None, "concept": _("Opening balance"),
                                       "due_date": None, "debit": None, "credit": None, "balance": money(s.opening)}]
        rows += [{"date": ln.date, "document": ln.document, "concept": concept(ln), "due_date": ln.due_date,
                  "debit": _amount(ln.debit), "credit": _amount(ln.credit), "balance": money(ln.balance)}
                 for ln in s.lines]
        rows.append({"date": stmt.date_to, "document": None, "concept": _("Closing balance"), "due_date": None,
                     "debit": money(s.debits), "credit": money(s.credits), "balance": money(s.closing)})
        print_rows(LINE_FIELDS, rows, title=s.currency)
        labels = [_("current") if key == "corriente" else text for key, text in stmt.aging_columns]
        aging = dict(zip(labels, s.aging.values()))
        aging[_("Total")] = s.aging_total
        print_rows(list(aging), [aging], title=_("Aging as of {as_of:%d/%m/%Y} ({currency})")
                   .format(as_of=stmt.as_of, currency=s.currency))
        if s.open_documents:
            docs = [{"document": d.document, "doc_type": _(MOVEMENT_WORDS.get(d.doc_type, d.doc_type)),
                     "issue_date": d.issue_date, "due_date": d.due_date, "days_overdue": d.days_overdue,
                     "total": money(d.total), "balance": money(d.balance)} for d in s.open_documents]
            print_rows(OPEN_FIELDS, docs, title=_("Open documents ({currency})").format(currency=s.currency))
    if stmt.bank_accounts:
        accounts = [{"bank_name": a.bank_name, "currency": a.currency, "number": a.number, "cci": a.cci,
                     "detracciones": a.detracciones} for a in stmt.bank_accounts]
        print_rows(["bank_name", "currency", "number", "cci", "detracciones"], accounts, title=_("Bank accounts"))
