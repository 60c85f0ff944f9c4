"""Users, their roles and the permission matrix; login and logout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from cuentas_cli.db.enums import ROLES
from cuentas_cli.errors import Conflict, NotFound, ValidationError
from cuentas_cli.admin import audit
from cuentas_cli.admin import auth
from cuentas_cli.admin.auth import PERMISSIONS, Actor, require
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

    from cuentas_cli.db.models import User


@dataclass
class UserInfo:
    username: str
    role: str
    email: str | None
    active: bool
    last_login_at: datetime | None
    locked_until: datetime | None
    created_at: datetime
    pg_login: str | None = None


def _info(user: "User") -> UserInfo:
    return UserInfo(
        user.username, user.role, user.email, user.is_active, user.last_login_at, user.locked_until, user.created_at,
        user.pg_login,
    )


def _public(user: "User") -> dict:
    out = {"username": user.username, "role": user.role, "email": user.email, "active": user.is_active}
    if user.pg_login:
        out["pg_login"] = user.pg_login
    return out


# The password hash of a user who logs in with their own PostgreSQL login: no password matches it.
NO_PASSWORD = "!pg-login"


def check_role(role: str) -> str:
    value = role.strip().lower()
    if value not in ROLES:
        raise ValidationError(_("unknown role {role!r}; roles are {join_roles}")
                              .format(role=role, join_roles=', '.join(ROLES)))
    return value


def check_username(name: str) -> str:
    value = name.strip()
    if not value or len(value) > 64 or not all(c.isalnum() or c in "._-@" for c in value):
        raise ValidationError(_("user name {name!r}: use letters, digits, '.', '_', '-' or '@' (up to 64)")
                              .format(name=name))
    return value


def get_user(session: "Session", username: str) -> "User":
    from sqlmodel import select

    from cuentas_cli.db.models import User

    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(_("no user named {username!r}; see `cuentas users list`").format(username=username))
    return user


def count_users(session: "Session") -> int:
    from sqlalchemy import func
    from sqlmodel import select

    from cuentas_cli.db.models import User

    return session.exec(select(func.count()).select_from(User)).one()


def _insert_user(session: "Session", *, username: str, role: str, password: str | None, email: str | None) -> "User":
    from sqlmodel import select

    from cuentas_cli.db.models import User

    username = check_username(username)
    role = check_role(role)
    if email is not None:
        from cuentas_cli.config import parse_value

        email = parse_value("smtp.from", email) or None
    if password is not None:
        auth.check_password_policy(password, username=username)
    if session.exec(select(User).where(User.username == username)).first() is not None:
        raise Conflict(_("user {username!r} already exists").format(username=username))
    user = User(username=username, role=role, email=email,
                password_hash=NO_PASSWORD if password is None else auth.hash_password(password))
    session.add(user)
    session.flush()
    return user


def create_first_admin(*, session: "Session", username: str, password: str, email: str | None = None) -> "User":
    """`cuentas init`: only while the database has no user at all."""
    if count_users(session) > 0:
        raise Conflict(_("the database already has users; add more with `cuentas users add` as an "
                         "administrador"))
    user = _insert_user(session, username=username, role="administrador", password=password, email=email)
    audit.record(session, None, action="init", entity="user", entity_id=user.username, after=_public(user),
                 username=user.username)
    return user


def check_can_manage(actor: Actor | None) -> Actor:
    """Whether the actor may add and change users: checked before a command asks for a password."""
    return require(actor, "users")


def add_user(*, session: "Session", actor: Actor | None, username: str, role: str, password: str | None,
             email: str | None = None, pg_login: str | None = None) -> UserInfo:
    """A new user. With `pg_login` (PostgreSQL team mode) they are identified by that login, which
    is created with `password` when it does not exist (else mapped) and put in their role's group;
    they then have no cuentas password."""
    require(actor, "users")
    user = _insert_user(session, username=username, role=role, password=None if pg_login else password, email=email)
    if pg_login:
        from cuentas_cli.admin import team

        user.pg_login = team.check_login_name(pg_login)
        session.add(user)
        session.flush()
        team.add_login(session, login=pg_login, role=user.role, password=password)
    audit.record(session, actor, action="user.add", entity="user", entity_id=user.username, after=_public(user))
    return _info(user)


def list_users(*, session: "Session", actor: Actor | None) -> list[UserInfo]:
    from sqlmodel import select

    from cuentas_cli.db.models import User

    require(actor, "users")
    return [_info(u) for u in session.exec(select(User).order_by(User.username)).all()]


def show_user(*, session: "Session", actor: Actor | None, username: str) -> UserInfo:
    if actor is None or actor.username != username:
        require(actor, "users")
    return _info(get_user(session, username))


def _active_admins(session: "Session") -> int:
    from sqlalchemy import func
    from sqlmodel import select

    from cuentas_cli.db.models import User

    return session.exec(
        select(func.count()).select_from(User).where(User.role == "administrador", User.is_active == True)  # noqa: E712
    ).one()


def _guard_last_admin(session: "Session", user: "User", what: str) -> None:
    if user.role == "administrador" and user.is_active and _active_admins(session) <= 1:
        raise Conflict(_("cannot {what} {username}: it is the last active administrador")
                       .format(what=what, username=user.username))


def set_role(*, session: "Session", actor: Actor | None, username: str, role: str) -> UserInfo:
    require(actor, "users")
    role = check_role(role)
    user = get_user(session, username)
    before = _public(user)
    if user.role != role:
        _guard_last_admin(session, user, _("demote"))
        user.role = role
        session.add(user)
        _follow_on_server(session, user)
        audit.record(session, actor, action="user.set_role", entity="user", entity_id=username, before=before,
                     after=_public(user))
    return _info(user)


def set_active(*, session: "Session", actor: Actor | None, username: str, active: bool) -> UserInfo:
    require(actor, "users")
    user = get_user(session, username)
    before = _public(user)
    if user.is_active != active:
        if not active:
            _guard_last_admin(session, user, _("disable"))
            _revoke_all_tokens(session, user.id)
        user.is_active = active
        session.add(user)
        _follow_on_server(session, user)
        audit.record(session, actor, action="user.enable" if active else "user.disable", entity="user",
                     entity_id=username, before=before, after=_public(user))
    return _info(user)


def _follow_on_server(session: "Session", user: "User") -> None:
    """Team mode: the user's PostgreSQL login follows their role and state, in this transaction."""
    if not user.pg_login:
        return
    from cuentas_cli.admin import team

    prefix = team.prefix_in_use(session)
    if prefix is not None:
        session.flush()
        team.sync_member(session, prefix, login=user.pg_login, role=user.role, active=user.is_active)


