"""`cuentas clients` and `cuentas suppliers`: one factory builds both over parties/service.py."""


import sys
from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import AliasedGroup, FormatOpt, runtime
from cuentas_cli.commands.completion import complete_party_doc
from cuentas_cli.errors import UsageError
from cuentas_cli.render import emit, emit_record, info, resolve_format, safe, success, warn
from cuentas_cli.i18n import N_, _

_NOUNS = (N_("clients"), N_("suppliers"))  # the refresh summary reads `refreshed 3 clientes ...`

DocArg = Annotated[str, typer.Argument(help="RUC, DNI or other document number, or the numeric id.", metavar="DOC",
                                        autocompletion=complete_party_doc)]


def _resolve_document(ruc: str | None, dni: str | None, doc_type: str | None, doc: str | None) -> tuple[str, str]:
    """Exactly one of --ruc, --dni, --doc (with --doc-type, or a number that reads as RUC/DNI)."""
    from cuentas_cli.rules.identity import guess_doc_type

    given = [x for x in (ruc, dni, doc) if x is not None]
    if len(given) != 1:
        raise UsageError(_("give exactly one of --ruc, --dni or --doc-type CODE --doc NUMBER"))
    if ruc is not None:
        if doc_type is not None:
            raise UsageError(_("--doc-type goes with --doc, not with --ruc"))
        return "6", ruc
    if dni is not None:
        if doc_type is not None:
            raise UsageError(_("--doc-type goes with --doc, not with --dni"))
        return "1", dni
    code = doc_type or guess_doc_type(doc)
    if code is None:
        raise UsageError(_("--doc: give --doc-type too (0 other, 1 DNI, 4 carné de extranjería, 6 RUC, 7 "
                           "pasaporte, A diplomatic)"))
    return code, doc


class _PartyGroup(AliasedGroup):
    aliases = {"estado-de-cuenta": "statement"}


