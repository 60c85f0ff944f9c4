"""`cuentas padron`: SUNAT's padrón reducido as an offline RUC register."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import FormatOpt, firm_runtime, parse_date
from cuentas_cli.render import RowProgress, emit, emit_record, info, safe, success, warn
from cuentas_cli.i18n import _

app = typer.Typer(
    help="The offline RUC register: SUNAT's padrón reducido, imported whole and looked up with no "
         "provider and no token.\n\nExample: cuentas padron import padron_reducido_ruc.zip",
    no_args_is_help=True,
)

_COLUMNS = ["ruc", "name", "estado", "condicion", "ubigeo", "address", "padron_date"]


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="padron_reducido_ruc.zip as downloaded from SUNAT, or the .txt inside it.", metavar="FILE")],
    file_date: Annotated[Optional[str], typer.Option("--file-date", help="The padrón's date, YYYY-MM-DD or DD/MM/YYYY (default: the date of the zip entry or of the file).", metavar="DATE")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Replace the RUC register with a padrón reducido file (.zip or .txt), all or nothing.

    The file is streamed into a staging copy that is swapped in at the end, so a failed or
    interrupted import leaves the previous register as it was. Malformed lines are counted and
    the first ones shown; they do not stop the import. Needs the settings permission
    (administrador).

    Example: cuentas padron import padron_reducido_ruc.zip
    """
    from cuentas_cli.parties import padron_load

    when = parse_date(file_date, "--file-date")
    rt = firm_runtime()
    with rt.session() as session:
        actor = rt.actor(session)
    progress = RowProgress("padrón", show_bytes=True) if sys.stderr.isatty() else None
    try:
        report = padron_load.import_file(url=rt.url, actor=actor, path=file, file_date=when,
                                         progress=progress.update if progress else None)
    finally:
        if progress:
            progress.stop()
    for lineno, line in report.malformed_examples:
        sys.stderr.write(f"  line {lineno}: {safe(line, one_line=True)}\n")  # from the file: no escapes
    if report.malformed_count > len(report.malformed_examples):
        sys.stderr.write(f"  ... and {report.malformed_count - len(report.malformed_examples)} more malformed line(s)\n")
    if report.malformed_count:
        warn(_("{malformed_count} malformed line(s) skipped (not 15 '|'-separated fields or no 11-digit "
               "RUC)").format(malformed_count=report.malformed_count))
    if report.duplicate_count:
        warn(_("{duplicate_count} line(s) repeated a RUC already read; the first one was kept")
             .format(duplicate_count=report.duplicate_count))
    dated = report.file_date.isoformat() if report.file_date else _("unknown date")
    rate = report.row_count / report.seconds if report.seconds > 0 else 0
    message = _("padrón of {dated} imported: {rows:,} RUCs from {name} (replacing {previous:,}) in "
                "{seconds:.1f} s, {rate:,.0f} rows/s").format(dated=dated, rows=report.row_count,
                                                              name=report.file_name,
                                                              previous=report.previous_row_count,
                                                              seconds=report.seconds, rate=rate)
    if report.same_file_as_previous:
        message += "; " + _("same file as the previous import")
    success(message)
    if report.search_index not in ("fts5", "trigram"):
        info(_("name search will scan the table: the pg_trgm extension could not be created on this "
               "database"))
    if fmt is not None:
        emit_record(report.summary(), fmt)


@app.command()
def status(fmt: FormatOpt = None) -> None:
    """Which padrón is loaded: file, date and age, row count, malformed lines, search index.

    Example: cuentas padron status --format json
    """
    from cuentas_cli.parties import padron

    rt = firm_runtime()
    with rt.session() as session:
        result = padron.status(session=session, actor=rt.actor(session), today=rt.today)
    if not result.loaded:
        info(_("no padrón loaded yet: download padron_reducido_ruc.zip from SUNAT and run `cuentas "
               "padron import FILE`"))
    if result.interrupted_import:
        warn(_("an interrupted import left a staging table; the register in use is complete, the next "
               "import removes it"))
    emit_record(result, fmt, title="padrón reducido")


@app.command()
def lookup(
    ruc: Annotated[str, typer.Argument(help="The 11-digit RUC.", metavar="RUC")],
    fmt: FormatOpt = None,
) -> None:
    """Show a RUC as the loaded padrón has it: name, estado, condición, ubigeo, address.

    Exit 4 when the RUC is not in the padrón (or no padrón is loaded).

    Example: cuentas padron lookup 20131312955
    """
    from cuentas_cli.parties import padron

    rt = firm_runtime()
    with rt.session() as session:
        entry = padron.get(session=session, actor=rt.actor(session), ruc=ruc)
    emit_record(_row(entry), fmt, title=f"RUC {entry.ruc}")


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="Words of the name; each must start a word of it (accents and case ignored).", metavar="TEXT")],
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many results (in RUC order).", metavar="N")] = 20,
    fmt: FormatOpt = None,
) -> None:
    """Find RUCs by name in the loaded padrón.

    Example: cuentas padron search "inversiones pinos" --limit 50
    """
    from cuentas_cli.parties import padron

    rt = firm_runtime()
    with rt.session() as session:
        entries = padron.search(session=session, actor=rt.actor(session), query=text, limit=limit)
    emit([_row(e) for e in entries], fmt, columns=_COLUMNS)


def _row(entry) -> dict:  # noqa: ANN001
    return {
        "ruc": entry.ruc, "name": entry.name, "estado": entry.estado, "condicion": entry.condicion,
        "ubigeo": entry.ubigeo, "address": entry.address, "padron_date": entry.padron_date,
    }
