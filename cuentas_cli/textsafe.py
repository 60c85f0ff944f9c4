"""Text that came from outside (files, providers, users) made safe for where it is going.

Two hazards, one function each, shared by the renderer, the error boundary and the exporter:

- `neutralise`: a spreadsheet runs a cell starting with = + - @ tab or CR as a formula
  (`=HYPERLINK(...)`), so every CSV/XLSX text cell the program writes gets a leading
  apostrophe there (the importer takes it off again; `--raw` keeps the text as is).
- `terminal_text`: a control character (ESC, BEL, NUL, C1, bidi overrides) reaching a terminal
  can clear the screen, retitle the window or hide text; it is shown visibly instead (`\\x1b`).

JSON output is data and keeps every character (json.dumps escapes the C0 controls itself).
"""

from __future__ import annotations

import re

# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe."""
    if text and text[0] in FORMULA_STARTS:
        return "'" + text
    return text


# C0 controls but tab and newline, DEL, the C1 controls (0x9b is a one-byte CSI on some
# terminals), and the bidirectional overrides/isolates that reorder what is shown.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ONE_LINE_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Separators that break a line, beside the C0/C1 ones.
_LINE_BREAKS = re.compile("[\n\r\t\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(text: str, *, one_line: bool = False) -> str:
    """`text` with every control character written visibly (ESC as `\\x1b`, NUL as `\\x00`).

    Tabs and newlines stay in multi-line text (a table cell); `one_line=True` turns them,
    and any other line break, into one space first (a message line)."""
    if one_line:
        text = _LINE_BREAKS.sub(" ", text)
        return _ONE_LINE_CONTROLS.sub(_visible, text)
    return _CONTROLS.sub(_visible, text.replace("\r\n", "\n"))
