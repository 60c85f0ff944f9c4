"""`cuentas --help` against `python -c "import typer, rich.table"` (target 1.6x)."""

from __future__ import annotations

from benchmarks.harness import PYTHON, Result, best_of, cuentas, run_process


def run(ctx) -> list[Result]:  # noqa: ANN001
    repeats = 15
    baseline = best_of(repeats, lambda: run_process([PYTHON, "-c", "import typer, rich.table"]))
    help_ = best_of(repeats, lambda: run_process(cuentas("--help")))
    sub = best_of(repeats, lambda: run_process(cuentas("users", "--help")))
    return [
        Result("cuentas --help", help_.seconds, baseline.seconds, 1.6, help_.peak_mib),
        Result("cuentas users --help (informative)", sub.seconds, baseline.seconds, 4.0, sub.peak_mib),
    ]
