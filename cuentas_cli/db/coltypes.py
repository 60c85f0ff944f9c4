"""Column types of the Core tables (db/tables.py) that SQLAlchemy itself does not have.

`UtcDateTime` stores and returns what SQLModel's UTCDateTime does (the type of every datetime
field of the models): an aware datetime in, UTC out, and a naive value read back from a
database without time zones taken as UTC. It lives here because importing anything from
sqlmodel loads all of SQLModel and pydantic, which the fast commands exist to avoid;
tests/test_tables.py checks that the two types store and read the same values.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import types


class UtcDateTime(types.TypeDecorator):
    """An aware datetime, stored as UTC (TIMESTAMP WITH TIME ZONE on PostgreSQL)."""

    impl = types.DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        if isinstance(value, timedelta):
            return types.Interval()
        return self

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("a datetime stored in the database must be aware (datetime.now(timezone.utc))")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
