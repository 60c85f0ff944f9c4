"""A bank's statement into `bank_line`: `cuentas bank import FILE --account NAME`.

The layout comes from a preset (a TOML data file in imports/bank_presets/: the usual downloads of
BCP, BBVA, Interbank, Scotiabank and the Banco de la Nación detracciones account), named with
`--preset` or recognised from the file's headers; else from Spanish or English headers (fecha,
descripción/concepto, monto/importe or cargo/abono, saldo, número de operación); else from
`--mapping FILE`. The header row is found below any title rows (sources.find_header).

A movement is a credit (abono, amount > 0) or a debit (cargo, amount < 0). Idempotent: each line
is stored with a hash of (account, date, amount, description, operation number, running balance,
and its occurrence among equal lines of the file), so the same or an overlapping download adds
nothing. When the file has a running balance it is checked in date order (the previous balance +
the movement = the line's balance) and every gap is reported; a gap is a warning, not a refusal
(a download that starts mid-month has no opening line).
"""

from __future__ import annotations

import hashlib
import time
from functools import lru_cache
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cuentas_cli.admin import audit
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.bank.accounts import find_account
from cuentas_cli.errors import UsageError, ValidationError
from cuentas_cli.i18n import _
from cuentas_cli.imports import sources
from cuentas_cli.imports.columns import cell_text, date_order
from cuentas_cli.imports.context import ImportResult, Job, Options, check_partial
from cuentas_cli.imports.payments import AmountReader
from cuentas_cli.imports.values import DateReader, RowError, unneutralise

if TYPE_CHECKING:
    from sqlmodel import Session

PRESETS_DIR = Path(__file__).with_name("bank_presets")
# Generic layout: field -> accepted headers (after sources.normalise_header).
GENERIC: dict[str, tuple[str, ...]] = {
    "date": ("fecha", "fecha de operacion", "fecha operacion", "f operacion", "date", "transaction date",
             "fecha movimiento", "fecha de movimiento"),
    "description": ("descripcion", "descripcion operacion", "concepto", "detalle", "glosa", "description",
                    "movimiento", "details", "narrative"),
    "amount": ("monto", "importe", "amount", "monto s", "importe s"),
    "debit": ("cargo", "cargos", "debito", "debitos", "retiro", "retiros", "debit", "withdrawal", "cargo s"),
    "credit": ("abono", "abonos", "credito", "creditos", "deposito", "depositos", "credit", "deposit", "abono s"),
    "balance": ("saldo", "saldo contable", "saldo disponible", "balance", "running balance"),
    "operation": ("nro operacion", "numero de operacion", "n operacion", "operacion numero", "nro de operacion",
                  "operation", "operation number", "referencia", "reference", "nro doc", "n doc"),
    "counterpart": ("ruc depositante", "ruc", "depositante", "counterpart"),
}
_GENERIC_INDEX = {alias: name for name, aliases in GENERIC.items() for alias in aliases}
FIELDS = tuple(GENERIC)


@dataclass(frozen=True)
class Preset:
    name: str
    bank: str
    title: str
    detect: tuple[str, ...]
    columns: dict[str, str]
    date_format: str | None = None
    decimal: str | None = None
    sign: str = "signed"  # signed | debit_credit


