"""Shell completion of values that live in the database: party documents and invoice ids.

Typer's `cuentas --install-completion` installs the shell hook; these callbacks fill in DOC
and ID arguments. They run while the shell waits, so they query at most 50 rows, only for a
logged-in user allowed to read, and never raise: any problem means "no suggestions".
"""

from __future__ import annotations

from typing import Any

import typer

LIMIT = 50


def _suggest(ctx: Any, suggest: Any, **arguments: Any) -> list[tuple[str, str]]:
    """Call one service's suggest function as the logged-in user; [] on any problem (not
    logged in, not allowed to read, no database, ...)."""
    try:
        from cuentas_cli import config
        from cuentas_cli.db.engine import open_session
        from cuentas_cli.runtime import Runtime

        root = ctx.find_root()
        rt = Runtime(config.load(db_flag=root.params.get("db"), today_flag=root.params.get("today"),
                                    company_flag=root.params.get("company")))
        rt.check_schema()
        with open_session(rt.url) as session:  # a chosen company's books, as the user's member there
            return suggest(session=session, actor=rt.actor(session, required=False), limit=LIMIT, **arguments)
    except Exception:  # noqa: BLE001 - completion must never break the shell
        return []


def complete_party_doc(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Documents of clients (under `clients`) or suppliers (under `suppliers`) starting with what was typed."""
    from cuentas_cli.parties import service as parties

    parent = ctx.parent.info_name if ctx.parent is not None else ""
    kind = "supplier" if parent == "suppliers" else "client"
    return _suggest(ctx, parties.suggest_documents, kind=kind, prefix=incomplete)


def complete_invoice_id(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Invoice ids starting with what was typed (newest first), with serie-número, party and status."""
    from cuentas_cli.ledger import listing

    return _suggest(ctx, listing.suggest_ids, prefix=incomplete)
