"""Statements of account (estado de cuenta): a client's or supplier's documents and payments in
date order with a running balance, per currency, with its aging and its open documents as of a date.

Where each figure comes from:

- the opening balance (as of the day before `date_from`) and the closing balance (as of
  `date_to`) of each currency are the ledger's balance as of that date (`ledger.balances.balances_cte`),
  summed over the party's documents: the same SQL every report and `dashboard aging` read;
- each line moves the running balance: an invoice or boleta (01/03) and a debit note (08) by
  their total (debit), a credit note (07) and a payment by their amount (credit), each on its own
  date (issue date, payment date). A note counts on the invoice it references (ledger/notes.py);
  ANULADA documents and notes are left out, and so are the notes and payments of an ANULADA
  invoice (its balance is 0). So the balance after the last line of a day is the ledger's
  balance as of that day, and the last line's balance is the closing balance;
- the aging is `reports.aging.party_aging` per currency: the party's row of
  `cuentas dashboard aging --by-party --currency CUR`;
- the open documents are the party's documents with a balance as of `as_of` (`balances_cte`,
  bal > 0), with the days past their due date.

`open_only` keeps only the documents still open as of `as_of` (with their notes and payments);
the opening and closing balances then cover those documents only (with date_to = as_of the
closing balance is the same: every other document is at 0).

No typer or rich here: this returns plain dataclasses that render/, exports/ and reminders/ show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.errors import UsageError
from cuentas_cli.i18n import N_, _
from cuentas_cli.ledger.balances import NOTES_SQL, balances_cte, has_cuotas, lit, pen_cents_sql
from cuentas_cli.ledger.records import document_label
from cuentas_cli.parties.service import find_party
from cuentas_cli.reports.aging import DEFAULT_BUCKETS, bucket_labels, check_buckets, party_aging
from cuentas_cli.db.engine import dialect_of
from cuentas_cli.reports.common import as_date, fetch_rows, money

if TYPE_CHECKING:
    from sqlmodel import Session

    from cuentas_cli.bank.accounts import BankAccount

CURRENCIES = ("PEN", "USD")
DIRECTION_OF = {"client": "receivable", "supplier": "payable"}
KIND_CODE = {"client": "cxc", "supplier": "cxp"}
# movement kinds, in the order lines of one day are listed
MOVEMENTS = ("invoice", "debit_note", "credit_note", "payment")


@dataclass(frozen=True)
class Line:
    """One movement: amounts in céntimos of the section's currency; `balance` after it."""

    date: date
    movement: str  # invoice | debit_note | credit_note | payment
    doc_type: str  # of the document (for a payment: of the document it pays)
    document: str  # F001-123 (for a payment: the document it pays)
    reference: str | None  # a note's target document; a payment's method and reference
    due_date: date | None  # an invoice's
    debit: int
    credit: int
    balance: int


@dataclass(frozen=True)
class OpenDocument:
    doc_type: str
    document: str
    issue_date: date
    due_date: date
    total: int  # céntimos
    balance: int  # as of the statement's as_of
    days_overdue: int  # 0 when not yet due


@dataclass
class Section:
    """One currency of a statement."""

    currency: str
    opening: int
    closing: int
    lines: list[Line] = field(default_factory=list)
    aging: dict[str, Decimal] = field(default_factory=dict)  # bucket key -> amount, as dashboard aging
    aging_total: Decimal = Decimal("0.00")
    open_documents: list[OpenDocument] = field(default_factory=list)

    @property
    def debits(self) -> int:
        return sum(line.debit for line in self.lines)

    @property
    def credits(self) -> int:
        return sum(line.credit for line in self.lines)

    @property
    def overdue(self) -> int:
        return sum(d.balance for d in self.open_documents if d.days_overdue > 0)


@dataclass(frozen=True)
class PartyInfo:
    id: int
    kind: str  # client | supplier
    doc_type: str
    doc_number: str
    name: str
    address: str | None
    email: str | None


