"""Bank reconciliation: the stored movements (`bank import`) matched to invoices.

`match` proposes (bank/matching.py) and, with `auto`, records the unambiguous proposals;
`confirm` records the payments a person names for one movement; `ignore` sets a movement aside
(a bank fee, a transfer between the company's accounts); `undo` takes a confirmation back (its
payments deleted, the invoices' balances and statuses restored) or an ignore; `review` lists
the movements with their state, documents and best proposal; `status` sums them per account
and month.

A confirmed movement records one payment per document (two when a retención is recorded with
it), dated on the movement's day, with the movement's operation number as reference and linked
to it (payment.bank_line_id): `invoices show` shows the link and `bank undo` follows it. The
payments obey the rules of `invoices pay` (ledger/payments.py): no more than a document owes,
not before it was issued, in its currency. The non-retención payments of a confirmed movement
add up to its amount.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Sequence

from cuentas_cli.admin import audit
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.bank import bulk, matching
from cuentas_cli.bank.accounts import find_account
from cuentas_cli.errors import Conflict, NotFound, UsageError, ValidationError
from cuentas_cli.i18n import _
from cuentas_cli.ledger import documents
from cuentas_cli.ledger.balances import OPEN_STATUSES, balance_cents
from cuentas_cli.ledger.payments import insert_payments, normalise_method, remove_payments
from cuentas_cli.ledger.records import document_label, find_invoice, money

if TYPE_CHECKING:
    from sqlmodel import Session

MAX_REASON = 200


@dataclass
class LineView:
    """One movement as `bank match` and `bank review` show it."""

    line: int
    account: str
    date: date
    amount: Decimal
    currency: str
    description: str
    operation: str | None
    state: str
    documents: str = ""  # matched: the documents paid; unmatched: the best proposal's
    score: int | None = None
    why: str = ""
    recorded: bool = False  # recorded by this run (`bank match --auto`)
    proposals: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class MatchRun:
    lines: list[LineView]
    proposed: int = 0  # lines with at least one payment proposal
    recorded: int = 0  # lines `--auto` recorded
    payments: int = 0

    def share(self) -> float:
        return self.recorded / len(self.lines) if self.lines else 0.0


def _lines(session: "Session", *, account: str | None, states: Sequence[str], line_ids: Sequence[int] | None = None,
           lock: bool = False) -> list[tuple[matching.Movement, str, str]]:
    from sqlalchemy import select

    from cuentas_cli.db.tables import bank_account, bank_line

    L, A = bank_line.c, bank_account.c
    query = (select(L.id, L.account_id, A.currency, A.detracciones, L.line_date, L.amount_cents, L.description,
                    L.operation, L.state, A.name)
             .join(bank_account, A.id == L.account_id).where(L.state.in_(list(states)))
             .order_by(L.line_date, L.id))
    if account is not None:
        query = query.where(L.account_id == find_account(session, account).id)
    if line_ids is not None:
        query = query.where(L.id.in_(list(line_ids)))
    if lock:
        query = query.with_for_update(of=bank_line)
    out = []
    for r in session.execute(query):
        out.append((matching.Movement(r.id, r.account_id, r.currency, bool(r.detracciones), r.line_date,
                                      int(r.amount_cents), r.description or "", r.operation), r.state, r.name))
    return out


def load_book(session: "Session", movements: Sequence[matching.Movement]) -> matching.Book:
    """The open documents of the sides and currencies the movements need, their parties, and
    the company's own account numbers (a transfer between them is not a payment)."""
    from sqlalchemy import func, select

    from cuentas_cli.db.tables import bank_account, invoice, party, payment

    I = invoice.c
    directions = sorted({"receivable" if m.amount > 0 else "payable" for m in movements})
    currencies = sorted({m.currency for m in movements})
    if not movements:
        return matching.Book((), ())
    open_rows = session.execute(
        select(I.id, I.direction, I.party_id, I.serie, I.numero, I.currency, I.issue_date, I.due_date, I.doc_type,
               I.status, I.total_cents, I.adjust_cents, I.paid_cents, I.detraccion_cents, I.retencion_cents)
        .where(I.status.in_(OPEN_STATUSES), I.references_id.is_(None), I.doc_type.notin_(("07", "08")),
               I.direction.in_(directions), I.currency.in_(currencies))
    ).all()
    withheld: dict[tuple[int, str], int] = defaultdict(int)
    held_ids = [r.id for r in open_rows if r.detraccion_cents or r.retencion_cents]
    for start in range(0, len(held_ids), 5000):
        chunk = held_ids[start:start + 5000]
        for r in session.execute(
                select(payment.c.invoice_id, payment.c.method, func.sum(payment.c.amount_cents))
                .where(payment.c.method.in_(("detraccion", "retencion")), payment.c.invoice_id.in_(chunk))
                .group_by(payment.c.invoice_id, payment.c.method)):
            withheld[(r[0], r[1])] = int(r[2])
    docs = []
    for r in open_rows:
        balance = balance_cents(doc_type=r.doc_type, status=r.status, total_cents=r.total_cents,
                                adjust_cents=r.adjust_cents, paid_cents=r.paid_cents)
        detraccion = max(0, min(int(r.detraccion_cents) - withheld[(r.id, "detraccion")], balance))
        retencion = max(0, min(int(r.retencion_cents) - withheld[(r.id, "retencion")], balance))
        docs.append(matching.OpenDocument(r.id, r.direction, r.party_id, r.serie, r.numero, r.currency, r.issue_date,
                                          r.due_date, balance, detraccion, retencion))
    kinds = ["client" if d == "receivable" else "supplier" for d in directions]
    parties = [matching.PartyName(r.id, r.kind, r.doc_number, r.name)
               for r in session.execute(select(party.c.id, party.c.kind, party.c.doc_number, party.c.name)
                                        .where(party.c.kind.in_(kinds)))]
    own = [n for r in session.execute(select(bank_account.c.number, bank_account.c.cci)) for n in r if n]
    return matching.Book(docs, parties, own)


