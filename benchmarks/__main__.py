"""Run the benchmarks: `python -m benchmarks [--only NAME ...] [--size N] [--postgres URL]
[--backend sqlite|postgresql|both] [--json FILE]`.

Prints one row per scenario: time, the baseline measured in the same run, the ratio, the
target and pass/fail, and peak memory. Exits 1 if any scenario misses its target. `--json`
also writes the rows to a file, which `python -m benchmarks.growth` turns into the README's
table of how the cost grows with size.

cuentas' modules are byte-compiled before any scenario (`compileall`), as an installed package
is: with PYTHONDONTWRITEBYTECODE set, a checkout would otherwise recompile them in every
command a scenario runs, which the libraries its floors use (compiled by pip) never do.
"""

from __future__ import annotations

import argparse
import compileall
import importlib
import json
import platform
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import print_table
from benchmarks.scenarios import SCENARIOS


@dataclass
class Context:
    size: int
    workdir: Path
    postgres_url: str | None
    sqlite: bool = True  # False with --backend postgresql: only the PostgreSQL parts run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, help="run only these scenarios")
    parser.add_argument("--size", type=int, default=1_000_000, help="invoices in the generated data (default 1M)")
    parser.add_argument("--postgres", default=os.environ.get("CUENTAS_TEST_POSTGRES_URL"),
                        help="PostgreSQL server URL for the PostgreSQL scenarios (default: $CUENTAS_TEST_POSTGRES_URL)")
    parser.add_argument("--workdir", type=Path, default=None, help="where generated data goes (default: a temp dir)")
    parser.add_argument("--backend", choices=("both", "sqlite", "postgresql"), default="both",
                        help="which databases to measure (default both; postgresql needs --postgres or the env)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the results to FILE")
    args = parser.parse_args(argv)
    if args.backend == "postgresql" and not args.postgres:
        parser.error("--backend postgresql needs a server: --postgres URL or CUENTAS_TEST_POSTGRES_URL")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cuentas-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = Context(args.size, workdir, None if args.backend == "sqlite" else args.postgres,
                  sqlite=args.backend != "postgresql")
    import cuentas_cli

    compileall.compile_dir(str(Path(cuentas_cli.__file__).resolve().parent), quiet=1)
    results = []
    for name in args.only or SCENARIOS:
        module = importlib.import_module(f"benchmarks.scenarios.{name}")
        print(f"… {name}", file=sys.stderr, flush=True)
        results.extend(module.run(ctx))
    print_table(results)
    if args.json:
        rows = [{"scenario": r.scenario, "time_s": r.time_s, "baseline_s": r.baseline_s, "ratio": r.ratio,
                 "target": r.target, "peak_mib": r.peak_mib, "passed": r.passed, "note": r.note,
                 **({"growth": r.growth} if r.growth else {})} for r in results]
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        args.json.write_text(json.dumps({"size": args.size, "backend": args.backend, "machine": machine,
                                         "results": rows}, indent=1), encoding="utf-8")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