@dataclass
class Statement:
    company_name: str
    company_ruc: str
    party: PartyInfo
    date_from: date | None
    date_to: date
    as_of: date
    open_only: bool
    buckets: tuple[int, ...]
    sections: list[Section]
    bank_accounts: list["BankAccount"] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return KIND_CODE[self.party.kind]

    @property
    def aging_columns(self) -> list[tuple[str, str]]:
        return bucket_labels(self.buckets)

    @property
    def has_balance(self) -> bool:
        return any(s.closing for s in self.sections)

    def record(self) -> dict[str, Any]:
        """The statement as JSON-ready data: snake_case keys that never change with the language,
        amounts as Decimal (render.plain writes them as strings with two decimals), dates as dates."""
        p = self.party
        return {
            "kind": self.kind,
            "company": {"name": self.company_name, "ruc": self.company_ruc},
            "party": {"doc_type": p.doc_type, "doc_number": p.doc_number, "name": p.name, "address": p.address,
                      "email": p.email},
            "date_from": self.date_from, "date_to": self.date_to, "as_of": self.as_of, "open_only": self.open_only,
            "aging_buckets": [key for key, _label in self.aging_columns],
            "currencies": [_section_record(s) for s in self.sections],
            "bank_accounts": [{"name": a.name, "bank": a.bank, "bank_name": a.bank_name, "currency": a.currency,
                               "number": a.number, "cci": a.cci, "detracciones": a.detracciones}
                              for a in self.bank_accounts],
        }


def _section_record(s: Section) -> dict[str, Any]:
    return {
        "currency": s.currency, "opening_balance": money(s.opening), "debits": money(s.debits),
        "credits": money(s.credits), "closing_balance": money(s.closing), "overdue": money(s.overdue),
        "lines": [{"date": ln.date, "movement": ln.movement, "doc_type": ln.doc_type, "document": ln.document,
                   "reference": ln.reference, "due_date": ln.due_date, "debit": money(ln.debit),
                   "credit": money(ln.credit), "balance": money(ln.balance)} for ln in s.lines],
        "aging": {**s.aging, "total": s.aging_total},
        "open_documents": [{"doc_type": d.doc_type, "document": d.document, "issue_date": d.issue_date,
                            "due_date": d.due_date, "total": money(d.total), "balance": money(d.balance),
                            "days_overdue": d.days_overdue} for d in s.open_documents],
    }


# --- the period ---------------------------------------------------------------------------------


def check_period(*, date_from: date | None, date_to: date | None, as_of: date | None, today: date
                 ) -> tuple[date | None, date, date]:
    """(from, to, as_of): as_of defaults to --to, else today; --to defaults to as_of."""
    as_of = as_of or date_to or today
    date_to = date_to or as_of
    if date_from is not None and date_from > date_to:
        raise UsageError(_("--from {date_from:%d/%m/%Y} is after --to {date_to:%d/%m/%Y}; the period would be empty")
                         .format(date_from=date_from, date_to=date_to))
    return date_from, date_to, as_of


# --- SQL ------------------------------------------------------------------------------------------


def _scope(party_id: int, direction: str, ids: list[int] | None) -> str:
    """SQL over the alias `i`: the party's documents (integers and a fixed direction only)."""
    if direction not in DIRECTION_OF.values():
        raise ValueError(direction)
    scope = f"i.party_id = {int(party_id)} AND i.direction = '{direction}'"
    if ids is not None:
        scope += f" AND i.id IN ({', '.join(str(int(x)) for x in ids)})" if ids else " AND 1 = 0"
    return scope


def balances_by_currency(session: "Session", *, as_of: date, party_id: int, direction: str,
                         ids: list[int] | None = None) -> dict[str, int]:
    """The party's balance as of `as_of` per currency: the ledger's balances summed (céntimos)."""
    cte = balances_cte(dialect_of(session), as_of, directions=(direction,), scope=_scope(party_id, direction, ids))
    rows = fetch_rows(session, f"{cte} SELECT currency, CAST(SUM(bal) AS BIGINT) FROM open_inv GROUP BY currency")
    return {currency: int(total or 0) for currency, total in rows}


def _open_documents(session: "Session", *, as_of: date, party_id: int, direction: str) -> list[tuple]:
    cte = balances_cte(dialect_of(session), as_of, directions=(direction,), scope=_scope(party_id, direction, None))
    return fetch_rows(session, f"{cte} SELECT o.id, o.currency, i.doc_type, i.serie, i.numero, i.issue_date, "
                               "i.due_date, i.total_cents, o.bal FROM open_inv o JOIN invoice i ON i.id = o.id "
                               "WHERE o.bal > 0 ORDER BY i.due_date, i.serie, i.numero")