@lru_cache(maxsize=1)
def presets() -> dict[str, Preset]:
    """Every preset shipped as a data file, by name."""
    found = {}
    for path in sorted(PRESETS_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        opts = data.get("options", {})
        found[data["name"]] = Preset(data["name"], data["bank"], data["title"], tuple(data["detect"]),
                                     dict(data["columns"]), opts.get("date_format"), opts.get("decimal"),
                                     opts.get("sign", "signed"))
    return found


def _load_mapping(path: Path) -> Preset:
    """A --mapping TOML file: the preset format ([columns] and [options]) for any other layout."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(_("{path}: not a readable TOML mapping ({error})").format(path=path, error=exc)) from None
    columns = data.get("columns")
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise ValidationError(_("{path}: a mapping needs a [columns] table of field = \"Header\" (fields: {fields})")
                              .format(path=path, fields=", ".join(FIELDS)))
    unknown = sorted(set(columns) - set(FIELDS))
    if unknown:
        raise ValidationError(_("{path}: unknown field(s) {unknown}; use {fields}")
                              .format(path=path, unknown=", ".join(unknown), fields=", ".join(FIELDS)))
    opts = data.get("options", {})
    sign = "debit_credit" if {"debit", "credit"} & set(columns) else "signed"
    return Preset(path.stem, "", str(path.name), (), dict(columns), opts.get("date_format"), opts.get("decimal"),
                  opts.get("sign", sign))


def _normalised(header: list[str]) -> list[str]:
    return [sources.normalise_header(h) for h in header]


@lru_cache(maxsize=1)
def _preset_headers() -> frozenset[str]:
    return frozenset(sources.normalise_header(h) for p in presets().values() for h in (*p.detect, *p.columns.values()))


def _known(text: str) -> bool:
    """A header cell of a statement's header row (to find that row below the title rows)."""
    return text in _GENERIC_INDEX or text in _preset_headers()


def choose_layout(header: list[str], preset_name: str | None, mapping: Path | None) -> tuple[Preset, dict[str, int]]:
    """The layout of the file and each field's column."""
    norm = _normalised(header)
    if mapping is not None:
        layout = _load_mapping(mapping)
    elif preset_name is not None:
        known = presets()
        if preset_name not in known:
            raise UsageError(_("--preset {name!r}: use {names}").format(name=preset_name, names=", ".join(known)))
        layout = known[preset_name]
    else:
        layout = next((p for p in presets().values() if all(d in norm for d in p.detect)), None)
        if layout is None:
            columns = {}
            for text, n in zip(header, norm):
                name = _GENERIC_INDEX.get(n)
                if name and name not in columns:
                    columns[name] = text
            sign = "debit_credit" if {"debit", "credit"} <= set(columns) and "amount" not in columns else "signed"
            layout = Preset("generic", "", _("generic layout"), (), columns, None, None, sign)
    positions: dict[str, int] = {}
    for name, wanted in layout.columns.items():
        target = sources.normalise_header(wanted)
        if target in norm:
            positions[name] = norm.index(target)
    needed = ["date", "description"] + (["debit", "credit"] if layout.sign == "debit_credit" else ["amount"])
    missing = [n for n in needed if n not in positions]
    if missing:
        found = ", ".join(sources.printable(str(h).strip()) for h in header if h and str(h).strip()) or "(no header)"
        raise ValidationError(_("{layout}: missing column(s) {missing}. Found: {found}. Name them with --mapping FILE "
                                "or choose a --preset ({names})")
                              .format(layout=layout.title, missing=", ".join(missing), found=found,
                                      names=", ".join(presets())))
    return layout, positions


@dataclass
class StatementResult(ImportResult):
    account: str = ""
    layout: str = ""
    credits_cents: int = 0
    debits_cents: int = 0
    gaps: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        base = {k: v for k, v in super().summary().items() if k not in ("updated", "anulados", "parties_created")}
        return {**base, "account": self.account, "layout": self.layout,
                "credits": _money(self.credits_cents),
                "debits": _money(self.debits_cents), "balance_gaps": self.gaps}


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


@dataclass
class Line:
    row_no: int
    cells: list[Any]
    on: date
    cents: int
    description: str
    operation: str | None
    balance: int | None
    counterpart: str | None


def _read_lines(job: Job, layout: Preset, dates: DateReader, amounts: AmountReader) -> list[Line]:
    pos = job.pos
    names = {n: (str(job.header[i] or "").strip() or n) for n, i in pos.items()}

    def cell(cells: list[Any], name: str) -> Any:
        i = pos.get(name)
        if i is None or i >= len(cells):
            return None
        value = cells[i]
        if isinstance(value, str):
            value = unneutralise(value.strip()) or None
        return value

    lines = []
    for row_no, cells in job.source.rows():
        if isinstance(cells, sources.ShortRow):
            job.result.rows += 1
            job.error(row_no, "", "", cells.message, cells)
            continue
        raw_date = cell(cells, "date")
        if raw_date is None:
            continue  # a blank line, a subtotal or a footer without a date: not a movement
        job.result.rows += 1
        try:
            on = dates.parse(raw_date, names["date"], raw_date)
            if isinstance(on, RowError):
                raise on
            if on > job.today:
                raise RowError(names["date"], raw_date, _("is after today ({today}); is --date-format right?")
                               .format(today=job.today.isoformat()))
            if layout.sign == "debit_credit":
                debit, credit = cell(cells, "debit"), cell(cells, "credit")
                if debit is None and credit is None:
                    raise RowError(names["credit"], "", _("neither a cargo nor an abono"))
                cents = 0
                if credit is not None:
                    cents += abs(amounts.read(credit, names["credit"], allow_negative=True))
                if debit is not None:
                    cents -= abs(amounts.read(debit, names["debit"], allow_negative=True))
            else:
                raw = cell(cells, "amount")
                if raw is None:
                    raise RowError(names["amount"], "", _("empty: a movement has an amount"))
                cents = amounts.read(raw, names["amount"], allow_negative=True)
            if cents == 0:
                raise RowError(names.get("amount") or names["credit"], "", _("a movement of 0.00"))
            raw_balance = cell(cells, "balance")
            balance = (amounts.read(raw_balance, names["balance"], allow_negative=True)
                       if raw_balance is not None else None)
            description = " ".join(cell_text(cell(cells, "description") or "").split())[:500]
            operation = cell(cells, "operation")
            operation = cell_text(operation)[:60] if operation is not None else None
            counterpart = cell(cells, "counterpart")
            counterpart = cell_text(counterpart)[:20] if counterpart is not None else None
        except RowError as exc:
            job.error(row_no, exc.column, exc.value, exc.message, cells)
            continue
        lines.append(Line(row_no, cells, on, cents, description, operation, balance, counterpart))
    return lines


def _gaps(lines: list[Line]) -> list[dict[str, Any]]:
    """The running balance checked in date order (a file listed newest first is read backwards)."""
    with_balance = [line for line in lines if line.balance is not None]
    if len(with_balance) < 2:
        return []
    if with_balance[0].on > with_balance[-1].on:
        with_balance = with_balance[::-1]
    gaps = []
    for before, line in zip(with_balance, with_balance[1:]):
        expected = before.balance + line.cents
        if expected != line.balance:
            gaps.append({"row": line.row_no, "date": line.on.isoformat(), "expected": _money(expected),
                         "found": _money(line.balance), "difference": _money(line.balance - expected)})
    return gaps


def line_hash(account_id: int, line: Line, occurrence: int) -> str:
    key = "|".join((str(account_id), line.on.isoformat(), str(line.cents), line.description.upper(),
                    line.operation or "", "" if line.balance is None else str(line.balance), str(occurrence)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def import_statement(*, session: "Session", actor: Actor | None, path: Path, account: str, options: Options,
                     today: date, preset: str | None = None, config: Any = None) -> StatementResult:
    """Store the statement's movements in the session's transaction; ImportRejected (nothing
    written) on row errors unless `options.partial`."""
    from sqlalchemy import insert, select

    from cuentas_cli.db.tables import bank_line
    from cuentas_cli.imports.pipeline import ImportRejected, file_sha256

    require(actor, "invoices.operate")
    started = time.perf_counter()
    if preset is not None and options.mapping_path is not None:
        raise UsageError(_("--preset and --mapping exclude each other: give one (or neither, to detect)"))
    check_partial(options)
    acct = find_account(session, account)
    sources.check_input(path)
    fmt = sources.detect_format(path, options.format)
    if fmt == "ple":
        raise UsageError(_("{name}: a PLE register is not a bank statement").format(name=path.name))
    source = sources.open_source(path, fmt, known=_known, encoding=options.encoding, delimiter=options.delimiter,
                                 sheet=options.sheet)
    try:
        layout, positions = choose_layout(source.header, preset, options.mapping_path)
        order = date_order(options.date_format or layout.date_format)
        result = StatementResult(file=path.name, sha256=file_sha256(path), format=source.format,
                                 dry_run=options.dry_run, account=acct.name, layout=layout.name)
        job = Job(session=session, actor=actor, source=source, positions=positions, options=options, today=today,
                  default_direction=None, result=result, config=config)
        dates = DateReader(source, {"issue_date": positions["date"]}, order)
        first_amount = positions.get("amount", positions.get("credit"))
        amounts = AmountReader(source, first_amount, options.decimal or layout.decimal)
        try:
            lines = _read_lines(job, layout, dates, amounts)
            job.close_errors_file(keep=True)
        finally:
            job.close_errors_file(keep=False)
        result.rejected = job.all_errors_count
        if job.all_errors_count and not options.partial:
            first = result.errors[0].line() if result.errors else ""
            raise ImportRejected(
                _("{n} row error(s) in {name}; no movement was stored (first: {first}). Fix the file, or store the "
                  "valid rows with --partial --errors FILE").format(n=job.all_errors_count, name=path.name,
                                                                   first=first), result)
        result.gaps = _gaps(lines)
        seen: Counter = Counter()
        hashed = []
        for line in lines:
            base = (line.on, line.cents, line.description.upper(), line.operation, line.balance)
            seen[base] += 1
            hashed.append((line_hash(acct.id, line, seen[base]), line))
        stored: set[str] = set()
        hashes = [h for h, _line in hashed]
        for start in range(0, len(hashes), 500):
            stored.update(session.execute(select(bank_line.c.line_hash)
                                          .where(bank_line.c.line_hash.in_(hashes[start:start + 500]))).scalars())
        now = job.stamp
        rows = []
        for digest, line in hashed:
            if digest in stored:
                result.skipped += 1
                continue
            description = line.description
            if line.counterpart and line.counterpart not in description:
                description = f"{description} {line.counterpart}".strip()[:500]
            rows.append({"account_id": acct.id, "line_date": line.on, "amount_cents": line.cents,
                         "description": description, "operation": line.operation, "balance_cents": line.balance,
                         "line_hash": digest, "file_row": line.row_no, "import_sha256": result.sha256,
                         "state": "unmatched", "created_at": now})
            if line.cents > 0:
                result.credits_cents += line.cents
            else:
                result.debits_cents -= line.cents
        if rows:
            session.execute(insert(bank_line), rows)
        result.new = len(rows)
        result.seconds = time.perf_counter() - started
        audit.record(session, actor, action="bank.import.dry_run" if options.dry_run else "bank.import",
                     entity="bank_account", entity_id=acct.name,
                     after={**result.summary(), "user": actor.username if actor else None})
        return result
    finally:
        source.close()
