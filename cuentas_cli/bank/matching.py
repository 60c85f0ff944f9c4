"""Proposals for bank movements: which open invoices a credit or a debit pays, with a score and
its reasons. Pure: the caller loads the movements, the open documents and the parties
(bank/reconcile.py) and records what is confirmed.

The evidence a movement carries, in the order it weighs:

- a serie-número in the description (`F001-123`, `F001 00000123`, `F001-120/121`): the
  documents it names, of the right side (credits pay receivables, debits payables);
- a party: a valid RUC in the description (the Banco de la Nación keeps the depositor's), or the
  party's name as banks write it (upper case, truncated, without the legal form);
- the amount: equal to a document's open balance, or to the balance net of the detracción still
  to be deposited (a client pays the rest into the ordinary account) or of the retención (an
  agente de retención pays the rest and gives the certificate); for several documents of the
  same party, a bounded subset sum (2 to 4 of its 16 oldest documents);
- the date: a movement dated before a document was issued cannot pay it; one within the
  document's term (until 90 days after its due date) adds a little.

On the detracciones account a credit is a detracción deposit: it matches the detracción part of
the receivables (method detraccion), never their balance. Bank fees and transfers between the
company's own accounts are proposed to be ignored, never auto-applied.

`--auto` takes a line's best proposal only when it scores at least the threshold, no other
proposal of that line comes within AMBIGUITY points of it, and no other auto-taken line claims
one of its documents: a wrong automatic payment costs more than a line left for review.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import combinations
from typing import Iterable

from cuentas_cli.i18n import N_, _
from cuentas_cli.rules.identity import ruc_check_digit

THRESHOLD = 80
AMBIGUITY = 15
MAX_PROPOSALS = 5
SUBSET_POOL = 16  # a party's oldest open documents tried for one deposit paying several
SUBSET_MAX = 4
TERM_DAYS = 90

W_DOCUMENT, W_RUC, W_NAME, W_AMOUNT, W_SUBSET, W_PARTIAL, W_DATE, W_ALONE = 50, 35, 30, 45, 30, 10, 5, 5

REASONS = {
    "document": N_("its serie-número is in the description"),
    "ruc": N_("the party's RUC is in the description"),
    "name": N_("the party's name is in the description"),
    "amount": N_("the amount is the open balance"),
    "net_detraccion": N_("the amount is the balance net of the detracción"),
    "net_retencion": N_("the amount is the balance net of the retención (the retención is recorded too)"),
    "detraccion": N_("the amount is the detracción still to be deposited"),
    "several": N_("the amount pays several documents of the party"),
    "partial": N_("the amount is less than the balance: a partial payment"),
    "date": N_("dated within the document's term"),
    "alone": N_("the only open document with that amount"),
    "bank_fee": N_("a bank fee or tax: ignore it"),
    "own_transfer": N_("a transfer between the company's own accounts: ignore it"),
}

LEGAL_FORMS = frozenset({"S", "A", "C", "SA", "SAC", "SAA", "SRL", "SCRL", "EIRL", "E", "I", "R", "L", "SOCIEDAD",
                         "ANONIMA", "CERRADA", "ABIERTA", "EMPRESA", "INDIVIDUAL", "RESPONSABILIDAD", "LIMITADA",
                         "DE", "DEL", "LA", "LAS", "LOS", "EL", "Y"})
FEE_WORDS = ("COMISION", "ITF", "MANTENIMIENTO", "PORTES", "IMPUESTO", "INTERES", "GASTOS", "CARGO POR", "COM.")
OWN_WORDS = ("TRASPASO", "ENTRE CUENTAS", "CUENTA PROPIA", "TRANSF PROPIA", "TRANSFERENCIA PROPIA")
_DOC = re.compile(r"(?<![A-Z0-9])([FBE][A-Z0-9]{3})\s?[-/ ]?\s?0*(\d{1,8})((?:\s?[/,]\s?0*\d{1,8})*)(?![0-9])")
_MORE = re.compile(r"\d{1,8}")
_RUC = re.compile(r"(?<!\d)((?:10|15|16|17|20)\d{9})(?!\d)")
_WORD = re.compile(r"[A-Z0-9]+")


@dataclass(frozen=True)
class Movement:
    id: int
    account_id: int
    currency: str
    detracciones: bool  # the Banco de la Nación detracciones account
    line_date: date
    amount: int  # céntimos: > 0 a credit (abono), < 0 a debit (cargo)
    description: str
    operation: str | None = None  # the bank's operation number; a reference may be written there too


@dataclass(frozen=True)
class OpenDocument:
    id: int
    direction: str
    party_id: int
    serie: str
    numero: int
    currency: str
    issue_date: date
    due_date: date
    balance: int  # céntimos still open
    detraccion: int = 0  # detracción not yet deposited (céntimos)
    retencion: int = 0  # retención not yet recorded (céntimos)


@dataclass(frozen=True)
class PartyName:
    id: int
    kind: str
    doc_number: str
    name: str


@dataclass(frozen=True)
class Allocation:
    invoice_id: int
    cents: int
    method: str = "transferencia"


@dataclass
class Proposal:
    kind: str  # "pay" or "ignore"
    score: int
    reasons: tuple[str, ...]
    allocations: tuple[Allocation, ...] = ()

    @property
    def invoices(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(a.invoice_id for a in self.allocations))

    def why(self) -> str:
        return "; ".join(_(REASONS[r]) for r in self.reasons)


@dataclass
class LineProposals:
    line: Movement
    proposals: list[Proposal] = field(default_factory=list)

    @property
    def best(self) -> Proposal | None:
        return self.proposals[0] if self.proposals else None


def fold(text: str) -> str:
    """Upper case without accents, as banks write descriptions."""
    plain = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in plain if not unicodedata.combining(c)).upper()


def name_tokens(name: str) -> tuple[str, ...]:
    """The words of a party's name that identify it (legal form and particles left out)."""
    return tuple(w for w in _WORD.findall(fold(name)) if w not in LEGAL_FORMS)


