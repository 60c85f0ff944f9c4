"""The offline RUC register: `cuentas padron import | status | lookup | search`.

Files are generated in SUNAT's real format: ISO-8859-1, '|'-delimited with a trailing '|',
'-' for empty fields, a header line, latin-1 accents (Ñ, Á, É), and malformed lines.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from benchmarks.scenarios.padron import HEADER, write_padron
from cuentas_cli.db.engine import get_engine, open_session
from cuentas_cli.parties import padron
from cuentas_cli.parties import padron_file
from cuentas_cli.parties import padron_load
from cuentas_cli.rules.identity import ruc_check_digit


def ruc(body: str) -> str:
    return body + str(ruc_check_digit(body))


SUNAT = "20131312955"
PENA = ruc("1046779354")
BAJA = ruc("2010007097")
ANDES = ruc("2060000001")
ONLY_IN_A = ruc("2060000002")

GOOD_LINES = [
    f"{SUNAT}|SUPERINTENDENCIA NACIONAL DE ADUANAS Y DE ADMINISTRACION TRIBUTARIA - SUNAT|ACTIVO|HABIDO|150101|AV.|GARCILASO DE LA VEGA|-|-|1472|-|-|-|-|-|",
    f"{PENA}|PEÑA ÁLVAREZ MARÍA JOSÉ|ACTIVO|HABIDO|150122|JR.|LOS ÑANDÚES|URB.|SANTA ROSA|123|4|-|-|-|-|",
    f"{BAJA}|EMPRESA INACTIVA S.A.C.|BAJA DE OFICIO|NO HABIDO|-|-|-|-|-|-|-|-|-|-|-|",
    f"{ANDES}|INVERSIONES LOS ANDES DEL PERÚ S.A.C.|ACTIVO|HABIDO|040101|CAL.|SAN MARTÍN|-|-|-|-|5|-|B|-|",
]
MALFORMED = [
    "2060000000X|RUC CON LETRA S.A.C.|ACTIVO|HABIDO|150101|-|-|-|-|-|-|-|-|-|-|",
    "20600000037|LINEA CORTA|ACTIVO|",
]


def write_txt(path: Path, lines: list[str], *, header: str = HEADER, newline: str = "\n") -> Path:
    body = header + newline + "".join(line + newline for line in lines)
    path.write_bytes(body.encode("latin-1"))
    return path


def sample(tmp_path: Path, name: str = "padron_reducido_ruc.txt", extra: list[str] | None = None) -> Path:
    lines = GOOD_LINES[:2] + [MALFORMED[0]] + GOOD_LINES[2:] + [MALFORMED[1]] + (extra or [])
    return write_txt(tmp_path / name, lines)


def registry(url: str) -> dict[str, tuple[str, str]]:
    with get_engine(url).connect() as conn:
        return {r[0]: (r[1], r[2]) for r in conn.execute(text("SELECT ruc, name, detail FROM ruc_registry"))}


def imports(url: str) -> list[tuple]:
    with get_engine(url).connect() as conn:
        return conn.execute(text("SELECT file_name, file_date, sha256, row_count, malformed_count, duplicate_count "
                                 "FROM padron_import ORDER BY id")).all()


def table_names(url: str) -> set[str]:
    from sqlalchemy import inspect

    return set(inspect(get_engine(url)).get_table_names())


# --- import -----------------------------------------------------------------------------------


def test_import_txt_then_lookup_status_and_audit(company, tmp_path):
    path = sample(tmp_path)
    os.utime(path, (0, time.mktime((2026, 5, 30, 12, 0, 0, 0, 0, -1))))
    result = company.run("padron", "import", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    report = result.json()
    assert report["row_count"] == 4 and report["malformed_count"] == 2 and report["duplicate_count"] == 0
    assert report["file_date"] == "2026-05-30"
    assert report["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    # the malformed lines are shown with their line numbers (header = line 1)
    assert "line 4: 2060000000X|RUC CON LETRA" in result.stderr
    assert "line 7: 20600000037|LINEA CORTA|ACTIVO|" in result.stderr
    assert "2 malformed line(s) skipped" in result.stderr
    assert "padrón of 2026-05-30 imported: 4 RUCs" in result.stderr

    found = company.run("padron", "lookup", PENA, "--format", "json", role="contador")
    assert found.exit_code == 0, found.output
    assert found.json() == {
        "ruc": PENA, "name": "PEÑA ÁLVAREZ MARÍA JOSÉ", "estado": "ACTIVO", "condicion": "HABIDO",
        "ubigeo": "150122", "address": "JR. LOS ÑANDÚES NRO. 123 INT. 4 URB. SANTA ROSA", "padron_date": "2026-05-30",
    }
    baja = company.run("padron", "lookup", BAJA, "--format", "json", role="gerente").json()
    assert baja["estado"] == "BAJA DE OFICIO" and baja["condicion"] == "NO HABIDO"
    assert baja["ubigeo"] is None and baja["address"] is None
    andes = company.run("padron", "lookup", ANDES, "--format", "json").json()
    assert andes["address"] == "CAL. SAN MARTÍN MZA. B LOTE. 5"

    status = company.run("padron", "status", "--format", "json", role="contador")
    assert status.exit_code == 0, status.output
    data = status.json()
    assert data["row_count"] == 4 and data["malformed_count"] == 2 and data["file_date"] == "2026-05-30"
    assert data["age_days"] == (date(2026, 6, 15) - date(2026, 5, 30)).days
    assert data["imported_by"] == "admin" and data["file_name"] == path.name
    assert data["search_index"] in ("fts5", "trigram") and data["interrupted_import"] is False

    with open_session(company.url) as s:
        rows = s.execute(text("SELECT action, entity, username, after FROM audit_log WHERE action = 'padron.import'")).all()
    assert len(rows) == 1 and rows[0][2] == "admin" and '"row_count": 4' in rows[0][3]


def test_import_zip_takes_the_entry_date_and_hashes_the_zip(company, tmp_path):
    txt = sample(tmp_path)
    archive = tmp_path / "padron_reducido_ruc.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo("padron_reducido_ruc.txt", date_time=(2026, 6, 1, 7, 30, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, txt.read_bytes())
    result = company.run("padron", "import", str(archive), "--format", "json")
    assert result.exit_code == 0, result.output
    report = result.json()
    assert report["member"] == "padron_reducido_ruc.txt" and report["file_date"] == "2026-06-01"
    assert report["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert report["row_count"] == 4 and report["malformed_count"] == 2
    assert registry(company.url)[PENA][0] == "PEÑA ÁLVAREZ MARÍA JOSÉ"
    # --file-date overrides
    again = company.run("padron", "import", str(archive), "--file-date", "2026-06-02", "--format", "json")
    assert again.json()["file_date"] == "2026-06-02"
    assert "same file as the previous import" in again.stderr


def test_zip_without_a_single_txt_is_refused(company, tmp_path):
    archive = tmp_path / "otro.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.txt", "x")
        zf.writestr("b.txt", "y")
    result = company.run("padron", "import", str(archive))
    assert result.exit_code == 3
    assert "expected one .txt inside the zip" in result.stderr


def test_repeat_import_replaces_not_duplicates(company, tmp_path):
    first = write_txt(tmp_path / "a.txt", GOOD_LINES + [f"{ONLY_IN_A}|SOLO EN A S.A.|ACTIVO|HABIDO|-|-|-|-|-|-|-|-|-|-|-|"])
    assert company.run("padron", "import", str(first)).exit_code == 0
    assert company.run("padron", "import", str(first)).exit_code == 0
    assert len(registry(company.url)) == 5
    changed = [line.replace("EMPRESA INACTIVA S.A.C.|BAJA DE OFICIO", "EMPRESA REACTIVADA S.A.C.|ACTIVO") for line in GOOD_LINES]
    second = write_txt(tmp_path / "b.txt", changed)
    result = company.run("padron", "import", str(second), "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.json()["previous_row_count"] == 5
    rows = registry(company.url)
    assert set(rows) == {SUNAT, PENA, BAJA, ANDES}
    assert rows[BAJA][0] == "EMPRESA REACTIVADA S.A.C." and rows[BAJA][1].startswith("ACTIVO|")
    gone = company.run("padron", "lookup", ONLY_IN_A)
    assert gone.exit_code == 4 and f"RUC {ONLY_IN_A} is not in the padrón of" in gone.stderr
    assert [r[3] for r in imports(company.url)] == [5, 5, 4]
    assert not {t for t in table_names(company.url) if t.endswith(("_new", "_old"))}


def test_duplicate_ruc_keeps_the_first_line(company, tmp_path):
    path = write_txt(tmp_path / "dup.txt", GOOD_LINES + [f"{PENA}|OTRO NOMBRE|ACTIVO|HABIDO|-|-|-|-|-|-|-|-|-|-|-|"])
    result = company.run("padron", "import", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.json()["duplicate_count"] == 1 and result.json()["row_count"] == 4
    assert "1 line(s) repeated a RUC" in result.stderr
    assert registry(company.url)[PENA][0] == "PEÑA ÁLVAREZ MARÍA JOSÉ"


def test_crlf_lines_utf8_copy_and_last_line_without_newline(company, tmp_path):
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes((HEADER + "\r\n" + "\r\n".join(GOOD_LINES)).encode("latin-1"))  # no final newline
    result = company.run("padron", "import", str(crlf), "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.json()["row_count"] == 4 and result.json()["malformed_count"] == 0
    assert registry(company.url)[ANDES][1].endswith("|B|-")
    utf8 = tmp_path / "utf8.txt"
    utf8.write_bytes((HEADER + "\n" + "\n".join(GOOD_LINES) + "\n").encode("utf-8"))
    result = company.run("padron", "import", str(utf8), "--format", "json")
    assert result.exit_code == 0, result.output
    assert registry(company.url)[PENA][0] == "PEÑA ÁLVAREZ MARÍA JOSÉ"


# --- failures leave the previous register --------------------------------------------------------


@pytest.mark.parametrize("header", [
    "RUC|NOMBRE|ESTADO|",
    "ruc,nombre,estado",
    "",
])
def test_bad_header_is_refused_and_the_register_kept(company, tmp_path, header):
    assert company.run("padron", "import", str(sample(tmp_path))).exit_code == 0
    before = registry(company.url)
    bad = write_txt(tmp_path / "bad.txt", GOOD_LINES[:1], header=header) if header else tmp_path / "empty.txt"
    if not header:
        bad.write_bytes(b"")
    result = company.run("padron", "import", str(bad))
    assert result.exit_code == 3, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "padrón" in result.stderr
    assert registry(company.url) == before
    assert len(imports(company.url)) == 1
    assert company.run("padron", "lookup", SUNAT).exit_code == 0


def test_no_file_and_no_rows(company, tmp_path):
    missing = company.run("padron", "import", str(tmp_path / "nope.zip"))
    assert missing.exit_code == 2 and "no file" in missing.stderr
    only_bad = write_txt(tmp_path / "bad-lines.txt", MALFORMED)
    result = company.run("padron", "import", str(only_bad))
    assert result.exit_code == 3 and "no well-formed line" in result.stderr
    assert registry(company.url) == {} and imports(company.url) == []


def test_failure_in_the_middle_of_the_load_keeps_the_register(company, tmp_path, monkeypatch):
    assert company.run("padron", "import", str(sample(tmp_path))).exit_code == 0
    before = registry(company.url)
    big = write_padron(tmp_path / "big.txt", 3000)
    monkeypatch.setattr(padron_load, "BLOCK_CHARS", 20_000)  # many blocks
    calls = {"n": 0}
    name = "_load_block" if company.url.startswith("sqlite") else "_copy_block"
    real = getattr(padron_load, name)

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError("disk went away (injected)")
        return real(*args, **kwargs)

    monkeypatch.setattr(padron_load, name, failing)
    result = company.run("padron", "import", str(big))
    assert result.exit_code == 1 and "disk went away (injected)" in result.stderr
    assert calls["n"] == 5
    assert registry(company.url) == before
    assert len(imports(company.url)) == 1
    assert not {t for t in table_names(company.url) if t.endswith(("_new", "_old"))}
    monkeypatch.setattr(padron_load, name, real)
    assert company.run("padron", "import", str(big)).exit_code == 0
    assert len(registry(company.url)) == 3000


def test_leftover_staging_of_a_killed_import_is_reported_and_removed(company, tmp_path):
    if not company.url.startswith("sqlite"):
        pytest.skip("on PostgreSQL a killed import is rolled back by the server: nothing is left over")
    assert company.run("padron", "import", str(sample(tmp_path))).exit_code == 0
    with get_engine(company.url).begin() as conn:
        conn.exec_driver_sql("CREATE TABLE ruc_registry_new (ruc VARCHAR(11) NOT NULL, name TEXT NOT NULL, "
                             "detail TEXT NOT NULL, CONSTRAINT pk_ruc_registry PRIMARY KEY (ruc)) WITHOUT ROWID")
        conn.exec_driver_sql("INSERT INTO ruc_registry_new VALUES ('20999999991', 'A MEDIAS', 'ACTIVO|HABIDO')")
    status = company.run("padron", "status", "--format", "json")
    assert status.json()["interrupted_import"] is True and "interrupted import" in status.stderr
    assert company.run("padron", "lookup", SUNAT).exit_code == 0
    assert company.run("padron", "import", str(sample(tmp_path))).exit_code == 0
    assert "ruc_registry_new" not in table_names(company.url)
    assert company.run("padron", "status", "--format", "json").json()["interrupted_import"] is False


@pytest.mark.slow
def test_sigkill_half_way_leaves_the_previous_register_complete(company, tmp_path):
    small = sample(tmp_path)
    assert company.run("padron", "import", str(small)).exit_code == 0
    before = registry(company.url)
    big = write_padron(tmp_path / "big.txt", 600_000)
    env = {**os.environ, "CUENTAS_TOKEN": company.tokens["administrador"], "CUENTAS_DATABASE_URL": company.url}
    proc = subprocess.Popen([sys.executable, "-m", "cuentas_cli", "padron", "import", str(big)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_until_loading(company.url, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    _wait_until_rolled_back(company.url)
    assert registry(company.url) == before
    assert len(imports(company.url)) == 1
    found = company.run("padron", "lookup", PENA, "--format", "json", role="contador")
    assert found.exit_code == 0 and found.json()["name"] == "PEÑA ÁLVAREZ MARÍA JOSÉ"
    assert [h["ruc"] for h in company.run("padron", "search", "pena maria", "--format", "json").json()] == [PENA]
    # the next import works (and clears what the killed one left)
    assert company.run("padron", "import", str(small)).exit_code == 0
    assert registry(company.url) == before
    assert not {t for t in table_names(company.url) if t.endswith(("_new", "_old"))}


def _wait_until_rolled_back(url: str, timeout: float = 60) -> None:
    """On PostgreSQL the killed client's backend stops at its next client check and rolls back."""
    if url.startswith("sqlite"):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with get_engine(url).connect() as conn:
            busy = conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                                        "(SELECT oid FROM pg_database WHERE datname = current_database())")).scalar()
        if not busy:
            return
        time.sleep(0.1)
    pytest.fail("the killed import's backend still holds the padrón lock")


