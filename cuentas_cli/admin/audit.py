"""The audit log: who changed what, when, with the values before and after."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cuentas_cli.admin.auth import Actor, require

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlmodel import Session

# Never written to the log, whatever an entity carries.
_SECRET_FIELDS = {"password_hash", "token_hash", "password", "token"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _dump(values: dict[str, Any] | None) -> str | None:
    if values is None:
        return None
    clean = {k: _jsonable(v) for k, v in values.items() if k not in _SECRET_FIELDS}
    return json.dumps(clean, ensure_ascii=False, sort_keys=True)


def _shown(entity: str, text: str | None) -> str | None:
    """A setting's values as the log shows them: a URL setting's secret parts (webhook path
    tokens, query values) masked, also in entries stored before settings.set_shared masked
    them on the way in. Other entities' text is shown as it was recorded."""
    if entity != "setting" or not text:
        return text
    try:
        values = json.loads(text)
    except ValueError:
        return text
    if not isinstance(values, dict) or not isinstance(values.get("value"), str):
        return text
    from cuentas_cli.rules.urls import mask_url_value

    values["value"] = mask_url_value(values["value"])
    return json.dumps(values, ensure_ascii=False, sort_keys=True)


def _write(session: Any, rows: list[dict[str, Any]]) -> None:
    """Insert audit rows in the caller's transaction. On PostgreSQL through cuentas_audit_add
    (migration 20261207_0007): in team mode no login may INSERT INTO audit_log itself, and the
    function logs a user's own login under that user's name whatever the row says."""
    from sqlalchemy import insert, text

    from cuentas_cli.db.engine import dialect_of
    from cuentas_cli.db.tables import audit_log

    if not rows:
        return
    if dialect_of(session) == "postgresql":
        entries = [{**row, "at": row["at"].isoformat()} for row in rows]
        session.execute(text("SELECT cuentas_audit_add(CAST(:entries AS jsonb))"),
                        {"entries": json.dumps(entries, ensure_ascii=False)})
    elif len(rows) == 1:
        session.execute(insert(audit_log).values(**rows[0]))
    else:
        session.execute(insert(audit_log), rows)


def record(
    session: "Session",
    actor: Actor | None,
    *,
    action: str,
    entity: str,
    entity_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    username: str | None = None,
) -> None:
    """Add one audit row in the caller's transaction (an ORM session or a Core connection), so it
    commits or rolls back with the change."""
    from cuentas_cli.db.enums import utcnow

    _write(session, [{
        "at": utcnow(),
        "user_id": actor.user_id if actor else None,
        "username": actor.username if actor else username,
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "before": _dump(before),
        "after": _dump(after),
    }])


def record_many(session: "Session", actor: Actor | None, *, action: str, entity: str,
                items: "Iterable[tuple[Any, dict[str, Any] | None, dict[str, Any] | None]]", chunk: int = 5000) -> int:
    """Add one audit row per (entity id, before, after) in the caller's transaction, as `record`
    does, with one statement per chunk instead of an ORM object per row (a bulk path's log)."""
    from cuentas_cli.db.enums import utcnow

    common = {"at": utcnow(), "user_id": actor.user_id if actor else None,
              "username": actor.username if actor else None, "action": action, "entity": entity}
    rows: list[dict[str, Any]] = []
    count = 0
    for entity_id, before, after in items:
        rows.append({**common, "entity_id": None if entity_id is None else str(entity_id),
                     "before": _dump(before), "after": _dump(after)})
        if len(rows) >= chunk:
            _write(session, rows)
            count, rows = count + len(rows), []
    _write(session, rows)
    return count + len(rows)


@dataclass
class AuditEntry:
    id: int
    at: datetime
    user: str | None
    action: str
    entity: str
    entity_id: str | None
    before: str | None
    after: str | None
    source: str = "cuentas"  # or "database": a change the server's triggers saw (team mode)


SOURCES = ("all", "cuentas", "database")
# the audit log's entity names that are not their table's name
_TABLE_OF = {"user": "app_user", "token": "api_token"}


def list_entries(
    *, session: "Session", actor: Actor | None, user: str | None = None, entity: str | None = None,
    since: datetime | None = None, limit: int = 100, source: str = "all",
) -> list[AuditEntry]:
    """The newest `limit` entries of the application's log and of the database's own trail
    (db_audit, written by triggers in team mode: the PostgreSQL login, whoever made the change),
    merged newest first."""
    from sqlmodel import select

    from cuentas_cli.db.models import AuditLog, DbAudit, User

    require(actor, "audit")
    if source not in SOURCES:
        from cuentas_cli.errors import UsageError
        from cuentas_cli.i18n import _

        raise UsageError(_("--source {source!r}: use all, cuentas or database").format(source=source))
    entries: list[AuditEntry] = []
    if source in ("all", "cuentas"):
        query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
        if user:
            query = query.where(AuditLog.username == user)
        if entity:
            query = query.where(AuditLog.entity == entity)
        if since:
            query = query.where(AuditLog.at >= since)
        entries += [
            AuditEntry(r.id, r.at, r.username, r.action, r.entity, r.entity_id, _shown(r.entity, r.before),
                       _shown(r.entity, r.after))
            for r in session.exec(query).all()
        ]
    if source in ("all", "database"):
        query = select(DbAudit).order_by(DbAudit.id.desc()).limit(limit)
        if user:
            login = session.exec(select(User.pg_login).where(User.username == user)).first()
            query = query.where(DbAudit.db_user.in_([user, login or user]))
        if entity:
            query = query.where(DbAudit.table_name == _TABLE_OF.get(entity, entity))
        if since:
            query = query.where(DbAudit.at >= since)
        entries += [
            AuditEntry(r.id, r.at, r.db_user, f"db.{r.operation.lower()}", r.table_name, r.row_id, r.before, r.after,
                       "database")
            for r in session.exec(query).all()
        ]
    entries.sort(key=lambda e: (e.at, e.source == "cuentas", e.id), reverse=True)
    return entries[:limit]
