"""One place that turns rows into a Rich table, CSV, JSON or JSON lines.

Data goes to stdout; everything else (messages, warnings, progress) to stderr. Amounts are
Decimal in the domain and leave as strings with two decimals in JSON and CSV, so no float
ever touches money; dates leave as ISO 8601.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

FORMATS = ("table", "json", "jsonl", "csv")


class Format(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


def resolve_format(fmt: "Format | str | None") -> str:
    """Table on a terminal, JSON lines when piped, unless asked."""
    if fmt is None:
        return "table" if sys.stdout.isatty() else "jsonl"
    return fmt.value if isinstance(fmt, Format) else str(fmt)


def money(value: Decimal | int | None) -> str | None:
    """Two-decimal text of an amount (Decimal soles or integer céntimos are both accepted)."""
    if value is None:
        return None
    if isinstance(value, int):
        value = Decimal(value) / 100
    return f"{value.quantize(Decimal('0.01'))}"


def plain(value: Any) -> Any:
    """A JSON-safe version of one value."""
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    return value


def as_dict(row: Any) -> dict[str, Any]:
    if isinstance(row, Mapping):
        return dict(row)
    if dataclasses.is_dataclass(row):
        return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
    if hasattr(row, "model_dump"):
        return row.model_dump()
    raise TypeError(f"cannot render {type(row).__name__}")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "sí" if value else "no"
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01')):,}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(plain(value))


def emit(
    rows: Iterable[Any],
    fmt: "Format | str | None" = None,
    *,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    out: Any = None,
) -> int:
    """Write rows in the chosen format; returns how many were written."""
    out = out or sys.stdout
    kind = resolve_format(fmt)
    dict_rows = (as_dict(r) for r in rows)
    count = 0
    if kind == "jsonl":
        for row in dict_rows:
            row = {k: row[k] for k in columns} if columns else row
            out.write(json.dumps(plain(row), ensure_ascii=False) + "\n")
            count += 1
        return count
    if kind == "json":
        items = [{k: row[k] for k in columns} if columns else row for row in dict_rows]
        out.write(json.dumps(plain(items), ensure_ascii=False, indent=2) + "\n")
        return len(items)
    if kind == "csv":
        writer = None
        for row in dict_rows:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(columns or row.keys()), extrasaction="ignore", lineterminator="\n")
                writer.writeheader()
            writer.writerow({k: _csv_cell(v) for k, v in plain(row).items()})
            count += 1
        if writer is None and columns:
            csv.writer(out, lineterminator="\n").writerow(columns)
        return count
    materialised = list(dict_rows)
    from rich.table import Table

    table = Table(title=title, show_lines=False, header_style="bold")
    cols = list(columns or (materialised[0].keys() if materialised else []))
    for col in cols:
        sample = next((r[col] for r in materialised if r.get(col) is not None), None)
        justify = "right" if isinstance(sample, (Decimal, int)) and not isinstance(sample, bool) else "left"
        table.add_column(col, justify=justify)
    for row in materialised:
        table.add_row(*(_text(row.get(c)) for c in cols))
    stdout_console().print(table)
    if not materialised:
        stderr_console().print("(no rows)")
    return len(materialised)


def emit_record(record: Any, fmt: "Format | str | None" = None, *, title: str | None = None) -> None:
    """One object: key/value table on a terminal, a JSON object otherwise."""
    kind = resolve_format(fmt)
    data = as_dict(record)
    if kind in {"json", "jsonl"}:
        sys.stdout.write(json.dumps(plain(data), ensure_ascii=False, indent=2 if kind == "json" else None) + "\n")
        return
    if kind == "csv":
        emit([data], "csv")
        return
    from rich.table import Table

    table = Table(title=title, show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for key, value in data.items():
        table.add_row(key, _text(value))
    stdout_console().print(table)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False)
    return value


_consoles: dict[str, Any] = {}


def stdout_console() -> Any:
    if "out" not in _consoles:
        from rich.console import Console

        _consoles["out"] = Console(soft_wrap=False)
    return _consoles["out"]


def stderr_console() -> Any:
    if "err" not in _consoles:
        from rich.console import Console

        _consoles["err"] = Console(stderr=True, highlight=False, soft_wrap=True)
    return _consoles["err"]


def reset_consoles() -> None:
    """Tests swap sys.stdout/sys.stderr; forget consoles bound to the old streams."""
    _consoles.clear()


class RowProgress:
    """A bar with rows per second for long work, drawn on stderr; use only when stderr is a
    terminal. `update(rows, position, size)` takes rows done and bytes read of `size`."""

    def __init__(self, label: str, *, show_bytes: bool = False) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

        columns = [TextColumn(label), BarColumn()]
        if show_bytes:
            columns.append(DownloadColumn())
        columns += [TextColumn("{task.fields[rows]:,} rows"), TextColumn("{task.fields[rate]:,.0f} rows/s"),
                    TimeElapsedColumn()]
        self.progress = Progress(*columns, console=stderr_console(), transient=True)
        self.task = None
        self.started = 0.0

    def update(self, rows: int, position: int, size: int) -> None:
        import time

        if self.task is None:
            self.progress.start()
            self.started = time.perf_counter()
            self.task = self.progress.add_task("work", total=size or None, rows=0, rate=0.0)
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        self.progress.update(self.task, completed=position, rows=rows, rate=rows / elapsed)

    def stop(self) -> None:
        if self.task is not None:
            self.progress.stop()
            self.task = None


def info(message: str) -> None:
    """A message for the person at the terminal (stderr, never mixed with data)."""
    stderr_console().print(message, markup=False, highlight=False)


def success(message: str) -> None:
    from rich.markup import escape

    stderr_console().print(f"[green]✓[/green] {escape(message)}", highlight=False)


def warn(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")
