"""`cuentas roles`: the permission matrix."""

from __future__ import annotations

from typing import Annotated

import typer

from cuentas_cli.commands.common import FormatOpt, runtime
from cuentas_cli.render import emit, info, success

app = typer.Typer(help="The permission matrix of the three roles.\n\nExample: cuentas roles list", no_args_is_help=True)

RoleArg = Annotated[str, typer.Argument(help="contador, gerente or administrador.")]
PermArg = Annotated[str, typer.Argument(help="A permission name from `cuentas roles list`.")]


@app.command("list")
def list_(fmt: FormatOpt = None) -> None:
    """Print which role holds which permission.

    Example: cuentas roles list --format csv
    """
    from cuentas_cli.admin import users

    rt = runtime()
    with rt.session() as session:
        rows = users.matrix(session=session, actor=rt.actor(session))
    emit(rows, fmt)


@app.command()
def grant(role: RoleArg, permission: PermArg) -> None:
    """Grant a permission to a role (administrador only).

    Example: cuentas roles grant gerente invoices.create
    """
    from cuentas_cli.admin import users

    rt = runtime()
    with rt.session(write=True) as session:
        changed = users.grant(session=session, actor=rt.actor(session), role=role, permission=permission)
    (success if changed else info)(f"{role} {'now has' if changed else 'already had'} {permission}")


@app.command()
def revoke(role: RoleArg, permission: PermArg) -> None:
    """Take a permission from a role (administrador only).

    Example: cuentas roles revoke contador invoices.operate
    """
    from cuentas_cli.admin import users

    rt = runtime()
    with rt.session(write=True) as session:
        changed = users.revoke(session=session, actor=rt.actor(session), role=role, permission=permission)
    (success if changed else info)(f"{role} {'no longer has' if changed else 'did not have'} {permission}")
