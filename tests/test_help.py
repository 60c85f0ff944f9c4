"""Every registered command explains itself: help text and an example."""

from __future__ import annotations

import pytest

from cuentas_cli.app import ALIASES, COMMANDS, LazyGroup, app


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
            # A Spanish name is the same command under another name: walk each command once,
            # by its English name (test_spanish_aliases_are_the_same_objects checks the aliases).
            aliases = ALIASES if command is root else getattr(command, "aliases", {})
            for name in names:
                if name in aliases:
                    continue
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


def test_spanish_aliases_are_the_same_objects():
    import typer.main

    root = typer.main.get_command(app)
    ctx = root.make_context("cuentas", ["--help"], resilient_parsing=True)
    for alias, name in ALIASES.items():
        assert alias in root.list_commands(ctx)
        group = root.get_command(ctx, alias)
        assert group is root.get_command(ctx, name)
        for sub_alias, sub_name in getattr(group, "aliases", {}).items():
            assert group.get_command(ctx, sub_alias) is group.get_command(ctx, sub_name) is not None
    walked = {path for path, _ in ALL}
    assert not any(path.split()[1] in ALIASES for path in walked if len(path.split()) > 1)


def test_spanish_names_are_listed_in_help(cli):
    top = cli("--help")
    assert "invoices, facturas" in top.stdout and "dashboard, tablero" in top.stdout
    group = cli("facturas", "--help")
    assert "(pagar) Record a payment" in group.stdout and "(vencidas)" in group.stdout


def test_spanish_names_run_the_same_commands(company):
    assert company.run("clients", "add", "--ruc", "20131312955", "--name", "SUNAT", "--no-lookup").exit_code == 0
    added = company.run("facturas", "add", "--kind", "cxc", "--party", "20131312955", "--serie", "F001", "--numero", "1",
                        "--issued", "01/06/2026", "--due", "01/07/2026", "--total", "1180.00", "--format", "json")
    assert added.exit_code == 0, added.output
    invoice = added.json()["id"]
    paid = company.run("facturas", "pagar", str(invoice), "180.00", "--date", "15/06/2026", "--format", "json",
                       role="contador")
    assert paid.exit_code == 0, paid.output
    assert paid.json()["paid_on"] == "2026-06-15"
    english = company.run("invoices", "show", str(invoice), "--format", "json").json()
    spanish = company.run("facturas", "show", str(invoice), "--format", "json").json()
    assert english == spanish and english["balance"] == "1000.00"
    overdue = company.run("--today", "2026-07-15", "facturas", "vencidas", "--format", "json")
    assert overdue.exit_code == 0 and [r["id"] for r in overdue.json()] == [invoice]
    assert company.run("clientes", "show", "20131312955", "--format", "json").json()["open_invoices"] == 1
    assert company.run("tablero", "summary", "--format", "json").exit_code == 0
