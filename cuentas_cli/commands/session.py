"""`cuentas login | logout | whoami | passwd`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import FormatOpt, PasswordStdinOpt, firm_runtime, read_password, runtime
from cuentas_cli.render import emit_record, info, success, warn
from cuentas_cli.i18n import _


def login(
    name: Annotated[Optional[str], typer.Argument(help="User name (default: $USER).")] = None,
    password_stdin: PasswordStdinOpt = False,
    session_file: Annotated[
        Optional[Path],
        typer.Option("--session-file", metavar="PATH", envvar="CUENTAS_SESSION_FILE", show_envvar=False,
                     help="Keep the session in this file (0600) instead of the OS keyring (default: "
                          "$CUENTAS_SESSION_FILE, where later commands look for it). An existing file is "
                          "replaced only if it holds a cuentas session; the database, a symbolic link or a folder "
                          "are refused."),
    ] = None,
) -> None:
    """Log in: verify the password and keep a session token in the OS keyring.

    The session lasts `session.hours` (12 by default). Where no keyring works (a server, a
    container) the session is kept in a 0600 file of the data dir, found there by later
    commands, with one warning; CUENTAS_REQUIRE_KEYRING=1 refuses that (exit 7). Or choose the
    file: --session-file PATH and export CUENTAS_SESSION_FILE=PATH; or a service token in
    CUENTAS_TOKEN. A session file is written atomically, mode 0600; a file there that does not
    hold a cuentas session is never replaced (exit 2).

    Example: cuentas login ana
    """
    from cuentas_cli.integrations import keyring_store
    from cuentas_cli.runtime import check_session_file, fallback_session_path, keyring_required, write_session_file
    from cuentas_cli.admin import settings as settings_service
    from cuentas_cli.admin import users

    rt = firm_runtime()
    username = name or os.environ.get("USER") or ""
    from cuentas_cli.db.engine import is_sqlite

    if not is_sqlite(rt.url):
        from cuentas_cli.admin.auth import login_actor

        with rt.connection() as conn:
            by_login = login_actor(conn)
        if by_login is not None:  # team mode: the PostgreSQL login already says who this is
            info(_("you are {username} ({role}) by your PostgreSQL login: no cuentas session is needed")
                 .format(username=by_login.username, role=by_login.role))
            return
    target = fallback = None
    if session_file is not None:
        # Checked before the password is asked: nothing is written where it must not be.
        target = check_session_file(session_file, database_url=rt.url)
    else:
        try:  # before asking for the password: where will the session be kept?
            keyring_store.get_secret(keyring_store.session_key(rt.url))
        except keyring_store.KeyringUnavailable:
            if keyring_required():
                raise
            fallback = fallback_session_path(rt.url)
            target = check_session_file(fallback, database_url=rt.url)
    password = read_password(from_stdin=password_stdin, prompt=_("Password for {user}").format(user=username))
    with rt.session(write=True) as session:
        hours = settings_service.get(session, rt.config, "session.hours")
        result = users.login(session=session, username=username, password=password, hours=hours)
        if target is not None:
            write_session_file(target, result.token)
        else:
            keyring_store.set_secret(keyring_store.session_key(rt.url), result.token)
    if fallback is not None:
        warn(_("no OS keyring here: the session is kept in {path} (0600); CUENTAS_REQUIRE_KEYRING=1 refuses this")
             .format(path=fallback))
        where = _("in {path}").format(path=fallback)
    elif session_file:
        where = _("in {path} (export CUENTAS_SESSION_FILE={path})").format(path=session_file)
    else:
        where = _("in the OS keyring")
    success(_("logged in as {username} ({role}) until {expires_at:%Y-%m-%d %H:%M} UTC; session kept "
              "{where}")
            .format(username=result.username, role=result.role, expires_at=result.expires_at, where=where))


def logout(
    session_file: Annotated[
        Optional[Path],
        typer.Option("--session-file", metavar="PATH",
                     help="The session file to end (default: $CUENTAS_SESSION_FILE)."),
    ] = None,
) -> None:
    """End the login session wherever it is kept: revoke it in the database, delete the
    session file (--session-file or CUENTAS_SESSION_FILE) and remove it from the OS keyring.

    Works without an OS keyring when the session is in a file. With no session anywhere it
    says so and exits 0. Service tokens (CUENTAS_TOKEN) are not ended here: see
    `cuentas tokens revoke NAME`.

    Example: cuentas logout
    """
    from cuentas_cli.integrations import keyring_store
    from cuentas_cli.runtime import SESSION_FILE_ENV, fallback_session_path, read_session_file, remove_session_file
    from cuentas_cli.admin import auth

    rt = firm_runtime()
    path = session_file or (Path(os.environ[SESSION_FILE_ENV]) if os.environ.get(SESSION_FILE_ENV) else None)
    if path is None and os.path.lexists(fallback_session_path(rt.url)):
        path = fallback_session_path(rt.url)  # kept there by a login without a keyring
    file_token = read_session_file(path, check_mode=False) if path is not None else None
    key = keyring_store.session_key(rt.url)
    try:
        keyring_token = keyring_store.get_secret(key)
        keyring_usable = True
    except keyring_store.KeyringUnavailable:
        keyring_token, keyring_usable = None, False
    tokens = [t for t in dict.fromkeys((file_token, keyring_token)) if t]
    if not tokens:
        if path is not None and os.path.lexists(path.expanduser()):
            remove_session_file(path)  # an empty file: nothing to revoke, nothing to keep
        where = (_("no OS keyring here and no session file") if not keyring_usable and path is None
                 else _("no session found"))
        info(_("not logged in ({where}); nothing to do").format(where=where))
        if rt.config.token:
            info(_("CUENTAS_TOKEN is set: service tokens are ended with `cuentas tokens revoke NAME`"))
        return
    # Revoked in the database first: if that fails, the local copies stay so logout can be retried.
    with rt.session(write=True) as session:
        revoked = sum(auth.revoke_token_value(session, token, kind="session") for token in tokens)
    removed = []
    if file_token:
        remove_session_file(path)
        removed.append(str(path))
    if keyring_token:
        keyring_store.delete_secret(key)
        removed.append("the OS keyring")
    if revoked:
        success(_("logged out: session revoked and removed from {and_join_removed}")
                .format(and_join_removed=' and '.join(removed)))
    else:
        success(_("logged out: removed from {and_join_removed} (the session was already revoked, or is "
                  "not a login session of this database)")
                .format(and_join_removed=' and '.join(removed)))


def whoami(fmt: FormatOpt = None) -> None:
    """Show who you are: user, role, permissions and when the session expires.

    Example: cuentas whoami --format json
    """
    rt = runtime()
    with rt.connection() as conn:
        actor = rt.actor(conn)
    record = {
        "username": actor.username,
        "role": actor.role,
        "permissions": sorted(actor.permissions),
        "token": actor.token_kind,
        "expires_at": actor.expires_at,
        "database": _redacted(rt.url),
    }
    company = rt.company_label()  # a firm of several companies: whose books, with this role
    emit_record({**record, "company": company} if company else record, fmt)


def _redacted(url: str) -> str:
    from cuentas_cli.rules.urls import redact

    return redact(url)


def passwd(password_stdin: PasswordStdinOpt = False) -> None:
    """Change your own password (asks for the current one first); your other sessions end.

    With --password-stdin, the first line is the current password and the second the new one.

    Example: cuentas passwd
    """
    import sys

    from cuentas_cli.integrations import keyring_store
    from cuentas_cli.admin import users

    rt = firm_runtime()
    current = read_password(from_stdin=password_stdin, prompt=_("Current password"))
    new = read_password(from_stdin=password_stdin, prompt=_("New password"), confirm=not password_stdin and sys.stdin.isatty())
    with rt.session(write=True) as session:
        actor = rt.actor(session)
        try:
            users.change_password(session=session, actor=actor, current=current, new=new)
        except users.auth.FailedLogin:
            session.rollback()
            raise
    if actor.token_kind == "session" and not rt.config.token:
        from cuentas_cli.runtime import SESSION_FILE_ENV, fallback_session_path, remove_session_file

        if os.environ.get(SESSION_FILE_ENV):
            remove_session_file(Path(os.environ[SESSION_FILE_ENV]))  # its session was just ended
        remove_session_file(fallback_session_path(rt.url))
        try:
            keyring_store.delete_secret(keyring_store.session_key(rt.url))
        except keyring_store.KeyringUnavailable:
            pass
    success(_("password changed; every session of yours ended: log in again with `cuentas login`"))
