"""`cuentas settings`: effective values, changes, and secrets in the keyring."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cuentas_cli.commands.common import FormatOpt, read_password, runtime
from cuentas_cli.render import emit, safe, success
from cuentas_cli.i18n import _

app = typer.Typer(help="Settings and secrets.\n\nExample: cuentas settings set smtp.host smtp.empresa.pe", no_args_is_help=True)
secret_app = typer.Typer(help="Secrets kept in the OS keyring.\n\nExample: cuentas settings secret set smtp-password", no_args_is_help=True)
app.add_typer(secret_app, name="secret")


@app.command()
def show(fmt: FormatOpt = None) -> None:
    """Print every setting's effective value and where it came from (secrets masked).

    Sources, strongest first: flag, environment (CUENTAS_SMTP_HOST, ...), config file,
    database (shared by the team), default.

    Example: cuentas settings show --format json
    """
    from cuentas_cli.errors import CuentasError
    from cuentas_cli.admin import settings

    rt = runtime()
    try:
        with rt.session() as session:
            rows = settings.show(session=session, actor=rt.actor(session), config=rt.config)
    except CuentasError as exc:
        if exc.exit_code not in (6, 4):  # outdated or missing database: show local values only
            raise
        sys.stderr.write(f"warning: {safe(exc.message, one_line=True)}; showing values without the database\n")
        rows = settings.show(session=None, actor=None, config=rt.config)
    emit(rows, fmt)


@app.command("set")
def set_(
    key: Annotated[str, typer.Argument(help="A key from `cuentas settings show`.")],
    value: Annotated[str, typer.Argument(help="The new value (validated).")],
) -> None:
    """Change a setting. Shared keys are stored in the database (administrador);
    database.url goes to this machine's config file.

    Example: cuentas settings set notify.levels -3,0,7,15,30
    """
    from cuentas_cli.config import spec_for
    from cuentas_cli.admin import settings

    spec = spec_for(key)
    if spec.local:
        path = settings.set_local(key, value)
        success(_("{key} saved in {path}").format(key=key, path=path))
        return
    rt = runtime()
    with rt.session(write=True) as session:
        stored = settings.set_shared(session=session, actor=rt.actor(session), key=key, raw=value,
                                         config=rt.config)
    success(f"{key} = {stored}")


@secret_app.command("set")
def secret_set(
    name: Annotated[str, typer.Argument(help="lookup-token, smtp-password or webhook-token.")],
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the secret from standard input.")] = False,
) -> None:
    """Store a secret in the OS keyring (never in the database or config file).

    Example: cuentas settings secret set lookup-token --stdin < token.txt
    """
    from cuentas_cli.admin import settings

    settings.check_secret_name(name)
    rt = runtime()
    with rt.session() as session:
        rt.actor(session)
    value = read_password(from_stdin=stdin, prompt=name)
    with rt.session(write=True) as session:
        settings.set_secret(session=session, actor=rt.actor(session), name=name, value=value)
    success(_("{name} stored in the OS keyring").format(name=name))
