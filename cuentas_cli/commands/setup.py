"""`cuentas init`: the database and its first administrator."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import PasswordStdinOpt, read_password, runtime
from cuentas_cli.render import info, success
from cuentas_cli.i18n import _


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
    from cuentas_cli.ops.maintenance import is_new_database, upgrade_database
    from cuentas_cli.admin.auth import check_password_policy
    from cuentas_cli.admin.users import check_username, count_users, create_first_admin

    rt = runtime()
    prompt = _("Password for {user}").format(user=admin)
    password = None
    if is_new_database(rt):
        # the name and password are checked before anything is created, so a refused password
        # leaves no half-made database behind
        check_username(admin)
        password = read_password(from_stdin=password_stdin, prompt=prompt, confirm=not password_stdin)
        check_password_policy(password, username=admin)
    before, after = upgrade_database(rt)
    if before != after:
        success(_("database ready at schema {after}").format(after=after))
    with rt.session() as session:
        has_users = count_users(session) > 0
    if has_users:
        info(_("the database already has users; log in with `cuentas login`"))
        return
    if password is None:
        password = read_password(from_stdin=password_stdin, prompt=prompt, confirm=not password_stdin)
    with rt.session(write=True) as session:
        create_first_admin(session=session, username=admin, password=password, email=email)
    from cuentas_cli.api import security

    try:
        security.signing_key()  # the HTTP API's key (`cuentas serve api`): made now, kept in the keyring
    except OSError:
        pass  # no place for it yet: `serve api` makes it on first use
    success(_("administrador {admin} created; now run `cuentas login {admin}`").format(admin=admin))

