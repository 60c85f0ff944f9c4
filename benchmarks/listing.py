"""The filtered listings the query-plan test checks and the invoices benchmark times on the
server: the same statements `invoices list --limit 50` runs."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

AS_OF = date(2026, 11, 1)  # the generator's "today"

# `invoices list` with the filters an accountant types, first 50 rows by due date: each must
# be read through an index on invoice (the due-date order, the party, or the open invoices),
# never a scan of the whole table followed by a sort. On 10M invoices on PostgreSQL the
# benchmark times the same statements on the server (`python -m benchmarks --only invoices`).
LIST_FILTERS = {
    "cxc_vencidas": {"kind": "cxc", "status": "VENCIDA"},
    "pendientes": {"status": "PENDIENTE"},
    "party": {"party": "PARTY"},
    "party_vencidas": {"party": "PARTY", "overdue": True},
    "usd": {"currency": "USD"},
    "due_within_15": {"due_within": 15},
    "issued_in_march": {"date_from": date(2026, 3, 1), "date_to": date(2026, 3, 31)},
}


def list_statement(engine, filters: dict, today: date = AS_OF) -> str:  # noqa: ANN001
    """The SQL `invoices list --limit 50` runs for these filters, with its values inlined."""
    from cuentas_cli.db.engine import open_session
    from cuentas_cli.ledger.listing import InvoiceFilter, listing_query

    with open_session(engine.url.render_as_string(hide_password=False)) as session:
        if filters.get("party") == "PARTY":
            party = session.execute(text(
                "SELECT p.doc_number FROM party p JOIN invoice i ON i.party_id = p.id "
                "GROUP BY p.doc_number ORDER BY count(*) DESC, p.doc_number LIMIT 1")).scalar_one()
            filters = {**filters, "party": party}
        query = listing_query(session, today=today, filters=InvoiceFilter(**filters, limit=50))
        return str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmarks.listing URL`: the server time of each filtered listing on a database
    the generator already loaded (e.g. 10M invoices, without loading them again)."""
    import argparse

    from benchmarks.scenarios.invoices import _server_time

    parser = argparse.ArgumentParser(prog="python -m benchmarks.listing", description=main.__doc__)
    parser.add_argument("url", help="PostgreSQL URL of a database loaded by benchmarks.generate")
    args = parser.parse_args(argv)
    from cuentas_cli.db.engine import get_engine
    from cuentas_cli.rules.urls import normalise_url

    url = normalise_url(args.url)
    engine = get_engine(url)
    with engine.connect() as conn:
        size = conn.execute(text("SELECT count(*) FROM invoice")).scalar_one()
    result = _server_time(url, size)
    print(f"{result.scenario}: slowest {result.time_s * 1000:.1f} ms (target 50 ms)\n{result.note}")
    return 0 if result.time_s <= 0.050 else 1


if __name__ == "__main__":
    import sys

    sys.exit(main())
