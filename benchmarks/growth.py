"""How cost grows with size: the README table from benchmark runs at several sizes.

    python -m benchmarks --size 100000 --json g-100k.json
    python -m benchmarks --size 1000000 --json g-1m.json
    python -m benchmarks --size 10000000 --backend postgresql --json g-10m.json
    python -m benchmarks.growth g-100k.json g-1m.json g-10m.json

Each row is one operation on one database (the results a scenario marks with `growth`): its
time at each size and, between consecutive sizes, the growth factor t(n2)/t(n1) over the size
factor n2/n1, so 1.0 means linear, below 1 sub-linear (fixed costs or index reads), above 1
worse than linear.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s" if value < 100 else f"{value:.0f} s"


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def table(runs: list[dict]) -> str:
    sizes = sorted({run["size"] for run in runs})
    times: dict[tuple[str, str], dict[int, float]] = {}
    for run in runs:
        for row in run["results"]:
            if row.get("growth"):
                operation, backend = row["growth"]
                times.setdefault((operation, backend), {})[run["size"]] = row["time_s"]
    header = ["operation", "database", *(_size(n) for n in sizes), "growth per step (1.0 = linear)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (operation, backend), by_size in sorted(times.items()):
        cells = [_seconds(by_size[n]) if n in by_size else "–" for n in sizes]
        measured = [n for n in sizes if n in by_size]
        steps = []
        for small, large in zip(measured, measured[1:]):
            factor = (by_size[large] / by_size[small]) / (large / small)
            steps.append(f"{_size(small)}→{_size(large)}: {factor:.2f}")
        lines.append("| " + " | ".join([f"`{operation}`", backend, *cells, "; ".join(steps) or "–"]) + " |")
    machines = sorted({run.get("machine", "?") for run in runs})
    return "\n".join(lines) + "\n\nMachine: " + "; ".join(machines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.growth", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path, help="JSON files written by `python -m benchmarks --json`")
    args = parser.parse_args(argv)
    runs = []
    for path in args.files:
        try:
            runs.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            return 2
    print(table(runs), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
