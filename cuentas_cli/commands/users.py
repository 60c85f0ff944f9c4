"""`cuentas users`: who may use cuentas, and with which role."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import FormatOpt, PasswordStdinOpt, read_password, runtime
from cuentas_cli.render import emit, emit_record, success
from cuentas_cli.i18n import _

app = typer.Typer(help="Users and their roles (administrador only).\n\nExample: cuentas users add luis --role contador", no_args_is_help=True)

RoleArg = Annotated[str, typer.Argument(help="contador, gerente or administrador.")]
NameArg = Annotated[str, typer.Argument(help="User name.")]


@app.command("list")
def list_(fmt: FormatOpt = None) -> None:
    """List users with role, state and last login.

    Example: cuentas users list --format csv
    """
    from cuentas_cli.admin import users

    rt = runtime()
    with rt.session() as session:
        rows = users.list_users(session=session, actor=rt.actor(session))
    emit(rows, fmt)


@app.command()
def add(
    name: NameArg,
    role: Annotated[str, typer.Option("--role", help="contador, gerente or administrador.")],
    email: Annotated[Optional[str], typer.Option("--email", help="E-mail address.")] = None,
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """Add a user; the password is asked at the terminal or read from stdin.

    Example: echo 'una-clave-larga' | cuentas users add luis --role contador --password-stdin
    """
    from cuentas_cli.admin import users

    rt = runtime()
    with rt.session() as session:
        users.check_can_manage(rt.actor(session))  # refused before a password is asked or read
    password = read_password(from_stdin=password_stdin, prompt=_("Password for {user}").format(user=name), confirm=not password_stdin)
    with rt.session(write=True) as session:
        info = users.add_user(session=session, actor=rt.actor(session), username=name, role=role, password=password, email=email)
    success(_("user {username} added as {role}").format(username=info.username, role=info.role))


@app.command()
def show(name: NameArg, fmt: FormatOpt = None) -> None:
    """Show one user.

    Example: cuentas users show luis
    """
    from cuentas_cli.admin import users

    rt = runtime()
    with rt.session() as session:
        info = users.show_user(session=session, actor=rt.actor(session), username=name)
    emit_record(info, fmt)


@app.command("set-role")
def set_role(name: NameArg, role: RoleArg) -> None:
    """Change a user's role (the last active administrador cannot be demoted).

    Example: cuentas users set-role luis gerente
    """
    from cuentas_cli.admin import users

    rt = runtime()
    with rt.session(write=True) as session:
        info = users.set_role(session=session, actor=rt.actor(session), username=name, role=role)
    success(_("{username} is now {role}").format(username=info.username, role=info.role))


@app.command()
def disable(name: NameArg) -> None:
    """Disable a user and end their sessions and tokens.

    Example: cuentas users disable luis
    """
    from cuentas_cli.admin import users

    rt = runtime()
    with rt.session(write=True) as session:
        users.set_active(session=session, actor=rt.actor(session), username=name, active=False)
    success(_("{name} disabled; their sessions and tokens are revoked").format(name=name))


@app.command()
def enable(name: NameArg) -> None:
    """Enable a disabled user.

    Example: cuentas users enable luis
    """
    from cuentas_cli.admin import users

    rt = runtime()
    with rt.session(write=True) as session:
        users.set_active(session=session, actor=rt.actor(session), username=name, active=True)
    success(_("{name} enabled").format(name=name))
