"""What the stages of one import share: its options, its result, the file's columns, the
transaction, and the row errors (the screen's first ones and the --errors file).

`Job` is the context the orchestrator (pipeline.py) builds once per import and hands to the
converter, the party resolver, the loader and the checks of updates and notes.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from cuentas_cli.admin.auth import Actor
from cuentas_cli.imports import sources
from cuentas_cli.imports.columns import LABELS
from cuentas_cli.imports.values import cell_rows_text, cell_text

SCREEN_ERRORS = 20
ON_DUPLICATE = ("skip", "update", "error")


@dataclass
class Options:
    kind: str | None = None  # cxc | cxp, for files without a kind column
    sheet: str | None = None
    format: str | None = None  # csv | xlsx | ple (default: from the file)
    encoding: str | None = None
    delimiter: str | None = None
    date_format: str | None = None
    on_duplicate: str = "skip"
    partial: bool = False
    dry_run: bool = False
    errors_path: Path | None = None
    mapping_path: Path | None = None
    lookup: bool = False
    decimal: str | None = None  # point | comma: the amounts' decimal mark (default: the file's own evidence)


def check_partial(options: Options) -> None:
    """--partial writes the rejected rows to --errors FILE: it needs one."""
    if options.partial and options.errors_path is None:
        from cuentas_cli.errors import UsageError
        from cuentas_cli.i18n import _

        raise UsageError(_("--partial needs --errors FILE: the rejected rows are written there to fix "
                           "and re-import"))


@dataclass
class ImportError_:
    row: int
    column: str
    value: str
    message: str
    file: str = ""  # the file the row came from, where the source reads several (UBL: "lote.zip:F001-1.xml")

    def line(self) -> str:
        where = (self.file or f"row {self.row}") + (f", column {self.column}" if self.column else "")
        shown = f", value {self.value!r}" if self.value not in ("", None) else ""
        return f"{where}{shown}: {self.message}"


@dataclass
class ImportResult:
    file: str
    sha256: str
    format: str
    rows: int = 0
    new: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    anulados: int = 0
    skipped_cdr: int = 0  # UBL: SUNAT's answers (CDR) met and not imported
    cuotas_corrected: int = 0  # UBL: invoices whose cuotas a credit note of type 13 replaced
    parties_created: int = 0
    dry_run: bool = False
    committed: bool = False
    errors_file: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0
    errors: list[ImportError_] = field(default_factory=list)  # the first ones, for the screen
    notices: list[str] = field(default_factory=list)  # what the source skipped and the user should know

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.file, "sha256": self.sha256, "format": self.format, "rows": self.rows, "new": self.new,
            "updated": self.updated, "skipped": self.skipped, "rejected": self.rejected, "anulados": self.anulados,
            "skipped_cdr": self.skipped_cdr, "cuotas_corrected": self.cuotas_corrected,
            "parties_created": self.parties_created, "dry_run": self.dry_run, "committed": self.committed,
            "errors_file": self.errors_file,
        }


class Job:
    """One import's shared state: what it reads, where it writes, and its row errors."""

    def __init__(self, *, session: Any, actor: Actor | None, source: sources.Source, positions: dict[str, int],
                 options: Options, today: date, default_direction: str | None, result: ImportResult,
                 config: Any = None) -> None:
        self.session = session
        self.config = config
        self.actor = actor
        self.source = source
        self.pos = positions
        self.options = options
        self.today = today
        self.default_direction = default_direction
        self.result = result
        self.header = source.header
        doc_at = positions.get("party_doc")
        self.doc_column = ((source.header[doc_at] or "").strip() if doc_at is not None else "") or LABELS["party_doc"]
        from cuentas_cli.db.engine import sql_dialect

        # An ORM session or a Core connection (the import command runs on Core: no ORM to load)
        self.dialect = sql_dialect(session)
        self.sqlite = self.dialect.name == "sqlite"
        self._orm = None
        self.stamp = datetime.now(timezone.utc)
        self.max_before = 0  # the highest invoice id before this import (run() reads it)
        self.all_errors_count = 0
        self.error_rows: set[int] = set()
        self.errors_writer = None
        self.errors_handle = None
        self.label_at = source.label_column

    @property
    def dbapi(self) -> Any:
        """The DB-API connection of the import's transaction (COPY, multi-row INSERTs)."""
        from cuentas_cli.db.engine import driver_connection

        return driver_connection(self.session)

    def orm(self) -> Any:
        """An ORM session in the import's transaction, for the services that need one (--lookup,
        strict mode: parties.service): the job's own session, or one joined to its connection,
        made on first use (the ORM costs a few hundred ms to load; most imports never need it)."""
        if hasattr(self.session, "get_bind"):
            return self.session
        if self._orm is None:
            from sqlmodel import Session

            # joins the connection's open transaction: it never commits it (the import's end does),
            # and an error in it rolls the whole import back, as any error of the import does
            self._orm = Session(bind=self.session, expire_on_commit=False)
        return self._orm

    def flush_orm(self) -> None:
        """Write what the joined ORM session still holds (parties it made) into the transaction."""
        if self._orm is not None:
            self._orm.flush()

    # -- errors ---------------------------------------------------------------------------

    def error(self, row: int, column: str, value: Any, message: str, cells: list[Any] | None) -> None:
        if row in self.error_rows:
            return
        self.error_rows.add(row)
        self.all_errors_count += 1
        raw = cells.cells if isinstance(cells, sources.ShortRow) else (cells or [])
        label = self.label_at is not None and self.label_at < len(raw) and raw[self.label_at] or ""
        err = ImportError_(row, column, cell_text(value), message, label)
        if len(self.result.errors) < SCREEN_ERRORS:
            self.result.errors.append(err)
        if self.options.errors_path is None:
            return
        if self.errors_writer is None:
            self._open_errors_file()
            if self.options.partial:
                self.errors_writer.writerow([*self.header, "error"])
            else:
                self.errors_writer.writerow(["file" if self.label_at is not None else "row", "column", "value", "message"])
        if self.options.partial:
            self.errors_writer.writerow([*cell_rows_text(raw), err.line()])
        else:
            self.errors_writer.writerow([label or row, column, err.value, message])

    def _open_errors_file(self) -> None:
        """The --errors file goes to a temporary file beside it (mode 0600, or files.mode); it
        replaces the target only once the run has finished (`close_errors_file`)."""
        from cuentas_cli import outputs

        target = outputs.ensure(self.options.errors_path, option="--errors", session=self.session)
        self.errors_file = outputs.AtomicFile(target, mode=outputs.configured_mode(self.session, self.config))
        self.errors_handle = self.errors_file.open("w", newline="", encoding="utf-8-sig")
        self.errors_writer = csv.writer(self.errors_handle)

    def close_errors_file(self, *, keep: bool) -> None:
        if self.errors_handle is None:
            return
        handle, self.errors_handle = self.errors_handle, None
        handle.close()
        if keep:
            self.result.errors_file = str(self.errors_file.commit())
        else:
            self.errors_file.discard()  # the run failed: the old file, if any, stays as it was

    def column(self, name: str) -> str:
        """The file's own header for a field (or its usual name when the file lacks it)."""
        index = self.pos.get(name)
        if index is None and name in ("serie", "numero"):
            index = self.pos.get("document")
        if index is not None and index < len(self.header) and (self.header[index] or "").strip():
            return self.header[index].strip()
        return LABELS.get(name, name)


def sqlite_ts(value: datetime) -> str:
    # The text SQLAlchemy's DateTime writes on SQLite, so rows read back like any other.
    return value.astimezone(timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
