"""Bar charts for the terminal, drawn with Rich and sized to the console's width."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

_EIGHTHS = " ▏▎▍▌▋▊▉█"


def bar(value: Decimal | int, top: Decimal | int, width: int) -> str:
    """A horizontal bar of `width` cells at full scale, with eighth-cell resolution."""
    if top <= 0 or value <= 0 or width <= 0:
        return ""
    eighths = int(Decimal(value) / Decimal(top) * width * 8)
    full, part = divmod(max(eighths, 1), 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def _fmt(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):,}"


def bar_chart(title: str, items: Sequence[tuple[str, Decimal]], *, width: int, style: str = "cyan") -> Any:
    """One labelled bar per item, scaled to the largest, filling `width` columns."""
    from rich.table import Table

    label_w = max((len(label) for label, _ in items), default=4)
    value_w = max((len(_fmt(v)) for _, v in items), default=4)
    bar_w = max(width - label_w - value_w - 6, 5)
    top = max((v for _, v in items), default=Decimal(0))
    table = Table(title=title, show_header=False, box=None, padding=(0, 1), title_justify="left")
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True, width=bar_w)
    table.add_column(justify="right", no_wrap=True)
    for label, value in items:
        table.add_row(label, f"[{style}]{bar(value, top, bar_w)}[/]", _fmt(value))
    return table


def paired_chart(title: str, items: Sequence[tuple[str, Decimal, Decimal]], *, width: int,
                 names: tuple[str, str] = ("in", "out")) -> Any:
    """Two bars per item (e.g. inflows green, outflows red) on one scale."""
    from rich.table import Table

    label_w = max((len(label) for label, _, _ in items), default=4)
    value_w = max((len(_fmt(v)) for _, a, b in items for v in (a, b)), default=4)
    bar_w = max(width - label_w - value_w - len(max(names, key=len)) - 8, 5)
    top = max((max(a, b) for _, a, b in items), default=Decimal(0))
    table = Table(title=title, show_header=False, box=None, padding=(0, 1), title_justify="left")
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True, width=bar_w)
    table.add_column(justify="right", no_wrap=True)
    for label, first, second in items:
        table.add_row(label, names[0], f"[green]{bar(first, top, bar_w)}[/]", _fmt(first))
        table.add_row("", names[1], f"[red]{bar(second, top, bar_w)}[/]", _fmt(second))
    return table
