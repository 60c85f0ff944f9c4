"""Reminder templates: Jinja2 in a sandbox, rendered from a documented context. Pure rendering:
no database, no terminal (the stored templates are in `template_store`, the context's data is
gathered by `messages`).

Each reminder level has three parts: `subject` (one line; whitespace is collapsed), `text` (the
plain-text body) and `html` (the body of the HTML part: the <html>/<body> wrapper is added here).
The defaults are files in `default_templates/`, written in English with the i18n extension
(`{% trans %}`, `_()`), so their words are in the gettext catalog and come out in the language of
`notify.language` (the clients' language, not the operator's `--lang`). A firm's own template is
stored as written, in whatever language it is written in.

Safety: `jinja2.sandbox.SandboxedEnvironment` (no `__class__`, `__globals__`, `_private` or
other internals: such access raises SecurityError, reported as a TemplateProblem), StrictUndefined
(an unknown name is an error, never an empty string), autoescape on for HTML and off for the
subject and text. A template is validated before it is stored (`validate`): its syntax, the names
it uses against VARIABLES, and a render against `sample_context()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from cuentas_cli.i18n import N_

PARTS = ("subject", "text", "html")
DEFAULT_DIR = Path(__file__).resolve().parent / "default_templates"
MAX_LINES = 300  # invoices listed in one message; the rest are summarised in one line
MAX_TEMPLATE_CHARS = 100_000

# The names a template may use (each documented in VARIABLES), and the globals Jinja adds.
VARIABLES: dict[str, str] = {
    "greeting": N_("The salutation: 'Estimado(a) Jorge Luis Huamán Torres:' for a person, 'Señores de "
                   "EMPRESA S.A.C.:' for a company, neutral for several parties"),
    "party": N_("The client: name, document (RUC/DNI number), doc_type, kind (natural or empresa), "
                "display_name (a person's name in natural order), greeting"),
    "parties": N_("Every client of the message (one address may serve several), each as party"),
    "documents": N_("The invoices: document (F001-123), party, issue_date, due_date (print as 15/06/2026; "
                    "| long_date gives '15 de junio de 2026'), situation ('vence en 3 días'), days (days "
                    "past due, negative before), currency, balance (S/ 1,180.00), balance_cents, level"),
    "more": N_("How many invoices were left out of documents (more than 300)"),
    "count": N_("How many invoices the message is about"),
    "overdue": N_("Whether any invoice is past its due date"),
    "due_today": N_("Whether any invoice is due today"),
    "totals": N_("The balance per currency: currency, balance (formatted), balance_cents"),
    "total": N_("The balances of every currency in one text: 'S/ 1,770.00; US$ 1,180.00'"),
    "company": N_("The company: name, ruc"),
    "bank_accounts": N_("The company's accounts to pay into: name, bank, bank_name, currency, number, cci"),
    "detracciones": N_("The Banco de la Nación detracciones account (bank_name, number, cci), or none"),
    "level": N_("The reminder level: days from the due date (-3 before it, 0 the day, 7 after)"),
    "today": N_("The day of the reminder (print as 15/06/2026, | long_date for the long form)"),
    "statement": N_("statement.attached: whether the statement of account goes attached"),
}
# no `range`: a template loops over its data only (nested loops over range() could run for hours)
JINJA_GLOBALS = ("namespace", "_", "gettext", "ngettext", "pgettext", "npgettext")
MAX_OUTPUT_CHARS = 1_000_000  # a rendered part longer than this is refused
MAX_REPEAT = 10_000  # 'x' * n and [..] * n beyond this, and n ** m beyond MAX_POWER, are refused
MAX_POWER = 64
MAX_PAD = 200  # the widest column | pad() and | rpad() make
FILTERS_HELP: dict[str, str] = {
    "money": N_("cents | money(currency): 'S/ 1,234.56'"),
    "date": N_("a day as 15/06/2026"),
    "long_date": N_("a day as '15 de junio de 2026' (June 15, 2026 in English)"),
    "pad": N_("text | pad(16): padded with spaces to a width (for the plain-text table)"),
    "rpad": N_("text | rpad(14): right-aligned to a width"),
}
MONTHS = (N_("January"), N_("February"), N_("March"), N_("April"), N_("May"), N_("June"), N_("July"),
          N_("August"), N_("September"), N_("October"), N_("November"), N_("December"))
LONG_DATE = N_("{month} {day}, {year}")


class TemplateProblem(Exception):
    """A template that cannot be used: `line` (1-based, 0 when unknown) and what is wrong."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class Day(date):
    """A date that prints as people write it in Peru: 15/06/2026."""

    def __str__(self) -> str:
        return f"{self:%d/%m/%Y}"

    @classmethod
    def of(cls, value: date) -> "Day":
        return cls(value.year, value.month, value.day)


