"""The root command: global options, lazily loaded sub-commands, and the one error boundary.

Sub-command modules are imported only when their command runs, so `cuentas --help` and a
simple listing do not pay for SQLAlchemy, pandas or httpx at start-up. The table below is
also the table of contents that `cuentas --help` prints.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from cuentas_cli import __version__
from cuentas_cli.i18n import N_, _

# (section, command, "module:attribute", one-line help). An attribute named `app` is a
# sub-group; any other is a function that becomes a single command.
COMMANDS: list[tuple[str, str, str, str]] = [
    (N_("Start"), "init", "setup:init", N_("Create or upgrade the database and the first administrator.")),
    (N_("Start"), "demo", "demo:demo", N_("Sample company in a fresh SQLite file, logged in; shows its dashboard.")),
    (N_("Start"), "doctor", "doctor:doctor", N_("Check the set-up: database, permissions, keyring, login, lookup, SMTP, rates, padrón.")),
    (N_("Start"), "db", "db:app", N_("Schema migrations: upgrade, current.")),
    (N_("Start"), "login", "session:login", N_("Log in; the session is kept in the OS keyring.")),
    (N_("Start"), "logout", "session:logout", N_("End the login session and remove it from the keyring.")),
    (N_("Start"), "whoami", "session:whoami", N_("Show the logged-in user, role, permissions and expiry.")),
    (N_("Start"), "passwd", "session:passwd", N_("Change your password.")),
    (N_("Daily work"), "invoices", "invoices:app", N_("Invoices (cxc/cxp): list, add, show, pay, overdue, upcoming, statuses.")),
    (N_("Daily work"), "clients", "parties:clients_app", N_("Clients (CxC): list, add, show, edit, delete, lookup, refresh, invoices, statement.")),
    (N_("Daily work"), "suppliers", "parties:suppliers_app", N_("Suppliers (CxP): list, add, show, edit, delete, lookup, refresh, invoices, statement.")),
    (N_("Daily work"), "fx", "fx:app", N_("Exchange rates (PEN per USD): list, set, fetch.")),
    (N_("Daily work"), "padron", "padron:app", N_("Offline RUC register (SUNAT padrón reducido): import, status, lookup, search.")),
    (N_("Daily work"), "import", "import_:import_file", N_("Import invoices from CSV, Excel or SUNAT PLE files (atomic, idempotent).")),
    (N_("Daily work"), "payments", "payments:app", N_("Payments in bulk: import a file of payments (CSV, Excel).")),
    (N_("Daily work"), "bank", "bank:app", N_("The company's bank accounts (shown where clients pay).")),
    (N_("Daily work"), "notify", "notify:app", N_("Payment reminders: run (cron), serve, list, test-email.")),
    (N_("Reports"), "dashboard", "dashboard:app", N_("Dashboard: metrics, aging, cash flow, summary, top debtors (charts).")),
    (N_("Reports"), "export", "export:export", N_("Export invoices to Excel (with charts), CSV, PDF or JSON.")),
    (N_("Administration"), "companies", "companies:app", N_("The firm's companies: add, list, use, remove (an estudio keeping several books).")),
    (N_("Administration"), "serve", "serve:app", N_("Serve the HTTP API to other programs: serve api.")),
    (N_("Administration"), "users", "users:app", N_("Users: list, add, show, set-role, disable, enable.")),
    (N_("Administration"), "tokens", "tokens:app", N_("Service tokens for cron and scripts.")),
    (N_("Administration"), "roles", "roles:app", N_("The permission matrix: list, grant, revoke.")),
    (N_("Administration"), "audit", "audit:app", N_("The audit log of every change.")),
    (N_("Administration"), "settings", "settings:app", N_("Show and change settings; secrets go to the keyring.")),
]


# Spanish names of the command groups (shared/docs/cli.md): the same command; `cuentas --help`
# shows each beside its English name and shell completion offers both. Sub-commands have theirs
# in their group (commands.common.AliasedGroup).
ALIASES: dict[str, str] = {
    "facturas": "invoices", "clientes": "clients", "proveedores": "suppliers", "importar": "import",
    "exportar": "export", "tablero": "dashboard", "avisos": "notify", "ajustes": "settings",
    "banco": "bank", "pagos": "payments", "empresas": "companies",
}
_ALIAS_OF = {name: alias for alias, name in ALIASES.items()}


def _resolve(target: str, name: str, help_text: str) -> Any:
    import typer.main

    module_name, attribute = target.split(":")
    module = importlib.import_module(f"cuentas_cli.commands.{module_name}")
    obj = getattr(module, attribute)
    if isinstance(obj, typer.Typer):
        command = typer.main.get_command(obj)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name=name, help=obj.__doc__ or help_text)(obj)
        command = typer.main.get_command(single)
    command.name = name
    from cuentas_cli.commands.common import add_raw_option

    add_raw_option(command)  # every --format table|json|jsonl|csv command takes --raw too
    return command


class LazyGroup(TyperGroup):
    """Resolves a sub-command's module only when that command is asked for."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = [name for _, name, _, _ in COMMANDS]
        if getattr(ctx, "resilient_parsing", False):  # completion offers the Spanish names too
            return [*names, *ALIASES]
        return names

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        from cuentas_cli.commands.localize import translate_tree

        cmd_name = ALIASES.get(cmd_name, cmd_name)
        if cmd_name in self.commands:
            return translate_tree(self.commands[cmd_name])
        for _section, name, target, help_text in COMMANDS:
            if name == cmd_name:
                command = _resolve(target, name, help_text)
                self.commands[name] = command
                return translate_tree(command)
        return None

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for section, name, _target, help_text in COMMANDS:
            shown = f"{name}, {_ALIAS_OF[name]}" if name in _ALIAS_OF else name
            sections.setdefault(section, []).append((shown, _(help_text)))
        for section, rows in sections.items():
            with formatter.section(_(section)):
                formatter.write_dl(rows)
        formatter.write_paragraph()
        formatter.write_text(_("Run `cuentas COMMAND --help` for the options and an example of each command."))


