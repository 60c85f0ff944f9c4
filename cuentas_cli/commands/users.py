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
    pg_login: Annotated[bool, typer.Option("--pg-login", help="PostgreSQL team mode: the person connects with "
                                           "their own PostgreSQL login (NAME, or --pg-name), created in their "
                                           "role's group, or mapped if it exists; they need no cuentas password.")] = False,
    pg_name: Annotated[Optional[str], typer.Option("--pg-name", metavar="LOGIN",
                                                   help="With --pg-login: the login's name when it is not NAME.")] = None,
    no_password: Annotated[bool, typer.Option("--no-password", help="With --pg-login: create the login without a "
                                              "password (peer, certificate or trust authentication; or set it "
                                              "later with psql's \\password).")] = False,
) -> None:
    """Add a user; the password is asked at the terminal or read from stdin.

    With --pg-login (PostgreSQL, after `cuentas db roles apply`, as the schema's owner) the user is
    the PostgreSQL login NAME: the password asked is that new login's, and a login that exists
    already is mapped without asking. Connected as it, they are this user with no `cuentas login`,
    and the server holds them to their role's grants.

    Example: echo 'una-clave-larga' | cuentas users add luis --role contador --password-stdin
    Example: cuentas users add luis --role contador --pg-login
    """
    from cuentas_cli.admin import users

    from cuentas_cli.errors import UsageError

    if pg_name and not pg_login:
        raise UsageError(_("--pg-name goes with --pg-login"))
    rt = runtime()
    if rt.in_company:
        raise UsageError(_("people are added to the firm, then given a role in a company: `cuentas users add NAME "
                           "--role R` without --company, then `cuentas users grant NAME --company RUC --role R`"))
    with rt.session() as session:
        users.check_can_manage(rt.actor(session))  # refused before a password is asked or read
        login = (pg_name or name) if pg_login else None
        if login:
            from cuentas_cli.admin import team

            team.ready_for_logins(session)
            team.check_login_name(login)
        ask = not (login and (no_password or team.role_exists(session, login)))
    password = None
    if ask:
        prompt = _("Password for {user}").format(user=name if not login else f"PostgreSQL login {login}")
        password = read_password(from_stdin=password_stdin, prompt=prompt, confirm=not password_stdin)
    with rt.session(write=True) as session:
        info = users.add_user(session=session, actor=rt.actor(session), username=name, role=role, password=password,
                              email=email, pg_login=login)
    if login:
        success(_("user {username} added as {role}, identified by the PostgreSQL login {login}")
                .format(username=info.username, role=info.role, login=login))
    else:
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


@app.command()
def grant(
    name: NameArg,
    company: Annotated[str, typer.Option("--company", metavar="RUC|ALIAS", help="The company of the firm.")],
    role: Annotated[str, typer.Option("--role", help="contador, gerente, administrador, or none (no access).")],
) -> None:
    """Give a firm user a role in one company of the firm (firm administrador); `--role none`
    takes their access to it away. In each company a person may hold a different role.

    Example: cuentas users grant luis --company 20100070970 --role gerente
    Example: cuentas users grant luis --company cliente --role none
    """
    from cuentas_cli.ops import firm

    done = firm.grant(runtime(), username=name, key=company, role=role)
    if done == "unchanged":
        success(_("{name} had no access to {company}; nothing changed").format(name=name, company=company))
    elif role == "none":
        success(_("{name} no longer has access to {company}").format(name=name, company=company))
    else:
        success(_("{name} is {role} in {company}").format(name=name, role=role, company=company))