# --- the environment -----------------------------------------------------------------------------


def _as_day(value: Any) -> date:
    if isinstance(value, date):
        return value
    from cuentas_cli.rules.dates import parse_day

    return parse_day(str(value))


def _filters(gettext) -> dict[str, Any]:  # noqa: ANN001
    from cuentas_cli.integrations.email import money

    def money_filter(cents: Any, currency: str = "PEN") -> str:
        return money(int(cents), str(currency))

    def date_filter(value: Any) -> str:
        return f"{_as_day(value):%d/%m/%Y}"

    def long_date(value: Any) -> str:
        day = _as_day(value)
        return gettext(LONG_DATE).format(day=day.day, month=gettext(MONTHS[day.month - 1]), year=day.year)

    def pad(value: Any, width: int = 0) -> str:
        return f"{str(value):{min(int(width), MAX_PAD)}}"

    def rpad(value: Any, width: int = 0) -> str:
        return f"{str(value):>{min(int(width), MAX_PAD)}}"

    return {"money": money_filter, "date": date_filter, "long_date": long_date, "pad": pad, "rpad": rpad}


def _bounded_environment_class():  # noqa: ANN202
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import SandboxedEnvironment

    class Bounded(SandboxedEnvironment):
        """The sandbox, with `*` and `**` kept from building huge values (memory, CPU)."""

        intercepted_binops = frozenset(["*", "**"])

        def call_binop(self, context, operator, left, right):  # noqa: ANN001, ANN201
            if operator == "*":
                for seq, n in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and n * max(len(seq), 1) > MAX_REPEAT:
                        raise SecurityError("repetition too large")
            if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_POWER:
                raise SecurityError("power too large")
            return super().call_binop(context, operator, left, right)

    return Bounded


@lru_cache(maxsize=8)
def environment(language: str, html: bool):  # noqa: ANN201 - jinja2.sandbox.SandboxedEnvironment
    """The sandboxed environment of one language; autoescape for HTML only."""
    from jinja2 import StrictUndefined

    from cuentas_cli import i18n

    env = _bounded_environment_class()(autoescape=html, undefined=StrictUndefined, extensions=["jinja2.ext.i18n"],
                                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.policies["ext.i18n.trimmed"] = True
    translations = i18n.catalog(language)
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    kept = {name: env.globals[name] for name in JINJA_GLOBALS if name in env.globals}
    env.globals.clear()
    env.globals.update(kept)
    env.filters.update(_filters(translations.gettext))
    return env


@lru_cache(maxsize=32)
def default_source(kind: str, part: str) -> str:
    """A shipped template: kind reminder|payables|digest|webhook|sample, part subject|text|html."""
    return (DEFAULT_DIR / f"{kind}.{part}.j2").read_text(encoding="utf-8")


def _line_of(exc: BaseException) -> int:
    """The template line a render error happened on (Jinja rewrites the traceback to the template)."""
    line = 0
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@lru_cache(maxsize=128)
def _compiled(source: str, html: bool, language: str):  # noqa: ANN202 - a run renders each template many times
    return environment(language, html).from_string(source)


def compile_template(source: str, *, part: str, language: str):  # noqa: ANN201 - jinja2.Template
    from jinja2 import TemplateSyntaxError

    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateProblem(N_("the template is longer than 100,000 characters"))
    try:
        return _compiled(source, part == "html", language)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(exc.message or "syntax error", exc.lineno or 0) from None


def render(source: str, context: dict[str, Any], *, part: str, language: str) -> str:
    """One part rendered; TemplateProblem (with the line) for anything that goes wrong."""
    from jinja2 import TemplateError
    from jinja2.exceptions import SecurityError

    template = compile_template(source, part=part, language=language)
    try:
        pieces, size = [], 0
        for piece in template.generate(context):
            size += len(piece)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateProblem(N_("the template's output is longer than 1,000,000 characters"), 0)
            pieces.append(piece)
        out = "".join(pieces)
    except SecurityError as exc:
        raise TemplateProblem(f"not allowed in a template: {exc}", _line_of(exc)) from None
    except TemplateError as exc:
        raise TemplateProblem(str(exc.message or exc), _line_of(exc)) from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise TemplateProblem(f"{type(exc).__name__}: {exc}", _line_of(exc)) from None
    if part == "subject":
        return " ".join(out.split())
    return out


def undeclared(source: str, *, part: str, language: str, allowed: set[str]) -> list[tuple[str, int]]:
    """Names the template reads that are neither documented nor set by the template itself,
    with the first line each is used on."""
    from jinja2 import TemplateSyntaxError, meta, nodes

    env = environment(language, part == "html")
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(exc.message or "syntax error", exc.lineno or 0) from None
    # a name the template sets itself (even inside an if, which Jinja counts as maybe undeclared)
    assigned = {node.name for node in tree.find_all(nodes.Name) if node.ctx in ("store", "param")}
    unknown = meta.find_undeclared_variables(tree) - allowed - set(env.globals) - assigned
    found = []
    for name in sorted(unknown):
        lines = [node.lineno for node in tree.find_all(nodes.Name) if node.name == name and node.ctx == "load"]
        found.append((name, min(lines) if lines else 0))
    return sorted(found, key=lambda item: (item[1], item[0]))


def validate(source: str, *, part: str, language: str) -> None:
    """Refuse a template before it is stored: a syntax error, an undocumented name, or any error
    rendering the sample context (each with its line)."""
    if part not in PARTS:
        raise TemplateProblem(f"unknown part {part!r} (use subject, text or html)")
    unknown = undeclared(source, part=part, language=language, allowed=set(VARIABLES))
    if unknown:
        name, line = unknown[0]
        raise TemplateProblem(f"unknown variable {name!r} (see `cuentas notify templates show --vars`)", line)
    out = render(source, sample_context(language), part=part, language=language)
    if part == "subject" and not out:
        raise TemplateProblem(N_("the subject comes out empty"), 1)
    # the run must not fail at 7:30 for a client with one invoice, a company without bank
    # accounts or detracciones account, or no company name: the sparse sample too
    try:
        render(source, sample_context(language, sparse=True), part=part, language=language)
    except TemplateProblem as problem:
        raise TemplateProblem(f"{problem.message} (with one invoice, no company name, no bank account: guard "
                              "it with {% if ... %})", problem.line) from None


def html_document(body: str, language: str) -> str:
    """The HTML part around a rendered body."""
    return (f"<!DOCTYPE html><html lang='{language}'><head><meta charset='utf-8'></head>"
            f"<body style='font-family:sans-serif'>{body}</body></html>")


# --- the context ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One invoice in a message."""

    direction: str  # receivable | payable
    document: str  # F001-123
    party: str
    issue_date: date
    due_date: date
    currency: str
    balance_cents: int
    doc_type: str = ""
    doc_number: str = ""
    level: int = 0
    party_id: int | None = None  # whose statement goes attached at an `attach` level

    def situation(self, today: date, gettext=lambda s: s) -> str:  # noqa: ANN001
        days = (self.due_date - today).days
        if days > 1:
            return gettext(N_("due in {days} days")).format(days=days)
        if days == 1:
            return gettext(N_("due tomorrow"))
        if days == 0:
            return gettext(N_("due today"))
        if days == -1:
            return gettext(N_("1 day overdue"))
        return gettext(N_("{days} days overdue")).format(days=-days)


def _sums(lines: list[Line]) -> dict[str, int]:
    sums: dict[str, int] = {}
    for line in lines:
        sums[line.currency] = sums.get(line.currency, 0) + line.balance_cents
    return sums


def totals_of(sums: dict[str, int]) -> tuple[list[dict[str, Any]], str]:
    from cuentas_cli.integrations.email import money

    order = sorted(sums, key=lambda c: (c != "PEN", c))
    rows = [{"currency": c, "balance": money(sums[c], c), "balance_cents": sums[c]} for c in order]
    return rows, "; ".join(row["balance"] for row in rows) or "—"


def document_of(line: Line, today: date, gettext) -> dict[str, Any]:  # noqa: ANN001
    from cuentas_cli.integrations.email import money

    return {"document": line.document, "party": line.party, "issue_date": Day.of(line.issue_date),
            "due_date": Day.of(line.due_date), "situation": line.situation(today, gettext),
            "days": (today - line.due_date).days, "currency": line.currency,
            "balance": money(line.balance_cents, line.currency), "balance_cents": line.balance_cents,
            "level": line.level, "kind": line.direction}


def _account(account: Any) -> dict[str, Any]:
    return {"name": account.name, "bank": account.bank, "bank_name": account.bank_name,
            "currency": account.currency, "number": account.number, "cci": account.cci or ""}


def message_context(*, lines: list[Line], today: date, language: str, level: int, company: str = "",
                    ruc: str = "", bank_accounts: list | tuple = (), attach: bool = False) -> dict[str, Any]:
    """The documented context (VARIABLES) of a message about `lines`."""
    from cuentas_cli import i18n
    from cuentas_cli.reminders import greeting as greet

    gettext = i18n.catalog(language).gettext
    seen: dict[tuple, greet.Addressee] = {}
    for line in lines:
        seen.setdefault((line.doc_type, line.doc_number, line.party),
                        greet.Addressee(line.party, line.doc_type, line.doc_number))
    addressees = sorted(seen.values(), key=lambda a: a.name)
    salutation = greet.greeting(addressees, gettext)

    def party(a: greet.Addressee) -> dict[str, Any]:
        return {"name": a.name, "document": a.doc_number, "doc_type": a.doc_type,
                "kind": "natural" if a.natural else "empresa", "display_name": greet.display_name(a),
                "greeting": greet.greeting([a], gettext)}

    parties = [party(a) for a in addressees]
    sums = _sums(lines)
    total_rows, total_text = totals_of(sums)
    accounts = [a for a in bank_accounts if not a.detracciones]
    detracciones = next((a for a in bank_accounts if a.detracciones), None)
    return {
        "greeting": salutation,
        "party": parties[0] if parties else {"name": "", "document": "", "doc_type": "", "kind": "empresa",
                                             "display_name": "", "greeting": salutation},
        "parties": parties,
        "documents": [document_of(line, today, gettext) for line in lines[:MAX_LINES]],
        "more": max(len(lines) - MAX_LINES, 0),
        "count": len(lines),
        "overdue": any(line.due_date < today for line in lines),
        "due_today": any(line.due_date == today for line in lines),
        "totals": total_rows,
        "total": total_text,
        "company": {"name": company, "ruc": ruc},
        "bank_accounts": [_account(a) for a in accounts],
        "detracciones": _account(detracciones) if detracciones else None,
        "level": level,
        "today": Day.of(today),
        "statement": {"attached": bool(attach)},
    }


@dataclass(frozen=True)
class SampleAccount:
    name: str
    bank: str
    bank_name: str
    currency: str
    number: str
    cci: str | None
    detracciones: bool = False


def sample_context(language: str, *, sparse: bool = False) -> dict[str, Any]:
    """A context with every documented name filled in, for validation and `templates show --sample`;
    `sparse`: the least a message can have (one invoice, no company name, no bank account)."""
    today = date(2026, 6, 15)
    lines = [
        Line("receivable", "F001-123", "HUAMÁN TORRES JORGE LUIS", date(2026, 5, 16), date(2026, 6, 15), "PEN",
             118_000, "6", "10456789019", 0),
        Line("receivable", "F001-130", "HUAMÁN TORRES JORGE LUIS", date(2026, 5, 1), date(2026, 5, 31), "USD",
             59_000, "6", "10456789019", 7),
    ]
    accounts = [SampleAccount("soles-bcp", "BCP", "Banco de Crédito del Perú", "PEN", "193-1234567-0-12",
                              "00219300123456701212"),
                SampleAccount("detracciones", "BN", "Banco de la Nación", "PEN", "00-012-345678", None, True)]
    if sparse:
        return message_context(lines=lines[:1], today=today, language=language, level=0)
    return message_context(lines=lines, today=today, language=language, level=7, company="EMPRESA DEMO S.A.C.",
                           ruc="20123456789", bank_accounts=accounts, attach=True)