def _valid_ruc(text: str) -> bool:
    return str(ruc_check_digit(text[:10])) == text[10]


class Book:
    """What the movements are matched against, indexed once for thousands of lines."""

    def __init__(self, documents: Iterable[OpenDocument], parties: Iterable[PartyName],
                 own_numbers: Iterable[str] = ()) -> None:
        self.docs: dict[int, OpenDocument] = {}
        self.by_number: dict[tuple[str, int], list[OpenDocument]] = defaultdict(list)
        self.by_party: dict[int, list[OpenDocument]] = defaultdict(list)
        self.by_amount: dict[tuple[str, str, int], list[OpenDocument]] = defaultdict(list)
        self.by_detraccion: dict[tuple[str, str, int], list[OpenDocument]] = defaultdict(list)
        for doc in documents:
            if doc.balance <= 0 and doc.detraccion <= 0:
                continue
            self.docs[doc.id] = doc
            self.by_number[(doc.serie, doc.numero)].append(doc)
            self.by_party[doc.party_id].append(doc)
            for target, _method in targets(doc):
                self.by_amount[(doc.direction, doc.currency, target)].append(doc)
            if doc.detraccion > 0:
                self.by_detraccion[(doc.direction, doc.currency, doc.detraccion)].append(doc)
        for docs in self.by_party.values():
            docs.sort(key=lambda d: (d.due_date, d.id))
        self.by_ruc: dict[tuple[str, str], PartyName] = {}
        self.by_first_word: dict[str, list[tuple[tuple[str, ...], PartyName]]] = defaultdict(list)
        for party in parties:
            self.by_ruc[(party.kind, party.doc_number)] = party
            tokens = name_tokens(party.name)
            if tokens and (len(tokens) > 1 or len(tokens[0]) >= 5):
                self.by_first_word[tokens[0]].append((tokens[:3], party))
        self.own_numbers = tuple(n for n in (re.sub(r"\D", "", x) for x in own_numbers) if len(n) >= 6)

    # --- evidence -----------------------------------------------------------------------------

    def documents_named(self, text: str, direction: str) -> list[OpenDocument]:
        found: list[OpenDocument] = []
        for match in _DOC.finditer(text):
            serie = match.group(1)
            numbers = [int(match.group(2))] + [int(n) for n in _MORE.findall(match.group(3) or "")]
            for numero in numbers:
                for doc in self.by_number.get((serie, numero), ()):
                    if doc.direction == direction and doc not in found:
                        found.append(doc)
        return found

    def parties_named(self, text: str, kind: str) -> tuple[list[PartyName], str]:
        """The parties a description names: by a valid RUC (strongest), else by name."""
        by_ruc = [self.by_ruc[(kind, r)] for r in _RUC.findall(text) if _valid_ruc(r) and (kind, r) in self.by_ruc]
        if by_ruc:
            return list(dict.fromkeys(by_ruc)), "ruc"
        words = [w for w in _WORD.findall(text) if w not in LEGAL_FORMS]  # as the names' words are kept
        best: list[PartyName] = []
        best_len = 0
        for i, word in enumerate(words):
            for tokens, party in self.by_first_word.get(word, ()):
                if party.kind != kind:
                    continue
                n = _matched(tokens, words, i)
                if n == 0:
                    continue
                if n > best_len:
                    best, best_len = [party], n
                elif n == best_len and party not in best:
                    best.append(party)
        return best, "name"

    def ignorable(self, line: Movement, text: str) -> str | None:
        digits = re.sub(r"\D", "", text)
        if any(number in digits for number in self.own_numbers) or any(w in text for w in OWN_WORDS):
            return "own_transfer"
        if line.amount < 0 and any(re.search(rf"(?<![A-Z]){re.escape(w)}", text) for w in FEE_WORDS):
            return "bank_fee"
        return None


