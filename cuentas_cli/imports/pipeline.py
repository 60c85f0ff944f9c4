"""Batch import of invoices from CSV, XLSX and SUNAT PLE registers: validated, atomic,
idempotent and fast.

How it stays fast and lean on a million rows: the file is streamed (sources/), each row is
validated into a plain tuple with the shared document rules (documents.py, identity.py) and
per-value caches (a file has a few thousand distinct RUCs and dates, not a million), and rows
are written in chunks through a staging table: on SQLite a second thread stages and moves each
chunk into `invoice` while the next one is converted (load.py); on PostgreSQL COPY fills
the staging table and one INSERT ... SELECT ... ON CONFLICT moves it at the end. No ORM object
is made per row. Everything runs in the caller's single transaction, so an interrupted or
failed import leaves nothing behind.

Idempotent by the invoice's unique key (direction, party, document type, serie, número): a
row whose invoice exists is skipped, updated or an error (`on_duplicate`). A document that
appears twice in one file is an error for the second row.

The stages: a source (sources/) yields raw rows with their file row numbers; columns.py maps
the header to fields; convert.py turns a row into a record or a row error (values.py: the
rules for one cell); parties.py finds or creates the parties; updates.py and notes.py check what --on-duplicate and the credit and debit
notes need; load.py stages and moves the records per backend; cuotas.py reads, checks and stores the cuotas. They share one `context.Job`.
This module runs them, with dry run, partial imports, the errors file and progress, and holds
the start-up tricks of an import (`warm_up`).
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cuentas_cli.admin import audit
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.errors import UsageError, ValidationError
from cuentas_cli.imports import sources
from cuentas_cli.imports.columns import (LABELS, blank, date_order, direction_of, has_cuota_columns, known_header,
                                         load_mapping, resolve_source)
from cuentas_cli.imports.context import ON_DUPLICATE, ImportResult, Job, Options, check_partial
from cuentas_cli.imports.convert import converter
from cuentas_cli.imports.cuotas import Cuotas
from cuentas_cli.ledger import statuses
from cuentas_cli.imports.load import Loader
from cuentas_cli.imports.notes import NOTE_TYPES, Notes
from cuentas_cli.imports.parties import PartyResolver
from cuentas_cli.imports.updates import Updates
from cuentas_cli.imports.values import DateReader, RowError
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlmodel import Session

CHUNK_ROWS = 10_000


class ImportRejected(ValidationError):
    """An atomic import that found bad rows: nothing was written."""

    def __init__(self, message: str, result: ImportResult) -> None:
        super().__init__(message)
        self.result = result


def check_permissions(actor: Actor | None, options: Options) -> None:
    """What an import needs before its file is read: invoices.create, and with --on-duplicate
    update invoices.edit (updating a stored invoice is editing it). One check per effect, not
    per command: creating a client or supplier (parties.write) is checked when the file names
    the first unknown RUC/DNI, before anything is written."""
    require(actor, "invoices.create")
    if options.on_duplicate not in ON_DUPLICATE:
        raise UsageError(_("--on-duplicate {on_duplicate!r}: use skip, update or error")
                         .format(on_duplicate=options.on_duplicate))
    if options.on_duplicate == "update":
        require(actor, "invoices.edit")


def import_file(
    *,
    session: "Session | Connection",
    actor: Actor | None,
    path: Path,
    options: Options,
    today: date,
    progress: Callable[[int, int, int], None] | None = None,
    config: Any = None,
) -> ImportResult:
    """Import one file in the session's transaction. Raises ImportRejected (nothing written)
    when rows are invalid and `options.partial` is off; with `dry_run` the caller rolls back."""
    check_permissions(actor, options)
    started = time.perf_counter()
    check_partial(options)
    sources.check_input(path, folders=True)
    mapping = load_mapping(options.mapping_path) if options.mapping_path else None
    mopts = mapping["options"] if mapping else {}
    kind_default = options.kind or mopts.get("kind")
    date_format = options.date_format or mopts.get("date_format")
    fmt = sources.detect_format(path, options.format or mopts.get("format"))
    encoding = options.encoding or mopts.get("encoding")
    if encoding:
        sources.check_encoding(encoding)
    delimiter = options.delimiter or mopts.get("delimiter")
    if delimiter:
        delimiter = sources.check_delimiter(delimiter)
    book = None
    if fmt == "ple" and options.format == "ple" and not sources.PLE_NAME.match(path.name):
        if not kind_default:
            raise UsageError(_("--format ple with a file not named as SUNAT names PLE files: say --kind "
                               "cxc (ventas 14.1) or --kind cxp (compras 8.1)"))
        book = "ventas" if direction_of(kind_default) == "receivable" else "compras"
    if path.is_dir() and fmt != "ubl":
        raise ValidationError(_("{name} is a folder: a folder imports as UBL XML invoices (--format ubl), not as "
                                "{fmt}").format(name=sources.printable(path.name), fmt=fmt))
    company_ruc = _company_ruc(session, config) if fmt == "ubl" else None
    source = sources.open_source(path, fmt, known=known_header, encoding=encoding, delimiter=delimiter,
                                 sheet=options.sheet or mopts.get("sheet"), book=book, company_ruc=company_ruc)
    try:
        default_direction = direction_of(kind_default) if kind_default else None
        positions, ignored = resolve_source(source, mapping, need_kind=default_direction is None)
        if source.label_column is not None or source.pending_columns:  # the source's own, not the user's, columns
            quiet = source.pending_columns | {source.header[source.label_column] if source.label_column is not None else ""}
            ignored = [c for c in ignored if c not in quiet]
        order = date_order(date_format)
        if order is None and source.fixed_date_format:
            order = "dmy"
        result = ImportResult(file=path.name, sha256=file_sha256(path) if source.digest is None else "",
                              format=source.format, dry_run=options.dry_run, ignored_columns=ignored)
        job = Job(session=session, actor=actor, source=source, positions=positions, options=options, today=today,
                  default_direction=default_direction, result=result, config=config)
        _Run(job, order, progress).run()
        if source.digest is not None:
            result.sha256 = source.digest()
        result.skipped_cdr = source.counts.get("cdr", 0)
        result.notices = list(source.notices)
        result.seconds = time.perf_counter() - started
        if job.all_errors_count and not options.partial:
            result.rejected = job.all_errors_count
            first = result.errors[0].line() if result.errors else ""
            where = f"; all of them in {options.errors_path}" if options.errors_path else "; pass --errors FILE for the full list"
            raise ImportRejected(
                _("{all_errors_count} row error(s) in {name}; nothing was imported (first: "
                  "{first}){where}. Fix the file, or import the valid rows with --partial --errors FILE")
                .format(all_errors_count=job.all_errors_count, name=path.name, first=first, where=where),
                result,
            )
        audit.record(
            session, actor, action="import.dry_run" if options.dry_run else "import", entity="import",
            entity_id=result.sha256[:16], after={**{k: v for k, v in result.summary().items() if k != "committed"}, "user": actor.username if actor else None},
        )
        return result
    finally:
        source.close()  # a workbook's background parse


def _company_ruc(session: "Session", config: Any) -> str | None:
    """The setting company.ruc (UBL documents are sales or purchases by it)."""
    if config is not None:
        from cuentas_cli.admin import settings

        return str(settings.get(session, config, "company.ruc") or "") or None
    from sqlalchemy import text

    row = session.execute(text("SELECT value FROM setting WHERE key = 'company.ruc'")).first()
    return str(row[0]).strip() or None if row else None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Run:
    """One import's stages, wired: rows -> records -> chunks -> the database."""

    def __init__(self, job: Job, date_order: str | None, progress: Callable[[int, int, int], None] | None) -> None:
        self.job = job
        self.progress = progress
        self.dates = DateReader(job.source, job.pos, date_order)
        self.parties = PartyResolver(job)
        self.loader = Loader(job)
        self.updates = Updates(job)
        self.notes = Notes(job)
        self.cuotas = Cuotas(job) if has_cuota_columns(job.pos) else None  # rows in cuotas, stored after the move
        # A document twice in the file: exact set on SQLite, bounded filter on PostgreSQL (duplicates)
        self.seen: set[int] | None = set() if job.sqlite else None
        self.repeats = None
        if not job.sqlite:
            from cuentas_cli.imports.duplicates import Repeats  # numpy: only for PostgreSQL

            self.repeats = Repeats()

    def run(self) -> None:
        from sqlalchemy import text

        job = self.job
        source = job.source
        job.max_before = job.session.execute(text("SELECT COALESCE(MAX(id), 0) FROM invoice")).scalar_one()
        convert = converter(job, self.dates)
        pending: list[tuple] = []
        ncols = len(job.header)
        doc_index = job.pos["party_doc"]
        result = job.result
        last_progress = 0
        try:
            for row_no, cells in source.rows():
                if isinstance(cells, sources.ShortRow):
                    result.rows += 1
                    job.error(row_no, "", "", cells.message, cells)  # a short or unreadable line (sources)
                    continue
                if len(cells) < ncols:
                    if blank(cells):
                        continue  # a blank line
                    result.rows += 1
                    job.error(row_no, "", "", f"short row: {len(cells)} fields, the header has {ncols}", cells)
                    continue
                if not cells[doc_index] and blank(cells):
                    continue  # a row of empty cells (Excel leaves them below the data)
                result.rows += 1
                try:
                    record = convert(cells)
                except RowError as exc:
                    job.error(row_no, exc.column, exc.value, exc.message, cells)
                    continue
                except ValidationError as exc:  # raised by a shared rule without a column
                    job.error(row_no, "", "", exc.message, cells)
                    continue
                if record is None:
                    result.anulados += 1
                    continue
                pending.append((row_no, record, cells))
                if len(pending) >= CHUNK_ROWS:
                    self._flush(pending)
                    pending = []
                    if self.progress and result.rows - last_progress >= CHUNK_ROWS:
                        last_progress = result.rows
                        self.progress(result.rows, source.position(), source.size)
            self._flush(pending)
            job.flush_orm()
            self._reject_repeats()
            self.loader.finish()
            self.notes.link()
            if self.cuotas is not None:
                self.cuotas.store()
            if source.cuota_corrections:  # UBL credit notes of type 13: new cuotas for stored invoices
                from cuentas_cli.imports.corrections import apply

                apply(job, source.cuota_corrections)
            # Invoices in cuotas fall overdue with their earliest open cuota, which the row-wise
            # status above does not know: one set-based pass over them (nothing without cuotas).
            statuses.refresh(job.session, today=job.today, only_cuotas=True)
            self.updates.audit()
            job.close_errors_file(keep=True)
        finally:
            self.loader.close()  # after an error: stop the mover before the rollback
            job.close_errors_file(keep=False)
            self.parties.close()
        if self.progress:
            self.progress(result.rows, source.size, source.size)
        result.rejected = job.all_errors_count

    def _flush(self, pending: list[tuple]) -> None:
        if not pending:
            return
        job = self.job
        self.parties.resolve(pending)
        rows: list[tuple] = []
        seen = self.seen
        on_dup = job.options.on_duplicate
        party_keys = self.parties.party_keys
        append = rows.append
        keyed: list[tuple] = []
        for row_no, rec, cells in pending:
            found = party_keys[rec[19]]
            if found is None:
                continue  # its error was recorded by PartyResolver.resolve
            party_id, party_part = found
            key = party_part + rec[20]  # the invoice's unique key as one integer (see parties.document_key_part)
            if seen is not None:
                if key in seen:
                    _repeat_error(job, row_no, rec, cells)
                    continue
                seen.add(key)
            else:
                keyed.append((row_no, party_id, rec, cells, key))
            if rec[4] in NOTE_TYPES and not self.notes.fields_ok(row_no, rec, cells):
                continue
            append((row_no, party_id, rec, cells))
        if self.repeats is not None:
            self.repeats.check(keyed)  # confirmed against the staging table before the move
        if not rows:
            return
        if on_dup == "error" and job.max_before:
            rows = self.updates.reject_existing(rows)
        elif on_dup == "update" and job.max_before:
            rows = self.updates.check_updates(rows)
        self.loader.write(rows)
        notes = self.notes.notes
        for row_no, party_id, rec, cells in rows:
            if rec[17] is not None:
                notes.append((row_no, rec[0], party_id, rec[4], rec[5], rec[6], rec[17], cells))
        if self.cuotas is not None:
            self.cuotas.keep(rows)


    def _reject_repeats(self) -> None:
        """PostgreSQL: the rows whose document an earlier row of the file has, out of the staging
        table with their error (SQLite found them as they came)."""
        if self.repeats is None or not self.loader.stage_ready:
            return
        found = self.repeats.confirm(self.job.session, self.loader.stage_name)
        if not found:
            return
        for row_no, rec, cells in found:
            _repeat_error(self.job, row_no, rec, cells)
        dropped = {row_no for row_no, _, _ in found}
        self.loader.discard(dropped)
        self.notes.notes = [n for n in self.notes.notes if n[0] not in dropped]
        if self.cuotas is not None:
            self.cuotas.drop(dropped)


