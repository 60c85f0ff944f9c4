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
        for table in sorted(inspect(conn).get_table_names()):
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).fetchall()
            digest = hashlib.sha256()
            for row in sorted(repr(tuple(r)) for r in rows):
                digest.update(row.encode())
            out[table] = (len(rows), digest.hexdigest())
    return out
