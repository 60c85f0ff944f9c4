"""`cuentas import FILE`: invoices from CSV, Excel or SUNAT PLE registers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import runtime
from cuentas_cli.render import RowProgress, emit_record, info, success, warn


def import_file(
    file: Annotated[Path, typer.Argument(help="CSV, XLSX/XLSM or PLE .txt file.", metavar="FILE")],
    kind: Annotated[Optional[str], typer.Option("--kind", help="cxc or cxp, for a file without a kind column.", metavar="KIND")] = None,
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="Worksheet of an XLSX (default: the first).", metavar="NAME")] = None,
    file_format: Annotated[Optional[str], typer.Option("--format", help="The file's format: csv, xlsx or ple (default: from the file name).", metavar="FMT")] = None,
    encoding: Annotated[Optional[str], typer.Option("--encoding", help="Text encoding of a CSV (default: detected; UTF-8, BOM or cp1252).", metavar="ENC")] = None,
    delimiter: Annotated[Optional[str], typer.Option("--delimiter", help="CSV delimiter (default: detected among , ; tab |).", metavar="CHAR")] = None,
    date_format: Annotated[Optional[str], typer.Option("--date-format", help="DD/MM/YYYY, MM/DD/YYYY or YYYY-MM-DD, when the file's dates are ambiguous.", metavar="FMT")] = None,
    mapping: Annotated[Optional[Path], typer.Option("--mapping", help="TOML file naming the file's columns ([columns] field = \"Header\").", metavar="FILE")] = None,
    on_duplicate: Annotated[str, typer.Option("--on-duplicate", help="An invoice already in the database: skip, update or error.", metavar="MODE")] = "skip",
    partial: Annotated[bool, typer.Option("--partial", help="Import the valid rows; write rejected rows to --errors FILE.")] = False,
    errors: Annotated[Optional[Path], typer.Option("--errors", help="Write every row error (CSV: row, column, value, message) here.", metavar="FILE")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and count new/updated/skipped/errors; write nothing.")] = False,
    lookup: Annotated[bool, typer.Option("--lookup", help="Look up unknown RUCs with the provider before creating them.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON on standard output.")] = False,
) -> None:
    """Import invoices from a CSV, Excel or SUNAT PLE file: all rows or none (unless --partial).

    Columns are found by their header in Spanish or English (RUC, serie, número, fecha de
    emisión, fecha de vencimiento, moneda, total, ...). A second import of the same file adds
    nothing. Needs the invoices.create permission.

    Example: cuentas import ventas-junio.csv --kind cxc --errors errores.csv
    """
    from cuentas_cli.errors import UsageError
    from cuentas_cli.services import importer, readers

    if on_duplicate not in importer.ON_DUPLICATE:
        raise UsageError(f"--on-duplicate {on_duplicate!r}: use skip, update or error")
    if partial and errors is None:
        raise UsageError("--partial needs --errors FILE: the rejected rows are written there to fix and re-import")
    if not file.exists():
        raise UsageError(f"no file {file}")
    options = importer.Options(
        kind=kind, sheet=sheet, format=file_format, encoding=encoding, delimiter=delimiter, date_format=date_format,
        on_duplicate=on_duplicate, partial=partial, dry_run=dry_run, errors_path=errors, mapping_path=mapping, lookup=lookup,
    )
    progress = RowProgress("importing") if sys.stderr.isatty() else None
    workbook = (file_format or file.suffix.lstrip(".")).lower() in ("xlsx", "xlsm")
    try:
        with importer.quick_gil_handoffs():
            if workbook:
                readers.prefetch_xlsx(file, sheet=sheet)  # parsed while the rest starts up
            result = _run(runtime(), file, options, progress)
    except importer.ImportRejected as exc:
        if progress:
            progress.stop()
        _show_errors(exc.result)
        raise
    finally:
        if workbook:
            readers.discard_prefetch(file, sheet=sheet)
        if progress:
            progress.stop()
    if result.ignored_columns:
        info(f"ignored columns: {', '.join(result.ignored_columns)}")
    _show_errors(result)
    verb = "would import" if dry_run else "imported"
    message = (f"{verb} {result.new} new, {result.updated} updated, {result.skipped} already present (skipped), "
               f"{result.rejected} rejected from {result.rows} rows of {file.name}")
    if result.parties_created:
        message += f"; {result.parties_created} new {'client/supplier' if result.parties_created == 1 else 'clients/suppliers'}"
    if result.anulados:
        message += f"; {result.anulados} anulados in the register not imported"
    if dry_run:
        info(message + " (dry run: nothing written)")
    elif result.new == 0 and result.updated == 0 and result.rejected == 0:
        success(message + ": nothing new, the file was already imported")
    else:
        success(message)
    if result.rejected and result.errors_file:
        warn(f"{result.rejected} rejected row(s) written to {result.errors_file}")
    if as_json:
        emit_record(result.summary(), "json")


def _run(rt, file: Path, options, progress):  # noqa: ANN001, ANN202
    from cuentas_cli.services import importer

    class _DryRun(Exception):
        pass

    holder = {}
    try:
        with rt.session(write=True) as session:
            holder["result"] = importer.import_file(
                session=session, actor=rt.actor(session), path=file, options=options, today=rt.today,
                progress=progress.update if progress else None, config=rt.config,
            )
            if options.dry_run:
                raise _DryRun()  # roll the transaction back: a dry run writes nothing
    except _DryRun:
        pass
    result = holder["result"]
    result.committed = not options.dry_run
    return result


def _show_errors(result) -> None:  # noqa: ANN001
    for err in result.errors:
        sys.stderr.write(f"  {err.line()}\n")
    if result.rejected > len(result.errors):
        more = result.rejected - len(result.errors)
        where = f" (all in {result.errors_file})" if result.errors_file else " (pass --errors FILE for all)"
        sys.stderr.write(f"  ... and {more} more{where}\n")