def _movements_sql(scope: str, date_from: date | None, date_to: date) -> str:
    base = f"i.doc_type NOT IN {NOTES_SQL} AND i.status <> 'ANULADA' AND {scope}"
    null_text, null_date = "CAST(NULL AS VARCHAR(120))", "CAST(NULL AS DATE)"
    invoices = (f"SELECT i.issue_date AS d, 0 AS ord, i.currency AS cur, i.doc_type AS dt, i.serie AS se, "
                f"i.numero AS nu, {null_text} AS ref, i.due_date AS due, i.total_cents AS debit, "
                f"CAST(0 AS BIGINT) AS credit, i.id AS sort_id FROM invoice i WHERE {base}")
    notes = ("SELECT n.issue_date, CASE WHEN n.doc_type = '08' THEN 1 ELSE 2 END, i.currency, n.doc_type, n.serie, "
             f"n.numero, {_concat('i.serie', 'i.numero')}, {null_date}, "
             "CASE WHEN n.doc_type = '08' THEN n.total_cents ELSE 0 END, "
             "CASE WHEN n.doc_type = '07' THEN n.total_cents ELSE 0 END, n.id "
             f"FROM invoice n JOIN invoice i ON i.id = n.references_id WHERE n.doc_type IN {NOTES_SQL} "
             f"AND n.status <> 'ANULADA' AND {base}")
    payments = (f"SELECT p.paid_on, 3, i.currency, i.doc_type, i.serie, i.numero, "
                f"{_concat('p.method', 'p.reference')}, {null_date}, CAST(0 AS BIGINT), p.amount_cents, p.id "
                f"FROM payment p JOIN invoice i ON i.id = p.invoice_id WHERE {base}")
    where = f"m.d <= {lit(date_to)}" + (f" AND m.d >= {lit(date_from)}" if date_from else "")
    return (f"SELECT m.d, m.ord, m.cur, m.dt, m.se, m.nu, m.ref, m.due, m.debit, m.credit FROM "
            f"({invoices} UNION ALL {notes} UNION ALL {payments}) m WHERE {where} "
            "ORDER BY m.cur, m.d, m.ord, m.se, m.nu, m.sort_id")


def _concat(a: str, b: str) -> str:
    """SQL: `a-b` for a note's target (serie-numero), `a b` for a payment (method reference)."""
    sep = "'-'" if "serie" in a else "' '"
    return f"(CAST({a} AS VARCHAR(60)) || {sep} || COALESCE(CAST({b} AS VARCHAR(100)), ''))"


# --- the statement --------------------------------------------------------------------------------


def statement(session: "Session", actor: Actor | None, *, kind: str, ref: str, today: date,
              date_from: date | None = None, date_to: date | None = None, as_of: date | None = None,
              open_only: bool = False, buckets: Any = DEFAULT_BUCKETS, company_name: str = "",
              company_ruc: str = "", bank_accounts: list["BankAccount"] | None = None) -> Statement:
    """The statement of account of the client or supplier `ref` (document number or id).

    Needs `read` (a statement shows one party's account, as `clients show` and `clients invoices`
    do). Raises NotFound for an unknown party, UsageError for an empty period."""
    require(actor, "read")
    date_from, date_to, as_of = check_period(date_from=date_from, date_to=date_to, as_of=as_of, today=today)
    row = find_party(session, kind=kind, ref=ref)
    party = PartyInfo(id=row.id, kind=row.kind, doc_type=row.doc_type, doc_number=row.doc_number, name=row.name,
                      address=row.address, email=row.email)
    return build(session, party=party, date_from=date_from, date_to=date_to, as_of=as_of, open_only=open_only,
                 buckets=check_buckets(buckets), company_name=company_name, company_ruc=company_ruc,
                 bank_accounts=bank_accounts or [])


def company_context(session: "Session", config: Any) -> dict[str, Any]:
    """A statement's header and aging columns, for `build`: company name and RUC, the company's
    bank accounts, aging.buckets."""
    from cuentas_cli.admin import settings
    from cuentas_cli.bank.accounts import list_accounts

    return dict(buckets=tuple(settings.get(session, config, "aging.buckets")),
                company_name=str(settings.get(session, config, "company.name") or ""),
                company_ruc=str(settings.get(session, config, "company.ruc") or ""),
                bank_accounts=list_accounts(session))


