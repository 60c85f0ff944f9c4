"""Alembic environment: runs on the connection that cuentas hands it."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import cuentas_cli.db.models  # noqa: F401  (registers the tables)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=cuentas_cli.db.models.include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("cuentas runs migrations online only: use `cuentas db upgrade`")
run_migrations_online()