def _matched(tokens: tuple[str, ...], words: list[str], start: int) -> int:
    """How many of a name's words follow in the description from `start` (the last one may be
    cut short by the bank, at least three letters); 0 unless the whole name, or its first two
    words, are there."""
    n = 0
    for k, token in enumerate(tokens):
        j = start + k
        if j >= len(words):
            break
        word = words[j]
        if word == token or (j == len(words) - 1 and len(word) >= 3 and token.startswith(word)):
            n += 1
        else:
            break
    return n if n == len(tokens) or n >= 2 else 0


def targets(doc: OpenDocument) -> list[tuple[int, str]]:
    """The amounts a single payment of the whole document may have, with the reason."""
    out = [(doc.balance, "amount")]
    if doc.detraccion and doc.balance - doc.detraccion > 0:
        out.append((doc.balance - doc.detraccion, "net_detraccion"))
    if doc.retencion and doc.balance - doc.retencion > 0:
        out.append((doc.balance - doc.retencion, "net_retencion"))
    return [t for t in out if t[0] > 0]


def _allocate(doc: OpenDocument, reason: str, cents: int, line_date: date) -> tuple[Allocation, ...]:
    if reason == "detraccion":
        return (Allocation(doc.id, cents, "detraccion"),)
    if reason == "net_retencion":
        return (Allocation(doc.id, cents), Allocation(doc.id, doc.retencion, "retencion"))
    return (Allocation(doc.id, cents),)


def _date_ok(doc: OpenDocument, day: date) -> bool:
    return doc.issue_date <= day


def _in_term(doc: OpenDocument, day: date) -> bool:
    return doc.issue_date <= day <= doc.due_date + timedelta(days=TERM_DAYS)


def _single(doc: OpenDocument, cents: int, detraccion_only: bool) -> str | None:
    """The reason a movement of `cents` pays `doc` whole, or None."""
    if detraccion_only:
        return "detraccion" if doc.detraccion == cents else None
    for target, reason in targets(doc):
        if target == cents:
            return reason
    if doc.direction == "payable" and doc.detraccion == cents:
        return "detraccion"  # the company deposits a supplier's detracción from its ordinary account
    return None


