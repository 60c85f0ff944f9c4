"""Every registered command explains itself: help text and an example."""

from __future__ import annotations

import pytest

from cuentas_cli.app import COMMANDS, LazyGroup, app


def _walk():
    import typer.main

    root = typer.main.get_command(app)
    ctx = root.make_context("cuentas", ["--help"], resilient_parsing=True)
    found = []

    def visit(command, path):
        found.append((" ".join(path), command))
        subcommands = getattr(command, "commands", None)
        if subcommands is not None:
            names = command.list_commands(ctx) if isinstance(command, LazyGroup) else list(subcommands)
            for name in names:
                visit(command.get_command(ctx, name), [*path, name])

    visit(root, ["cuentas"])
    return found


ALL = _walk()


def test_every_top_level_command_is_registered_once():
    names = [name for _, name, _, _ in COMMANDS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("path,command", ALL, ids=[p for p, _ in ALL])
def test_command_has_help_and_example(path, command):
    text = command.help or ""
    assert text.strip(), f"{path} has no help text"
    assert "Example:" in text and "cuentas" in text.split("Example:", 1)[1], f"{path} has no `Example: cuentas ...`"


@pytest.mark.parametrize("path", [p for p, _ in ALL])
def test_help_runs(cli, path):
    result = cli(*path.split()[1:], "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout
