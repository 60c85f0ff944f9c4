"""Creating and upgrading the database."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cuentas_cli.runtime import Runtime


def upgrade_database(rt: "Runtime") -> tuple[str | None, str | None]:
    from sqlalchemy.exc import OperationalError

    from cuentas_cli.db import migrate
    from cuentas_cli.db.engine import connection_error

    engine = rt.engine(create=True)
    try:
        before, after = migrate.upgrade(engine)
    except OperationalError as exc:
        raise connection_error(rt.url, exc) from exc
    if before != after and engine.dialect.name == "postgresql":
        from cuentas_cli.admin import team
        from cuentas_cli.db.engine import open_session

        with open_session(rt.url, write=True) as session:  # team mode: new tables get their grants
            team.refresh(session)
    return before, after


def database_revision(rt: "Runtime") -> str | None:
    from sqlalchemy.exc import OperationalError

    from cuentas_cli.db import migrate
    from cuentas_cli.db.engine import connection_error

    try:
        return migrate.current_revision(rt.engine())
    except OperationalError as exc:
        raise connection_error(rt.url, exc) from exc


def is_new_database(rt: "Runtime") -> bool:
    """No database yet, or one without the cuentas schema: `init` may check what it needs (the
    first administrador's name and password) before it creates anything."""
    from cuentas_cli.errors import NotFound

    try:
        return database_revision(rt) is None
    except NotFound:  # a SQLite file that does not exist
        return True
