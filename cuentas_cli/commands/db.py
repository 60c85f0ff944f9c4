"""`cuentas db`: bring the schema to the version this program needs, or say where it is; check
the invoices' cached figures against the ledger."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import FormatOpt, runtime
from cuentas_cli.render import emit, emit_record, info, success, warn
from cuentas_cli.i18n import _

app = typer.Typer(help="Schema migrations and the ledger check.\n\nExample: cuentas db upgrade", no_args_is_help=True)
roles_app = typer.Typer(help="PostgreSQL team mode: the server enforces the roles.\n\nExample: cuentas db roles apply",
                        no_args_is_help=True)
app.add_typer(roles_app, name="roles")


@app.command()
def upgrade(
    all_companies: Annotated[bool, typer.Option("--all-companies", help="The firm's database, then every company's "
                                                "books; one that fails does not stop the others.")] = False,
) -> None:
    """Create the database if needed and migrate it to the newest schema.

    Safe to run again: a database already at the newest schema is left as it is.

    Example: cuentas --db sqlite:///ruta/cuentas.db db upgrade
    Example: cuentas db upgrade --all-companies
    """
    from cuentas_cli.ops.maintenance import upgrade_database

    if all_companies:
        from cuentas_cli.ops import firm

        outcomes = firm.upgrade_all(runtime())
        for o in outcomes:
            if o.error is not None:
                warn(_("{label}: {message}").format(label=o.company.label, message=o.error.message))
            else:
                info(_("{label}: {state}").format(label=o.company.label, state=_state(*o.result)))
        firm.raise_worst(outcomes, _("db upgrade"))
        return
    rt = runtime()
    if rt.config.company:  # a company chosen: the firm's database, then its books
        from cuentas_cli.ops import firm

        for label, result in firm.upgrade_chosen(rt):
            info(_("{label}: {state}").format(label=label or _("firm database"), state=_state(*result)))
        return
    before, after = upgrade_database(rt)
    if before == after:
        info(_("already at the newest schema ({after}); nothing changed").format(after=after))
    else:
        success(_("database upgraded from {before_or_empty} to {after}")
                .format(before_or_empty=before or 'empty', after=after))


def _state(before: str | None, after: str | None) -> str:
    """One database's line of an upgrade of several."""
    if before == after:
        return _("already at {after}").format(after=after)
    return _("upgraded from {before} to {after}").format(before=before or "empty", after=after)


@app.command()
def current() -> None:
    """Print the schema revision the database is at (and whether it is the newest).

    Example: cuentas db current
    """
    from cuentas_cli.db.migrations import HEAD_REVISION
    from cuentas_cli.ops.maintenance import database_revision

    revision = database_revision(runtime())
    print(revision or "empty")
    if revision != HEAD_REVISION:
        info(_("this cuentas needs {HEAD_REVISION}: run `cuentas db upgrade`")
             .format(HEAD_REVISION=HEAD_REVISION))


@app.command()
def check(
    repair: Annotated[bool, typer.Option("--repair", help="Write the computed figures (administrador), in one "
                                         "transaction with one audit entry.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Compare every invoice's cached paid, adjustments and status with its payments and notes.

    Lists each difference (invoice id, document, column, cached, computed) and exits 3 when there
    is any. --repair fixes them all in one transaction and records the list in the audit log.
    Reading needs the audit permission (gerente, administrador); --repair needs invoices.edit
    (administrador). Statuses are those as of today (--today).

    Example: cuentas db check --format json
    """
    from cuentas_cli.ops import check as ledger_check

    rt = runtime()
    with rt.session(write=repair) as session:
        actor = rt.actor(session)
        if repair:
            found = ledger_check.repair(session=session, actor=actor, today=rt.today)
        else:
            found = ledger_check.check(session=session, actor=actor, today=rt.today)
    emit(found, fmt, columns=["invoice_id", "document", "column", "cached", "computed"])
    invoices = len({d.invoice_id for d in found})
    if repair:
        if found:
            success(_("repaired {n_found} difference(s) on {invoices} invoice(s); recorded in the audit "
                      "log").format(n_found=len(found), invoices=invoices))
        else:
            info(_("0 differences: every cached figure agrees with the ledger; nothing changed"))
        return
    if found:
        raise ledger_check.LedgerDifferences(
            _("{n_found} difference(s) on {invoices} invoice(s) between cached figures and the ledger; "
              "fix them with `cuentas db check --repair` (administrador)")
            .format(n_found=len(found), invoices=invoices))
    info(_("0 differences: every cached figure agrees with the ledger"))


@roles_app.command("apply")
def roles_apply(
    prefix: Annotated[Optional[str], typer.Option("--prefix", help="Name the group roles PREFIX_contador, "
                                                  "PREFIX_gerente, PREFIX_administrador (default: cuentas; one "
                                                  "prefix per cuentas database of a server).")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Make PostgreSQL enforce the roles (administrador, connected as the schema's owner).

    Creates the group roles PREFIX_contador, PREFIX_gerente and PREFIX_administrador, grants each the
    table and column privileges of its role's permissions (`cuentas roles list`: a contador may
    insert invoices and payments and change a status, never delete or change amounts; a gerente
    reads), installs the triggers that record every INSERT, UPDATE and DELETE on the money tables
    with the PostgreSQL login that made it (`cuentas audit list --source database`), and puts every
    user with a PostgreSQL login in their role's group. Run it again at any time: it makes the
    server match the matrix. `roles grant/revoke`, `users set-role/disable/enable` and `db upgrade`
    re-apply it themselves. Then add people with `cuentas users add NAME --role ROLE --pg-login`.

    Example: cuentas db roles apply
    """
    from cuentas_cli.admin import team
    from cuentas_cli.admin.auth import require

    rt = runtime()
    with rt.session(write=True) as session:
        actor = require(rt.actor(session), "users")
        applied = team.apply(session, prefix=prefix, actor=actor)
    if fmt is not None:
        emit_record(team.summary(applied), fmt)
        return
    success(_("team mode on: groups {groups}; {grants} grants; the server audits {tables} tables; {members} "
              "member login(s)").format(groups=", ".join(applied.groups), grants=applied.grants,
                                        tables=applied.audited_tables, members=len(applied.members)))
