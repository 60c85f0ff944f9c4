"""Migrations on both backends: up, down, up again; models and migrations agree."""

from __future__ import annotations

from sqlalchemy import inspect

from cuentas_cli.db import migrate
from cuentas_cli.db.engine import get_engine
from cuentas_cli.db.migrations import HEAD_REVISION


def test_head_constant_matches_alembic():
    assert migrate.script_head() == HEAD_REVISION


def test_upgrade_downgrade_upgrade(db_url):
    engine = get_engine(db_url, create=True)
    assert migrate.upgrade(engine) == (None, HEAD_REVISION)
    tables = set(inspect(engine).get_table_names())
    assert {"party", "invoice", "payment", "app_user", "api_token", "role_permission", "setting",
            "exchange_rate", "notification", "audit_log", "ruc_registry"} <= tables
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == HEAD_REVISION


def test_models_and_migrations_agree(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import cuentas_cli.db.models  # noqa: F401

    engine = get_engine(db_url, create=True)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_default_matrix_is_seeded(db_url):
    from sqlalchemy import text

    engine = get_engine(db_url, create=True)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = set(conn.execute(text("SELECT role, permission FROM role_permission")).fetchall())
    assert ("contador", "invoices.operate") in rows
    assert ("gerente", "invoices.create") not in rows
    assert ("gerente", "audit") in rows
    assert ("administrador", "users") in rows
