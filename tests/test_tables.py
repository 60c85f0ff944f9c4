"""The Core copy of the schema (db/tables.py) that the fast commands use agrees with the models."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, select
from sqlmodel.sql.sqltypes import UTCDateTime

from cuentas_cli.db import tables
from cuentas_cli.db.coltypes import UtcDateTime
from cuentas_cli.db.tables_gen import TARGET, render


def test_tables_module_is_generated_from_the_current_models():
    assert TARGET.read_text(encoding="utf-8") == render(), "run `python -m cuentas_cli.db.tables_gen`"


def test_every_model_table_and_column_is_in_the_core_copy():
    from cuentas_cli.db.models import SQLModel

    assert set(tables.metadata.tables) == set(SQLModel.metadata.tables)
    for name, model_table in SQLModel.metadata.tables.items():
        core = tables.metadata.tables[name]
        assert [c.name for c in core.columns] == [c.name for c in model_table.columns], name
        for column in model_table.columns:
            twin = core.c[column.name]
            assert (twin.nullable, twin.primary_key) == (column.nullable, column.primary_key), (name, column.name)
            assert {fk.target_fullname for fk in twin.foreign_keys} == {fk.target_fullname for fk in column.foreign_keys}


@pytest.mark.parametrize("value", [
    datetime(2026, 6, 15, 12, 30, tzinfo=timezone.utc),
    datetime(2026, 6, 15, 7, 30, tzinfo=timezone(timedelta(hours=-5))),  # Lima
    None,
])
def test_utc_datetime_stores_and_reads_what_sqlmodels_type_does(value):
    ours, theirs = UtcDateTime(), UTCDateTime()
    engine = create_engine("sqlite://")
    dialect = engine.dialect
    assert ours.process_bind_param(value, dialect) == theirs.process_bind_param(value, dialect)
    stored = None if value is None else value.astimezone(timezone.utc).replace(tzinfo=None)  # as SQLite gives it back
    assert ours.process_result_value(stored, dialect) == theirs.process_result_value(stored, dialect)
    if value is not None:
        assert ours.process_result_value(stored, dialect).utcoffset() == timedelta(0)


def test_utc_datetime_refuses_a_naive_value_as_sqlmodels_type_does():
    with pytest.raises(ValueError):
        UtcDateTime().process_bind_param(datetime(2026, 6, 15, 12, 0), None)
    with pytest.raises(ValueError):
        UTCDateTime().process_bind_param(datetime(2026, 6, 15, 12, 0), None)


def test_core_tables_read_rows_the_models_wrote(db_url):
    from cuentas_cli.db.engine import get_engine, open_session
    from cuentas_cli.db.migrate import upgrade
    from cuentas_cli.db.models import User

    upgrade(get_engine(db_url, create=True))
    when = datetime(2026, 6, 15, 12, 30, tzinfo=timezone.utc)
    with open_session(db_url, write=True) as s:
        s.add(User(username="ana", role="contador", password_hash="x", created_at=when, last_login_at=when))
    with get_engine(db_url).connect() as conn:
        row = conn.execute(select(tables.app_user).where(tables.app_user.c.username == "ana")).one()
    assert (row.role, row.is_active, row.failed_logins, row.created_at, row.last_login_at) == (
        "contador", True, 0, when, when)
