"""A fingerprint of every table, to prove a refused command changed nothing."""

from __future__ import annotations

import hashlib

from sqlalchemy import inspect, text

from cuentas_cli.db.engine import get_engine


def snapshot(url: str) -> dict[str, tuple[int, str]]:
    """table -> (row count, sha256 of its rows in a stable order)."""
    engine = get_engine(url)
    out: dict[str, tuple[int, str]] = {}
    with engine.connect() as conn:
        virtual: set[str] = set()
        if engine.dialect.name == "sqlite":
            # An FTS5 table (the padrón's search index) may be contentless and cannot be
            # scanned; its shadow tables (NAME_data, NAME_idx, ...) hold its content and are read.
            virtual = set(conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")).scalars())
        for table in sorted(set(inspect(conn).get_table_names()) - virtual):
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).fetchall()
            digest = hashlib.sha256()
            for row in sorted(repr(tuple(r)) for r in rows):
                digest.update(row.encode())
            out[table] = (len(rows), digest.hexdigest())
    return out
