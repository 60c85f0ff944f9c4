"""`cuentas padron import` of a generated padrón reducido against `sqlite3`'s `.import`.

The file is generated in SUNAT's real format (ISO-8859-1, `|`-delimited with a trailing `|`,
`-` for empty fields, a header line, RUCs in ascending order as SUNAT publishes them).
Line count: `CUENTAS_BENCH_PADRON_LINES` (default 10,000,000).

- import: `cuentas padron import FILE` into a SQLite database at head, against the sqlite3
  command-line shell's `.import` of the same file into a plain table (same run). Target 1.5x,
  peak memory 200 MiB.
- lookup: `parties.padron.lookup` by RUC in-process afterwards (median of 200 lookups of
  random RUCs; target 5 ms, shown against a 5 ms baseline so the ratio is the target check).
- repeat: a second import of the same file replaces the register (row count unchanged, two
  imports recorded); its time, which includes freeing the previous copy, is guarded at 2x.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from pathlib import Path

from benchmarks.harness import PYTHON, Result, run_process

LINES_ENV = "CUENTAS_BENCH_PADRON_LINES"
DEFAULT_LINES = 10_000_000
PASSWORD = "benchmark-password-1"

HEADER = ("RUC|NOMBRE O RAZÓN SOCIAL|ESTADO DEL CONTRIBUYENTE|CONDICIÓN DE DOMICILIO|UBIGEO|TIPO DE VÍA|"
          "NOMBRE DE VÍA|CÓDIGO DE ZONA|TIPO DE ZONA|NÚMERO|INTERIOR|LOTE|DEPARTAMENTO|MANZANA|KILÓMETRO|")

_SURNAMES = ["QUISPE", "MAMANI", "HUAMAN", "FLORES", "RODRIGUEZ", "SANCHEZ", "GARCIA", "ROJAS", "GONZALES",
             "CHAVEZ", "TORRES", "RAMIREZ", "MENDOZA", "VASQUEZ", "CASTILLO", "ESPINOZA", "NUÑEZ", "PEÑA",
             "MUÑOZ", "ORDOÑEZ", "CÁCERES", "ÁLVAREZ", "PÉREZ", "GÓMEZ", "DÍAZ", "LÓPEZ", "HERNÁNDEZ"]
_GIVEN = ["JUAN", "MARIA", "JOSE", "ROSA", "LUIS", "CARMEN", "JORGE", "ANA", "CARLOS", "JULIA", "ÁNGEL",
          "SOFÍA", "MARTÍN", "IÑIGO", "MÓNICA", "RAÚL", "CÉSAR", "INÉS"]
_WORDS = ["INVERSIONES", "CORPORACION", "COMERCIAL", "SERVICIOS", "CONSTRUCTORA", "TRANSPORTES", "AGRO",
          "INDUSTRIAS", "GRUPO", "DISTRIBUIDORA", "MINERA", "PESQUERA", "TEXTIL", "ANDINA", "DEL SUR",
          "LOS PINOS", "SAN MARTIN", "MUÑOZ", "PEÑA", "CAÑETE", "ÁNCASH", "PERÚ", "LIMA", "NORTE", "PACÍFICO"]
_FORMS = ["S.A.C.", "E.I.R.L.", "S.A.", "S.R.L.", "SOCIEDAD ANONIMA CERRADA"]
_ESTADOS = ["ACTIVO"] * 6 + ["BAJA DE OFICIO", "BAJA DEFINITIVA", "SUSPENSION TEMPORAL", "BAJA PROV. POR OFICIO"]
_CONDICIONES = ["HABIDO"] * 6 + ["NO HABIDO", "NO HALLADO", "PENDIENTE"]
_VIAS = ["AV.", "JR.", "CAL.", "PJ.", "CAR.", "-", "-"]
_UBIGEOS = ["150101", "150122", "150131", "040101", "130101", "200101", "080101", "-"]

_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _check(first_ten: str) -> str:
    total = sum(int(d) * w for d, w in zip(first_ten, _WEIGHTS))
    return str((11 - total % 11) % 10)


def ruc_at(i: int, n: int) -> str:
    """The i-th of n ascending, valid RUCs: persons (10...) first, then companies (20...)."""
    persons = n * 6 // 10
    if i < persons:
        body = f"10{10_000_000 + i * 7:08d}"
    else:
        body = f"20{10_000_000 + (i - persons) * 7:08d}"
    return body + _check(body)


def padron_lines(n: int, *, seed: int = 9):  # noqa: ANN201
    """The n data lines (str, with newline) of a padrón, in the real column layout."""
    rnd = random.Random(seed)
    choice = rnd.choice
    persons = n * 6 // 10
    for i in range(n):
        ruc = ruc_at(i, n)
        if i < persons:
            name = f"{choice(_SURNAMES)} {choice(_SURNAMES)} {choice(_GIVEN)}"
        else:
            name = f"{choice(_WORDS)} {choice(_WORDS)} {choice(_FORMS)}"
        via = choice(_VIAS)
        if via == "-":
            address = "-|-|-|-|-|-|-|-|-|-"
        else:
            address = f"{via}|{choice(_WORDS)}|-|-|{rnd.randrange(1, 3000)}|-|-|-|-|-"
        yield f"{ruc}|{name}|{choice(_ESTADOS)}|{choice(_CONDICIONES)}|{choice(_UBIGEOS)}|{address}|\n"


def write_padron(path: Path, n: int, *, seed: int = 9, extra_lines: list[str] | None = None) -> Path:
    """Write a padrón .txt of n data lines (plus `extra_lines`, verbatim, at the end) in ISO-8859-1."""
    path = Path(path)
    with open(path, "w", encoding="latin-1", newline="") as out:
        out.write(HEADER + "\n")
        batch: list[str] = []
        for line in padron_lines(n, seed=seed):
            batch.append(line)
            if len(batch) >= 100_000:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))
        for line in extra_lines or []:
            out.write(line if line.endswith("\n") else line + "\n")
    return path


def _lines() -> int:
    raw = os.environ.get(LINES_ENV, "").replace("_", "").strip()
    return int(raw) if raw else DEFAULT_LINES


def _padron_file(ctx, n: int) -> Path:  # noqa: ANN001
    path = ctx.workdir / f"padron_reducido_ruc-{n}.txt"
    if not path.exists() or path.stat().st_size == 0:
        print(f"… generating a {n:,}-line padrón at {path}", flush=True, file=__import__("sys").stderr)
        tmp = path.with_suffix(".tmp")
        write_padron(tmp, n)
        tmp.replace(path)
    return path


def _sqlite3_import(ctx, path: Path):  # noqa: ANN001, ANN202
    """The baseline: the sqlite3 shell's .import of the same file into a plain 16-column table."""
    db = ctx.workdir / f"padron-baseline-{os.getpid()}.db"
    db.unlink(missing_ok=True)
    columns = ", ".join(f"c{i} TEXT" for i in range(1, 17))
    script = (f"CREATE TABLE padron ({columns});\n.mode csv\n.separator \"|\"\n"
              f".import --skip 1 '{path}' padron\n").encode()
    try:
        return run_process([shutil.which("sqlite3") or "sqlite3", str(db)], stdin=script)
    finally:
        db.unlink(missing_ok=True)


