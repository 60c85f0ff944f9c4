"""Who is acting and what they may do: passwords, login sessions, service tokens, permissions.

Tokens are random (secrets.token_urlsafe) and only their SHA-256 is stored: a copy of the
database gives nobody a usable session. Passwords are argon2id at OWASP's first recommended
setting (19 MiB, 2 passes, 1 lane); hashes made with other parameters are re-hashed at the
next successful login.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import Conflict, NotFound, NotLoggedIn, PermissionDenied, ValidationError
from cuentas_cli.i18n import N_, _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlmodel import Session

    from cuentas_cli.db.models import ApiToken, User

# name -> what it allows (the rows of the matrix in design.md)
PERMISSIONS: dict[str, str] = {
    "read": "read invoices, clients and suppliers",
    "invoices.create": "create invoices (add, import)",
    "invoices.operate": "change an invoice's status, record payments",
    "invoices.edit": "edit other invoice fields",
    "invoices.delete": "delete invoices and payments",
    "parties.write": "add, edit and refresh clients and suppliers",
    "parties.delete": "delete clients and suppliers",
    "fx.write": "record and fetch exchange rates",
    "dashboards": "dashboards: metrics, aging, charts, cash flow",
    "summary": "financial summary",
    "export": "export invoices and reports",
    "notify": "run notifications",
    "audit": "read the audit log",
    "users": "manage users, roles and service tokens",
    "settings": "change settings and secrets",
}

MIN_PASSWORD_LENGTH = 10
MAX_FAILED_LOGINS = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
SESSION_PREFIX = "cts_"
SERVICE_PREFIX = "cst_"
BAD_CREDENTIALS = N_("wrong user name or password")
LOGIN_AGAIN = N_("log in again with `cuentas login` (or set CUENTAS_TOKEN to a service token)")


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


@dataclass(frozen=True)
class Actor:
    """The user a command runs as, with the permissions of their role."""

    user_id: int
    username: str
    role: str
    permissions: frozenset[str]
    token_kind: str = "session"
    expires_at: datetime | None = None

    def can(self, permission: str) -> bool:
        return permission in self.permissions


def require(actor: Actor | None, permission: str) -> Actor:
    """Raise PermissionDenied unless the actor holds the permission; return the actor."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    if actor is None:
        raise NotLoggedIn(_("not logged in: {permission} needs a user; {LOGIN_AGAIN}")
                          .format(permission=permission, LOGIN_AGAIN=_(LOGIN_AGAIN)))
    if permission not in actor.permissions:
        raise PermissionDenied(
            _("permission denied: {permission} ({permissions_permission}) is not granted to role {role} "
              "(user {username}); ask an administrador")
            .format(permission=permission, permissions_permission=PERMISSIONS[permission], role=actor.role, username=actor.username)
        )
    return actor


# --- passwords -------------------------------------------------------------------------


def _hasher():  # noqa: ANN202
    from argon2 import PasswordHasher, Type

    return PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)


def check_password_policy(password: str, *, username: str | None = None) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(_("password too short: at least {MIN_PASSWORD_LENGTH} characters")
                              .format(MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH))
    if username and password.lower() == username.lower():
        raise ValidationError(_("password must not be the user name"))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: str | None = None


