"""The root command: global options, lazily loaded sub-commands, and the one error boundary.

Sub-command modules are imported only when their command runs, so `cuentas --help` and a
simple listing do not pay for SQLAlchemy, pandas or httpx at start-up. The table below is
also the table of contents that `cuentas --help` prints.
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from cuentas_cli import __version__

# (section, command, "module:attribute", one-line help). An attribute named `app` is a
# sub-group; any other is a function that becomes a single command.
COMMANDS: list[tuple[str, str, str, str]] = [
    ("Start", "init", "setup:init", "Create or upgrade the database and the first administrator."),
    ("Start", "demo", "demo:demo", "Sample company in a fresh SQLite file, logged in; shows its dashboard."),
    ("Start", "doctor", "doctor:doctor", "Check the set-up: database, permissions, keyring, login, lookup, SMTP, rates, padrón."),
    ("Start", "db", "db:app", "Schema migrations: upgrade, current."),
    ("Start", "login", "session:login", "Log in; the session is kept in the OS keyring."),
    ("Start", "logout", "session:logout", "End the login session and remove it from the keyring."),
    ("Start", "whoami", "session:whoami", "Show the logged-in user, role, permissions and expiry."),
    ("Start", "passwd", "session:passwd", "Change your password."),
    ("Daily work", "invoices", "invoices:app", "Invoices (cxc/cxp): list, add, show, pay, overdue, upcoming, statuses."),
    ("Daily work", "clients", "parties:clients_app", "Clients (CxC): list, add, show, edit, delete, lookup, refresh, invoices."),
    ("Daily work", "suppliers", "parties:suppliers_app", "Suppliers (CxP): list, add, show, edit, delete, lookup, refresh, invoices."),
    ("Daily work", "fx", "fx:app", "Exchange rates (PEN per USD): list, set, fetch."),
    ("Daily work", "padron", "padron:app", "Offline RUC register (SUNAT padrón reducido): import, status, lookup, search."),
    ("Daily work", "import", "import_:import_file", "Import invoices from CSV, Excel or SUNAT PLE files (atomic, idempotent)."),
    ("Daily work", "notify", "notify:app", "Payment reminders: run (cron), serve, list, test-email."),
    ("Reports", "dashboard", "dashboard:app", "Dashboard: metrics, aging, cash flow, summary, top debtors (charts)."),
    ("Reports", "export", "export:export", "Export invoices to Excel (with charts), CSV, PDF or JSON."),
    ("Administration", "users", "users:app", "Users: list, add, show, set-role, disable, enable."),
    ("Administration", "tokens", "tokens:app", "Service tokens for cron and scripts."),
    ("Administration", "roles", "roles:app", "The permission matrix: list, grant, revoke."),
    ("Administration", "audit", "audit:app", "The audit log of every change."),
    ("Administration", "settings", "settings:app", "Show and change settings; secrets go to the keyring."),
]


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
        return [name for _, name, _, _ in COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        for _, name, target, help_text in COMMANDS:
            if name == cmd_name:
                command = _resolve(target, name, help_text)
                self.commands[name] = command
                return command
        return None

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for section, name, _, help_text in COMMANDS:
            sections.setdefault(section, []).append((name, help_text))
        for section, rows in sections.items():
            with formatter.section(section):
                formatter.write_dl(rows)
        formatter.write_paragraph()
        formatter.write_text("Run `cuentas COMMAND --help` for the options and an example of each command.")


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
) -> None:
    from cuentas_cli import config, runtime

    runtime.set_current(runtime.Runtime(config.load(db_flag=db, today_flag=today, traceback=traceback)))


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
            raise UsageError(f"argument {n} is not valid UTF-8 text (check the terminal's or the script's encoding)") from None


def main(argv: list[str] | None = None) -> int:
    """Run cuentas and return its exit code; the one place errors become messages."""
    from typer import _click

    from cuentas_cli.errors import CuentasError, ExitCode
    from cuentas_cli.render import set_raw

    set_raw(False)  # `--raw` holds for one invocation
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args
    command = typer.main.get_command(app)
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
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        _error_line(exc.format_message() + hint)
        return ExitCode.USAGE
    except _click.exceptions.ClickException as exc:
        _error_line(exc.format_message())
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, EOFError):
        _error_line("aborted")
        return ExitCode.UNEXPECTED
    except KeyboardInterrupt:
        _error_line("interrupted; nothing was committed by the interrupted step")
        return ExitCode.INTERRUPTED
    except Exception as exc:  # the last line of defence: no traceback reaches a user
        if show_traceback:
            raise
        translated = _translate(exc)
        if translated is not None:
            _error_line(translated.message)
            return int(translated.exit_code)
        _error_line(f"unexpected {type(exc).__name__}: {exc} (run again with --traceback and report it)")
        return ExitCode.UNEXPECTED
    finally:
        from cuentas_cli import runtime

        runtime.set_current(None)


def _translate(exc: BaseException) -> Any:
    """Failures of the outside world that any command may meet, as domain errors."""
    from cuentas_cli.errors import DatabaseUnavailable

    module = type(exc).__module__
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
                return DatabaseUnavailable(f"the database stayed locked by another process: {text}; try again")
            return DatabaseUnavailable(f"database error: {text}")
        from sqlalchemy.exc import DataError

        if isinstance(exc, DataError) and "NUL (0x00)" in str(exc.orig):
            # PostgreSQL cannot store a NUL character in text (SQLite can); the transaction
            # was rolled back, so this is bad input like any other, without the SQL echoed.
            from cuentas_cli.errors import ValidationError

            return ValidationError("a text value contains a NUL character (\\x00), which the database cannot "
                                   "store; remove it and try again")
    return None


def run() -> None:
    sys.exit(main())
