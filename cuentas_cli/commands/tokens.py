"""`cuentas tokens`: named service tokens for cron jobs and scripts."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import FormatOpt, runtime
from cuentas_cli.render import emit, info, success
from cuentas_cli.i18n import _

app = typer.Typer(
    help="Service tokens for cron and scripts (administrador only).\n\nExample: cuentas tokens create cron-recordatorios --user cobranzas",
    no_args_is_help=True,
)


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="A name for the token, e.g. cron-recordatorios.")],
    user: Annotated[Optional[str], typer.Option("--user", help="The user the token acts as (default: you).")] = None,
    days: Annotated[Optional[int], typer.Option("--days", min=1, help="Expire after this many days (default: never).")] = None,
) -> None:
    """Create a service token and print it once on stdout; only its hash is stored.

    Put it in the environment of the job as CUENTAS_TOKEN.

    Example: cuentas tokens create cron-recordatorios --user cobranzas > token.txt
    """
    from cuentas_cli.admin import users

    rt = runtime()
    with rt.session(write=True) as session:
        token, row = users.create_token(session=session, actor=rt.actor(session), name=name, username=user, days=days)
    sys.stdout.write(token + "\n")
    info(_("token {name} acts as {user}; it is shown only this once: set it as CUENTAS_TOKEN")
         .format(name=row.name, user=row.user))


@app.command("list")
def list_(fmt: FormatOpt = None) -> None:
    """List service tokens with their user and last use (never the token itself).

    Example: cuentas tokens list
    """
    from cuentas_cli.admin import users

    rt = runtime()
    with rt.session() as session:
        rows = users.list_tokens(session=session, actor=rt.actor(session))
    emit(rows, fmt)


@app.command()
def revoke(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke a service token at once.

    Example: cuentas tokens revoke cron-recordatorios
    """
    from cuentas_cli.admin import users

    rt = runtime()
    with rt.session(write=True) as session:
        users.revoke_token(session=session, actor=rt.actor(session), name=name)
    success(_("token {name} revoked").format(name=name))