def _labels(session: "Session", invoice_ids: set[int]) -> dict[int, str]:
    from sqlalchemy import select

    from cuentas_cli.db.tables import invoice

    out: dict[int, str] = {}
    ids = sorted(invoice_ids)
    for start in range(0, len(ids), 5000):
        for r in session.execute(select(invoice.c.id, invoice.c.serie, invoice.c.numero)
                                 .where(invoice.c.id.in_(ids[start:start + 5000]))):
            out[r.id] = document_label(r.serie, r.numero)
    return out


def _proposal_record(p: matching.Proposal, labels: dict[int, str]) -> dict[str, Any]:
    return {"kind": p.kind, "score": p.score, "reasons": list(p.reasons), "why": p.why(),
            "invoices": [{"id": a.invoice_id, "document": labels.get(a.invoice_id, str(a.invoice_id)),
                          "amount": money(a.cents), "method": a.method} for a in p.allocations]}


def _documents_text(p: matching.Proposal, labels: dict[int, str]) -> str:
    if p.kind == "ignore":
        return _("(ignore)")
    return ", ".join(f"{labels.get(a.invoice_id, a.invoice_id)} {money(a.cents):.2f}"
                     + ("" if a.method == "transferencia" else f" ({a.method})") for a in p.allocations)


def match(*, session: "Session", actor: Actor | None, today: date, account: str | None = None, auto: bool = False,
          threshold: int = matching.THRESHOLD) -> MatchRun:
    """Proposals for every unmatched movement; with `auto`, the unambiguous ones recorded."""
    require(actor, "invoices.operate" if auto else "read")
    if not 50 <= threshold <= 100:
        raise UsageError(_("--threshold goes from 50 to 100 (default {default})").format(default=matching.THRESHOLD))
    rows = _lines(session, account=account, states=("unmatched",), lock=auto)
    book = load_book(session, [m for m, _s, _a in rows])
    results = [matching.propose(book, m) for m, _s, _a in rows]
    chosen = matching.choose_automatic(results, book, threshold) if auto else {}
    labels = _labels(session, {a.invoice_id for r in results for p in r.proposals for a in p.allocations})
    run = MatchRun([])
    if chosen:
        picks = [(m, chosen[m.id]) for m, _s, _a in rows if m.id in chosen]
        recorded, run.payments = bulk.record_many(session, actor, today, picks)
    else:
        recorded = set()
    for (movement, state, name), result in zip(rows, results):
        view = _view(movement, state, name)
        view.proposals = [_proposal_record(p, labels) for p in result.proposals]
        if result.best is not None:
            view.documents, view.score, view.why = (_documents_text(result.best, labels), result.best.score,
                                                    result.best.why())
        if any(p.kind == "pay" for p in result.proposals):
            run.proposed += 1
        if movement.id in recorded:
            view.state, view.recorded = "matched", True
            run.recorded += 1
        run.lines.append(view)
    return run