def build(session: "Session", *, party: PartyInfo, date_from: date | None, date_to: date, as_of: date,
          open_only: bool, buckets: tuple[int, ...], company_name: str, company_ruc: str,
          bank_accounts: list["BankAccount"]) -> Statement:
    """The statement of a party already resolved (the permission checked by the caller)."""
    direction = DIRECTION_OF[party.kind]
    open_rows = _open_documents(session, as_of=as_of, party_id=party.id, direction=direction)
    ids = [int(r[0]) for r in open_rows] if open_only else None
    opening = ({} if date_from is None else
               balances_by_currency(session, as_of=date_from - timedelta(days=1), party_id=party.id,
                                    direction=direction, ids=ids))
    closing = balances_by_currency(session, as_of=date_to, party_id=party.id, direction=direction, ids=ids)
    moves = fetch_rows(session, _movements_sql(_scope(party.id, direction, ids), date_from, date_to))
    sections: dict[str, Section] = {}

    def section(currency: str) -> Section:
        if currency not in sections:
            sections[currency] = Section(currency=currency, opening=opening.get(currency, 0),
                                         closing=closing.get(currency, 0))
        return sections[currency]

    running: dict[str, int] = {}
    for d, ord_, cur, doc_type, serie, numero, ref, due, debit, credit in moves:
        s = section(cur)
        balance = running.get(cur, s.opening) + int(debit) - int(credit)
        running[cur] = balance
        s.lines.append(Line(date=as_date(d), movement=MOVEMENTS[int(ord_)], doc_type=doc_type,
                            document=document_label(serie, numero), reference=(ref or "").strip() or None,
                            due_date=as_date(due), debit=int(debit), credit=int(credit), balance=balance))
    for _id, cur, doc_type, serie, numero, issued, due, total, bal in open_rows:
        due = as_date(due)
        section(cur).open_documents.append(OpenDocument(
            doc_type=doc_type, document=document_label(serie, numero), issue_date=as_date(issued), due_date=due,
            total=int(total), balance=int(bal), days_overdue=max((as_of - due).days, 0)))
    for cur in (*opening, *closing):
        section(cur)
    for cur, s in sections.items():
        report = party_aging(session, party_id=party.id, direction=direction, as_of=as_of, currency=cur,
                             buckets=buckets)
        keys = [key for key, _label in report.columns]
        row = report.rows[0] if report.rows else None
        s.aging = {key: row.amounts[key] if row else Decimal("0.00") for key in keys}
        s.aging_total = row.total if row else Decimal("0.00")
    ordered = [sections[c] for c in CURRENCIES if c in sections] + [
        s for c, s in sections.items() if c not in CURRENCIES]
    return Statement(company_name=company_name, company_ruc=company_ruc, party=party, date_from=date_from,
                     date_to=date_to, as_of=as_of, open_only=open_only, buckets=buckets, sections=ordered,
                     bank_accounts=list(bank_accounts))


# --- who gets one: clients with an open balance -------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A client with an open balance as of a date (amounts in S/, USD at each invoice's rate)."""

    party: PartyInfo
    balance_pen: int  # céntimos
    overdue_count: int


def candidates(session: "Session", *, as_of: date, min_balance_cents: int = 0,
               overdue_only: bool = False) -> list[Candidate]:
    """Clients whose balance as of `as_of` is positive (at least `min_balance_cents` in S/), and with
    `overdue_only` at least one document past its due date; by name. With or without an e-mail."""
    by_cuota = has_cuotas(session)  # in cuotas: overdue when its earliest open part is, counted once
    cte = balances_cte(dialect_of(session), as_of, directions=("receivable",), by_cuota=by_cuota)
    pen = "o.pen" if by_cuota else pen_cents_sql("o.bal", "o.rate")
    one = "o.lead" if by_cuota else "1"
    rows = fetch_rows(session, (
        f"{cte} SELECT p.id, p.kind, p.doc_type, p.doc_number, p.name, p.address, p.email, "
        f"CAST(SUM({pen}) AS BIGINT), SUM(CASE WHEN o.due_date < {lit(as_of)} THEN {one} ELSE 0 END) "
        "FROM open_inv o JOIN party p ON p.id = o.party_id WHERE o.bal > 0 "
        "GROUP BY p.id, p.kind, p.doc_type, p.doc_number, p.name, p.address, p.email ORDER BY p.name, p.id"))
    out = []
    for pid, kind, doc_type, doc_number, name, address, email, balance, overdue in rows:
        if int(balance or 0) < max(min_balance_cents, 1) or (overdue_only and not int(overdue or 0)):
            continue
        out.append(Candidate(PartyInfo(int(pid), kind, doc_type, doc_number, name, address, email),
                             int(balance), int(overdue or 0)))
    return out


# --- words for people (the active language); JSON keeps `movement` as it is -----------------------

MOVEMENT_WORDS = {"01": N_("Invoice"), "03": N_("Boleta"), "debit_note": N_("Debit note"),
                  "credit_note": N_("Credit note"), "payment": N_("Payment")}


def concept(line: Line) -> str:
    """What a line is, for a person: `Invoice`, `Credit note on F001-12`, `Payment (transferencia OP-7)`."""
    if line.movement == "invoice":
        return _(MOVEMENT_WORDS.get(line.doc_type, N_("Invoice")))
    if line.movement == "payment":
        word = _(MOVEMENT_WORDS["payment"])
        return f"{word} ({line.reference})" if line.reference else word
    return _("{note} on {document}").format(note=_(MOVEMENT_WORDS[line.movement]), document=line.reference or "")