def _burn_time(password: str) -> None:
    """Spend the time a real verification would, so timing does not reveal unknown users."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    verify_password(_DUMMY_HASH, password)


# --- tokens ----------------------------------------------------------------------------


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def role_permissions(session: "Session | Connection", role: str) -> frozenset[str]:
    from sqlalchemy import select

    from cuentas_cli.db.tables import role_permission as rp

    return frozenset(session.execute(select(rp.c.permission).where(rp.c.role == role)).scalars())


def actor_for(session: "Session | Connection", user: Any, token: Any = None) -> Actor:
    """The actor of a user (an ORM User or a row with id, username and role), acting through
    `token` (a token row or ApiToken) when given."""
    return Actor(
        user_id=user.id,
        username=user.username,
        role=user.role,
        permissions=role_permissions(session, user.role),
        token_kind=token.kind if token else "session",
        expires_at=_aware(token.expires_at) if token else None,
    )


def login_actor(session: "Session | Connection") -> Actor | None:
    """On PostgreSQL, the user whose own login this connection was made as (team mode,
    admin/team.py), or None: then a session or service token says who is acting."""
    from sqlalchemy import literal_column, select

    from cuentas_cli.db.tables import app_user

    user = session.execute(select(app_user.c.id, app_user.c.username, app_user.c.role, app_user.c.is_active)
                           .where(app_user.c.pg_login == literal_column("session_user"))).first()
    if user is None:
        return None
    if not user.is_active:
        raise NotLoggedIn(_("user {username} (your PostgreSQL login) is disabled; ask an administrador")
                          .format(username=user.username))
    actor = actor_for(session, user)
    return Actor(actor.user_id, actor.username, actor.role, actor.permissions, token_kind="pg-login")


def token_known(session: "Session | Connection", token: str) -> bool:
    """Whether this database issued the token (revoked or expired ones too)."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import api_token

    return session.execute(select(api_token.c.id).where(api_token.c.token_hash == token_digest(token))).first() is not None


def resolve_token(session: "Session | Connection", token: str, *, now: datetime | None = None) -> tuple[Actor, Any]:
    """The actor a session or service token stands for; refused if unknown, revoked or expired.
    Returns the actor and the token's row (Core: every command resolves one, see db/tables.py)."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import api_token

    row = session.execute(select(api_token).where(api_token.c.token_hash == token_digest(token))).first()
    if row is None:
        raise NotLoggedIn(_("the session or token is not valid for this database; {LOGIN_AGAIN}")
                          .format(LOGIN_AGAIN=_(LOGIN_AGAIN)))
    return actor_of_token(session, row, now=now)


def actor_of_token(session: "Session | Connection", row: Any, *, now: datetime | None = None) -> tuple[Actor, Any]:
    """The actor of a token's row (found by its value, or by id: the HTTP API's JWTs name their
    session); refused if revoked, expired or its user disabled."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import app_user

    now = now or now_utc()
    if row.revoked_at is not None:
        raise NotLoggedIn(_("the session or token was revoked; {LOGIN_AGAIN}")
                          .format(LOGIN_AGAIN=_(LOGIN_AGAIN)))
    expires = _aware(row.expires_at)
    if expires is not None and expires <= now:
        raise NotLoggedIn(_("the session expired at {expires:%Y-%m-%d %H:%M} UTC; {LOGIN_AGAIN}")
                          .format(expires=expires, LOGIN_AGAIN=_(LOGIN_AGAIN)))
    user = session.execute(select(app_user.c.id, app_user.c.username, app_user.c.role, app_user.c.is_active)
                           .where(app_user.c.id == row.user_id)).first()
    if user is None or not user.is_active:
        raise NotLoggedIn(_("user of this session is disabled; {LOGIN_AGAIN}")
                          .format(LOGIN_AGAIN=_(LOGIN_AGAIN)))
    return actor_for(session, user, row), row


def needs_touch(token_row: Any, *, now: datetime | None = None) -> bool:
    """Whether the token's last use is worth recording (at most once a minute)."""
    now = now or now_utc()
    last = _aware(token_row.last_used_at)
    return last is None or now - last >= timedelta(minutes=1)


