"""One place that turns rows into a Rich table, CSV, JSON or JSON lines.

Data goes to stdout; everything else (messages, warnings, progress) to stderr. Amounts are
Decimal in the domain and leave as strings with two decimals in JSON and CSV, so no float
ever touches money; dates leave as ISO 8601.

What reaches a terminal is made safe here: every text is stripped of control characters
(shown visibly as `\\x1b`, see textsafe.py) and Rich markup in data is never interpreted.
Terminal tables never shorten a number: numbers, dates and codes keep their full width,
text wraps, and when the columns still do not fit the lowest-priority ones are hidden with
one note on stderr (or the rows are shown vertically, one field a line). CSV text cells are
neutralised against spreadsheet formulas unless `--raw`; JSON keeps the data unchanged.

`cuentas_cli.render` is the presentation layer's interface: commands import from here; the
consoles, progress bar and stderr messages live in `render.console`, charts in `render.charts`.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from cuentas_cli.render.console import (  # noqa: F401 - the package's interface
    RowProgress,
    info,
    message_line,
    reset_consoles,
    safe_lines,
    stderr_console,
    stdout_console,
    success,
    warn,
)
from cuentas_cli.i18n import _, ngettext
from cuentas_cli.render.labels import label
from cuentas_cli.textsafe import FORMULA_STARTS, neutralise, terminal_text  # noqa: F401 - shared here

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


# --- raw CSV (`--raw`) -------------------------------------------------------------------------

_state = {"raw": False}


def set_raw(value: bool) -> None:
    """`--raw`: CSV cells keep their text untouched (no formula neutralising) for scripts."""
    _state["raw"] = bool(value)


def raw_mode() -> bool:
    return _state["raw"]


# --- values ------------------------------------------------------------------------------------


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
    """The text of one value for a terminal: amounts with thousands separators, controls visible."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01')):,}"
    if isinstance(value, datetime):  # for people: 15/06/2026 (machine formats keep ISO dates)
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return terminal_text(str(plain(value)))


def safe(text: Any, *, one_line: bool = False) -> str:
    """Any text bound for a terminal, with its control characters shown visibly."""
    return terminal_text(str(text), one_line=one_line)


def _is_whole(value: Any) -> bool:
    """Values a table never wraps or cuts: numbers, dates, and short one-word codes (RUC,
    document numbers, statuses, currencies)."""
    if value is None:
        return True
    if isinstance(value, (bool, int, float, Decimal, date, datetime, Enum)):
        return True
    text = str(value)
    return len(text) <= 24 and not any(ch.isspace() for ch in text)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


# --- emitting rows ------------------------------------------------------------------------------


def emit(
    rows: Iterable[Any],
    fmt: "Format | str | None" = None,
    *,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    out: Any = None,
    drop_order: Sequence[str] | None = None,
) -> int:
    """Write rows in the chosen format; returns how many were written.

    `drop_order` names the table columns to hide first when they do not fit the terminal
    (default: HIDE_FIRST, then from the right, amounts and the first column last)."""
    out = out or sys.stdout
    kind = resolve_format(fmt)
    dict_rows = (as_dict(r) for r in rows)
    count = 0
    if kind == "jsonl":
        for row in dict_rows:
            row = {k: row[k] for k in columns} if columns else row
            out.write(json_text(plain(row), out) + "\n")
            count += 1
        return count
    if kind == "json":
        items = [{k: row[k] for k in columns} if columns else row for row in dict_rows]
        out.write(json_text(plain(items), out, indent=2) + "\n")
        return len(items)
    if kind == "csv":
        writer = None
        to_terminal = _isatty(out)
        for row in dict_rows:
            if writer is None:
                writer = csv.DictWriter(out, fieldnames=list(columns or row.keys()), extrasaction="ignore", lineterminator="\n")
                writer.writeheader()
            writer.writerow({k: csv_cell(v, terminal=to_terminal) for k, v in row.items()})
            count += 1
        if writer is None and columns:
            csv.writer(out, lineterminator="\n").writerow(columns)
        return count
    materialised = list(dict_rows)
    cols = list(columns or (materialised[0].keys() if materialised else []))
    print_rows(cols, materialised, title=title, drop_order=drop_order)
    if not materialised:
        stderr_console().print(_("(no rows)"))
    return len(materialised)


def emit_record(record: Any, fmt: "Format | str | None" = None, *, title: str | None = None) -> None:
    """One object: key/value table on a terminal, a JSON object otherwise."""
    kind = resolve_format(fmt)
    data = as_dict(record)
    if kind in {"json", "jsonl"}:
        sys.stdout.write(json_text(plain(data), sys.stdout, indent=2 if kind == "json" else None) + "\n")
        return
    if kind == "csv":
        emit([data], "csv")
        return
    stdout_console().print(vertical_table([(label(key), value) for key, value in data.items()], title=title,
                                          width=stdout_console().width))