def _wait_until_loading(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until the import is writing rows into its staging copy (not merely starting)."""
    deadline = time.monotonic() + timeout
    if url.startswith("sqlite"):
        from cuentas_cli.db.engine import sqlite_path

        wal = Path(str(sqlite_path(url)) + "-wal")
        while time.monotonic() < deadline and proc.poll() is None:
            # the staging table exists and its first rows have reached the WAL
            if "ruc_registry_new" in table_names(url) and wal.exists() and wal.stat().st_size > 4_000_000:
                return
            time.sleep(0.05)
    else:
        while time.monotonic() < deadline and proc.poll() is None:
            with get_engine(url).connect() as conn:
                copied = conn.execute(text("SELECT coalesce(max(tuples_processed), 0) FROM pg_stat_progress_copy")).scalar()
                loaded = conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'INSERT INTO ruc_registry_new%'")).scalar()
            if copied or loaded:
                time.sleep(0.3)
                return
            time.sleep(0.05)
    err = proc.stderr.read().decode() if proc.poll() is not None else ""
    pytest.fail(f"the import never reached its load phase (exit {proc.poll()}): {err}")


# --- permissions ---------------------------------------------------------------------------------


def test_permissions(company, tmp_path):
    path = sample(tmp_path)
    denied = company.run("padron", "import", str(path), role="contador")
    assert denied.exit_code == 5 and "settings" in denied.stderr and "contador" in denied.stderr
    assert imports(company.url) == [] and registry(company.url) == {}
    assert company.run("padron", "import", str(path), role="administrador").exit_code == 0
    for role in ("contador", "gerente"):
        assert company.run("padron", "lookup", SUNAT, role=role).exit_code == 0
        assert company.run("padron", "search", "sunat", role=role).exit_code == 0
        assert company.run("padron", "status", role=role).exit_code == 0
    nobody = company.run("padron", "lookup", SUNAT, role=None)
    assert nobody.exit_code == 5 and "not logged in" in nobody.stderr


# --- lookup and search ------------------------------------------------------------------------------


def test_lookup_messages(company, tmp_path):
    empty = company.run("padron", "lookup", SUNAT)
    assert empty.exit_code == 4 and "the padrón is not loaded" in empty.stderr and "cuentas padron import" in empty.stderr
    assert company.run("padron", "import", str(sample(tmp_path)), "--file-date", "2026-06-01").exit_code == 0
    unknown = ruc("2077777777")
    missing = company.run("padron", "lookup", unknown)
    assert missing.exit_code == 4 and f"RUC {unknown} is not in the padrón of 2026-06-01" in missing.stderr
    bad = company.run("padron", "lookup", "20131312956")
    assert bad.exit_code == 3 and "check digit should be 5, not 6" in bad.stderr
    status_empty = company.run("padron", "status", "--format", "json")
    assert status_empty.json()["row_count"] == 4


def test_search_by_words_ignoring_accents_and_case(company, tmp_path):
    assert company.run("padron", "import", str(sample(tmp_path))).exit_code == 0
    hits = company.run("padron", "search", "pena maria", "--format", "json", role="contador")
    assert hits.exit_code == 0, hits.output
    assert [h["ruc"] for h in hits.json()] == [PENA]
    assert hits.json()[0]["name"] == "PEÑA ÁLVAREZ MARÍA JOSÉ"
    # word prefixes, accents in the query, several matches in RUC order
    assert [h["ruc"] for h in company.run("padron", "search", "Perú", "-f", "json").json()] == [ANDES]
    many = company.run("padron", "search", "s.a.c", "-f", "json").json()
    assert [h["ruc"] for h in many] == sorted([BAJA, ANDES])
    assert [h["ruc"] for h in company.run("padron", "search", "de", "-f", "json").json()] == [SUNAT, ANDES]
    assert [h["ruc"] for h in company.run("padron", "search", "de", "-n", "1", "-f", "json").json()] == [SUNAT]
    assert company.run("padron", "search", "inexistente", "-f", "json").json() == []
    # part of a word in the middle does not match (word starts only)
    assert company.run("padron", "search", "ALVAREZ", "-f", "json").json()[0]["ruc"] == PENA
    assert company.run("padron", "search", "LVAREZ", "-f", "json").json() == []
    csv_out = company.run("padron", "search", "sunat", "-f", "csv").stdout.splitlines()
    assert csv_out[0] == "ruc,name,estado,condicion,ubigeo,address,padron_date"
    nothing = company.run("padron", "search", "¡¿!")
    assert nothing.exit_code == 3 and "no letters or digits" in nothing.stderr


def test_service_lookup_for_the_parties_chain(company, tmp_path):
    assert company.run("padron", "import", str(sample(tmp_path)), "--file-date", "2026-06-01").exit_code == 0
    with open_session(company.url) as s:
        entry = padron.lookup(s, SUNAT)
        assert entry is not None and entry.active and entry.padron_date == date(2026, 6, 1)
        assert entry.address == "AV. GARCILASO DE LA VEGA NRO. 1472"
        baja = padron.lookup(s, BAJA)
        assert baja is not None and not baja.active
        assert padron.lookup(s, ruc("2077777777")) is None
        assert padron.lookup(s, "123") is None


def test_schema_still_matches_the_models_after_an_import(company, tmp_path):
    """The staging copy, the FTS5 / trigram index are outside the models and not schema drift."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from cuentas_cli.db.models import include_object

    assert company.run("padron", "import", str(sample(tmp_path))).exit_code == 0
    assert company.run("padron", "import", str(sample(tmp_path))).exit_code == 0
    with get_engine(company.url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        assert compare_metadata(context, SQLModel.metadata) == []


# --- the parser against a plain reference ------------------------------------------------------------


def _reference(text_body: str, newline: str) -> tuple[list[list[str]], list[int]]:
    rows, bad = [], []
    lines = text_body.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 2):
        line = line[:-1] if newline == "\r\n" and line.endswith("\r") else line
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) == 16 and fields[-1] == "" and len(fields[0]) == 11 and fields[0].isdigit():
            rows.append([fields[0], fields[1], "|".join(fields[2:15])])
        else:
            bad.append(number)
    return rows, bad