def _revoke_all_tokens(session: "Session", user_id: int) -> None:
    from sqlmodel import select

    from cuentas_cli.db.models import ApiToken

    now = auth.now_utc()
    for row in session.exec(select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at == None)):  # noqa: E711
        row.revoked_at = now
        session.add(row)


def change_password(*, session: "Session", actor: Actor | None, current: str, new: str) -> None:
    """A user changes their own password; every other session of theirs ends."""
    if actor is None:
        require(actor, "read")
    if actor.token_kind == "pg-login":
        from cuentas_cli.errors import UsageError

        raise UsageError(_("you log in with your PostgreSQL login: change its password with `\\password` in psql"))
    user = get_user(session, actor.username)
    if not auth.verify_password(user.password_hash, current):
        raise auth.FailedLogin(user)
    auth.check_password_policy(new, username=user.username)
    user.password_hash = auth.hash_password(new)
    session.add(user)
    _revoke_all_tokens(session, user.id)
    audit.record(session, actor, action="user.passwd", entity="user", entity_id=user.username)


@dataclass
class LoginResult:
    token: str
    username: str
    role: str
    expires_at: datetime
    session_id: int | None = None  # the session's api_token row (the HTTP API's JWTs carry it)


def login(*, session: "Session", username: str, password: str, hours: int) -> LoginResult:
    """Verify the password and open a session. A failure's count is committed before raising."""
    try:
        user = auth.authenticate(session, username, password)
    except auth.FailedLogin:
        session.commit()
        raise
    token, row = auth.issue_session_token(session, user, hours=hours)
    audit.record(session, None, action="login", entity="user", entity_id=user.username, username=user.username)
    return LoginResult(token, user.username, user.role, row.expires_at, row.id)