# JSON escapes C0 controls itself; these others would still act on a terminal (C1 such as the
# one-byte CSI U+009B, DEL, bidi overrides).
_JSON_TERMINAL_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def json_text(data: Any, out: Any, *, indent: int | None = None) -> str:
    """JSON of `data`; written to a terminal, the characters that would act on it are \\u-escaped
    (the same data once parsed)."""
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    if _isatty(out):
        text = _JSON_TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
    return text


def csv_cell(value: Any, *, terminal: bool = False) -> Any:
    """One CSV cell: amounts and dates as plain text, text neutralised against formulas unless
    `--raw` (amounts such as -5.00 are numbers, never neutralised); controls made visible when
    the CSV is going straight to a terminal. `--raw` leaves text untouched."""
    if isinstance(value, (list, tuple)):
        value = ",".join(str(plain(v)) for v in value)
    elif isinstance(value, Mapping):
        value = json.dumps(plain(value), ensure_ascii=False)
    elif isinstance(value, (Decimal, date, datetime, Enum)) or not isinstance(value, str):
        return plain(value)  # amounts, dates, numbers: data, never neutralised
    if not raw_mode():
        value = neutralise(value)
    return terminal_text(value) if terminal else value  # --raw keeps formulas, never escapes


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# --- tables that fit the terminal ---------------------------------------------------------------

TEXT_MIN = 10  # a wrapped text column is never made narrower than this (or its widest word)
GAP = 2  # spaces between two columns
# Columns of any listing hidden first on a narrow terminal (the rest go from the right): each
# repeats or summarises another column (status VENCIDA says overdue; the kind is usually filtered).
HIDE_FIRST = ("days_overdue", "overdue_count", "kind", "due_date")


@dataclasses.dataclass
class Column:
    """One column of a terminal table: its header, its cells as text, and whether its cells
    must stay whole (numbers, dates, codes: never wrapped or cut) or may wrap (text)."""

    header: str
    cells: list[str]
    whole: bool
    justify: str = "left"
    number: bool = False
    name: str = ""  # the field's key, which drop orders name (the header is in the reader's language)

    @property
    def natural(self) -> int:
        return max((_cell_width(c) for c in self.cells), default=0)

    @property
    def header_width(self) -> int:
        return _cell_width(self.header)

    @property
    def need(self) -> int:
        """The least width that shows every cell whole (text: wrapped at words)."""
        if self.whole:  # the header too: a column name folded into pieces is unreadable
            return max(self.natural, self.header_width, 1)
        longest_word = max((_cell_width(w) for c in self.cells for w in c.split()), default=1)
        return max(min(self.natural, max(TEXT_MIN, min(longest_word, 24))), 1)

    @property
    def want(self) -> int:
        return max(self.natural, self.header_width, 1)


def _cell_width(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in text.split("\n")), default=0)


def fit_columns(columns: Sequence[Column], width: int, *, drop_order: Sequence[str] | None = None,
                min_keep: int = 3) -> tuple[list[int], list[Column], list[Column]] | None:
    """Widths for the columns that fit `width`: (widths, shown, hidden), hiding columns in
    `drop_order` (then from the right, numbers and the first column last) until every whole
    column has its full width; None (show the rows vertically) when fewer than `min_keep`
    columns, or fewer than half of them, would be left."""
    shown = list(columns)
    hidden: list[Column] = []
    order = _drop_sequence(columns, drop_order)

    def total(cols: list[Column]) -> int:
        return sum(c.need for c in cols) + GAP * max(len(cols) - 1, 0)

    while total(shown) > width:
        # Hiding most of the columns tells less than showing every field vertically.
        if len(shown) <= min(min_keep, len(columns)) or not order or len(hidden) + 1 > len(columns) // 2:
            return None
        victim = order.pop(0)
        shown.remove(victim)
        hidden.append(victim)
    widths = [c.need for c in shown]
    spare = width - total(shown)
    # Headers of whole columns first (so they need not fold), then text, a character at a time.
    for group in ([i for i, c in enumerate(shown) if c.whole], [i for i, c in enumerate(shown) if not c.whole]):
        while spare > 0:
            growing = [i for i in group if widths[i] < shown[i].want]
            if not growing:
                break
            for i in growing:
                if spare <= 0:
                    break
                widths[i] += 1
                spare -= 1
    return widths, shown, hidden


def _drop_sequence(columns: Sequence[Column], drop_order: Sequence[str] | None) -> list[Column]:
    named = {c.name or c.header: c for c in columns[1:]}
    wanted = HIDE_FIRST if drop_order is None else drop_order
    first = [named[name] for name in wanted if name in named]
    rest = [c for c in reversed(columns[1:]) if c not in first]
    # From the right: other columns before amounts; the first column (the row's key) never.
    return first + [c for c in rest if not c.number] + [c for c in rest if c.number]


