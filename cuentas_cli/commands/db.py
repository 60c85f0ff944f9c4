"""`cuentas db`: bring the schema to the version this program needs, or say where it is."""

from __future__ import annotations

import typer

from cuentas_cli.commands.common import runtime
from cuentas_cli.render import info, success

app = typer.Typer(help="Schema migrations.\n\nExample: cuentas db upgrade", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Create the database if needed and migrate it to the newest schema.

    Safe to run again: a database already at the newest schema is left as it is.

    Example: cuentas --db sqlite:///ruta/cuentas.db db upgrade
    """
    from cuentas_cli.services.maintenance import upgrade_database

    before, after = upgrade_database(runtime())
    if before == after:
        info(f"already at the newest schema ({after}); nothing changed")
    else:
        success(f"database upgraded from {before or 'empty'} to {after}")


@app.command()
def current() -> None:
    """Print the schema revision the database is at (and whether it is the newest).

    Example: cuentas db current
    """
    from cuentas_cli.db.migrations import HEAD_REVISION
    from cuentas_cli.services.maintenance import database_revision

    revision = database_revision(runtime())
    print(revision or "empty")
    if revision != HEAD_REVISION:
        info(f"this cuentas needs {HEAD_REVISION}: run `cuentas db upgrade`")