def make_app(kind: str) -> typer.Typer:
    """The command group of one kind of party ("client" or "supplier")."""
    noun = "clients" if kind == "client" else "suppliers"  # command words (help, examples); _(noun) where a person reads it
    one = N_("client") if kind == "client" else N_("supplier")
    sample = "20131312955"
    app = typer.Typer(
        cls=_PartyGroup,
        help=f"{noun.capitalize()}: list, add, show, edit, delete, lookup, refresh, invoices, statement.\n\n"
        f"Example: cuentas {noun} add --ruc {sample}",
        no_args_is_help=True,
    )

    @app.command("list", help=f"List {noun}: search by name or document, filter by SUNAT estado or overdue invoices.\n\n"
                 f"Example: cuentas {noun} list --search andina --estado activo")
    def list_(
        search: Annotated[Optional[str], typer.Option("--search", "-s", help="Part of the name, or the start of the document.")] = None,
        estado: Annotated[Optional[str], typer.Option("--estado", help="SUNAT estado (prefix): ACTIVO, BAJA, SUSPENSION ...")] = None,
        with_overdue: Annotated[bool, typer.Option("--with-overdue", help="Only those with overdue invoices, with the amount in PEN.")] = False,
        limit: Annotated[Optional[int], typer.Option("--limit", help="At most this many rows.")] = None,
        fmt: FormatOpt = None,
    ) -> None:
        from cuentas_cli.ledger import accounts
        from cuentas_cli.parties.records import LIST_COLUMNS

        rt = runtime()
        with rt.session() as session:
            rows = accounts.list_parties(session=session, actor=rt.actor(session), kind=kind, today=rt.today,
                                         search=search, estado=estado, with_overdue=with_overdue, limit=limit)
        columns = None
        if resolve_format(fmt) == "table":
            columns = accounts.OVERDUE_COLUMNS if with_overdue else LIST_COLUMNS
        emit(rows, fmt, columns=columns)

    @app.command("add", help=f"Add a {one}; a RUC or DNI is checked and looked up at the provider.\n\n"
                 "The provider's answer fills the name, address, SUNAT estado/condición and the retention-agent and "
                 "good-taxpayer flags. With validation.strict on, a RUC must be ACTIVO and HABIDO.\n\n"
                 f"Example: cuentas {noun} add --ruc {sample} --email pagos@empresa.pe")
    def add(
        ruc: Annotated[Optional[str], typer.Option("--ruc", help="RUC (11 digits).")] = None,
        dni: Annotated[Optional[str], typer.Option("--dni", help="DNI (8 digits, optional check character).")] = None,
        doc_type: Annotated[Optional[str], typer.Option("--doc-type", help="SUNAT catalogue 06 code: 0, 1, 4, 6, 7, A.", metavar="CODE")] = None,
        doc: Annotated[Optional[str], typer.Option("--doc", help="Document number (with --doc-type).", metavar="NUMBER")] = None,
        name: Annotated[Optional[str], typer.Option("--name", help="Name (taken from the provider when looked up).")] = None,
        email: Annotated[Optional[str], typer.Option("--email", help="E-mail for reminders.")] = None,
        phone: Annotated[Optional[str], typer.Option("--phone", help="Phone.")] = None,
        address: Annotated[Optional[str], typer.Option("--address", help="Address (taken from the provider when looked up).")] = None,
        lookup: Annotated[bool, typer.Option("--lookup/--no-lookup", help="Ask the lookup provider (RUC and DNI).")] = True,
        fmt: FormatOpt = None,
    ) -> None:
        from cuentas_cli.parties.adding import add_with_lookup
        from cuentas_cli.parties.records import row_of

        code, number = _resolve_document(ruc, dni, doc_type, doc)
        result = add_with_lookup(runtime(), kind=kind, doc_type=code, doc_number=number, name=name, email=email,
                                 phone=phone, address=address, lookup=lookup)
        for line in result.warnings:
            warn(line)
        party = result.party
        verified = ""
        if result.verified_by:
            state = " ".join(x for x in (party.sunat_estado, party.sunat_condicion) if x)
            verified = (_(" (verified by {source}: {state})") if state else _(" (verified by {source})")).format(
                source=result.verified_by, state=state)
        success(_("{one} {number} added: {name}{verified}")
                .format(one=_(one), number=number, name=party.name, verified=verified))
        if fmt is not None:
            emit_record(row_of(party), fmt)

    @app.command("show", help=f"Show a {one} with open invoices, overdue amount and last payment.\n\n"
                 f"Example: cuentas {noun} show {sample}")
    def show(doc: DocArg, fmt: FormatOpt = None) -> None:
        from cuentas_cli.ledger import accounts

        rt = runtime()
        with rt.connection() as conn:  # Core only, as every fast command
            detail = accounts.show_party(session=conn, actor=rt.actor(conn), kind=kind, ref=doc, today=rt.today)
        emit_record(detail, fmt, title=f"{_(one)} {detail.doc_number}")

    @app.command("edit", help=f"Change a {one}'s name, e-mail, phone, address ('' clears e-mail, phone, address) "
                 "or its SUNAT retention-agent flag.\n\n"
                 f"Example: cuentas {noun} edit {sample} --email cobranzas@empresa.pe")
    def edit(
        doc: DocArg,
        name: Annotated[Optional[str], typer.Option("--name", help="New name.")] = None,
        email: Annotated[Optional[str], typer.Option("--email", help="New e-mail ('' clears it).")] = None,
        phone: Annotated[Optional[str], typer.Option("--phone", help="New phone ('' clears it).")] = None,
        address: Annotated[Optional[str], typer.Option("--address", help="New address ('' clears it).")] = None,
        retention_agent: Annotated[Optional[bool], typer.Option(
            "--retention-agent/--no-retention-agent",
            help="SUNAT designates it agente de retención (a client's invoices then get the 3% retención).")] = None,
    ) -> None:
        from cuentas_cli.parties import service as parties

        rt = runtime()
        with rt.session(write=True) as session:
            party, changed = parties.edit_party(session=session, actor=rt.actor(session), kind=kind, ref=doc,
                                                name=name, email=email, phone=phone, address=address,
                                                retention_agent=retention_agent)
        if changed:
            success(_("{one} {doc_number} changed: {join_changed}")
                    .format(one=_(one), doc_number=party.doc_number, join_changed=', '.join(changed)))
        else:
            info(_("{one} {doc_number}: nothing changed").format(one=_(one), doc_number=party.doc_number))

    @app.command("delete", help=f"Delete a {one} that has no invoices (administrador).\n\n"
                 f"Example: cuentas {noun} delete {sample} --yes")
    def delete(
        doc: DocArg,
        yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    ) -> None:
        from cuentas_cli.parties import service as parties

        rt = runtime()
        if not yes and sys.stdin.isatty():
            with rt.session() as session:
                party = parties.get_party(session, kind=kind, ref=doc)
                label = f"{party.doc_number} {party.name}"
            if not typer.confirm(_("Delete {one} {label}?").format(one=_(one), label=label), err=True):
                raise typer.Abort()
        with rt.session(write=True) as session:
            gone = parties.delete_party(session=session, actor=rt.actor(session), kind=kind, ref=doc)
        success(_("{one} {gone_doc_number} ({gone_name}) deleted")
                .format(one=_(one), gone_doc_number=gone['doc_number'], gone_name=gone['name']))

    @app.command("lookup", help="Ask the lookup provider about a RUC or DNI; nothing is stored.\n\n"
                 f"Example: cuentas {noun} lookup {sample} --format json")
    def lookup_(
        doc: Annotated[str, typer.Argument(help="RUC (11 digits) or DNI (8 digits).", metavar="DOC")],
        doc_type: Annotated[Optional[str], typer.Option("--doc-type", help="6 (RUC) or 1 (DNI); guessed from the length.", metavar="CODE")] = None,
        fmt: FormatOpt = None,
    ) -> None:
        from cuentas_cli.parties import lookup as party_lookup

        rt = runtime()
        with rt.session() as session:
            found = party_lookup.lookup_document(session=session, actor=rt.actor(session), config=rt.config, doc=doc,
                                                 doc_type=doc_type)
        emit_record(found, fmt, title=f"{found.doc_number} ({found.provider})")

    @app.command("refresh", help=f"Look {noun} up again and store the answers; DOC..., or --all.\n\n"
                 "Answers younger than lookup.max_age_days (or --older-than DAYS) are kept unless --force. "
                 "A failed lookup keeps the stored data; the summary lists every failure and the exit code is "
                 "non-zero if any failed.\n\n"
                 f"Example: cuentas {noun} refresh --all --older-than 30")
    def refresh(
        docs: Annotated[Optional[list[str]], typer.Argument(help="Documents or ids.", metavar="DOC")] = None,
        all_: Annotated[bool, typer.Option("--all", help=f"Every {one} with a RUC or DNI.")] = False,
        older_than: Annotated[Optional[int], typer.Option("--older-than", help="Only those verified more than DAYS ago (default lookup.max_age_days).", metavar="DAYS")] = None,
        force: Annotated[bool, typer.Option("--force", help="Ask again even if the stored answer is recent.")] = False,
        workers: Annotated[int, typer.Option("--workers", help="Lookups at the same time (1-16).")] = 6,
        fmt: FormatOpt = None,
    ) -> None:
        from cuentas_cli.parties import refresh

        if not docs and not all_:
            raise UsageError(_("give one or more documents, or --all (e.g. `cuentas {noun} refresh "
                               "--all`)").format(noun=noun))
        if docs and all_:
            raise UsageError(_("give documents or --all, not both"))
        rt = runtime()
        with rt.session() as session:
            actor = rt.actor(session)
        kwargs = dict(sessions=rt.session, actor=actor, config=rt.config, kind=kind, refs=docs or None,
                      all_parties=all_, older_than_days=older_than, force=force, workers=workers)
        if sys.stderr.isatty() and (all_ or len(docs or []) > 1):
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            from cuentas_cli.render import stderr_console

            progress = Progress(TextColumn("lookups"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                console=stderr_console(), transient=True)
            task = progress.add_task("lookups", total=None)
            with progress:
                summary = refresh.refresh_parties(
                    **kwargs, on_progress=lambda done, total: progress.update(task, completed=done, total=total))
        else:
            summary = refresh.refresh_parties(**kwargs)
        if summary.items or resolve_format(fmt) != "table":
            emit(summary.items, fmt, columns=["doc_type", "doc_number", "name", "result", "changed", "reason"]
                 if resolve_format(fmt) == "table" else None)
        counts = _("{updated} updated, {unchanged} unchanged, {skipped} skipped, {failed} failed").format(
            **{r: summary.count(r) for r in ("updated", "unchanged", "skipped", "failed")})
        line = (_("refreshed {n} {noun} via {provider}: {counts}") if summary.provider
                else _("refreshed {n} {noun}: {counts}"))
        # Plain lines (never wrapped): scripts grep them.
        sys.stderr.write(line.format(n=len(summary.items), noun=_(noun), provider=summary.provider, counts=counts)
                         + "\n")
        for item in summary.failed:
            sys.stderr.write(safe(_("  failed {doc} {name}: {reason}").format(
                doc=item.doc_number, name=item.name, reason=item.reason), one_line=True) + "\n")
        error = refresh.refresh_exit_error(summary, noun)
        if error is not None:
            raise error

    @app.command("invoices", help=f"List a {one}'s invoices (as `cuentas invoices list --party DOC`).\n\n"
                 f"Example: cuentas {noun} invoices {sample} --status VENCIDA")
    def invoices_(
        doc: DocArg,
        status: Annotated[Optional[str], typer.Option("--status", help="PENDIENTE, PARCIAL, PAGADA, VENCIDA or ANULADA.")] = None,
        limit: Annotated[Optional[int], typer.Option("--limit", help="At most this many rows.")] = None,
        fmt: FormatOpt = None,
    ) -> None:
        from cuentas_cli.ledger import accounts
        from cuentas_cli.ledger.records import LIST_COLUMNS

        rt = runtime()
        with rt.session() as session:
            rows = accounts.party_invoices(session=session, actor=rt.actor(session), kind=kind, ref=doc,
                                           today=rt.today, status=status, limit=limit)
            emit(rows, fmt, columns=LIST_COLUMNS if resolve_format(fmt) == "table" else None)

    from cuentas_cli.commands.statements import add_statement_command

    add_statement_command(app, kind)
    return app


clients_app = make_app("client")
suppliers_app = make_app("supplier")
