"""Invoices already in the database, read back by their unique key (for --on-duplicate and
for the credit and debit notes of an import)."""

from __future__ import annotations

from typing import Any

from cuentas_cli.imports.context import Job
from cuentas_cli.rules.dates import as_date  # noqa: F401 - read back by updates.py and cuotas.py


def find_documents(job: Job, keys: list[tuple], columns: tuple[str, ...]) -> dict[tuple, dict[str, Any]]:
    """Invoices by their unique key (direction, party, doc type, serie, número), read in
    chunks with one join each: key -> the columns asked for."""
    from sqlalchemy import text

    found: dict[tuple, dict[str, Any]] = {}
    unique = list(dict.fromkeys(keys))
    select = ", ".join(f"i.{c}" for c in ("direction", "party_id", "doc_type", "serie", "numero", *columns))
    on = "ON i.direction = k.d AND i.party_id = k.p AND i.doc_type = k.t AND i.serie = k.s AND i.numero = k.n"
    for start in range(0, len(unique), 900):
        part = unique[start:start + 900]
        values = ", ".join(f"(:d{i}, :p{i}, :t{i}, :s{i}, :n{i})" for i in range(len(part)))
        params: dict[str, Any] = {}
        for i, key in enumerate(part):
            params.update({f"d{i}": key[0], f"p{i}": key[1], f"t{i}": key[2], f"s{i}": key[3], f"n{i}": key[4]})
        sql = text(f"SELECT {select} FROM invoice i JOIN (VALUES {values}) AS k(d, p, t, s, n) {on}") \
            if not job.sqlite else text(f"WITH k(d, p, t, s, n) AS (VALUES {values}) SELECT {select} "
                                         f"FROM invoice i JOIN k {on}")
        for r in job.session.execute(sql, params):
            found[tuple(r[:5])] = dict(zip(columns, r[5:]))
    return found


class RowView:
    """An invoice's columns as attributes, for the shared rules and audit views."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