def build_table(columns: Sequence[Column], rows_count: int, *, width: int, title: str | None = None,
                drop_order: Sequence[str] | None = None, min_keep: int = 3) -> tuple[Any, list[str]]:
    """A Rich table of `columns` that fits `width`, and the headers it had to hide; a vertical
    table (one field a line) when not even `min_keep` columns fit."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    fitted = fit_columns(columns, width, drop_order=drop_order, min_keep=min_keep)
    if fitted is None:
        return _vertical_rows(columns, rows_count, width=width, title=title), []
    widths, shown, hidden = fitted
    table = Table(title=_title(title), header_style="bold", title_justify="left", box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    for col, col_width in zip(shown, widths):
        table.add_column(Text(col.header, no_wrap=False, overflow="fold"), justify=col.justify, width=col_width,
                         no_wrap=col.whole, overflow="fold")
    for r in range(rows_count):
        table.add_row(*(Text(col.cells[r], no_wrap=col.whole, overflow="fold") for col in shown))
    return table, [c.header for c in hidden]


def _vertical_rows(columns: Sequence[Column], rows_count: int, *, width: int, title: str | None) -> Any:
    from rich.console import Group

    parts = []
    for r in range(rows_count):
        parts.append(vertical_table([(c.header, c.cells[r]) for c in columns], width=width,
                                    title=title if r == 0 else None, texts=True))
        if r < rows_count - 1:
            parts.append("")
    return Group(*parts)


def vertical_table(items: Sequence[tuple[str, Any]], *, width: int, title: str | None = None,
                   texts: bool = False) -> Any:
    """Key/value lines: the key on the left, the value (wrapped when text) on the right."""
    from rich.table import Table
    from rich.text import Text

    keys = [terminal_text(str(k), one_line=True) for k, _ in items]
    values = [v if texts else _text(v) for _, v in items]
    key_width = max((_cell_width(k) for k in keys), default=1)
    table = Table(title=_title(title), show_header=False, box=None, padding=(0, 1), pad_edge=False,
                  title_justify="left")
    table.add_column(style="bold", no_wrap=True, width=key_width)
    value_width = max(width - key_width - 2, 1)  # one space of padding each side of the gap
    table.add_column(width=value_width, overflow="fold")
    for key, value, (_, raw) in zip(keys, values, items):
        table.add_row(Text(key), Text(value, no_wrap=_is_whole(raw) and _cell_width(value) <= value_width,
                                      overflow="fold"))
    return table


def _title(title: str | None) -> Any:
    """A table's title; once the firm keeps several companies, with the company whose books it
    shows (also on a table that has no title), so nobody reads or types into the wrong books."""
    from cuentas_cli import runtime

    rt = runtime.current_or_none()
    company = rt.company_label() if rt is not None else None
    if company:
        title = f"{title} · {company}" if title else company
    if title is None:
        return None
    from rich.text import Text

    return Text(terminal_text(title, one_line=True))


def columns_of(names: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[Column]:
    """Column descriptions for plain rows: numbers right-aligned and whole, short codes whole,
    text wrapping."""
    result = []
    for name in names:
        values = [row.get(name) for row in rows]
        sample = next((v for v in values if v is not None), None)
        result.append(Column(
            header=terminal_text(label(str(name)), one_line=True),
            name=str(name),
            cells=[_text(v) for v in values],
            whole=all(_is_whole(v) for v in values),
            justify="right" if _is_number(sample) else "left",
            number=_is_number(sample),
        ))
    return result


def print_rows(names: Sequence[str], rows: Sequence[Mapping[str, Any]], *, title: str | None = None,
               drop_order: Sequence[str] | None = None) -> None:
    """Rows as a table on stdout that fits the terminal; a note on stderr for hidden columns."""
    print_table(columns_of(names, rows), len(rows), title=title, drop_order=drop_order)


def print_table(columns: Sequence[Column], rows_count: int, *, title: str | None = None,
                drop_order: Sequence[str] | None = None, min_keep: int = 3) -> None:
    console = stdout_console()
    table, hidden = build_table(columns, rows_count, width=console.width, title=title, drop_order=drop_order,
                                min_keep=min_keep)
    console.print(table)
    hidden_note(hidden, console.width)


def hidden_note(hidden: Sequence[str], width: int) -> None:
    if hidden:
        info(ngettext("{count} column hidden to fit {width} columns ({names}): use --format json or a wider COLUMNS",
                      "{count} columns hidden to fit {width} columns ({names}): use --format json or a wider COLUMNS",
                      len(hidden)).format(count=len(hidden), width=width, names=", ".join(hidden)))
