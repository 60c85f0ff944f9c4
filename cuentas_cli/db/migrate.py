"""Schema versions: upgrade, downgrade, current, and the guard every command passes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cuentas_cli.db.migrations import HEAD_REVISION
from cuentas_cli.errors import SchemaOutdated, ValidationError
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
    from sqlalchemy.engine import Connection, Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: "Connection | None" = None) -> "AlembicConfig":
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def script_head() -> str:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads: {heads}")
    return heads[0]


def current_revision(engine: "Engine") -> str | None:
    """The revision stamped in the database, or None for an empty database."""
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            if engine.dialect.name == "postgresql":
                from cuentas_cli.db.engine import hidden_schema, login_lacks

                schema = hidden_schema(conn)
                if schema is not None:
                    raise login_lacks(conn.execute(text("SELECT session_user")).scalar(),
                                      _("the use of schema {schema}").format(schema=schema))
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _run(engine: "Engine", action: str, target: str) -> None:
    from alembic import command
    from sqlalchemy import text

    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            # Batch operations copy and drop tables; with foreign keys ON, SQLite would
            # cascade those drops into the child tables' rows.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            cfg = alembic_config(conn)
            if action == "upgrade":
                command.upgrade(cfg, target)
            else:
                command.downgrade(cfg, target)
            conn.commit()
            if sqlite:
                problems = conn.execute(text("PRAGMA foreign_key_check")).fetchall()
                if problems:
                    raise ValidationError(_("migration left {n_problems} rows with broken foreign keys: "
                                            "{problems_3}")
                                          .format(n_problems=len(problems), problems_3=problems[:3]))
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")


def upgrade(engine: "Engine", target: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to `target`; returns (before, after)."""
    before = current_revision(engine)
    if before != HEAD_REVISION or target != "head":
        _run(engine, "upgrade", target)
    return before, current_revision(engine)


def downgrade(engine: "Engine", target: str = "base") -> None:
    _run(engine, "downgrade", target)


def ensure_current(engine: "Engine") -> None:
    """Refuse to work on a database whose schema is not this program's."""
    revision = current_revision(engine)
    if revision == HEAD_REVISION:
        return
    if revision is None:
        raise SchemaOutdated(_("the database has no cuentas schema yet; run `cuentas init` or `cuentas "
                               "db upgrade`"))
    raise SchemaOutdated(
        _("the database schema is at revision {revision}, this cuentas needs {HEAD_REVISION}; run "
          "`cuentas db upgrade`").format(revision=revision, HEAD_REVISION=HEAD_REVISION)
    )