def propose(book: Book, line: Movement) -> LineProposals:
    """Every proposal for one movement, best first (at most MAX_PROPOSALS)."""
    out = LineProposals(line)
    text = fold(line.description)
    with_operation = f"{text} {fold(line.operation or '')}"
    cents = abs(line.amount)
    direction = "receivable" if line.amount > 0 else "payable"
    kind = "client" if direction == "receivable" else "supplier"
    detraccion_only = line.detracciones and direction == "receivable"
    ignore = book.ignorable(line, with_operation)
    if ignore:
        out.proposals.append(Proposal("ignore", 60, (ignore,)))
        return out

    def usable(doc: OpenDocument) -> bool:
        return doc.currency == line.currency and _date_ok(doc, line.line_date)

    proposals: dict[tuple[Allocation, ...], Proposal] = {}

    def add(score: int, reasons: list[str], allocations: tuple[Allocation, ...], docs: list[OpenDocument]) -> None:
        if all(_in_term(d, line.line_date) for d in docs):
            score, reasons = score + W_DATE, reasons + ["date"]
        score = min(score, 100)
        key = tuple(sorted(allocations, key=lambda a: (a.invoice_id, a.method)))
        if key not in proposals or proposals[key].score < score:
            proposals[key] = Proposal("pay", score, tuple(reasons), allocations)

    named = [d for d in book.documents_named(with_operation, direction) if usable(d)]
    parties, how = book.parties_named(text, kind)
    party_ids = {p.id for p in parties}
    party_weight = W_RUC if how == "ruc" else W_NAME
    if named:
        _by_documents(named, cents, line, party_ids, party_weight, how, detraccion_only, add)
    if parties and not proposals:
        # A name shared by several parties is ambiguous only if more than one of them has a
        # document the amount fits.
        fitting = [p for p in parties
                   if _party_fits([d for d in book.by_party.get(p.id, ()) if usable(d)], cents, detraccion_only)]
        for party in fitting or parties:
            docs = [d for d in book.by_party.get(party.id, ()) if usable(d)]
            _by_party(docs, cents, line, party_weight, how, detraccion_only, add, ambiguous=len(fitting) > 1)
    if not named and not parties:
        index = book.by_detraccion if detraccion_only else book.by_amount
        candidates = [d for d in index.get((direction, line.currency, cents), ()) if usable(d)]
        if direction == "payable":
            candidates += [d for d in book.by_detraccion.get((direction, line.currency, cents), ())
                           if usable(d) and d not in candidates]
        candidates.sort(key=lambda d: (abs((line.line_date - d.due_date).days), d.id))
        for doc in candidates[:MAX_PROPOSALS]:
            reason = _single(doc, cents, detraccion_only)
            if reason:
                extra = ["alone"] if len(candidates) == 1 else []
                add(W_AMOUNT + (W_ALONE if extra else 0), [reason] + extra,
                    _allocate(doc, reason, cents, line.line_date), [doc])
    out.proposals = sorted(proposals.values(), key=lambda p: (-p.score, p.invoices))[:MAX_PROPOSALS]
    return out


def _by_documents(named, cents, line, party_ids, party_weight, how, detraccion_only, add) -> None:  # noqa: ANN001
    """The description names documents: one paid whole (or in part), or all of them at once."""
    def with_party(docs: list[OpenDocument]) -> tuple[int, list[str]]:
        if party_ids and all(d.party_id in party_ids for d in docs):
            return party_weight, [how]
        return 0, []

    for doc in named:
        reason = _single(doc, cents, detraccion_only)
        bonus, extra = with_party([doc])
        if reason:
            add(W_DOCUMENT + W_AMOUNT + bonus, ["document", *extra, reason], _allocate(doc, reason, cents, line.line_date),
                [doc])
        elif not detraccion_only and cents < doc.balance:
            add(W_DOCUMENT + W_PARTIAL + bonus, ["document", *extra, "partial"], (Allocation(doc.id, cents),), [doc])
    if len(named) > 1 and not detraccion_only:
        same_party = len({d.party_id for d in named}) == 1
        for total_of in (lambda d: d.balance, lambda d: d.balance - d.detraccion):
            if sum(total_of(d) for d in named) == cents and same_party:
                bonus, extra = with_party(named)
                add(W_DOCUMENT + W_AMOUNT + bonus, ["document", *extra, "several"],
                    tuple(Allocation(d.id, total_of(d)) for d in named), named)
                break