def authenticate(session: "Session", username: str, password: str, *, now: datetime | None = None) -> "User":
    """Check a password with lockout; the same message whether the user exists or not.

    The user's row is locked for the whole check (SELECT ... FOR UPDATE on PostgreSQL; the
    write transaction's BEGIN IMMEDIATE on SQLite), so parallel attempts on one account are
    counted one after another: the fifth wrong password locks the account and no sixth
    password is verified against its hash. Attempts refused while the account is locked are
    counted too (`failed_logins` says how many tries the lock stopped). A caller must commit
    after a FailedLogin, or the count is lost.
    """
    from sqlmodel import select

    from cuentas_cli.db.models import User

    now = now or now_utc()
    user = session.exec(select(User).where(User.username == username).with_for_update()).first()
    if user is None or not user.is_active:
        _burn_time(password)
        raise PermissionDenied(_(BAD_CREDENTIALS))
    locked_until = _aware(user.locked_until)
    if locked_until is not None and locked_until > now:
        user.failed_logins += 1
        session.add(user)
        _burn_time(password)
        raise _FailedLogin(user, f"account locked after {MAX_FAILED_LOGINS} failed logins until "
                                 f"{locked_until:%Y-%m-%d %H:%M} UTC")
    if not verify_password(user.password_hash, password):
        first = _aware(user.first_failed_at)
        if locked_until is not None or first is None or now - first > FAILURE_WINDOW:
            # a new series: the first failure, or the first one after a lock ran out
            user.first_failed_at, user.failed_logins, user.locked_until = now, 1, None
        else:
            user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
        session.add(user)
        raise _FailedLogin(user)
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins, user.first_failed_at, user.locked_until = 0, None, None
    user.last_login_at = now
    session.add(user)
    return user


class _FailedLogin(PermissionDenied):
    """A wrong password, or an attempt on a locked account: the count must be committed even
    though the command fails."""

    def __init__(self, user: "User", message: str | None = None) -> None:
        super().__init__(message or _(BAD_CREDENTIALS))
        self.user_id = user.id
        self.locked_until = _aware(user.locked_until)


FailedLogin = _FailedLogin


def issue_session_token(session: "Session", user: "User", *, hours: int, now: datetime | None = None) -> tuple[str, "ApiToken"]:
    from cuentas_cli.db.models import ApiToken

    now = now or now_utc()
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, kind="session", token_hash=token_digest(token), created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(row)
    session.flush()
    return token, row


def revoke_token_value(session: "Session", token: str, *, now: datetime | None = None, kind: str | None = None) -> bool:
    """Revoke the token with this value (only if of `kind`, when given); False when it is
    unknown here, already revoked or of another kind."""
    from sqlmodel import select

    from cuentas_cli.db.models import ApiToken

    row = session.exec(select(ApiToken).where(ApiToken.token_hash == token_digest(token))).first()
    if row is None or row.revoked_at is not None or (kind is not None and row.kind != kind):
        return False
    row.revoked_at = now or now_utc()
    session.add(row)
    return True


def create_service_token(session: "Session", actor: Actor, *, name: str, username: str | None = None,
                         days: int | None = None, now: datetime | None = None) -> tuple[str, "ApiToken"]:
    """A named token for cron and scripts, printed once; acts as `username` (default: the caller)."""
    from sqlmodel import select

    from cuentas_cli.db.models import ApiToken, User

    require(actor, "users")
    now = now or now_utc()
    if not name or len(name) > 64 or not all(c.isalnum() or c in "-_." for c in name):
        raise ValidationError(_("token name {name!r}: use letters, digits, '-', '_' or '.' (up to 64)")
                              .format(name=name))
    if session.exec(select(ApiToken).where(ApiToken.name == name)).first() is not None:
        raise Conflict(_("a token named {name!r} already exists; revoke it first or choose another name")
                       .format(name=name))
    user = session.exec(select(User).where(User.username == (username or actor.username))).first()
    if user is None:
        raise NotFound(_("no user named {username!r}; see `cuentas users list`").format(username=username))
    if not user.is_active:
        raise ValidationError(_("user {username} is disabled").format(username=user.username))
    token = SERVICE_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, kind="service", name=name, token_hash=token_digest(token), created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
    )
    session.add(row)
    session.flush()
    return token, row