@pytest.mark.parametrize("seed", range(6))
def test_block_parser_agrees_with_a_line_by_line_reference(seed):
    rnd = random.Random(seed)
    newline = "\r\n" if seed % 3 == 2 else "\n"
    lines = []
    for i in range(400):
        good = f"{ruc(f'20{i:08d}')}|NOMBRE {i} ÑANDÚ|ACTIVO|HABIDO|150101|AV.|X|-|-|{i}|-|-|-|-|-|"
        kind = rnd.random()
        if kind < 0.85:
            lines.append(good)
        elif kind < 0.88:
            lines.append(good[:-1])  # no trailing '|'
        elif kind < 0.91:
            lines.append(good + "EXTRA|")
        elif kind < 0.94:
            lines.append("")
        elif kind < 0.97:
            lines.append("X" + good[1:])
        else:
            lines.append(good.replace("|ACTIVO|", "|ACT|IVO|"))
    body = newline.join(lines) + (newline if seed % 2 else "")
    expected_rows, expected_bad = _reference(body, newline)
    for block_chars in (50, 333, 4096, 1_000_000):
        tally = padron_file.Tally()
        tally_examples = 10_000
        padron_max = padron_file.MAX_EXAMPLES
        padron_file.MAX_EXAMPLES = tally_examples
        try:
            blocks = list(padron_file.read_blocks(io.StringIO(body), newline, tally, block_chars=block_chars))
        finally:
            padron_file.MAX_EXAMPLES = padron_max
        flat = [v for b in blocks for v in b.flat]
        rows = [flat[i:i + 3] for i in range(0, len(flat), 3)]
        assert rows == expected_rows, block_chars
        assert sum(b.rows for b in blocks) == len(expected_rows)
        assert [n for n, _ in tally.examples] == expected_bad, block_chars
        assert tally.malformed == len(expected_bad)