def _view(m: matching.Movement, state: str, account: str) -> LineView:
    return LineView(m.id, account, m.line_date, money(m.amount), m.currency, m.description, m.operation, state)


def _record(session: "Session", actor: Actor | None, today: date, movement: matching.Movement,
            allocations: Sequence[matching.Allocation], *, how: str, score: int | None = None) -> int:
    """Record the payments of one movement, linked to it, and mark it matched."""
    from sqlalchemy import update

    from cuentas_cli.db.tables import bank_line

    direction = "receivable" if movement.amount > 0 else "payable"
    banked = sum(a.cents for a in allocations if a.method != "retencion")
    if banked != abs(movement.amount):
        raise ValidationError(_("the payments add up to {given:.2f}, but line {line} is {amount:.2f} {currency}: "
                                "name each invoice's amount (INVOICE:AMOUNT) so they add up")
                              .format(given=money(banked), line=movement.id, amount=money(abs(movement.amount)),
                                      currency=movement.currency))
    by_invoice: dict[int, list[matching.Allocation]] = defaultdict(list)
    for a in allocations:
        by_invoice[a.invoice_id].append(a)
    reference = bulk.reference_of(movement)
    for invoice_id, parts in by_invoice.items():
        inv = find_invoice(session, invoice_id, lock=True)
        label = document_label(inv.serie, inv.numero)
        if inv.direction != direction:
            message = (_("line {line} is a credit (abono): it pays receivables, and {label} is a payable")
                       if movement.amount > 0 else
                       _("line {line} is a debit (cargo): it pays payables, and {label} is a receivable"))
            raise ValidationError(message.format(line=movement.id, label=label))
        if inv.currency != movement.currency:
            raise ValidationError(_("line {line} is in {currency}; {label} is in {other}")
                                  .format(line=movement.id, currency=movement.currency, label=label,
                                          other=inv.currency))
        insert_payments(session, actor=actor, inv=inv, today=today, bank_line_id=movement.id,
                        items=[(a.cents, movement.line_date, a.method, reference) for a in parts])
    done = session.execute(update(bank_line).where(bank_line.c.id == movement.id, bank_line.c.state == "unmatched")
                           .values(state="matched", ignore_reason=None))
    if done.rowcount != 1:
        raise Conflict(_("line {line} was matched or ignored meanwhile; see `cuentas bank review --all`")
                       .format(line=movement.id))
    audit.record(session, actor, action="bank.confirm", entity="bank_line", entity_id=movement.id,
                 after={"how": how, "score": score, "amount": f"{money(movement.amount):.2f}",
                        "payments": [{"invoice_id": a.invoice_id, "amount": f"{money(a.cents):.2f}",
                                      "method": a.method} for a in allocations]})
    return len(allocations)


