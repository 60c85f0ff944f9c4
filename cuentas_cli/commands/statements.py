"""`cuentas clients statement` and `cuentas suppliers statement` (estado de cuenta): one party's
statement of account as a table, JSON, PDF or Excel file; for clients also `--all --email`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cuentas_cli.commands.common import parse_date, runtime
from cuentas_cli.commands.completion import complete_party_doc
from cuentas_cli.errors import UsageError
from cuentas_cli.i18n import N_, _

FORMATS = ("table", "json", "pdf", "xlsx")
RESULT_WORDS = {"sent": N_("sent"), "failed": N_("failed"), "already sent": N_("already sent"),
                "no e-mail": N_("no e-mail"), "would send": N_("would send")}

DocArg = Annotated[Optional[str], typer.Argument(
    help="RUC, DNI or other document number, or the numeric id.", metavar="DOC", autocompletion=complete_party_doc)]
FromOpt = Annotated[Optional[str], typer.Option(
    "--from", metavar="DATE", help="Start of the period (DD/MM/YYYY or YYYY-MM-DD): the opening balance is the "
    "balance the day before; default: from the first document.")]
ToOpt = Annotated[Optional[str], typer.Option(
    "--to", metavar="DATE", help="End of the period, the closing balance's date (default: --as-of).")]
AsOfOpt = Annotated[Optional[str], typer.Option(
    "--as-of", metavar="DATE", help="Date of the aging and the open documents (default: --to, else today).")]
OpenOnlyOpt = Annotated[bool, typer.Option(
    "--open-only", help="Only the documents still open as of --as-of, with their notes and payments.")]
FormatOpt = Annotated[Optional[str], typer.Option(
    "--format", "-f", metavar="pdf|xlsx|json|table",
    help="Output format (default: from the --output suffix, else table on a terminal and json when piped).")]
OutputOpt = Annotated[Optional[Path], typer.Option(
    "--output", "-o", metavar="FILE",
    help="File to write (.pdf, .xlsx or .json); pdf and xlsx without it go to estado-de-cuenta-DOC-YYYY-MM-DD.pdf "
         "(or .xlsx) in the current folder. An existing file is replaced atomically (mode 0600 or files.mode).")]

HELP = (
    "Statement of account (estado de cuenta) of a {one}: every invoice, note and payment of the period in date "
    "order with a running balance, per currency (PEN and USD apart), the opening and closing balances, the aging "
    "and the open documents with days overdue, the company's header and bank accounts.\n\n"
    "The balances are the ledger's balance as of each date (the figures of `invoices list` and `dashboard "
    "aging --by-party`). Needs the read permission (every role): it shows one {one}'s account, in any format."
)


def _format(fmt: str | None, output: Path | None) -> str:
    if fmt is not None:
        value = fmt.strip().lower()
        if value not in FORMATS:
            raise UsageError(_("--format {fmt!r}: use pdf, xlsx, json or table").format(fmt=fmt))
        return value
    if output is not None:
        suffix = output.suffix.lower().lstrip(".")
        if suffix not in ("pdf", "xlsx", "json"):
            raise UsageError(_("--output {output}: use a .pdf, .xlsx or .json file (or say --format)")
                             .format(output=output))
        return suffix
    return "table" if sys.stdout.isatty() else "json"


def show_statement(kind: str, doc: str | None, *, date_from: str | None, date_to: str | None, as_of: str | None,
                   open_only: bool, fmt: str | None, output: Path | None) -> None:
    from cuentas_cli import outputs
    from cuentas_cli.reports import statements

    if not doc:
        raise UsageError(_("give the document (RUC, DNI or id) of the {one}, e.g. `cuentas {noun} statement "
                           "20131312955`").format(one=_(kind), noun="clients" if kind == "client" else "suppliers"))
    chosen = _format(fmt, output)
    if chosen == "table" and output is not None:
        raise UsageError(_("--output goes with --format pdf, xlsx or json, not with a table"))
    start, end, day = parse_date(date_from, "--from"), parse_date(date_to, "--to"), parse_date(as_of, "--as-of")
    rt = runtime()
    target = outputs.check(output, option="--output", database_url=rt.url) if output is not None else None
    with rt.session() as session:
        stmt = statements.statement(session, rt.actor(session), kind=kind, ref=doc, today=rt.today, date_from=start,
                                    date_to=end, as_of=day, open_only=open_only,
                                    **statements.company_context(session, rt.config))
        mode = outputs.configured_mode(session, rt.config)
    _deliver(stmt, chosen, target, mode, rt)


def _deliver(stmt: Any, chosen: str, target: Any, mode: int, rt: Any) -> None:
    from cuentas_cli import outputs
    from cuentas_cli.render import json_text, plain, success

    if chosen == "table":
        from cuentas_cli.render.statements import print_statement

        print_statement(stmt)
        return
    if chosen == "json":
        if target is None:
            sys.stdout.write(json_text(plain(stmt.record()), sys.stdout, indent=2) + "\n")
            return
        path = outputs.write_text(target, json_text(plain(stmt.record()), None, indent=2) + "\n", mode=mode)
    else:
        from cuentas_cli.exports import statements as files

        if target is None:
            target = outputs.check(Path(files.default_name(stmt, chosen)), option="--output", database_url=rt.url)
        path = files.write(stmt, target, chosen, mode=mode)
    success(_("statement of {doc} written to {path}").format(doc=stmt.party.doc_number, path=path))


def email_statements(*, date_from: str | None, as_of: str | None, open_only: bool, min_balance: str | None,
                     overdue_only: bool, dry_run: bool, fmt: str | None) -> None:
    from cuentas_cli.errors import ExternalError
    from cuentas_cli.exports import statements as files
    from cuentas_cli.ledger.documents import parse_amount
    from cuentas_cli.reminders import statement_mail
    from cuentas_cli.render import as_dict, emit, resolve_format, safe

    start, day = parse_date(date_from, "--from"), parse_date(as_of, "--as-of")
    minimum = 0 if min_balance is None else parse_amount(min_balance, field="--min-balance")
    rt = runtime()
    with rt.session() as session:
        actor = rt.actor(session)
    run = statement_mail.send_statements(
        session_factory=rt.session, url=rt.url, actor=actor, config=rt.config, today=rt.today, as_of=day or rt.today,
        date_from=start, open_only=open_only, min_balance_cents=minimum, overdue_only=overdue_only, dry_run=dry_run,
        render_pdf=files.pdf_bytes, attachment_name=files.attachment_name)
    columns = ["doc_number", "name", "email", "balance_pen", "overdue_count", "result"]
    if run.items or fmt is not None:
        shown = resolve_format(fmt.strip().lower() if fmt else None)
        items: list[Any] = run.items
        if shown == "table":  # the words in the language; JSON keeps the result codes
            items = [{**as_dict(item), "result": _(RESULT_WORDS.get(item.result, item.result))} for item in run.items]
        emit(items, shown, columns=columns)
    sys.stderr.write(safe(run.line(), one_line=True) + "\n")
    if run.count("failed"):
        raise ExternalError(_("{failed} statement(s) could not be sent ({first}); they stay queued and the next "
                              "run retries them").format(failed=run.count("failed"), first=run.errors[0]))


def add_statement_command(app: typer.Typer, kind: str) -> None:
    """`statement` (alias estado-de-cuenta) in the clients or suppliers group."""
    one = "client" if kind == "client" else "supplier"
    noun = "clients" if kind == "client" else "suppliers"
    sample = "20131312955"
    examples = (f"\n\nExample: cuentas {noun} statement {sample} --from 01/06/2026 --to 30/06/2026\n\n"
                f"Example: cuentas {noun} statement {sample} --format pdf --output estado.pdf")
    if kind == "supplier":
        @app.command("statement", help=HELP.format(one=one) + " A supplier's statement serves the conciliación de "
                     "saldos with that supplier." + examples)
        def supplier_statement(doc: DocArg = None, date_from: FromOpt = None, date_to: ToOpt = None,
                               as_of: AsOfOpt = None, open_only: OpenOnlyOpt = False, fmt: FormatOpt = None,
                               output: OutputOpt = None) -> None:
            show_statement(kind, doc, date_from=date_from, date_to=date_to, as_of=as_of, open_only=open_only,
                           fmt=fmt, output=output)
        return

    @app.command("statement", help=HELP.format(one=one) + (
        "\n\nWith --all --email every client with an open balance as of --as-of and an e-mail address gets its "
        "statement (from --from, default the first day of the as-of month) as a PDF attachment, through the outbox: "
        "once per client and month, so a second run sends nothing; failed sends are retried by the next run. "
        "Needs the notify permission (as `notify run`). --dry-run lists who would get one and writes nothing.")
        + examples + "\n\nExample: cuentas clients statement --all --email --overdue-only --dry-run")
    def client_statement(
        doc: DocArg = None, date_from: FromOpt = None, date_to: ToOpt = None, as_of: AsOfOpt = None,
        open_only: OpenOnlyOpt = False, fmt: FormatOpt = None, output: OutputOpt = None,
        all_: Annotated[bool, typer.Option("--all", help="Every client with an open balance (with --email).")] = False,
        email: Annotated[bool, typer.Option("--email", help="E-mail each statement as a PDF (with --all).")] = False,
        min_balance: Annotated[Optional[str], typer.Option(
            "--min-balance", metavar="AMOUNT", help="With --all: only clients owing at least this much in S/ "
            "(USD at each invoice's rate).")] = None,
        overdue_only: Annotated[bool, typer.Option(
            "--overdue-only", help="With --all: only clients with a document past its due date.")] = False,
        dry_run: Annotated[bool, typer.Option("--dry-run", help="With --all --email: list who would get one; "
                                              "send and write nothing.")] = False,
    ) -> None:
        if all_ or email:
            if not (all_ and email):
                raise UsageError(_("--all and --email go together: `cuentas clients statement --all --email`"))
            if doc:
                raise UsageError(_("give a document or --all --email, not both"))
            if date_to or output:
                raise UsageError(_("--to and --output do not apply to --all --email (the period ends at --as-of; "
                                   "each PDF is attached to its e-mail)"))
            if fmt is not None and fmt.strip().lower() not in ("table", "json", "jsonl", "csv"):
                raise UsageError(_("--format with --all --email lists the run: table, json, jsonl or csv"))
            email_statements(date_from=date_from, as_of=as_of, open_only=open_only, min_balance=min_balance,
                             overdue_only=overdue_only, dry_run=dry_run, fmt=fmt)
            return
        if min_balance is not None or overdue_only or dry_run:
            raise UsageError(_("--min-balance, --overdue-only and --dry-run go with --all --email"))
        show_statement(kind, doc, date_from=date_from, date_to=date_to, as_of=as_of, open_only=open_only, fmt=fmt,
                       output=output)