# --- the parties lookup chain: the register first, then the provider ----------------------------------


def test_clients_add_fills_name_and_address_from_the_register(company, tmp_path):
    # PENA is not in the offline provider's fixture: without the register the lookup fails
    without = company.run("clients", "add", "--ruc", PENA, role="contador")
    assert without.exit_code == 4, without.output
    assert company.run("padron", "import", str(sample(tmp_path)), "--file-date", "2026-06-01").exit_code == 0
    added = company.run("clients", "add", "--ruc", PENA, "-f", "json", role="contador")
    assert added.exit_code == 0, added.output
    data = added.json()
    assert data["name"] == "PEÑA ÁLVAREZ MARÍA JOSÉ"
    assert data["address"] == "JR. LOS ÑANDÚES NRO. 123 INT. 4 URB. SANTA ROSA"
    assert (data["sunat_estado"], data["sunat_condicion"], data["source"]) == ("ACTIVO", "HABIDO", "padron")
    assert "(verified by padrón of 2026-06-01: ACTIVO HABIDO)" in " ".join(added.stderr.split())
    # a RUC the register does not have still goes to the provider (the offline fixture has SUNAT's)
    with get_engine(company.url).begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM ruc_registry WHERE ruc = '{SUNAT}'")
    sunat = company.run("suppliers", "add", "--ruc", SUNAT, "-f", "json", role="contador")
    assert sunat.exit_code == 0, sunat.output
    assert sunat.json()["source"] == "provider"


