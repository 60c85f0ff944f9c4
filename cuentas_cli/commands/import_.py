"""`cuentas import FILE`: invoices from CSV, Excel, SUNAT PLE registers or UBL XML invoices."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import runtime
from cuentas_cli.render import RowProgress, emit_record, info, safe, success, warn
from cuentas_cli.i18n import _, ngettext


def import_file(
    file: Annotated[Path, typer.Argument(help="CSV, XLSX/XLSM or PLE .txt file; a UBL .xml, a .zip of them or a folder of them.", metavar="FILE")],
    kind: Annotated[Optional[str], typer.Option("--kind", help="cxc or cxp, for a file without a kind column.", metavar="KIND")] = None,
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="Worksheet of an XLSX (default: the first).", metavar="NAME")] = None,
    file_format: Annotated[Optional[str], typer.Option("--format", help="The file's format: csv, xlsx, ple or ubl (default: from the file name).", metavar="FMT")] = None,
    encoding: Annotated[Optional[str], typer.Option("--encoding", help="Text encoding of a CSV (default: detected; UTF-8, BOM or cp1252).", metavar="ENC")] = None,
    delimiter: Annotated[Optional[str], typer.Option("--delimiter", help="CSV delimiter (default: detected among , ; tab |).", metavar="CHAR")] = None,
    date_format: Annotated[Optional[str], typer.Option("--date-format", help="DD/MM/YYYY, MM/DD/YYYY or YYYY-MM-DD, when the file's dates are ambiguous.", metavar="FMT")] = None,
    decimal_comma: Annotated[bool, typer.Option("--decimal-comma", help="Amounts have a decimal comma (1.180,50), as Excel writes them in Spanish (default: detected from the file's amounts).")] = False,
    decimal_point: Annotated[bool, typer.Option("--decimal-point", help="Amounts have a decimal point (1,180.50) (default: detected from the file's amounts).")] = False,
    mapping: Annotated[Optional[Path], typer.Option("--mapping", help="TOML file naming the file's columns ([columns] field = \"Header\").", metavar="FILE")] = None,
    on_duplicate: Annotated[str, typer.Option("--on-duplicate", help="An invoice already in the database: skip, update or error.", metavar="MODE")] = "skip",
    partial: Annotated[bool, typer.Option("--partial", help="Import the valid rows; write rejected rows to --errors FILE.")] = False,
    errors: Annotated[Optional[Path], typer.Option(
        "--errors", metavar="FILE",
        help="Write every row error (CSV: row, column, value, message) here, mode 0600 (or files.mode). An existing "
             "file is replaced atomically; the database, the imported file, a symbolic link or a folder are refused.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and count new/updated/skipped/errors; write nothing.")] = False,
    lookup: Annotated[bool, typer.Option("--lookup", help="Look up unknown RUCs with the provider before creating them.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON on standard output.")] = False,
) -> None:
    """Import invoices from a CSV, Excel, SUNAT PLE or UBL XML file: all rows or none (unless --partial).

    Columns are found by their header in Spanish or English (RUC, serie, número, fecha de
    emisión, fecha de vencimiento, moneda, total, ...). A second import of the same file adds
    nothing. Credit and debit notes (07/08) need ref_serie and ref_numero columns (PLE: the
    modified document's fields) and are applied to that invoice as `invoices add` applies them.
    SUNAT electronic invoices (UBL 2.1 .xml, a .zip or a folder of them) are sales (cxc) when
    company.ruc issued them and purchases (cxp) when it is their customer; CDRs are skipped.
    Needs invoices.create; --on-duplicate update also needs invoices.edit (an update is checked
    like `invoices edit`), and a file naming an unknown RUC/DNI needs parties.write.

    Example: cuentas import ventas-junio.csv --kind cxc --errors errores.csv
    Example: cuentas import comprobantes-junio.zip
    """
    from cuentas_cli.errors import UsageError
    from cuentas_cli.imports import context, pipeline

    if on_duplicate not in context.ON_DUPLICATE:
        raise UsageError(_("--on-duplicate {on_duplicate!r}: use skip, update or error")
                         .format(on_duplicate=on_duplicate))
    delimiter, errors, decimal = check_inputs(file, encoding=encoding, delimiter=delimiter, mapping=mapping,
                                              errors=errors, partial=partial, decimal_comma=decimal_comma,
                                              decimal_point=decimal_point, invoice_mapping=True, folders=True)
    options = context.Options(
        kind=kind, sheet=sheet, format=file_format, encoding=encoding, delimiter=delimiter, date_format=date_format,
        on_duplicate=on_duplicate, partial=partial, dry_run=dry_run, errors_path=errors, mapping_path=mapping, lookup=lookup,
        decimal=decimal,
    )

    def work(progress):  # noqa: ANN001, ANN202
        with pipeline.warm_up(file, options):
            return _run(runtime(), file, options, progress)

    result = run_shown(_("importing"), work)
    counts = {"new": result.new, "updated": result.updated, "skipped": result.skipped,
              "rejected": result.rejected, "rows": result.rows, "name": file.name}
    if dry_run:
        message = _("would import {new} new, {updated} updated, {skipped} already present (skipped), "
                    "{rejected} rejected from {rows} rows of {name}").format(**counts)
    else:
        message = _("imported {new} new, {updated} updated, {skipped} already present (skipped), "
                    "{rejected} rejected from {rows} rows of {name}").format(**counts)
    if result.parties_created:
        message += "; " + ngettext("{n} new client/supplier", "{n} new clients/suppliers",
                                   result.parties_created).format(n=result.parties_created)
    if result.anulados:
        message += "; " + _("{n} anulados in the register not imported").format(n=result.anulados)
    if result.skipped_cdr:
        message += "; " + ngettext("{n} CDR (SUNAT's answer) skipped", "{n} CDRs (SUNAT's answers) skipped",
                                   result.skipped_cdr).format(n=result.skipped_cdr)
    if result.cuotas_corrected:
        message += "; " + ngettext("the cuotas of {n} invoice corrected (credit note type 13)",
                                   "the cuotas of {n} invoices corrected (credit notes type 13)",
                                   result.cuotas_corrected).format(n=result.cuotas_corrected)
    for notice in result.notices:
        warn(notice)
    if dry_run:
        info(message + " " + _("(dry run: nothing written)"))
    elif result.new == 0 and result.updated == 0 and result.rejected == 0 and not result.cuotas_corrected:
        success(message + _(": nothing new, the file was already imported"))
    else:
        success(message)
    if result.rejected and result.errors_file:
        warn(_("{rejected} rejected row(s) written to {errors_file}")
             .format(rejected=result.rejected, errors_file=result.errors_file))
    if as_json:
        emit_record(result.summary(), "json")


def check_inputs(file: Path, *, encoding: str | None, delimiter: str | None, mapping: Path | None,
                 errors: Path | None, partial: bool, decimal_comma: bool, decimal_point: bool,
                 invoice_mapping: bool, folders: bool = False) -> tuple[str | None, Path | None, str | None]:
    """The checks every file import makes before any work (invoices, payments, bank statements):
    the file, its encoding and delimiter, the mapping (an invoice mapping is read now), the
    --errors file, --partial and the decimal mark. Returns (delimiter, errors path, decimal style)."""
    from cuentas_cli.errors import UsageError
    from cuentas_cli.imports import columns, sources

    if partial and errors is None:
        raise UsageError(_("--partial needs --errors FILE: the rejected rows are written there to fix "
                           "and re-import"))
    sources.check_input(file, folders=folders)  # exit 2 for no such file, 3 for a folder, device or unreadable file
    if encoding is not None:
        sources.check_encoding(encoding)
    if delimiter is not None:
        delimiter = sources.check_delimiter(delimiter)
    if mapping is not None and invoice_mapping:
        columns.load_mapping(mapping)  # a folder, a missing or an invalid mapping: before any work
    if errors is not None:
        from cuentas_cli import outputs

        errors = outputs.check(errors, option="--errors", database_url=runtime().url, inputs=(file, mapping))
    if decimal_comma and decimal_point:
        raise UsageError(_("--decimal-comma and --decimal-point exclude each other: give one (or "
                           "neither, to detect)"))
    return delimiter, errors, "comma" if decimal_comma else "point" if decimal_point else None


def run_shown(label: str, work):  # noqa: ANN001, ANN201
    """Run an import (`work(progress_callback)`), with a progress bar on a terminal; its row errors
    and ignored columns on stderr, also when it is refused."""
    from cuentas_cli.imports import pipeline

    progress = RowProgress(label) if sys.stderr.isatty() else None
    try:
        result = work(progress.update if progress else None)
    except pipeline.ImportRejected as exc:
        if progress:
            progress.stop()
        show_errors(exc.result)
        raise
    finally:
        if progress:
            progress.stop()
    if result.ignored_columns:
        info(_("ignored columns: {join_result_ignored_colu}")
             .format(join_result_ignored_colu=', '.join(result.ignored_columns)))
    show_errors(result)
    return result


def in_transaction(rt, work, *, dry_run: bool):  # noqa: ANN001, ANN201
    """`work(session)` in one write transaction, rolled back for a dry run; its result is marked
    committed or not."""

    class _DryRun(Exception):
        pass

    holder = {}
    try:
        with rt.session(write=True) as session:
            holder["result"] = work(session)
            if dry_run:
                raise _DryRun()  # roll the transaction back: a dry run writes nothing
    except _DryRun:
        pass
    result = holder["result"]
    result.committed = not dry_run
    return result


def _run(rt, file: Path, options, progress):  # noqa: ANN001, ANN202
    from cuentas_cli.imports import pipeline

    class _DryRun(Exception):
        pass

    from cuentas_cli.db.engine import is_sqlite, writer_note

    holder = {}
    try:
        # Core, not the ORM: an import loads no model classes (a third of a small import's CPU);
        # the few services that need a session get one joined to this connection (Job.orm)
        with rt.connection(write=True) as session, writer_note(rt.url, f"import {file.name}"):
            actor = rt.actor(session)
            pipeline.check_permissions(actor, options)  # a refused user sees only the refusal
            if is_sqlite(rt.url) and _stderr_is_terminal():
                # One transaction, all rows or none: other commands that write wait for it (up to
                # the busy timeout), and a command that gives up names this import (writer_note;
                # that is what a script sees, so the line is for a person at the terminal).
                info(_("importing {name} holds the database's write lock until it finishes; other "
                       "commands that write wait for it").format(name=file.name))
            holder["result"] = pipeline.import_file(
                session=session, actor=actor, path=file, options=options, today=rt.today,
                progress=progress, config=rt.config,
            )
            if options.dry_run:
                raise _DryRun()  # roll the transaction back: a dry run writes nothing
    except _DryRun:
        pass
    result = holder["result"]
    result.committed = not options.dry_run
    return result


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def show_errors(result) -> None:  # noqa: ANN001
    for err in result.errors:
        sys.stderr.write(f"  {safe(err.line(), one_line=True)}\n")  # quotes the file: no escapes
    if result.rejected > len(result.errors):
        more = result.rejected - len(result.errors)
        line = (_("  ... and {more} more (all in {path})") if result.errors_file
                else _("  ... and {more} more (pass --errors FILE for all)"))
        sys.stderr.write(line.format(more=more, path=result.errors_file) + "\n")