def _one_line(session: "Session", line_id: int, *, lock: bool = True) -> tuple[matching.Movement, str, str]:
    found = _lines(session, account=None, states=("unmatched", "matched", "ignored"), line_ids=[line_id], lock=lock)
    if not found:
        raise NotFound(_("no bank line {line}; see `cuentas bank review --all`").format(line=line_id))
    return found[0]


def parse_allocations(session: "Session", movement: matching.Movement, specs: Sequence[str], *,
                      method: str | None, retencion: bool) -> list[matching.Allocation]:
    """`INVOICE[:AMOUNT]` (id or serie-número) -> allocations. One invoice without an amount
    takes the movement's amount; with several, an invoice without an amount takes what it owes
    (its detracción on the detracciones account)."""
    from cuentas_cli.ledger.balances import balance_of

    default = "detraccion" if movement.detracciones and movement.amount > 0 else "transferencia"
    chosen = normalise_method(method) if method else default
    if chosen == "retencion":
        raise UsageError(_("--method retencion: a retención is not a bank movement; use --retencion to record "
                           "each invoice's retención with the payment"))
    out: list[matching.Allocation] = []
    for spec in specs:
        ref, sep, amount = spec.rpartition(":") if ":" in spec else (spec, "", "")
        inv = find_invoice(session, ref.strip())
        if sep:
            cents = documents.parse_amount(amount, field=_("amount of {ref}").format(ref=ref), currency=inv.currency)
        elif len(specs) == 1:
            cents = abs(movement.amount)
        elif chosen == "detraccion":
            cents = int(inv.detraccion_cents)
        else:
            cents = balance_of(inv) - (int(inv.retencion_cents) if retencion else 0)
        out.append(matching.Allocation(inv.id, cents, chosen))
        if retencion:
            if not inv.retencion_cents:
                raise ValidationError(_("{label} carries no retención").format(label=document_label(inv.serie,
                                                                                                      inv.numero)))
            out.append(matching.Allocation(inv.id, int(inv.retencion_cents), "retencion"))
    return out


def confirm(*, session: "Session", actor: Actor | None, today: date, line_id: int, specs: Sequence[str],
            proposal: int | None = None, method: str | None = None, retencion: bool = False) -> LineView:
    """Record the payments of one movement: the invoices named, or one of its proposals."""
    require(actor, "invoices.operate")
    movement, state, name = _one_line(session, line_id)
    _check_open(movement, state)
    if specs:
        if proposal is not None:
            raise UsageError(_("give the invoices or --proposal, not both"))
        allocations = parse_allocations(session, movement, specs, method=method, retencion=retencion)
        how, score = "manual", None
    else:
        if method or retencion:
            raise UsageError(_("--method and --retencion go with the invoices named"))
        result = matching.propose(load_book(session, [movement]), movement)
        pays = [p for p in result.proposals if p.kind == "pay"]
        if not pays:
            raise ValidationError(_("line {line} has no proposal; name the invoices: `cuentas bank confirm {line} "
                                    "F001-123[:AMOUNT]`").format(line=line_id))
        if proposal is None:
            if len(pays) > 1 and pays[1].score == pays[0].score:
                raise ValidationError(_("line {line} has {n} proposals as likely as each other; choose one with "
                                        "--proposal N (see `cuentas bank review`) or name the invoices")
                                      .format(line=line_id, n=sum(p.score == pays[0].score for p in pays)))
            proposal = 1
        if not 1 <= proposal <= len(pays):
            raise UsageError(_("--proposal goes from 1 to {n} for line {line}").format(n=len(pays), line=line_id))
        allocations = list(pays[proposal - 1].allocations)
        how, score = "proposal", pays[proposal - 1].score
    _record(session, actor, today, movement, allocations, how=how, score=score)
    view = _view(movement, "matched", name)
    view.documents = _matched_documents(session, [line_id]).get(line_id, "")
    return view