def test_strict_mode_accepts_an_active_habido_ruc_from_the_register(company, tmp_path):
    assert company.run("settings", "set", "validation.strict", "true").exit_code == 0
    assert company.run("padron", "import", str(sample(tmp_path)), "--file-date", "2026-06-01").exit_code == 0
    ok = company.run("clients", "add", "--ruc", ANDES, role="contador")
    assert ok.exit_code == 0, ok.output
    assert "verified by padrón of 2026-06-01: ACTIVO HABIDO" in " ".join(ok.stderr.split())
    refused = company.run("clients", "add", "--ruc", BAJA, role="contador")
    assert refused.exit_code == 3
    assert f"RUC {BAJA} has SUNAT estado BAJA DE OFICIO, not ACTIVO; not added" in refused.stderr
    with open_session(company.url) as s:
        docs = {r[0] for r in s.execute(text("SELECT doc_number FROM party"))}
    assert docs == {ANDES}


def test_damaged_zip_is_refused_and_the_register_kept(company, tmp_path):
    assert company.run("padron", "import", str(sample(tmp_path))).exit_code == 0
    before = registry(company.url)
    body = (HEADER + "\n" + "\n".join(GOOD_LINES * 2000) + "\n").encode("latin-1")
    archive = tmp_path / "padron_reducido_ruc.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("padron_reducido_ruc.txt", body)
    data = bytearray(archive.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)  # corrupt the compressed stream
    archive.write_bytes(bytes(data))
    result = company.run("padron", "import", str(archive))
    assert result.exit_code == 3, result.output
    assert "the zip is damaged" in result.stderr
    assert registry(company.url) == before and len(imports(company.url)) == 1