def _prepare(url: str, env: dict[str, str]) -> str:
    """A database at head with an administrador; returns a service token."""
    stdin = (PASSWORD + "\n").encode()
    run_process([PYTHON, "-m", "cuentas_cli", "init", "--admin", "bench", "--password-stdin"], env=env, stdin=stdin)
    session_file = Path(env["CUENTAS_HOME"]) / "session"
    run_process([PYTHON, "-m", "cuentas_cli", "login", "bench", "--password-stdin", "--session-file", str(session_file)],
                env=env, stdin=stdin)
    made = subprocess.run([PYTHON, "-m", "cuentas_cli", "tokens", "create", f"bench-padron-{os.getpid()}"],
                          env={**os.environ, **env, "CUENTAS_SESSION_FILE": str(session_file)},
                          capture_output=True, text=True, check=True)
    return made.stdout.strip()


def _lookups(url: str, n: int, repeats: int = 200) -> list[float]:
    """Seconds per in-process `padron.lookup` of random RUCs of the file (one open session)."""
    from cuentas_cli.db.engine import open_session
    from cuentas_cli.parties import padron

    rnd = random.Random(5)
    times = []
    with open_session(url) as session:
        padron.lookup(session, ruc_at(0, n))  # first use: connection, statement cache
        for _ in range(repeats):
            ruc = ruc_at(rnd.randrange(n), n)
            start = time.perf_counter()
            entry = padron.lookup(session, ruc)
            times.append(time.perf_counter() - start)
            if entry is None or entry.ruc != ruc:
                raise RuntimeError(f"padron lookup of {ruc} found {entry}")
    return sorted(times)


