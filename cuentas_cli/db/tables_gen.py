"""Writes `db/tables.py`: the schema of `db/models.py` as SQLAlchemy Core tables.

The single commands a person types many times a day (whoami, invoices show/pay/list, clients
show, dashboard summary) read and write through Core statements over these tables, so they
never load SQLModel, pydantic's model machinery or the ORM (about 150 ms of CPU per command,
measured by `python -m benchmarks --only latency`). The models stay the source of the schema:
this module generates the Core copy and tests/test_tables.py fails when the two disagree.

    python -m cuentas_cli.db.tables_gen        # rewrite cuentas_cli/db/tables.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Integer, String, Text

TARGET = Path(__file__).with_name("tables.py")
HEADER = '''"""The schema as SQLAlchemy Core tables, for the commands that must start fast.

GENERATED from db/models.py by `python -m cuentas_cli.db.tables_gen`; do not edit by hand
(tests/test_tables.py fails when this file and the models disagree). Columns, types,
nullability, keys and foreign keys only: constraints and indexes live in the models and the
migrations. Python-side defaults (created_at, status...) are the caller's to give.
"""

from sqlalchemy import {imports}

from cuentas_cli.db.coltypes import UtcDateTime

metadata = MetaData()
'''


def _type(column) -> str:  # noqa: ANN001
    kind = column.type
    if type(kind).__name__ == "UTCDateTime":  # SQLModel's datetime: aware, stored as UTC
        return "UtcDateTime()"
    # Order matters: BigInteger is an Integer, Text is a String.
    for cls, text in ((BigInteger, "BigInteger()"), (Boolean, "Boolean()"), (DateTime, "DateTime()"), (Date, "Date()"),
                      (Integer, "Integer()"), (Text, "Text()")):
        if isinstance(kind, cls):
            return text
    if isinstance(kind, String) or type(kind).__name__ == "AutoString":  # SQLModel's str: a String
        length = getattr(kind, "length", None)
        return f"String({length})" if length else "String()"
    raise TypeError(f"{column.table.name}.{column.name}: no Core rendering for {kind!r}")


def render() -> str:
    from cuentas_cli.db.models import SQLModel

    out = []
    for name in sorted(SQLModel.metadata.tables):
        table = SQLModel.metadata.tables[name]
        lines = [f"{name} = Table(", f"    {name!r},", "    metadata,"]
        for column in table.columns:
            args = [repr(column.name), _type(column)]
            for fk in column.foreign_keys:
                ondelete = f", ondelete={fk.ondelete!r}" if fk.ondelete else ""
                args.append(f"ForeignKey({fk.target_fullname!r}{ondelete})")
            if column.primary_key:
                args.append("primary_key=True")
                if column.autoincrement is False:
                    args.append("autoincrement=False")
            else:
                args.append(f"nullable={column.nullable}")
            lines.append(f"    Column({', '.join(args)}),")
        options = {k: v for k, v in table.dialect_kwargs.items() if k == "sqlite_with_rowid"}
        for key, value in options.items():
            lines.append(f"    {key}={value!r},")
        lines.append(")")
        out.append("\n\n" + "\n".join(lines) + "\n")
    body = "".join(out)
    used = {"Column", "MetaData", "Table"} | {n for n in ("BigInteger", "Boolean", "Date", "DateTime", "ForeignKey",
                                                         "Integer", "String", "Text") if f" {n}(" in body}
    return HEADER.replace("{imports}", ", ".join(sorted(used))) + body


def main() -> int:
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
