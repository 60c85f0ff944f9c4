"""The command line in the active language: help texts, Click's and Typer's own words, and the
usage errors Click raises.

Help is written in English in the code (docstrings, `help=`); the catalog holds its Spanish.
`translate_tree` swaps each text of a command, its options and its sub-commands for the
translation when the command is resolved, keeping the source so a later run in another
language translates from the English again. Names of commands and options never change.
"""

from __future__ import annotations

import re
from typing import Any

import typer.core
from typer import _click

from cuentas_cli.i18n import N_, _, language

# Words Click and Typer print themselves; typer.core reads them through gettext, Click's vendored
# copy does not: those are swapped where they are written (LocalizedFormatter, usage_message).
CLICK_WORDS = (
    N_("Usage: "), N_("Options"), N_("Arguments"), N_("Commands"), N_("Show this message and exit."),
    N_("default: {default}"), N_("required"), N_("env var: {var}"), N_("(dynamic)"), N_("Aborted!"),
    N_("Missing command."), N_("No such command {name!r}."),
)
_HELP_OPTION = "Show this message and exit."


class LocalizedFormatter(_click.formatting.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _("Usage: ") if prefix is None else prefix)

    def write_dl(self, rows: Any, *args: Any, **kwargs: Any) -> None:
        rows = [(term, _(text) if text == _HELP_OPTION else text) for term, text in rows]
        super().write_dl(rows, *args, **kwargs)


class LocalizedContext(_click.Context):
    formatter_class = LocalizedFormatter


def install() -> None:
    """Typer's own words ("Options", "default: ...") come from the catalog too: typer.core reads
    them through the module-level gettext function it imported, which this replaces."""
    typer.core._ = _  # type: ignore[attr-defined]


def _swap(obj: Any, attr: str) -> None:
    sources = obj.__dict__.setdefault("_i18n_source", {})
    if attr not in sources:
        sources[attr] = getattr(obj, attr, None)
    source = sources[attr]
    if source:
        setattr(obj, attr, _(source))


def translate_tree(command: Any) -> Any:
    """`command` and everything under it in the active language; returns `command`."""
    if getattr(command, "_i18n_language", None) == language():
        return command
    for attr in ("help", "short_help", "epilog"):
        _swap(command, attr)
    if not command.__dict__["_i18n_source"].get("short_help") and command.help:
        # the whole first paragraph in a group's list, as Typer's rich help showed it (Click would
        # cut it at 45 characters with "...")
        command.short_help = " ".join(command.help.split("\n\n", 1)[0].split())
    for param in getattr(command, "params", []):
        _swap(param, "help")
    command.context_class = LocalizedContext
    # Typer's rich panels print their own titles ("Options", "Commands"), fixed when typer.rich_utils
    # is imported; plain Click help goes through LocalizedFormatter, as the root's always did.
    if getattr(command, "rich_markup_mode", None) is not None:
        command.rich_markup_mode = None
    for sub in getattr(command, "commands", {}).values():
        translate_tree(sub)
    command._i18n_language = language()
    return command


def help_texts(command: Any, path: str = "cuentas") -> list[tuple[str, str]]:
    """Every help text of the tree under `command` as written in the code: (where, text). The
    catalog's extraction (tools/catalog.py) and the test that every one is translated read it."""
    found = []
    sources = command.__dict__.get("_i18n_source", {})
    for attr in ("help", "short_help", "epilog"):
        text = sources.get(attr, getattr(command, attr, None))
        if text:
            found.append((f"{path} ({attr})", text))
    for param in getattr(command, "params", []):
        text = param.__dict__.get("_i18n_source", {}).get("help", getattr(param, "help", None))
        if text:
            found.append((f"{path} {param.opts[0] if param.opts else param.name}", text))
    for name, sub in getattr(command, "commands", {}).items():
        found.extend(help_texts(sub, f"{path} {name}"))
    return found


# Click's usage errors, as Click words them, and their catalog entries.
_USAGE_ERRORS = [
    (re.compile(r"^Missing argument '(?P<name>[^']+)'\.$"), N_("Missing argument '{name}'.")),
    (re.compile(r"^Missing option '(?P<name>[^']+)'\.$"), N_("Missing option '{name}'.")),
    (re.compile(r"^Missing parameter: (?P<name>.+)$"), N_("Missing parameter: {name}")),
    (re.compile(r"^No such option: (?P<name>\S+) Did you mean (?P<other>\S+)\?$"),
     N_("No such option: {name} Did you mean {other}?")),
    (re.compile(r"^No such option: (?P<name>\S+) \(Possible options: (?P<other>.+)\)$"),
     N_("No such option: {name} (Possible options: {other})")),
    (re.compile(r"^No such option: (?P<name>\S+)$"), N_("No such option: {name}")),
    (re.compile(r"^Option '(?P<name>[^']+)' requires an argument\.$"), N_("Option '{name}' requires an argument.")),
    (re.compile(r"^Option '(?P<name>[^']+)' does not take a value\.$"), N_("Option '{name}' does not take a value.")),
    (re.compile(r"^Got unexpected extra arguments? \((?P<name>.*)\)$"), N_("Got unexpected extra argument ({name})")),
    (re.compile(r"^Invalid value for (?P<name>'[^']+'): (?P<value>'.*') is not one of (?P<other>.+)\.$"),
     N_("Invalid value for {name}: {value} is not one of {other}.")),
    (re.compile(r"^Invalid value for (?P<name>'[^']+'): (?P<value>'.*') is not a valid integer\.$"),
     N_("Invalid value for {name}: {value} is not a valid integer.")),
    (re.compile(r"^Invalid value for (?P<name>'[^']+'): (?P<value>'.*') is not a valid float\.$"),
     N_("Invalid value for {name}: {value} is not a valid number.")),
    (re.compile(r"^Invalid value for (?P<name>'[^']+'): (?P<value>.*)$"), N_("Invalid value for {name}: {value}")),
]


def usage_message(message: str) -> str:
    """A Click usage error in the active language (the values it quotes unchanged)."""
    for pattern, template in _USAGE_ERRORS:
        match = pattern.match(message)
        if match:
            values = {"name": "", "other": "", "value": "", **match.groupdict()}
            return _(template).format(**values)
    return message