def _repeat_error(job: Job, row_no: int, rec: tuple, cells: list[Any]) -> None:
    job.error(row_no, LABELS["numero"], f"{rec[5]}-{rec[6]}",
              f"document {rec[4]} {rec[5]}-{rec[6]} of {rec[2]} appears more than once in this file", cells)


@contextmanager
def quick_gil_handoffs(interval: float = 0.0005) -> Iterator[None]:
    """A shorter thread switch interval for the length of an import.

    The workbook reader's and the SQLite writer's threads run native code that releases the
    GIL (inflating, SQLite statements), and each needs it back for a moment between calls;
    with Python's default 5 ms interval they spend much of that waiting for the thread
    converting rows. On a 100k-row workbook on two cores, 0.5 ms made the import about 10%
    faster (benchmarks/).
    """
    previous = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@contextmanager
def no_cycle_collector() -> Iterator[None]:
    """The cycle collector off for the length of an import command.

    An import makes millions of short-lived lists and tuples (cells, records, chunks) and no
    cycles among them: reference counting frees them all. With the collector on, its full
    passes over the growing heap took about a fifth of the converting thread's time on a
    100k-row file (py-spy, benchmarks/), holding the GIL the reader and writer threads need.
    What start-up left is frozen out of the passes that remain, and put back at the end.
    """
    import gc

    was_enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


@contextmanager
def warm_up(path: Path, options: Options) -> Iterator[None]:
    """Start-up tricks for the length of an import command: quicker thread hand-offs, and a
    workbook parsed on a background thread while the rest starts up (the session opens, the
    user is checked); the prefetch is dropped at the end if the import did not take it."""
    workbook = (options.format or path.suffix.lstrip(".")).lower() in ("xlsx", "xlsm")
    try:
        with quick_gil_handoffs(), no_cycle_collector():
            if workbook:
                sources.prefetch_xlsx(path, sheet=options.sheet)  # parsed while the rest starts up
            yield
    finally:
        if workbook:
            sources.discard_prefetch(path, sheet=options.sheet)
