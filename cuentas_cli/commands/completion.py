"""Shell completion of values that live in the database: party documents and invoice ids.

Typer's `cuentas --install-completion` installs the shell hook; these callbacks fill in DOC
and ID arguments. They run while the shell waits, so they query at most 50 rows, only for a
logged-in user allowed to read, and never raise: any problem means "no suggestions".
"""

from __future__ import annotations

from typing import Any

import typer

LIMIT = 50


def _suggest(ctx: Any, query: Any) -> list[tuple[str, str]]:
    """Run `query(session)` for a logged-in user allowed to read; [] on any problem."""
    try:
        from cuentas_cli import config
        from cuentas_cli.db.engine import open_session
        from cuentas_cli.runtime import Runtime

        root = ctx.find_root()
        rt = Runtime(config.load(db_flag=root.params.get("db"), today_flag=root.params.get("today")))
        rt.check_schema()
        with open_session(rt.url) as session:
            actor = rt.actor(session, required=False)
            if actor is None or not actor.can("read"):
                return []
            return query(session)
    except Exception:  # noqa: BLE001 - completion must never break the shell
        return []


def complete_party_doc(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Documents of clients (under `clients`) or suppliers (under `suppliers`) starting with what was typed."""
    parent = ctx.parent.info_name if ctx.parent is not None else ""
    kind = "supplier" if parent == "suppliers" else "client"

    def query(session: Any) -> list[tuple[str, str]]:
        from sqlalchemy import select

        from cuentas_cli.db.models import Party

        rows = session.execute(
            select(Party.doc_number, Party.name).where(Party.kind == kind, Party.doc_number.startswith(incomplete.strip()))
            .order_by(Party.doc_number).limit(LIMIT)
        )
        return [(doc, name) for doc, name in rows]

    return _suggest(ctx, query)


def complete_invoice_id(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Invoice ids starting with what was typed (newest first), with serie-número, party and status."""
    typed = incomplete.strip()
    if typed and not typed.isdigit():
        return []

    def query(session: Any) -> list[tuple[str, str]]:
        from sqlalchemy import String, cast, select

        from cuentas_cli.db.models import Invoice, Party

        statement = (
            select(Invoice.id, Invoice.serie, Invoice.numero, Party.name, Invoice.status)
            .join(Party, Party.id == Invoice.party_id)
            .order_by(Invoice.id.desc()).limit(LIMIT)
        )
        if typed:
            statement = statement.where(cast(Invoice.id, String).startswith(typed))
        return [(str(i), f"{serie}-{numero} {name} {status}") for i, serie, numero, name, status in session.execute(statement)]

    return _suggest(ctx, query)
