"""Options shared by many commands, defined once, and small helpers for prompts."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from cuentas_cli.errors import UsageError
from cuentas_cli.render import Format

FormatOpt = Annotated[
    Optional[Format],
    typer.Option("--format", "-f", help="Output format (default: table on a terminal, jsonl when piped)."),
]
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
]


def read_password(*, from_stdin: bool, prompt: str = "Password", confirm: bool = False) -> str:
    """A password from stdin or a prompt on the terminal; never from argv."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: standard input had no password")
        return password
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password; pass it on standard input with --password-stdin")
    import getpass

    password = getpass.getpass(f"{prompt}: ", stream=sys.stderr)
    if confirm and getpass.getpass(f"{prompt} (again): ", stream=sys.stderr) != password:
        raise UsageError("the two passwords differ; nothing changed")
    return password


def runtime():  # noqa: ANN201
    from cuentas_cli import runtime as rt

    return rt.current()
