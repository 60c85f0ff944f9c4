"""The API's tokens: short-lived access JWTs and rotating refresh JWTs over cuentas sessions.

`POST /auth/token` checks the password as `cuentas login` does (the same lockout) and opens a
session (an api_token row, kind session). Both JWTs carry that session's id (`sid`), signed with
HS256 by the firm's signing key; the access one lives ACCESS_MINUTES, the refresh one as long
as the session. Every request checks the session's row too, so a logout, a refresh (which
revokes the old session and opens a new one: a refresh token works once) or `users disable`
takes effect at once, signature or not. Service tokens (`cuentas tokens create`) are accepted
as Bearer tokens as they are.

The signing key is made the first time it is needed (`cuentas init`, `cuentas serve api`) and
kept in the OS keyring, or without one in a 0600 file in the data dir.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cuentas_cli.errors import NotLoggedIn
from cuentas_cli.i18n import _

ACCESS_MINUTES = 15
ALGORITHM = "HS256"
KEY_NAME = "api-signing-key"
_KEY: str | None = None


def key_file() -> Path:
    from cuentas_cli.config import home_dirs

    return home_dirs()[1] / "api-signing.key"


def signing_key() -> str:
    """The firm's signing key: from the keyring, else the 0600 file; made once if neither holds one."""
    global _KEY
    if _KEY is not None:
        return _KEY
    from cuentas_cli.integrations import keyring_store

    try:
        key = keyring_store.get_secret(KEY_NAME)
        if not key:
            key = secrets.token_hex(32)
            keyring_store.set_secret(KEY_NAME, key)
    except keyring_store.KeyringUnavailable:
        path = key_file()
        if path.exists():
            key = path.read_text(encoding="utf-8").strip()
        else:
            from cuentas_cli.config import ensure_private_dir

            ensure_private_dir(path.parent)
            key = secrets.token_hex(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(key + "\n")
    _KEY = key
    return key


def forget_key() -> None:
    global _KEY
    _KEY = None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def issue_pair(*, username: str, session_id: int, session_expires: datetime) -> dict[str, str]:
    import jwt

    now = _now()
    access_exp = min(now + timedelta(minutes=ACCESS_MINUTES), session_expires)
    common = {"sub": username, "sid": session_id, "iat": int(now.timestamp())}
    key = signing_key()
    return {
        "access_token": jwt.encode({**common, "typ": "access", "exp": int(access_exp.timestamp())}, key, ALGORITHM),
        "refresh_token": jwt.encode({**common, "typ": "refresh", "exp": int(session_expires.timestamp()),
                                     "jti": secrets.token_hex(8)}, key, ALGORITHM),
        "token_type": "bearer",
    }


def decode(token: str, *, kind: str) -> dict[str, Any]:
    """The claims of a valid token of `kind` (access or refresh); NotLoggedIn otherwise."""
    import jwt

    try:
        claims = jwt.decode(token, signing_key(), algorithms=[ALGORITHM], options={"require": ["exp", "sid", "sub"]})
    except jwt.ExpiredSignatureError:
        raise NotLoggedIn(_("the token expired; refresh it (POST /auth/refresh) or log in again")) from None
    except jwt.PyJWTError:
        raise NotLoggedIn(_("the token is not valid")) from None
    if claims.get("typ") != kind or not isinstance(claims.get("sid"), int):
        raise NotLoggedIn(_("the token is not valid"))
    return claims


def session_actor(conn: Any, session_id: int) -> tuple[Any, Any]:
    """The actor of a session by its id, refused as `cuentas` refuses a session token (revoked,
    expired, its user disabled)."""
    from sqlalchemy import select

    from cuentas_cli.admin import auth
    from cuentas_cli.db.tables import api_token

    row = conn.execute(select(api_token).where(api_token.c.id == session_id, api_token.c.kind == "session")).first()
    if row is None:
        raise NotLoggedIn(_("the session of this token has ended; log in again (POST /auth/token)"))
    return auth.actor_of_token(conn, row)


def revoke_session(conn: Any, session_id: int) -> None:
    from sqlalchemy import update

    from cuentas_cli.db.tables import api_token

    conn.execute(update(api_token).where(api_token.c.id == session_id, api_token.c.revoked_at.is_(None))
                 .values(revoked_at=_now()))
