"""Timing and peak memory of commands, each against a baseline measured in the same run."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
LAUNCHER = Path(__file__).with_name("launch.py")


@dataclass
class Measure:
    seconds: float
    peak_mib: float
    cpu_s: float = 0.0  # user + system CPU time of the child


@dataclass
class Result:
    scenario: str
    time_s: float
    baseline_s: float
    target: float
    peak_mib: float
    peak_target_mib: float | None = None
    note: str = ""
    # (operation, backend) when the row belongs in the table of how cost grows with size
    # (`python -m benchmarks.growth`); None for the rest.
    growth: tuple[str, str] | None = None
    # An absolute ceiling in seconds where an issue sets one (besides the ratio).
    limit_s: float | None = None

    @property
    def ratio(self) -> float:
        return self.time_s / self.baseline_s if self.baseline_s else float("inf")

    @property
    def passed(self) -> bool:
        ok = self.ratio <= self.target
        if self.peak_target_mib is not None:
            ok = ok and self.peak_mib <= self.peak_target_mib
        if self.limit_s is not None:
            ok = ok and self.time_s <= self.limit_s
        return ok


def run_process(argv: list[str], *, env: dict[str, str] | None = None, stdin: bytes | None = None) -> Measure:
    """Wall time, CPU time and peak RSS of one command, its own: measured by benchmarks/launch.py
    around a fork of a small launcher (a command exec'd straight from this process would report
    this process's peak as its own)."""
    merged = {**os.environ, **(env or {})}
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen([PYTHON, "-S", str(LAUNCHER), str(write_end), *argv], env=merged, pass_fds=(write_end,),
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    try:
        if stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.close()
        stderr = proc.stderr.read()
        proc.wait()
        with os.fdopen(read_end, "rb") as report:
            read_end = None
            text = report.read().decode()
    finally:
        if read_end is not None:
            os.close(read_end)
    if not text:
        raise RuntimeError(f"{' '.join(argv)}: the launcher reported nothing (exit {proc.returncode}): "
                           f"{stderr.decode(errors='replace')[-2000:]}")
    elapsed, cpu, maxrss_kib, code = text.split()
    if int(code) != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {code}: {stderr.decode(errors='replace')[-2000:]}")
    return Measure(float(elapsed), int(maxrss_kib) / 1024, float(cpu))


def best_of(n: int, fn: Callable[[], Measure]) -> Measure:
    """The median time of n runs (and the largest peak), to damp noise on a shared machine."""
    runs = [fn() for _ in range(n)]
    return Measure(statistics.median(r.seconds for r in runs), max(r.peak_mib for r in runs))


def median_cpu(n: int, fn: Callable[[], Measure]) -> Measure:
    """The median CPU time of n runs (as `seconds`), with the largest peak: what a command costs
    the machine, less sensitive than wall time to other work on a shared one."""
    runs = [fn() for _ in range(n)]
    cpu = statistics.median(r.cpu_s for r in runs)
    return Measure(cpu, max(r.peak_mib for r in runs), cpu)


@contextmanager
def postgres_database(server_url: str, label: str) -> Iterator[str]:
    """A fresh database on the benchmark's PostgreSQL server, dropped afterwards; yields its URL."""
    import psycopg

    admin = server_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"cuentas_bench_{label}_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base, _, _ = admin.rpartition("/")
        yield f"{base}/{name}"
    finally:
        from cuentas_cli.db.engine import dispose_engines

        dispose_engines()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cuentas(*args: str) -> list[str]:
    return [PYTHON, "-m", "cuentas_cli", *args]


def print_table(results: list[Result]) -> None:
    header = f"{'scenario':44} {'time':>9} {'baseline':>9} {'ratio':>6} {'target':>7} {'peak MiB':>9} {'result':>6}"
    print(header)
    print("-" * len(header))
    for r in results:
        peak = f"{r.peak_mib:.0f}" + (f"/{r.peak_target_mib:.0f}" if r.peak_target_mib else "")
        print(f"{r.scenario:44} {r.time_s:9.3f} {r.baseline_s:9.3f} {r.ratio:6.2f} {r.target:6.2f}x {peak:>9} "
              f"{'pass' if r.passed else 'FAIL':>6}")
        if r.note:
            print(f"    {r.note}")