def _party_fits(docs: list[OpenDocument], cents: int, detraccion_only: bool) -> bool:
    if any(_single(d, cents, detraccion_only) for d in docs):
        return True
    if detraccion_only:
        return False
    pool = docs[:SUBSET_POOL]
    amounts = [d.balance - d.detraccion if d.detraccion else d.balance for d in pool]
    return any(next(iter(_subsets(amounts, cents, size)), None) for size in range(2, SUBSET_MAX + 1))


def _by_party(docs, cents, line, party_weight, how, detraccion_only, add, *, ambiguous: bool) -> None:  # noqa: ANN001
    """The description names a party: one of its documents whole, else a few of them at once."""
    base = party_weight - (10 if ambiguous else 0)
    singles = [(d, r) for d in docs if (r := _single(d, cents, detraccion_only))]
    for doc, reason in singles:
        extra = ["alone"] if len(singles) == 1 else []
        add(base + W_AMOUNT + (W_ALONE if extra else 0), [how, reason, *extra],
            _allocate(doc, reason, cents, line.line_date), [doc])
    if singles or detraccion_only:
        return
    pool = docs[:SUBSET_POOL]
    amounts = [d.balance - d.detraccion if d.detraccion else d.balance for d in pool]
    found: list[tuple[int, ...]] = []
    for size in range(2, SUBSET_MAX + 1):
        for combo in _subsets(amounts, cents, size):
            found.append(combo)
            if len(found) > 3:
                break
        if found:
            break
    score = base + W_SUBSET + (W_ALONE * 2 if len(found) == 1 else -10)
    for combo in found[:3]:
        chosen = [pool[i] for i in combo]
        add(score, [how, "several"], tuple(Allocation(pool[i].id, amounts[i]) for i in combo), chosen)


def _subsets(amounts: list[int], target: int, size: int) -> Iterable[tuple[int, ...]]:
    """Index tuples of `size` amounts summing to `target`: pairs by lookup, larger sets by a
    lookup of their last element (at most 16 amounts, so at most 560 prefixes)."""
    where: dict[int, list[int]] = defaultdict(list)
    for i, amount in enumerate(amounts):
        where[amount].append(i)
    for prefix in combinations(range(len(amounts)), size - 1):
        rest = target - sum(amounts[i] for i in prefix)
        for j in where.get(rest, ()):
            if j > prefix[-1]:
                yield (*prefix, j)


def choose_automatic(results: list[LineProposals], book: Book, threshold: int = THRESHOLD) -> dict[int, Proposal]:
    """The proposals `--auto` records: line id -> proposal. Only payments; one per line; a line
    whose best is not clear of the next by AMBIGUITY is left for review, and so are all the lines
    that together claim more of a document than it owes (two deposits for one invoice; a net
    payment and its detracción deposit together are fine)."""
    picked: dict[int, Proposal] = {}
    for result in results:
        pays = [p for p in result.proposals if p.kind == "pay"]
        if not pays or pays[0].score < threshold:
            continue
        if len(pays) > 1 and pays[1].score > pays[0].score - AMBIGUITY:
            continue
        picked[result.line.id] = pays[0]
    claims: dict[int, list[int]] = defaultdict(list)
    claimed: dict[tuple[int, bool], int] = defaultdict(int)
    for line_id, proposal in picked.items():
        for allocation in proposal.allocations:
            claims[allocation.invoice_id].append(line_id)
            claimed[(allocation.invoice_id, allocation.method == "detraccion")] += allocation.cents
    contested: set[int] = set()
    for invoice_id, lines in claims.items():
        doc = book.docs[invoice_id]
        if (claimed[(invoice_id, False)] + claimed[(invoice_id, True)] > doc.balance
                or claimed[(invoice_id, True)] > doc.detraccion):
            contested.update(lines)
    return {k: v for k, v in picked.items() if k not in contested}