app = typer.Typer(
    cls=LazyGroup,
    name="cuentas",
    help="cuentas: accounts receivable (CxC) and payable (CxP) for Peruvian companies.\n\n"
    "Example: cuentas init --admin ana && cuentas login ana",
    rich_markup_mode=None,
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"cuentas {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_callback(
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL (env CUENTAS_DATABASE_URL).", metavar="URL")] = None,
    today: Annotated[Optional[str], typer.Option("--today", help="The date 'today' means, YYYY-MM-DD (env CUENTAS_TODAY).", metavar="DATE")] = None,
    traceback: Annotated[bool, typer.Option("--traceback", help="Show the Python traceback of an error.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
    lang: Annotated[Optional[str], typer.Option("--lang", metavar="LANG",
                                                help="Language of this run: es or en (env CUENTAS_LANG; setting ui.language).")] = None,
    company: Annotated[Optional[str], typer.Option("--company", metavar="RUC|ALIAS",
                                                   help="Whose books this run works on, for a firm keeping several "
                                                        "companies (env CUENTAS_COMPANY; `cuentas companies use`).")] = None,
) -> None:
    from cuentas_cli import config, runtime

    runtime.set_current(runtime.Runtime(config.load(db_flag=db, today_flag=today, traceback=traceback,
                                                    company_flag=company)))


def _error_line(message: str) -> None:
    # A message may quote a file's header, a provider's answer or a user's value: one line,
    # with its control characters shown visibly (never an escape sequence reaching the terminal).
    from cuentas_cli.render import message_line

    first = message_line(str(message)) or "unknown error"
    sys.stderr.write(f"error: {first}\n")
    sys.stderr.flush()


def _check_arguments(args: list[str]) -> None:
    """Bytes that are not UTF-8 arrive as lone surrogates, which no database stores: refused here,
    before any work, instead of failing at the write."""
    from cuentas_cli.errors import UsageError

    for n, arg in enumerate(args, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(_("argument {n} is not valid UTF-8 text (check the terminal's or the "
                               "script's encoding)").format(n=n)) from None


# Root options that take a value: the words after them are not the command's name.
_ROOT_VALUE_OPTIONS = {"--db", "--today", "--lang", "--company"}


def _choose_language(args: list[str]) -> None:
    """The language is chosen before Click parses anything, so `--help` and usage errors are
    in it too: `--lang` among the root options, else the environment, the setting, the locale."""
    from cuentas_cli import i18n
    from cuentas_cli.errors import CuentasError, UsageError

    flag = None
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            break
        if arg.startswith("--lang="):
            flag = arg.split("=", 1)[1]
        elif arg == "--lang":
            flag = args[index + 1] if index + 1 < len(args) else ""
            index += 1
        elif arg in _ROOT_VALUE_OPTIONS:
            index += 1
        elif not arg.startswith("-"):
            break  # the command: what follows is its own
        index += 1
    for raw, where in ((flag, "--lang"), (os.environ.get("CUENTAS_LANG") or None, "CUENTAS_LANG")):
        if raw is not None and i18n.normalise(raw) is None:
            i18n.activate(i18n.DEFAULT)
            raise UsageError(_("{where}: {value!r} is not a language; expected one of {choices}").format(
                where=where, value=raw, choices=", ".join(i18n.LANGUAGES)))
    setting = None
    if flag is None and not os.environ.get("CUENTAS_LANG"):
        from cuentas_cli.config import read_config_file

        try:
            setting = read_config_file().get("ui.language")
        except CuentasError:
            setting = None  # the command itself reports a broken config file
    i18n.activate(i18n.choose(flag, setting=setting))
    from cuentas_cli.commands.localize import install

    install()


def main(argv: list[str] | None = None) -> int:
    """Run cuentas and return its exit code; the one place errors become messages."""
    from typer import _click

    from cuentas_cli.errors import CuentasError, ExitCode
    from cuentas_cli.render import set_raw

    set_raw(False)  # `--raw` holds for one invocation
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args
    try:
        _choose_language(args)
    except CuentasError as exc:
        _error_line(exc.message)
        return int(exc.exit_code)
    from cuentas_cli.commands.localize import translate_tree, usage_message

    command = translate_tree(typer.main.get_command(app))
    try:
        _check_arguments(args)
        result = command.main(args=args, prog_name="cuentas", standalone_mode=False)
        code = int(result) if isinstance(result, int) else ExitCode.OK
        if code == ExitCode.OK:
            from cuentas_cli import runtime

            if runtime._current is not None:
                runtime._current.record_token_use()
        return code
    except CuentasError as exc:
        if show_traceback:
            raise
        _error_line(exc.message)
        return int(exc.exit_code)
    except _click.exceptions.NoArgsIsHelpError as exc:
        sys.stdout.write(exc.ctx.get_help() + "\n")
        return ExitCode.OK
    except _click.exceptions.UsageError as exc:
        hint = _(" (see `{command} --help`)").format(command=exc.ctx.command_path) if exc.ctx else ""
        _error_line(usage_message(exc.format_message()) + hint)
        return ExitCode.USAGE
    except _click.exceptions.ClickException as exc:
        _error_line(exc.format_message())
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, EOFError):
        _error_line(_("aborted"))
        return ExitCode.UNEXPECTED
    except KeyboardInterrupt:
        _error_line(_("interrupted; nothing was committed by the interrupted step"))
        return ExitCode.INTERRUPTED
    except Exception as exc:  # the last line of defence: no traceback reaches a user
        if show_traceback:
            raise
        translated = _translate(exc)
        if translated is not None:
            _error_line(translated.message)
            return int(translated.exit_code)
        _error_line(_("unexpected {error}: {detail} (run again with --traceback and report it)").format(
            error=type(exc).__name__, detail=exc))
        return ExitCode.UNEXPECTED
    finally:
        from cuentas_cli import runtime

        runtime.set_current(None)


def _translate(exc: BaseException) -> Any:
    """Failures of the outside world that any command may meet, as domain errors."""
    from cuentas_cli.errors import DatabaseUnavailable

    module = type(exc).__module__
    if module.startswith(("sqlalchemy", "psycopg")):
        from cuentas_cli.db.engine import privilege_error

        try:
            from cuentas_cli import runtime as _runtime

            current_url = _runtime.current().url
        except Exception:  # noqa: BLE001 - no runtime (yet)
            current_url = ""
        refused = privilege_error(current_url, exc)
        if refused is not None:
            return refused
    if module.startswith("sqlalchemy"):
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            text = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            if "locked" in text or "busy" in text:
                from cuentas_cli import runtime
                from cuentas_cli.db.engine import busy_error, is_sqlite

                try:
                    url = runtime.current().url
                except Exception:  # noqa: BLE001 - no runtime (yet): the generic message
                    url = ""
                if is_sqlite(url):
                    return busy_error(url)
                return DatabaseUnavailable(_("the database stayed locked by another process: {text}; try "
                                             "again")
                                           .format(text=text))
            return DatabaseUnavailable(_("database error: {text}").format(text=text))
        from sqlalchemy.exc import DataError

        if isinstance(exc, DataError) and "NUL (0x00)" in str(exc.orig):
            # PostgreSQL cannot store a NUL character in text (SQLite can); the transaction
            # was rolled back, so this is bad input like any other, without the SQL echoed.
            from cuentas_cli.errors import ValidationError

            return ValidationError(_("a text value contains a NUL character (\\x00), which the database "
                                     "cannot store; remove it and try again"))
    return None


def run() -> None:
    sys.exit(main())
