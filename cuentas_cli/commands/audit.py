"""`cuentas audit`: the log of every change."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import FormatOpt, parse_date, runtime
from cuentas_cli.render import emit

app = typer.Typer(help="The audit log (gerente and administrador).\n\nExample: cuentas audit list --user ana", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """The audit log (gerente and administrador)."""


@app.command("list")
def list_(
    user: Annotated[Optional[str], typer.Option("--user", help="Only this user's changes.")] = None,
    entity: Annotated[Optional[str], typer.Option("--entity", help="Only this kind of entity (user, invoice, ...).")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only changes since this date (YYYY-MM-DD or DD/MM/YYYY).", metavar="DATE")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows, newest first.")] = 100,
    source: Annotated[str, typer.Option("--source", help="all; cuentas (the application's log); database (what "
                                        "the server's triggers saw, with the PostgreSQL login: team mode, "
                                        "`cuentas db roles apply`).")] = "all",
    fmt: FormatOpt = None,
) -> None:
    """List changes, newest first: who, when, what, before and after.

    Two sources are merged: the log cuentas writes with every change (source cuentas) and, on a
    PostgreSQL database in team mode, the trail the server's triggers write for every INSERT,
    UPDATE and DELETE on the money tables, whoever makes it, cuentas or psql (source database,
    action db.insert / db.update / db.delete, user = the PostgreSQL login).

    Example: cuentas audit list --entity invoice --since 2026-11-01 --format json
    """
    from cuentas_cli.admin import audit

    since_dt = None
    if since:
        day = parse_date(since, "--since")
        since_dt = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    rt = runtime()
    with rt.session() as session:
        rows = audit.list_entries(session=session, actor=rt.actor(session), user=user, entity=entity, since=since_dt, limit=limit,
                                   source=source)
    emit(rows, fmt)
