"""`cuentas demo`: a sample company in a fresh SQLite file, logged in, then its dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cuentas_cli.render import info, success
from cuentas_cli.i18n import N_, _

NEXT_STEPS = (
    ("cuentas invoices overdue --kind cxc", N_("who owes you, oldest first")),
    ("cuentas clients show 20999991026", N_("one client: open invoices, balance, last payment")),
    ("cuentas invoices show F001-237", N_("one invoice with its payments")),
    ("cuentas dashboard aging --kind cxc --by-party", N_("aging per client")),
    ("cuentas export --overdue --output vencidas.xlsx", N_("overdue invoices to Excel, with charts")),
    ("cuentas notify run --dry-run", N_("the payment reminders that would go out today")),
    ("cuentas audit list --limit 5", N_("who did what")),
    ("cuentas doctor", N_("check this set-up")),
)


def demo(
    folder: Annotated[
        Optional[Path],
        typer.Option("--dir", help="Folder for the demo database (default: demo/ under the data dir): a new or "
                     "empty folder, or an earlier demo's (replaced). A folder holding anything else, a symbolic "
                     "link or a file is refused; an existing folder's permissions are left as they are.",
                     metavar="PATH"),
    ] = None,
) -> None:
    """Create a sample company in a fresh SQLite database, log in as its administrador and show the dashboard.

    About 40 clients and suppliers, a year of sales and purchases up to 2026-06-15 with their
    payments (some overdue), users of the three roles (demo-admin, demo-contador,
    demo-gerente; the password is printed: it is for the demo only). Everything goes through
    the real importer and services. Your own database and settings are not touched; the
    lines printed at the end point the next commands at the demo. The demo only uses a
    folder that is new, empty or made by an earlier demo (it leaves a .cuentas-demo file).

    Example: cuentas demo --dir ./cuentas-demo
    """
    from cuentas_cli.integrations import keyring_store
    from cuentas_cli.runtime import write_session_file
    from cuentas_cli.ops import demo as service

    given = (folder or service.default_folder()).expanduser()
    service.check_folder(given, database_url=_active_url())  # before resolving: a symbolic link is refused
    target = given.resolve()
    info(_("building the demo company in {target} ...").format(target=target))
    result = service.create_demo(folder=target)
    session_file: Path | None = None
    try:
        keyring_store.set_secret(keyring_store.session_key(result.url), result.token)
        kept = _("in the OS keyring")
    except keyring_store.KeyringUnavailable:
        session_file = result.folder / service.SESSION_FILE
        write_session_file(session_file, result.token)
        kept = _("in {path} (mode 0600: no OS keyring works here)").format(path=session_file)

    c = result.counts
    success(_("demo company {folder}: {c_clients} clients, {c_suppliers} suppliers, {c_invoices} "
              "invoices, {c_payments} payments, {c_overdue} overdue as of {result_today_isoformat}")
            .format(folder=result.folder, c_clients=c['clients'], c_suppliers=c['suppliers'], c_invoices=c['invoices'], c_payments=c['payments'], c_overdue=c['overdue'], result_today_isoformat=result.today.isoformat()))
    for item in result.imports:
        info("  " + _("imported {file} ({format}): {new} new, {skipped} already present").format(**item)
             + (_(", {anulados} anulados skipped").format(**item) if item["anulados"] else ""))
    info(_("users (password {password!r}, for this demo only): {users}").format(
        password=result.password, users=", ".join(f"{name} ({role})" for name, role in result.users)))
    info(_("logged in as {result_users_0_0}; session kept {kept}")
         .format(result_users_0_0=result.users[0][0], kept=kept))
    info("")
    info(_("To keep working in the demo, run in your shell:"))
    for line in service.env_lines(result, session_file=session_file):
        info(f"  {line}")
    info("")
    info(_("Then try:"))
    width = max(len(cmd) for cmd, _ in NEXT_STEPS)
    for cmd, why in NEXT_STEPS:
        info(f"  {cmd.ljust(width)}   # {_(why)}")
    info(_("Log in as another role with `cuentas login demo-gerente` (same password) to see what it may "
           "do."))
    info("")
    info(_("Demo dashboard as of {result_today_isoformat}:")
         .format(result_today_isoformat=result.today.isoformat()))
    _show_dashboard(result)


def _active_url() -> str | None:
    """The database the other commands use here, whose files the demo folder must not replace."""
    from cuentas_cli.commands.common import runtime

    try:
        return runtime().url
    except Exception:  # noqa: BLE001 - no usable configuration: nothing more to protect
        return None


def _show_dashboard(result) -> None:  # noqa: ANN001
    """The real `cuentas dashboard`, run as demo-admin against the demo database."""
    from cuentas_cli import runtime
    from cuentas_cli.commands import dashboard
    from cuentas_cli.render import Format
    from cuentas_cli.ops.demo import demo_config

    import os
    import sys

    from cuentas_cli.render import stdout_console

    if not sys.stdout.isatty() and "COLUMNS" not in os.environ:
        stdout_console().width = 110  # piped (e.g. examples/run.sh in CI): room for the cash-flow table
    config = demo_config(result.url, result.today)
    config.token = result.token
    runtime.set_current(runtime.Runtime(config))

    class _Whole:
        invoked_subcommand = None

    dashboard.dashboard(_Whole(), as_of=None, buckets=None, weeks=None, months=None, opening_balance=None,
                        fmt=Format.table)
