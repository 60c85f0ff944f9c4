"""Run the benchmarks: `python -m benchmarks [--only NAME ...] [--size N] [--postgres URL]`.

Prints one row per scenario: time, the baseline measured in the same run, the ratio, the
target and pass/fail, and peak memory. Exits 1 if any scenario misses its target.
"""

from __future__ import annotations

import argparse
import importlib
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, help="run only these scenarios")
    parser.add_argument("--size", type=int, default=1_000_000, help="invoices in the generated data (default 1M)")
    parser.add_argument("--postgres", default=os.environ.get("CUENTAS_TEST_POSTGRES_URL"),
                        help="PostgreSQL server URL for the PostgreSQL scenarios (default: $CUENTAS_TEST_POSTGRES_URL)")
    parser.add_argument("--workdir", type=Path, default=None, help="where generated data goes (default: a temp dir)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cuentas-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = Context(args.size, workdir, args.postgres)
    results = []
    for name in args.only or SCENARIOS:
        module = importlib.import_module(f"benchmarks.scenarios.{name}")
        print(f"… {name}", file=sys.stderr, flush=True)
        results.extend(module.run(ctx))
    print_table(results)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
