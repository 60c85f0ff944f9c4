"""An import into empty books drops invoice's secondary indexes on SQLite and builds them once
at the end (load._SqliteMover): the books come out with the indexes the schema has, after a
good import, a rejected one and one that fails half-way."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from cuentas_cli.db.engine import get_engine, is_sqlite, open_session


def index_definitions(url: str) -> list[tuple]:
    """invoice's indexes as the database reports them (on SQLite, their SQL: the partial WHERE too)."""
    if is_sqlite(url):
        with open_session(url) as s:
            return sorted(tuple(r) for r in s.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'invoice'")))
    found = inspect(get_engine(url)).get_indexes("invoice")
    return sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in found)


def ledger_csv(path: Path, rows: int, *, bad_last: bool = False) -> Path:
    lines = ["ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,moneda,total"]
    for i in range(1, rows + 1):
        lines.append(f"20131312955,SUNAT,F001,{i},2026-05-01,2026-07-01,PEN,{100 + i % 97}.50")
    if bad_last:
        lines[-1] = lines[-1].replace("2026-07-01", "2026-13-45")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_import_into_empty_books_keeps_the_invoice_indexes(company, tmp_path):
    before = index_definitions(company.url)
    assert len(before) >= 6
    result = company.run("import", str(ledger_csv(tmp_path / "a.csv", 300)), "--kind", "cxc", role="contador")
    assert result.exit_code == 0, result.output
    assert index_definitions(company.url) == before
    # and the indexes hold every row: the dashboards' open-invoice index answers as the table does
    with open_session(company.url) as s:
        open_total = s.execute(text("SELECT SUM(total_cents) FROM invoice WHERE status IN ('PENDIENTE', 'PARCIAL', "
                                    "'VENCIDA') AND direction = 'receivable' AND due_date >= '2026-01-01'")).scalar_one()
        assert open_total == sum((100 + i % 97) * 100 + 50 for i in range(1, 301))
        if is_sqlite(company.url):
            assert s.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"


def test_a_rejected_import_after_a_written_chunk_leaves_the_books_as_they_were(company, tmp_path):
    """A bad last row of 10,050: the first chunk was written (and the indexes dropped) when it is
    found; nothing is imported and the indexes are all there."""
    before = index_definitions(company.url)
    path = ledger_csv(tmp_path / "b.csv", 10_050, bad_last=True)
    result = company.run("import", str(path), "--kind", "cxc", role="contador")
    assert result.exit_code != 0 and "nothing was imported" in result.stderr
    assert index_definitions(company.url) == before
    with open_session(company.url) as s:
        assert s.execute(text("SELECT COUNT(*) FROM invoice")).scalar_one() == 0


def test_a_load_stopped_half_way_rolls_the_dropped_indexes_back(company):
    """The mover stopped by an error (close(quiet=True)) does not build them; the rollback puts
    them back."""
    if not is_sqlite(company.url):
        pytest.skip("the SQLite writer's own mechanism (PostgreSQL loads through COPY)")
    from cuentas_cli.imports.load import _COLUMNS, _SqliteMover

    before = index_definitions(company.url)
    engine = get_engine(company.url)
    with engine.connect() as conn:
        dbapi = conn.connection.driver_connection
        dbapi.execute("BEGIN IMMEDIATE")
        mover = _SqliteMover(dbapi, columns=_COLUMNS, conflict="DO NOTHING", move_params=(None, "2026", "2026"),
                             defer_indexes=True)
        names = {r[0] for r in dbapi.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'invoice' "
                                             "AND type = 'index'")}
        assert len(names) < len(before), "no index was deferred"
        mover.close(quiet=True)
        dbapi.execute("ROLLBACK")
    assert index_definitions(company.url) == before


def test_the_import_command_gives_the_cycle_collector_back(company, tmp_path):
    gc.enable()
    result = company.run("import", str(ledger_csv(tmp_path / "c.csv", 20)), "--kind", "cxc", role="contador")
    assert result.exit_code == 0, result.output
    assert gc.isenabled() and not gc.get_freeze_count()
