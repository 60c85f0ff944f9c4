"""The terminal's two consoles (data on stdout, everything else on stderr), the progress bar of
long work, and the messages a person reads on stderr, each line made safe (it may quote a file's
header or a value)."""

from __future__ import annotations

import sys
from typing import Any

from cuentas_cli.textsafe import terminal_text

# --- consoles ------------------------------------------------------------------------------------

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
    terminal. `update(rows, position, size)` takes rows done and bytes read of `size` (an
    import); `rows_of(rows, total)` takes rows done of `total` rows (an export)."""

    def __init__(self, label: str, *, show_bytes: bool = False) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

        columns = [TextColumn(terminal_text(str(label), one_line=True), markup=False), BarColumn()]
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

    def rows_of(self, rows: int, total: int | None) -> None:
        """Work measured in rows alone; without a total the bar pulses."""
        self.update(rows, rows, total or 0)

    def stop(self) -> None:
        if self.task is not None:
            self.progress.stop()
            self.task = None


# --- messages on stderr: every line is made safe (it may quote a file's header or a value) ------


def info(message: str) -> None:
    """A message for the person at the terminal (stderr, never mixed with data)."""
    stderr_console().print(safe_lines(message), markup=False, highlight=False)


def success(message: str) -> None:
    from rich.markup import escape

    stderr_console().print(f"[green]✓[/green] {escape(safe_lines(message))}", highlight=False)


def warn(message: str) -> None:
    sys.stderr.write(f"warning: {safe_lines(message)}\n")


def message_line(message: str) -> str:
    """One message line for stderr: whitespace runs (newlines included) become one space and
    control characters are shown visibly."""
    return terminal_text(" ".join(str(message).split()), one_line=True)


def safe_lines(message: str) -> str:
    """A possibly multi-line message for stderr: each line made safe, the line breaks kept."""
    return "\n".join(terminal_text(line, one_line=True) for line in str(message).split("\n"))