def _check_open(movement: matching.Movement, state: str) -> None:
    if state == "matched":
        raise Conflict(_("line {line} is already matched; `cuentas bank undo {line}` first").format(line=movement.id))
    if state == "ignored":
        raise Conflict(_("line {line} is ignored; `cuentas bank undo {line}` first").format(line=movement.id))


def ignore(*, session: "Session", actor: Actor | None, line_id: int, reason: str) -> LineView:
    """Set a movement aside: a bank fee, a transfer between the company's accounts."""
    from sqlalchemy import update

    from cuentas_cli.db.tables import bank_line

    require(actor, "invoices.operate")
    text = " ".join((reason or "").split())
    if not text:
        raise UsageError(_("--reason is required: say why the movement is not a payment (e.g. \"comisión\")"))
    if len(text) > MAX_REASON:
        raise ValidationError(_("--reason: at most {n} characters").format(n=MAX_REASON))
    movement, state, name = _one_line(session, line_id)
    _check_open(movement, state)
    session.execute(update(bank_line).where(bank_line.c.id == line_id).values(state="ignored", ignore_reason=text))
    audit.record(session, actor, action="bank.ignore", entity="bank_line", entity_id=line_id, after={"reason": text})
    view = _view(movement, "ignored", name)
    view.why = text
    return view


@dataclass
class Undone:
    view: LineView
    state_before: str
    payments: int
    documents: str


def undo(*, session: "Session", actor: Actor | None, today: date, line_id: int) -> Undone:
    """Take back a confirmation (its payments deleted; the balances and statuses come back) or an
    ignore. Needs invoices.operate: it removes only the payments the reconciliation recorded."""
    from sqlalchemy import select, update

    from cuentas_cli.db.tables import bank_line, payment

    require(actor, "invoices.operate")
    movement, state, name = _one_line(session, line_id)
    if state == "unmatched":
        raise ValidationError(_("line {line} is neither matched nor ignored: nothing to undo").format(line=line_id))
    linked = session.execute(select(payment.c.id, payment.c.invoice_id).where(payment.c.bank_line_id == line_id)
                             .order_by(payment.c.id)).all()
    shown = _matched_documents(session, [line_id]).get(line_id, "")
    by_invoice: dict[int, list[int]] = defaultdict(list)
    for pid, invoice_id in linked:
        by_invoice[invoice_id].append(pid)
    for invoice_id, ids in sorted(by_invoice.items()):
        inv = find_invoice(session, invoice_id, lock=True)
        remove_payments(session, actor=actor, inv=inv, today=today, payment_ids=ids, reason={"bank_line": line_id})
    session.execute(update(bank_line).where(bank_line.c.id == line_id).values(state="unmatched", ignore_reason=None))
    audit.record(session, actor, action="bank.undo", entity="bank_line", entity_id=line_id,
                 before={"state": state, "payments": len(linked)}, after={"state": "unmatched"})
    return Undone(_view(movement, "unmatched", name), state, len(linked), shown)


def _matched_documents(session: "Session", line_ids: Sequence[int]) -> dict[int, str]:
    from sqlalchemy import select

    from cuentas_cli.db.tables import invoice, payment

    out: dict[int, list[str]] = defaultdict(list)
    ids = list(line_ids)
    for start in range(0, len(ids), 5000):
        for r in session.execute(
                select(payment.c.bank_line_id, invoice.c.serie, invoice.c.numero, payment.c.amount_cents,
                       payment.c.method)
                .join(invoice, invoice.c.id == payment.c.invoice_id)
                .where(payment.c.bank_line_id.in_(ids[start:start + 5000])).order_by(payment.c.id)):
            out[r.bank_line_id].append(f"{document_label(r.serie, r.numero)} {money(r.amount_cents):.2f}"
                                       + ("" if r.method == "transferencia" else f" ({r.method})"))
    return {k: ", ".join(v) for k, v in out.items()}