def _row_counts(url: str) -> tuple[int, int]:
    from sqlalchemy import text

    from cuentas_cli.db.engine import get_engine

    with get_engine(url).connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM ruc_registry")).scalar()
        imports = conn.execute(text("SELECT count(*) FROM padron_import")).scalar()
    return int(rows), int(imports)


def run(ctx) -> list[Result]:  # noqa: ANN001
    n = _lines()
    path = _padron_file(ctx, n)
    home = ctx.workdir / f"home-padron-{os.getpid()}"
    home.mkdir(parents=True, exist_ok=True)
    db = ctx.workdir / f"padron-{n}-{os.getpid()}.db"
    url = f"sqlite:///{db}"
    env = {"CUENTAS_HOME": str(home), "CUENTAS_DATABASE_URL": url,
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    try:
        env["CUENTAS_TOKEN"] = _prepare(url, env)
        # Same run, back to back, the page cache warm for both: the file was just written.
        baseline = _sqlite3_import(ctx, path)
        first = run_process([PYTHON, "-m", "cuentas_cli", "padron", "import", str(path)], env=env)
        rows_first, _ = _row_counts(url)
        times = _lookups(url, n)
        median = times[len(times) // 2]
        repeat = run_process([PYTHON, "-m", "cuentas_cli", "padron", "import", str(path)], env=env)
        rows_again, imports = _row_counts(url)
        replaced = rows_again == rows_first == n and imports == 2
        cli_lookup = run_process([PYTHON, "-m", "cuentas_cli", "padron", "lookup", ruc_at(n // 2, n), "--format", "json"],
                                 env=env)
    finally:
        from cuentas_cli.db.engine import dispose_engines

        dispose_engines()
        for suffix in ("", "-wal", "-shm", ".padron.lock"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    size_mib = path.stat().st_size / 2**20
    return [
        Result(f"padron import {n:,} lines ({size_mib:.0f} MiB), sqlite", first.seconds, baseline.seconds, 1.5,
               first.peak_mib, 200,
               note=f"baseline: sqlite3 shell .import into a plain table, {baseline.peak_mib:.0f} MiB; "
                    f"{n / first.seconds:,.0f} rows/s; {rows_first:,} rows loaded"),
        Result("padron lookup by RUC, in-process (median)", median, 0.005, 1.0, 0,
               note=f"200 random RUCs: median {median * 1000:.2f} ms, max {times[-1] * 1000:.2f} ms; target 5 ms "
                    f"(shown as the baseline); `cuentas padron lookup` as a command: {cli_lookup.seconds * 1000:.0f} ms"),
        # The issue asks of the repeat only that it replaces; its time (which includes freeing
        # the previous 10-million-row copy) gets a looser guard of 2x against regressions.
        Result("padron repeat import of the same file (replaces)", repeat.seconds, baseline.seconds,
               2.0 if replaced else 0.0, repeat.peak_mib, 200,
               note=f"rows after: {rows_again:,} (first import {rows_first:,}, file {n:,}), imports recorded {imports}: "
                    f"{'replaced, not duplicated' if replaced else 'NOT REPLACED'}; the time includes dropping the "
                    "previous copy (no time target in the issue; 2x is a regression guard)"),
    ]
