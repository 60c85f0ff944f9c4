"""A firm's companies, across databases: add, list, use, remove, grant, and the runs over all of
them (--all-companies). The register and each company's books are admin/companies.py's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from cuentas_cli.admin import companies
from cuentas_cli.runtime import each_company
from cuentas_cli.errors import CuentasError, PermissionDenied, UsageError
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from cuentas_cli.admin.auth import Actor
    from cuentas_cli.admin.companies import CompanyRow
    from cuentas_cli.runtime import Runtime

T = TypeVar("T")


def _firm_admin(rt: "Runtime", conn: Any) -> "Actor":
    """The firm administrador running a firm-level command (in the firm's own books)."""
    rt.set_company(None)
    return companies.require_firm_admin(rt.actor(conn))


def add(rt: "Runtime", *, ruc: str, name: str | None, alias: str | None, db_url: str | None) -> "CompanyRow":
    """Register a company and make its books: nothing is left half-made when a step fails."""
    from cuentas_cli.db.engine import is_sqlite

    ruc = ruc.strip()
    with rt.firm_connection() as conn:
        actor = _firm_admin(rt, conn)
        companies.check_new(conn, ruc=ruc, alias=alias)
        location = companies.check_given_url(db_url) if db_url else companies.default_location(rt.firm_url, conn, ruc)
        if location.startswith(companies.SCHEMA_LOCATION) and is_sqlite(rt.firm_url):
            raise UsageError(_("a schema needs a PostgreSQL firm database"))
        admin_email = _email_of(conn, actor.username)
    display = (name or "").strip() or _registered_name(rt, ruc) or ruc
    from cuentas_cli.db.engine import get_engine

    with get_engine(rt.firm_url).connect() as conn:  # commits its own steps: a new schema is made first
        url = companies.prepare_books(location, rt.firm_url, conn)
        try:
            companies.open_books(url, ruc=ruc, name=display, admin_username=actor.username, admin_email=admin_email)
            with rt.firm_connection(write=True) as firm:
                return companies.register(firm, actor, ruc=ruc, alias=alias, name=display, location=location)
        except BaseException:
            companies.discard_books(location, conn)
            raise


def _email_of(conn: Any, username: str) -> str | None:
    from sqlalchemy import select

    from cuentas_cli.db.tables import app_user

    return conn.execute(select(app_user.c.email).where(app_user.c.username == username)).scalar()


def _registered_name(rt: "Runtime", ruc: str) -> str | None:
    """The name the padrón (the firm's, loaded once for all) gives the RUC, if loaded."""
    try:
        from cuentas_cli.parties import padron

        with rt.firm_connection() as conn:
            entry = padron.lookup(conn, ruc)
        return entry.name if entry is not None else None
    except CuentasError:
        return None


@dataclass
class CompanyLine:
    ruc: str
    alias: str | None
    name: str
    books: str
    role: str | None
    active: bool
    cxc_open: Any = None
    cxc_overdue: Any = None
    cxp_open: Any = None
    cxp_overdue: Any = None


def _books_text(row: "CompanyRow") -> str:
    from cuentas_cli.rules.urls import redact

    if row.location is None:
        return _("firm database")
    return row.location if row.location.startswith(companies.SCHEMA_LOCATION) else redact(row.location)


def listing(rt: "Runtime") -> list[CompanyLine]:
    """The companies this user may see (a firm administrador: all), with their open CxC and CxP
    where the user is a member; the one in use marked active."""
    from cuentas_cli.reports.firm import company_position

    from dataclasses import replace

    from cuentas_cli.runtime import Runtime

    chosen = rt.company()
    firm_rt = Runtime(replace(rt.config, company=None, firm_values=None))  # who the user is in the firm
    with firm_rt.firm_connection() as conn:
        is_admin = firm_rt.actor(conn).can("users")
        rows = companies.registry(conn)
    out = []
    for row, child in each_company(rt):
        line = CompanyLine(row.ruc, row.alias, row.name, _books_text(row), None,
                           chosen is not None and chosen.ruc == row.ruc or (chosen is None and row.is_firm))
        try:
            with child.connection() as session:
                actor = child.actor(session)
                pos = company_position(session, actor, as_of=rt.today)
            line.role = actor.role
            line.cxc_open, line.cxc_overdue, line.cxp_open, line.cxp_overdue = (
                pos.cxc_open, pos.cxc_overdue, pos.cxp_open, pos.cxp_overdue)
        except PermissionDenied:
            if not is_admin:
                continue  # not a member: the company is not shown
        out.append(line)
    if not rows and not out:
        raise PermissionDenied(_("permission denied: no company of this firm is open to you"))
    return out


def use(rt: "Runtime", key: str) -> "CompanyRow":
    """Make a company the default on this machine (the config file's firm.company)."""
    from cuentas_cli.config import write_config_value

    with rt.firm_connection() as conn:
        row = companies.find(conn, key)
    rt.config.company = row.ruc
    rt.set_company(row)
    with rt.connection() as session:  # only a company the user may open becomes the default
        rt.actor(session)
    write_config_value("firm.company", row.ruc)
    return row


def remove(rt: "Runtime", key: str, *, archive: bool) -> str | None:
    """Take a company out of the firm: refused while its books hold data unless archived (the
    books kept where `archive_place` says); returns the archive's place."""
    from cuentas_cli.db.engine import open_connection
    from cuentas_cli.errors import Conflict

    with rt.firm_connection() as conn:
        actor = _firm_admin(rt, conn)
        row = companies.find(conn, key)
    if row.is_firm:
        raise UsageError(_("the firm database's own books cannot be removed from the firm"))
    url = companies.books_url(rt.firm_url, row)
    with open_connection(url) as books:
        used = companies.books_in_use(books)
    if used and not archive:
        raise Conflict(_("company {label} holds {n} invoices, parties and payments; remove it with --archive, which "
                         "keeps its books").format(label=row.label, n=used))
    place = companies.archive_place(row, rt.firm_url, rt.today) if archive else None
    with rt.firm_connection(write=True) as firm:
        companies.unregister(firm, actor, row, archive_path=place)
        companies.move_books(row, firm, to=place)
    return place


def grant(rt: "Runtime", *, username: str, key: str, role: str) -> str:
    """Give a firm user a role in one company (`none`: no access), as a firm administrador."""
    from sqlalchemy import select

    from cuentas_cli.db.engine import open_connection
    from cuentas_cli.db.tables import app_user
    from cuentas_cli.errors import NotFound

    with rt.firm_connection() as conn:
        actor = _firm_admin(rt, conn)
        row = companies.find(conn, key)
        user = conn.execute(select(app_user.c.username, app_user.c.email, app_user.c.is_active)
                            .where(app_user.c.username == username)).first()
    if user is None:
        raise NotFound(_("no user {username} in the firm; add them first (`cuentas users add`)").format(username=username))
    if row.is_firm:
        raise UsageError(_("in the firm database's own books a user's role is their firm role: `cuentas users "
                           "set-role {username} ROLE`").format(username=username))
    with open_connection(companies.books_url(rt.firm_url, row), write=True) as books:
        return companies.grant(books, by=actor.username, user=user, role=role)


# --- --all-companies -------------------------------------------------------------------------


@dataclass
class Outcome:
    """One company's part of an --all-companies run: its result, or the error that stopped it."""

    company: "CompanyRow"
    result: Any = None
    error: CuentasError | None = None


def over_companies(rt: "Runtime", work: Callable[["CompanyRow", "Runtime"], T], *,
                   skip_denied: bool = True) -> Iterator[Outcome]:
    """Run `work` on every company's books in turn. A company the user may not open (or lacks
    the permission in) is left out when skip_denied; any other failure is that company's outcome
    and the others still run."""
    for row, child in each_company(rt):
        try:
            yield Outcome(row, result=work(row, child))
        except PermissionDenied as exc:
            if not skip_denied:
                yield Outcome(row, error=exc)
        except CuentasError as exc:
            yield Outcome(row, error=exc)


def all_figures(rt: "Runtime", *, as_of: Any) -> list[Any]:
    """`dashboard --all-companies`: one row per company the user may see dashboards of, then the
    firm's total (the sum)."""
    from cuentas_cli.reports.firm import company_figures, firm_total

    def figures(row: "CompanyRow", child: "Runtime") -> Any:
        with child.connection() as session:
            return company_figures(session, child.actor(session), as_of=as_of, ruc=row.ruc, name=row.name)

    outcomes = list(over_companies(rt, figures))
    failed = [o for o in outcomes if o.error is not None]
    if failed:
        raise failed[0].error
    rows = [o.result for o in outcomes]
    if not rows:
        raise PermissionDenied(_("permission denied: no company of this firm shows you its dashboard"))
    return [*rows, firm_total(rows, as_of=as_of, label=_("Total ({n} companies)").format(n=len(rows)))]


def all_overdue(rt: "Runtime", *, kind: str | None) -> list[dict[str, Any]]:
    """`invoices overdue --all-companies`: each company's overdue invoices (the same listing),
    each row led by its company's RUC and name."""
    import dataclasses

    from cuentas_cli.ledger import listing

    def overdue(row: "CompanyRow", child: "Runtime") -> list[dict[str, Any]]:
        with child.session() as session:
            found = listing.list_invoices(session=session, actor=child.actor(session), today=child.today,
                                          filters=listing.InvoiceFilter(kind=kind, overdue=True))
            return [{"company_ruc": row.ruc, "company": row.name, **{f.name: getattr(r, f.name) for f in dataclasses.fields(r)}}
                    for r in found]

    outcomes = list(over_companies(rt, overdue))
    failed = [o for o in outcomes if o.error is not None]
    if failed:
        raise failed[0].error
    if not outcomes:
        raise PermissionDenied(_("permission denied: no company of this firm is open to you"))
    return [line for o in outcomes for line in o.result]


def notify_all(rt: "Runtime", *, dry_run: bool, retry_now: bool) -> tuple[list[Outcome], list["CompanyRow"]]:
    """`notify run --all-companies`: each company's own run (its settings, templates, SMTP and
    lock), one after another; a company that fails (SMTP down, lock held) does not stop the
    others. Returns every outcome (a RunSummary, or the error) and the companies left out
    because this user may not run their reminders."""
    from cuentas_cli.errors import ExternalError
    from cuentas_cli.exports import statements as files
    from cuentas_cli.reminders import sending

    def one(row: "CompanyRow", child: "Runtime") -> Any:
        with child.session() as session:
            actor = child.actor(session)
        summary = sending.run(session_factory=child.session, url=child.url, actor=actor, config=child.config,
                              today=child.today, dry_run=dry_run, retry_now=retry_now,
                              render_pdf=files.pdf_bytes, attachment_name=files.attachment_name)
        if summary.failed:
            first = sorted(set(summary.errors))[0]
            error = ExternalError(_("{failed} reminder(s) could not be sent ({first})")
                                  .format(failed=summary.failed, first=first))
            error.summary = summary  # type: ignore[attr-defined]
            raise error
        return summary

    outcomes = list(over_companies(rt, one, skip_denied=False))
    denied = [o.company for o in outcomes if isinstance(o.error, PermissionDenied)]
    return [o for o in outcomes if not isinstance(o.error, PermissionDenied)], denied


def upgrade_all(rt: "Runtime") -> list[Outcome]:
    """`db upgrade --all-companies`: the firm's database first (its register may be new), then
    each company's books."""
    from cuentas_cli.ops.maintenance import upgrade_database

    rt.set_company(None)
    upgrade_database(rt)
    return list(over_companies(rt, lambda row, child: upgrade_database(child), skip_denied=False))


def upgrade_chosen(rt: "Runtime") -> list[tuple[str | None, tuple[str | None, str | None]]]:
    """`db upgrade` with a company chosen: the firm's database first (the register is read from it,
    so it must be current), then that company's books. Returns (company label or None for the
    firm, (before, after)) per database."""
    from cuentas_cli.ops.maintenance import upgrade_database

    key = rt.config.company
    rt.set_company(None)
    done: list[tuple[str | None, tuple[str | None, str | None]]] = [(None, upgrade_database(rt))]
    if key:
        with rt.firm_connection() as conn:
            row = companies.find(conn, key)
        if not row.is_firm:
            rt.set_company(row)
            done.append((row.label, upgrade_database(rt)))
    return done


def raise_worst(outcomes: list[Outcome], what: str) -> None:
    """After an --all-companies run: an error naming every company that failed, with the exit
    code of the worst (nothing when all succeeded)."""
    failed = [o for o in outcomes if o.error is not None]
    if not failed:
        return
    worst = max(failed, key=lambda o: int(o.error.exit_code))
    error = CuentasError(_("{what} failed in {n} of {total} companies: {names}; the others ran").format(
        what=what, n=len(failed), total=len(outcomes),
        names="; ".join(f"{o.company.label}: {o.error.message}" for o in failed)))
    error.exit_code = worst.error.exit_code
    raise error
