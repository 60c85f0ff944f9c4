"""Live events (`GET /events`, a WebSocket, or Server-Sent Events for simple clients): what
changed in the ledger, read from the audit log that every change writes, whichever process or
machine made it.

A subscriber starts at the log's newest row and is sent each later row whose action is an event
below, as `{"id", "type", "at", "user", "entity", "entity_id", "data"}`. It waits for news by
LISTEN on PostgreSQL (migration 20261207_0009's trigger NOTIFYs `cuentas_events` on every insert
into the log) and by polling the log's highest id on SQLite. A subscriber needs the read
permission; its session or token is checked again before every batch, so a logout or `users
disable` ends the stream.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

# audit action -> event type
EVENTS = {
    "invoice.add": "invoice.created",
    "payment.add": "invoice.paid",
    "payment.delete": "invoice.payment_removed",
    "invoice.set_status": "invoice.status_changed",
    "invoice.update_statuses": "invoice.status_changed",
    "import": "import.batch",
    "notify.run": "reminder.sent",
}
POLL_SECONDS = 0.25
BATCH = 500


def latest_id(conn: Any) -> int:
    from sqlalchemy import func, select

    from cuentas_cli.db.tables import audit_log

    return conn.execute(select(func.coalesce(func.max(audit_log.c.id), 0))).scalar_one()


def since(conn: Any, last_id: int) -> list[dict[str, Any]]:
    """The events after `last_id`, oldest first (at most BATCH)."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import audit_log

    rows = conn.execute(select(audit_log).where(audit_log.c.id > last_id, audit_log.c.action.in_(list(EVENTS)))
                        .order_by(audit_log.c.id).limit(BATCH)).all()
    return [{"id": r.id, "type": EVENTS[r.action], "at": r.at.isoformat() if r.at else None, "user": r.username,
             "entity": r.entity, "entity_id": r.entity_id, "data": json.loads(r.after) if r.after else None}
            for r in rows]


@dataclass
class Waiter:
    """Blocks until the log may hold news or `timeout` passes: LISTEN on PostgreSQL, polling on SQLite."""

    url: str
    _listen: Any = None
    _seen: int = 0

    def open(self, conn: Any) -> None:
        from cuentas_cli.db.engine import is_sqlite

        self._seen = latest_id(conn)
        if not is_sqlite(self.url):
            import psycopg

            from sqlalchemy.engine import make_url

            dsn = make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
            self._listen = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
            self._listen.execute("LISTEN cuentas_events")

    def wait(self, timeout: float) -> None:
        if self._listen is not None:
            for _note in self._listen.notifies(timeout=timeout, stop_after=1):
                return
            return
        from cuentas_cli.db.engine import open_connection

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open_connection(self.url) as conn:
                newest = latest_id(conn)
            if newest > self._seen:
                self._seen = newest
                return
            time.sleep(POLL_SECONDS)

    def close(self) -> None:
        if self._listen is not None:
            self._listen.close()
            self._listen = None
