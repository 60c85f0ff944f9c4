"""`cuentas companies`: the companies whose books a firm (an estudio contable) keeps."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import AliasedGroup, FormatOpt, runtime
from cuentas_cli.i18n import _
from cuentas_cli.render import emit, success


class CompaniesGroup(AliasedGroup):
    aliases = {"agregar": "add", "listar": "list", "usar": "use", "quitar": "remove"}


app = typer.Typer(
    cls=CompaniesGroup,
    help="The firm's companies: each keeps its own books, settings and members; people log in once.\n\n"
         "Example: cuentas companies add 20100070970 --name 'Cliente SAC' && cuentas companies use 20100070970",
    no_args_is_help=True,
)

RucArg = Annotated[str, typer.Argument(help="The company's RUC (or its alias).", metavar="RUC")]


@app.command()
def add(
    ruc: Annotated[str, typer.Argument(help="The company's RUC (11 digits).", metavar="RUC")],
    name: Annotated[Optional[str], typer.Option("--name", help="Its name (default: the padrón's, else the RUC).")] = None,
    alias: Annotated[Optional[str], typer.Option("--alias", help="A short name for --company (e.g. acme).")] = None,
    db: Annotated[Optional[str], typer.Option("--db", metavar="URL", help="Where its books go (an empty database; no "
                                              "password in the URL). Default: a SQLite file in companies/ beside the "
                                              "firm's, or a schema of the firm's PostgreSQL database.")] = None,
) -> None:
    """Add a company to the firm and make its books (firm administrador).

    The first company added makes this database's own books the firm's first company, under
    its company.ruc and company.name: nothing moves. You become the new company's
    administrador; give others a role there with `cuentas users grant`.

    Example: cuentas companies add 20100070970 --name 'Cliente SAC' --alias cliente
    Example: cuentas companies add 20512345678 --db postgresql://estudio@db.local/cliente2
    """
    from cuentas_cli.ops import firm

    row = firm.add(runtime(), ruc=ruc, name=name, alias=alias, db_url=db)
    success(_("company {label} added; work on it with --company {ruc} or `cuentas companies use {ruc}`")
            .format(label=row.label, ruc=row.alias or row.ruc))


@app.command("list")
def list_(fmt: FormatOpt = None) -> None:
    """The firm's companies you may see, with your role and their open CxC/CxP and overdue (S/).

    Example: cuentas companies list --format json
    """
    from cuentas_cli.ops import firm

    emit(firm.listing(runtime()), fmt)


@app.command()
def use(key: RucArg) -> None:
    """Make a company the default on this machine (the config file's firm.company); --company or
    CUENTAS_COMPANY still choose another for one run.

    Example: cuentas companies use 20100070970
    """
    from cuentas_cli.ops import firm

    row = firm.use(runtime(), key)
    success(_("commands now work on the books of {label}").format(label=row.label))


@app.command()
def remove(
    key: RucArg,
    archive: Annotated[bool, typer.Option("--archive", help="Also a company with data: its books are kept (the "
                                          "SQLite file moved to archive/, the schema renamed).")] = False,
) -> None:
    """Take a company out of the firm (firm administrador); refused while it holds data unless --archive.

    Example: cuentas companies remove 20100070970 --archive
    """
    from cuentas_cli.ops import firm

    place = firm.remove(runtime(), key, archive=archive)
    if place:
        success(_("company {key} archived; its books are kept at {place}").format(key=key, place=place))
    else:
        success(_("company {key} removed").format(key=key))