# --- roles ------------------------------------------------------------------------------


@dataclass
class MatrixRow:
    permission: str
    description: str
    contador: bool
    gerente: bool
    administrador: bool


def matrix(*, session: "Session", actor: Actor | None) -> list[MatrixRow]:
    require(actor, "read")
    granted = {role: auth.role_permissions(session, role) for role in ROLES}
    return [
        MatrixRow(name, desc, name in granted["contador"], name in granted["gerente"], name in granted["administrador"])
        for name, desc in PERMISSIONS.items()
    ]


def _check_permission(permission: str) -> str:
    if permission not in PERMISSIONS:
        raise ValidationError(_("unknown permission {permission!r}; see `cuentas roles list`")
                              .format(permission=permission))
    return permission


def grant(*, session: "Session", actor: Actor | None, role: str, permission: str) -> bool:
    from cuentas_cli.db.models import RolePermission

    require(actor, "users")
    role, permission = check_role(role), _check_permission(permission)
    if session.get(RolePermission, (role, permission)) is not None:
        return False
    session.add(RolePermission(role=role, permission=permission))
    audit.record(session, actor, action="role.grant", entity="role_permission", entity_id=f"{role}:{permission}")
    _regrant(session)
    return True


def revoke(*, session: "Session", actor: Actor | None, role: str, permission: str) -> bool:
    from cuentas_cli.db.models import RolePermission

    require(actor, "users")
    role, permission = check_role(role), _check_permission(permission)
    if role == "administrador" and permission == "users":
        raise Conflict(_("the administrador role cannot lose `users`: nobody could manage users any more"))
    row = session.get(RolePermission, (role, permission))
    if row is None:
        return False
    session.delete(row)
    audit.record(session, actor, action="role.revoke", entity="role_permission", entity_id=f"{role}:{permission}")
    _regrant(session)
    return True


def _regrant(session: "Session") -> None:
    """Team mode: the server's grants follow the matrix just changed, in this transaction."""
    from cuentas_cli.admin import team

    session.flush()
    team.refresh(session)


# --- service tokens -----------------------------------------------------------------------


@dataclass
class TokenInfo:
    name: str
    user: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


def list_tokens(*, session: "Session", actor: Actor | None) -> list[TokenInfo]:
    from sqlmodel import select

    from cuentas_cli.db.models import ApiToken, User

    require(actor, "users")
    rows = session.exec(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.kind == "service").order_by(ApiToken.name)
    ).all()
    return [TokenInfo(t.name, u.username, t.created_at, t.expires_at, t.last_used_at, t.revoked_at is not None) for t, u in rows]


def create_token(*, session: "Session", actor: Actor | None, name: str, username: str | None, days: int | None) -> tuple[str, TokenInfo]:
    token, row = auth.create_service_token(session, actor, name=name, username=username, days=days)
    owner = username or actor.username
    audit.record(session, actor, action="token.create", entity="api_token", entity_id=name, after={"user": owner})
    return token, TokenInfo(row.name, owner, row.created_at, row.expires_at, None, False)


def revoke_token(*, session: "Session", actor: Actor | None, name: str) -> None:
    from sqlmodel import select

    from cuentas_cli.db.models import ApiToken

    require(actor, "users")
    row = session.exec(select(ApiToken).where(ApiToken.name == name, ApiToken.kind == "service")).first()
    if row is None:
        raise NotFound(_("no service token named {name!r}; see `cuentas tokens list`").format(name=name))
    if row.revoked_at is None:
        row.revoked_at = auth.now_utc()
        session.add(row)
        audit.record(session, actor, action="token.revoke", entity="api_token", entity_id=name)