def review(*, session: "Session", actor: Actor | None, account: str | None = None,
           states: Sequence[str] = ("unmatched",)) -> list[LineView]:
    """The movements in `states`, each with its documents (matched), reason (ignored) or best
    proposal and every proposal (unmatched)."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import bank_line

    require(actor, "read")
    rows = _lines(session, account=account, states=states)
    pending = [m for m, s, _a in rows if s == "unmatched"]
    book = load_book(session, pending)
    results = {m.id: matching.propose(book, m) for m in pending}
    labels = _labels(session, {a.invoice_id for r in results.values() for p in r.proposals for a in p.allocations})
    matched = _matched_documents(session, [m.id for m, s, _a in rows if s == "matched"])
    reasons = dict(session.execute(select(bank_line.c.id, bank_line.c.ignore_reason).where(
        bank_line.c.id.in_([m.id for m, s, _a in rows if s == "ignored"])))) if any(s == "ignored" for _m, s, _a in rows) else {}
    out = []
    for movement, state, name in rows:
        view = _view(movement, state, name)
        if state == "matched":
            view.documents = matched.get(movement.id, "")
        elif state == "ignored":
            view.why = reasons.get(movement.id) or ""
        else:
            result = results[movement.id]
            view.proposals = [_proposal_record(p, labels) for p in result.proposals]
            if result.best is not None:
                view.documents, view.score, view.why = (_documents_text(result.best, labels), result.best.score,
                                                        result.best.why())
        out.append(view)
    return out


@dataclass
class StatusRow:
    account: str
    month: str
    currency: str
    movements: int
    credits: Decimal
    debits: Decimal
    matched: int
    recorded: Decimal  # the payments linked to its movements (receipts +, payments made -; no retenciones)
    ignored: int
    ignored_amount: Decimal
    unmatched: int
    unmatched_amount: Decimal
    difference: Decimal  # movements - recorded - ignored: what is still to reconcile


def status(*, session: "Session", actor: Actor | None, account: str | None = None) -> list[StatusRow]:
    """Per account and month: the movements against the payments recorded from them."""
    from sqlalchemy import func, select

    from cuentas_cli.db.tables import bank_account, bank_line, payment

    require(actor, "read")
    L, A = bank_line.c, bank_account.c
    linked = (select(payment.c.bank_line_id.label("line_id"), func.sum(payment.c.amount_cents).label("cents"))
              .where(payment.c.bank_line_id.is_not(None), payment.c.method != "retencion")
              .group_by(payment.c.bank_line_id).subquery())
    query = (select(A.name, A.currency, L.line_date, L.amount_cents, L.state, linked.c.cents)
             .join(bank_account, A.id == L.account_id).outerjoin(linked, linked.c.line_id == L.id)
             .order_by(A.name, L.line_date))
    if account is not None:
        query = query.where(L.account_id == find_account(session, account).id)
    sums: dict[tuple[str, str, str], dict[str, int]] = {}
    for r in session.execute(query):
        key = (r.name, f"{r.line_date:%Y-%m}", r.currency)
        s = sums.setdefault(key, defaultdict(int))
        amount = int(r.amount_cents)
        s["movements"] += 1
        s["credits" if amount > 0 else "debits"] += abs(amount)
        s[r.state] += 1
        s[r.state + "_amount"] += amount
        s["recorded"] += int(r.cents or 0) * (1 if amount > 0 else -1)
    out = []
    for (name, month, currency), s in sums.items():
        net = s["credits"] - s["debits"]
        out.append(StatusRow(name, f"{month[5:]}/{month[:4]}", currency, s["movements"], money(s["credits"]),
                             money(s["debits"]), s["matched"], money(s["recorded"]), s["ignored"],
                             money(s["ignored_amount"]), s["unmatched"], money(s["unmatched_amount"]),
                             money(net - s["recorded"] - s["ignored_amount"])))
    return out
