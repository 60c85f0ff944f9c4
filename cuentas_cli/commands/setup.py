"""`cuentas init`: the database and its first administrator."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import PasswordStdinOpt, read_password, runtime
from cuentas_cli.render import info, success


def init(
    admin: Annotated[str, typer.Option("--admin", help="User name of the first administrador.")] = "admin",
    email: Annotated[Optional[str], typer.Option("--email", help="Their e-mail.")] = None,
    password_stdin: PasswordStdinOpt = False,
) -> None:
    """Create or upgrade the database, then create the first administrador.

    The password is asked at the terminal or read with --password-stdin; never given as an
    argument. On a database that already has users only the schema is upgraded.

    Example: cuentas init --admin ana
    """
    from cuentas_cli.ops.maintenance import upgrade_database
    from cuentas_cli.admin.users import count_users, create_first_admin

    rt = runtime()
    before, after = upgrade_database(rt)
    if before != after:
        success(f"database ready at schema {after}")
    with rt.session() as session:
        has_users = count_users(session) > 0
    if has_users:
        info("the database already has users; log in with `cuentas login`")
        return
    password = read_password(from_stdin=password_stdin, prompt=f"Password for {admin}", confirm=not password_stdin)
    with rt.session(write=True) as session:
        create_first_admin(session=session, username=admin, password=password, email=email)
    success(f"administrador {admin} created; now run `cuentas login {admin}`")
