"""Bar charts for the terminal, drawn with Rich and sized to the console's width.

Figures are never cut: labels and figures keep their width and the bars take what is left
(labels wrap, and on a very narrow terminal the bars are left out)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

_EIGHTHS = " ▏▎▍▌▋▊▉█"
MIN_BAR = 5  # narrower than this a bar tells nothing: the chart shows the figures only


def bar(value: Decimal | int, top: Decimal | int, width: int) -> str:
    """A horizontal bar of `width` cells at full scale, with eighth-cell resolution."""
    if top <= 0 or value <= 0 or width <= 0:
        return ""
    eighths = int(Decimal(value) / Decimal(top) * width * 8)
    full, part = divmod(max(eighths, 1), 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def _fmt(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):,}"


def _label(text: str) -> Any:
    from rich.text import Text

    from cuentas_cli.textsafe import terminal_text

    return Text(terminal_text(text, one_line=True), overflow="fold")


def _widths(width: int, label_w: int, fixed: int, columns: int) -> tuple[int, int]:
    """(label width, bar width) for a chart of `columns` columns (padding 1 each side) whose
    columns other than the label and the bar take `fixed` cells."""
    room = width - fixed - 2 * columns
    bar_w = room - label_w
    if bar_w < MIN_BAR:
        label_w = max(min(label_w, room - MIN_BAR), min(label_w, 4))
        bar_w = room - label_w
    return label_w, bar_w if bar_w >= MIN_BAR else 0


def _table(title: str) -> Any:
    from rich.table import Table
    from rich.text import Text

    from cuentas_cli.textsafe import terminal_text

    return Table(title=Text(terminal_text(title, one_line=True)), show_header=False, box=None, padding=(0, 1),
                 title_justify="left")


def bar_chart(title: str, items: Sequence[tuple[str, Decimal]], *, width: int, style: str = "cyan") -> Any:
    """One labelled bar per item, scaled to the largest, filling `width` columns."""
    from rich.text import Text

    label_w = max((len(label) for label, _ in items), default=4)
    value_w = max((len(_fmt(v)) for _, v in items), default=4)
    label_w, bar_w = _widths(width, label_w, value_w, 3)
    top = max((v for _, v in items), default=Decimal(0))
    table = _table(title)
    table.add_column(justify="right", width=label_w)
    if bar_w:
        table.add_column(no_wrap=True, width=bar_w)
    table.add_column(justify="right", no_wrap=True, width=value_w)
    for label, value in items:
        bars = [Text(bar(value, top, bar_w), style=style)] if bar_w else []
        table.add_row(_label(label), *bars, _fmt(value))
    return table


def paired_chart(title: str, items: Sequence[tuple[str, Decimal, Decimal]], *, width: int,
                 names: tuple[str, str] = ("in", "out")) -> Any:
    """Two bars per item (e.g. inflows green, outflows red) on one scale."""
    from rich.text import Text

    label_w = max((len(label) for label, _, _ in items), default=4)
    value_w = max((len(_fmt(v)) for _, a, b in items for v in (a, b)), default=4)
    name_w = len(max(names, key=len))
    label_w, bar_w = _widths(width, label_w, value_w + name_w, 4)
    top = max((max(a, b) for _, a, b in items), default=Decimal(0))
    table = _table(title)
    table.add_column(justify="right", width=label_w)
    table.add_column(no_wrap=True, width=name_w)
    if bar_w:
        table.add_column(no_wrap=True, width=bar_w)
    table.add_column(justify="right", no_wrap=True, width=value_w)
    for label, first, second in items:
        first_bar = [Text(bar(first, top, bar_w), style="green")] if bar_w else []
        second_bar = [Text(bar(second, top, bar_w), style="red")] if bar_w else []
        table.add_row(_label(label), names[0], *first_bar, _fmt(first))
        table.add_row("", names[1], *second_bar, _fmt(second))
    return table
