"""`cuentas login | logout | whoami | passwd`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import FormatOpt, PasswordStdinOpt, read_password, runtime
from cuentas_cli.render import emit_record, info, success


def login(
    name: Annotated[Optional[str], typer.Argument(help="User name (default: $USER).")] = None,
    password_stdin: PasswordStdinOpt = False,
    session_file: Annotated[
        Optional[Path],
        typer.Option("--session-file", help="Keep the session in this file (0600) instead of the OS keyring.", metavar="PATH"),
    ] = None,
) -> None:
    """Log in: verify the password and keep a session token in the OS keyring.

    The session lasts `session.hours` (12 by default). Where no keyring works, use
    --session-file PATH and export CUENTAS_SESSION_FILE=PATH, or a service token in
    CUENTAS_TOKEN.

    Example: cuentas login ana
    """
    from cuentas_cli.integrations import keyring_store
    from cuentas_cli.runtime import write_session_file
    from cuentas_cli.services import settings as settings_service
    from cuentas_cli.services import users

    rt = runtime()
    username = name or os.environ.get("USER") or ""
    if session_file is None:
        # Fail before asking for the password when there is nowhere to keep the session.
        keyring_store.get_secret(keyring_store.session_key(rt.url))
    password = read_password(from_stdin=password_stdin, prompt=f"Password for {username}")
    with rt.session(write=True) as session:
        hours = settings_service.get(session, rt.config, "session.hours")
        result = users.login(session=session, username=username, password=password, hours=hours)
        if session_file is not None:
            write_session_file(session_file, result.token)
        else:
            keyring_store.set_secret(keyring_store.session_key(rt.url), result.token)
    where = f"in {session_file} (export CUENTAS_SESSION_FILE={session_file})" if session_file else "in the OS keyring"
    success(f"logged in as {result.username} ({result.role}) until {result.expires_at:%Y-%m-%d %H:%M} UTC; session kept {where}")


def logout() -> None:
    """End the login session: revoke it in the database and remove it from the keyring.

    Example: cuentas logout
    """
    from cuentas_cli.integrations import keyring_store
    from cuentas_cli.services import users

    rt = runtime()
    key = keyring_store.session_key(rt.url)
    token = keyring_store.get_secret(key)
    if not token:
        info("not logged in; nothing to do")
        return
    with rt.session(write=True) as session:
        users.logout(session=session, token=token)
    keyring_store.delete_secret(key)
    success("logged out")


def whoami(fmt: FormatOpt = None) -> None:
    """Show who you are: user, role, permissions and when the session expires.

    Example: cuentas whoami --format json
    """
    rt = runtime()
    with rt.session() as session:
        actor = rt.actor(session)
    emit_record(
        {
            "username": actor.username,
            "role": actor.role,
            "permissions": sorted(actor.permissions),
            "token": actor.token_kind,
            "expires_at": actor.expires_at,
            "database": _redacted(rt.url),
        },
        fmt,
    )


def _redacted(url: str) -> str:
    from cuentas_cli.db.engine import redact

    return redact(url)


def passwd(password_stdin: PasswordStdinOpt = False) -> None:
    """Change your own password (asks for the current one first); your other sessions end.

    With --password-stdin, the first line is the current password and the second the new one.

    Example: cuentas passwd
    """
    import sys

    from cuentas_cli.integrations import keyring_store
    from cuentas_cli.services import users

    rt = runtime()
    current = read_password(from_stdin=password_stdin, prompt="Current password")
    new = read_password(from_stdin=password_stdin, prompt="New password", confirm=not password_stdin and sys.stdin.isatty())
    with rt.session(write=True) as session:
        actor = rt.actor(session)
        try:
            users.change_password(session=session, actor=actor, current=current, new=new)
        except users.auth.FailedLogin:
            session.rollback()
            raise
    if actor.token_kind == "session" and not rt.config.token:
        try:
            keyring_store.delete_secret(keyring_store.session_key(rt.url))
        except keyring_store.KeyringUnavailable:
            pass
    success("password changed; every session of yours ended: log in again with `cuentas login`")
