"""`cuentas doctor`: check the set-up and say, for every problem, how to fix it.

Each check returns ok, warn (works, but something is missing or will bite later), fail (a
command will not work) or skip (not applicable, or an earlier failure makes it moot). A check
never raises: whatever goes wrong becomes its finding. Network checks (lookup provider, SMTP)
use a short timeout and can be left out with `network=False`.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import CuentasError, ExitCode, PermissionDenied
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

    from cuentas_cli.config import Config
    from cuentas_cli.admin.auth import Actor

STATUSES = ("ok", "warn", "fail", "skip")
PROBE_RUC = "20131312955"  # SUNAT's own RUC: every provider knows it
PADRON_MAX_AGE_DAYS = 31
# doctor compares the cached figures with the ledger itself up to this many invoices; above it,
# it says to run `cuentas db check`. Measured on the benchmark data (benchmarks/generate.py) at
# 200,000 invoices: 0.55 s on SQLite, 0.68 s on PostgreSQL (the check grows linearly).
LEDGER_CHECK_MAX_INVOICES = 200_000


class ChecksFailed(CuentasError):
    """At least one check failed (exit 1; the table above the error line names each fix)."""

    exit_code = ExitCode.UNEXPECTED


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail | skip
    detail: str
    fix: str = ""


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def of(self, status: str) -> list[Check]:
        return [c for c in self.checks if c.status == status]

    @property
    def failed(self) -> list[Check]:
        return self.of("fail")

    @property
    def warnings(self) -> list[Check]:
        return self.of("warn")

    def summary(self) -> dict[str, Any]:
        return {"ok": not self.failed, "failed": len(self.failed), "warnings": len(self.warnings),
                "checks": [c.__dict__ for c in self.checks]}


@dataclass
class _State:
    config: "Config"
    today: date
    network: bool
    timeout_s: float
    db_ok: bool = False
    actor: "Actor | None" = None
    keyring_ok: bool = False


def run_checks(*, config: "Config", today: date, network: bool = True, timeout_s: float = 5.0,
               smtp_password: Callable[[], str | None] | None = None) -> Report:
    """Every check, in the order a person would fix them."""
    state = _State(config=config, today=today, network=network, timeout_s=timeout_s)
    report = Report()
    report.checks.append(check_database(state))
    report.checks.append(check_permissions(state))
    report.checks.append(check_keyring(state))
    if state.db_ok:
        from cuentas_cli.db.engine import open_session

        with open_session(config.database_url) as session:
            report.checks.append(check_login(state, session))
            report.checks.append(check_lookup(state, session))
            report.checks.append(check_smtp(state, session, smtp_password))
            report.checks.append(check_reminders(state, session))
            report.checks.append(check_exchange_rate(state, session))
            report.checks.append(check_padron(state, session))
            report.checks.append(check_ledger(state, session))
    else:
        moot = "skipped: the database is not usable (see above)"
        report.checks.append(Check("login", "skip", moot))
        report.checks.append(check_lookup(state, None))
        report.checks.append(check_smtp(state, None, smtp_password))
        report.checks.append(Check("reminders", "skip", moot))
        report.checks.append(Check("exchange rate", "skip", moot))
        report.checks.append(Check("padrón", "skip", moot))
        report.checks.append(Check("ledger", "skip", moot))
    return report


# --- database ------------------------------------------------------------------------------


def _where(url: str) -> str:
    from cuentas_cli.db.engine import is_sqlite, sqlite_path
    from cuentas_cli.rules.urls import redact

    return f"SQLite {sqlite_path(url)}" if is_sqlite(url) else f"PostgreSQL {redact(url).split('://', 1)[1].split('?')[0]}"


def check_database(state: _State) -> Check:
    from sqlalchemy.exc import SQLAlchemyError

    from cuentas_cli.db.engine import get_engine, is_sqlite
    from cuentas_cli.db.migrate import current_revision
    from cuentas_cli.db.migrations import HEAD_REVISION

    url = state.config.database_url
    where = _where(url)
    try:
        engine = get_engine(url)
        revision = current_revision(engine)
    except PermissionDenied as exc:  # PostgreSQL team mode: this login may not use the schema
        return Check("database", "fail", f"{where}: {exc.message}",
                     _("the owner of the schema runs `cuentas db roles apply`, then `cuentas users add NAME "
                       "--role ROLE --pg-login` for this login"))
    except CuentasError as exc:  # no SQLite file yet
        return Check("database", "fail", f"{where}: {exc.message}",
                     _("create it: `cuentas init --admin NAME` (or try `cuentas demo`)"))
    except SQLAlchemyError as exc:
        from cuentas_cli.db.engine import privilege_error

        refused = privilege_error(url, exc)
        if refused is not None:  # the server answered: this login lacks the grants (team mode)
            return Check("database", "fail", f"{where}: {refused.message}",
                         _("the owner of the schema runs `cuentas db roles apply`, then `cuentas users add NAME "
                           "--role ROLE --pg-login` for this login"))
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:200]
        fix = ("check that the server is up and CUENTAS_DATABASE_URL / --db (user, host, port, database) is right"
               if not is_sqlite(url) else "check the file is readable and is a cuentas database")
        return Check("database", "fail", _("cannot reach {where}: {reason}")
                                         .format(where=where, reason=reason), fix)
    if revision is None:
        return Check("database", "fail", _("{where} has no cuentas schema").format(where=where), _("run `cuentas init --admin "
                                                                             "NAME` (or `cuentas db "
                                                                             "upgrade`)"))
    if revision != HEAD_REVISION:
        return Check("database", "fail", _("{where}: schema at revision {revision}, this cuentas needs "
                                           "{HEAD_REVISION}")
                                         .format(where=where, revision=revision, HEAD_REVISION=HEAD_REVISION),
                     _("back the database up, then run `cuentas db upgrade`"))
    state.db_ok = True
    return Check("database", "ok", _("{where} reachable, schema at {revision} (newest)")
                                   .format(where=where, revision=revision))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def check_permissions(state: _State) -> Check:
    """SQLite file 0600 in a 0700 folder (and the config file, which may hold a database URL)."""
    from cuentas_cli.config import config_file_path
    from cuentas_cli.db.engine import is_sqlite, sqlite_path

    url = state.config.database_url
    problems: list[tuple[str, str]] = []
    notes: list[str] = []
    if is_sqlite(url):
        db = sqlite_path(url)
        if not db.exists():
            return Check("permissions", "skip", _("no database file at {db} yet").format(db=db))
        folder = db.parent
        if _mode(folder) & 0o077:
            problems.append((_("folder {folder} is {mode:o}").format(folder=folder, mode=_mode(folder)),
                             f"chmod 700 {folder}"))
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            if path.exists() and _mode(path) & 0o077:
                problems.append((_("{name} is {mode:o}").format(name=path.name, mode=_mode(path)), f"chmod 600 {path}"))
        if path_owner_differs(db):
            notes.append(_("{db} belongs to another user").format(db=db))
        ok_text = _("{name} 0600 in a 0700 folder").format(name=db.name)
    else:
        ok_text = _("PostgreSQL: access is governed by the server's grants, not by file modes")
    config_file = config_file_path()
    if config_file.exists() and _mode(config_file) & 0o077:
        problems.append((_("config file {path} is {mode:o}").format(path=config_file, mode=_mode(config_file)),
                         f"chmod 600 {config_file}"))
    if problems:
        return Check("permissions", "fail",
                     _("others may read or change your accounts: {problems}. With SQLite, whoever can write the "
                       "file can bypass roles").format(problems="; ".join(p for p, _fix in problems)),
                     " && ".join(f for _problem, f in problems))
    if notes:
        return Check("permissions", "warn", "; ".join(notes), _("run cuentas as the file's owner"))
    return Check("permissions", "ok", ok_text)


def path_owner_differs(path: Path) -> bool:
    return hasattr(os, "getuid") and path.stat().st_uid != os.getuid()


# --- identity ------------------------------------------------------------------------------


def check_keyring(state: _State) -> Check:
    from cuentas_cli.integrations import keyring_store
    from cuentas_cli.runtime import SESSION_FILE_ENV

    try:
        backend = keyring_store.backend_name()
    except Exception as exc:  # noqa: BLE001 - a broken keyring install is a finding, not a crash
        backend = f"unknown ({type(exc).__name__})"
    alternatives = [name for name in ("CUENTAS_TOKEN", SESSION_FILE_ENV) if os.environ.get(name)]
    try:
        keyring_store.get_secret("doctor-probe")
    except keyring_store.KeyringUnavailable:
        from cuentas_cli.runtime import fallback_session_path, keyring_required

        fallback = fallback_session_path(state.config.database_url)
        if not keyring_required() and os.path.lexists(fallback):  # where `cuentas login` kept it
            alternatives.append(_("the session file {path}").format(path=fallback))
        if alternatives:
            return Check("keyring", "warn", _("no usable OS keyring ({backend}); using "
                                              "{and_join_alternatives} instead")
                                            .format(backend=backend, and_join_alternatives=' and '.join(alternatives)),
                         _("fine for cron and servers; secrets then come from CUENTAS_LOOKUP_TOKEN / "
                           "CUENTAS_SMTP_PASSWORD_FILE (a 0600 file)"))
        return Check("keyring", "fail", _("no usable OS keyring (backend {backend})")
                                        .format(backend=backend),
                     _("log in with `cuentas login NAME --session-file PATH` and export "
                       "CUENTAS_SESSION_FILE=PATH, or set CUENTAS_TOKEN to a service token (`cuentas "
                       "tokens create NAME`); on a desktop, install/unlock the system keyring (Secret "
                       "Service, macOS Keychain, Windows Credential Locker)"))
    state.keyring_ok = True
    if backend.startswith("keyrings.alt"):
        return Check("keyring", "warn", _("backend {backend} keeps secrets in a plain file")
                                        .format(backend=backend),
                     _("uninstall keyrings.alt and use the system keyring, or set PYTHON_KEYRING_BACKEND"))
    return Check("keyring", "ok", _("backend {backend}").format(backend=backend))


def check_login(state: _State, session: "Session") -> Check:
    from cuentas_cli.runtime import Runtime

    rt = Runtime(state.config)
    try:
        actor = rt.actor(session, required=False)
    except CuentasError as exc:
        return Check("login", "fail", exc.message, _("log in again: `cuentas login NAME` (or create a "
                                                     "new service token)"))
    if actor is None:
        return Check("login", "fail", _("not logged in (no session in the keyring, no "
                                        "CUENTAS_SESSION_FILE, no CUENTAS_TOKEN)"),
                     _("`cuentas login NAME`; for cron and scripts set CUENTAS_TOKEN to a service token"))
    state.actor = actor
    until = f", until {actor.expires_at:%Y-%m-%d %H:%M} UTC" if actor.expires_at else ""
    return Check("login", "ok", _("{username} ({role}), {token_kind} token{until}")
                                .format(username=actor.username, role=actor.role, token_kind=actor.token_kind, until=until))


# --- the outside world ----------------------------------------------------------------------


def check_lookup(state: _State, session: "Session | None") -> Check:
    from cuentas_cli.integrations import lookup
    from cuentas_cli.parties.lookup import lookup_settings

    try:
        options = lookup_settings(session, state.config)
    except CuentasError as exc:
        return Check("lookup", "fail", exc.message, _("fix the lookup.* settings: `cuentas settings show`"))
    if options.provider == "offline":
        return Check("lookup", "warn", _("provider offline: RUC/DNI lookups answer only from built-in "
                                         "demo data"),
                     _("`cuentas settings set lookup.provider apisnet` and `cuentas settings secret set "
                       "lookup-token` (or import the padrón: `cuentas padron import FILE`)"))
    if not options.token:
        return Check("lookup", "fail", _("provider {provider} has no token")
                                       .format(provider=options.provider),
                     _("`cuentas settings secret set lookup-token` (no keyring: set CUENTAS_LOOKUP_TOKEN)"))
    if not state.network:
        return Check("lookup", "ok", _("provider {provider}, token stored (not contacted: --offline)")
                                     .format(provider=options.provider))
    timeout = min(state.timeout_s, options.timeout_s)
    started = time.perf_counter()
    try:
        provider = lookup.PROVIDERS[options.provider](base_url=options.base_url, token=options.token, timeout_s=timeout,
                                                      max_retries=0, backoff_s=0)
        with provider:
            provider.lookup_ruc(PROBE_RUC)
    except lookup.TokenInvalid as exc:
        return Check("lookup", "fail", exc.message, _("store a valid token: `cuentas settings secret set "
                                                      "lookup-token`"))
    except lookup.LookupNotFound:
        pass  # the provider answered and accepted the token: reachable
    except CuentasError as exc:
        return Check("lookup", "fail", exc.message.replace(" (1 attempts)", ""),
                     _("check the network and lookup.base_url; raise lookup.timeout_s if the provider is "
                       "slow"))
    seconds = time.perf_counter() - started
    return Check("lookup", "ok", _("provider {provider} answered in {seconds:.1f} s, token accepted")
                                 .format(provider=options.provider, seconds=seconds))


def _smtp_settings(session: "Session | None", config: "Config") -> Any:
    from cuentas_cli.integrations.email import SmtpSettings
    from cuentas_cli.admin import settings

    values = settings.effective(session, config)

    def get(key: str) -> Any:
        from cuentas_cli.config import parse_value

        return parse_value(key, values[key].value)

    return SmtpSettings(host=get("smtp.host"), port=get("smtp.port"), security=get("smtp.security"),
                        user=get("smtp.user"), from_addr=get("smtp.from"), reply_to=get("smtp.reply_to"),
                        company=get("company.name"))


def check_smtp(state: _State, session: "Session | None", password: Callable[[], str | None] | None) -> Check:
    from dataclasses import replace

    from cuentas_cli.integrations import email

    try:
        smtp = _smtp_settings(session, state.config)
    except CuentasError as exc:
        return Check("smtp", "fail", exc.message, _("fix the smtp.* settings: `cuentas settings show`"))
    if not smtp.host:
        return Check("smtp", "warn", _("not configured: payment reminders will not be e-mailed"),
                     _("`cuentas settings set smtp.host HOST`, smtp.from, smtp.user and `cuentas "
                       "settings secret set smtp-password` (docs/reminders.md)"))
    try:
        smtp.check()
        secret = None
        if smtp.user:
            secret = (password or (lambda: email.read_secret(email.PASSWORD_SECRET, email.PASSWORD_FILE_ENV)))()
            if not secret:
                return Check("smtp", "fail", _("{where}: no SMTP password for {user}")
                                             .format(where=smtp.where, user=smtp.user),
                             _("`cuentas settings secret set smtp-password` (no keyring: a 0600 file "
                               "named by {PASSWORD_FILE_ENV})")
                             .format(PASSWORD_FILE_ENV=email.PASSWORD_FILE_ENV))
    except CuentasError as exc:
        return Check("smtp", "fail", exc.message, _("fix the smtp.* settings, then `cuentas notify "
                                                    "test-email ADDRESS`"))
    if not state.network:
        return Check("smtp", "ok", _("{where} ({security}) configured (not contacted: --offline)")
                                   .format(where=smtp.where, security=smtp.security))
    try:
        with email.SmtpConnection(replace(smtp, timeout=state.timeout_s), password=lambda: secret) as connection:
            connection.connect()
    except email.SmtpUnavailable as exc:
        return Check("smtp", "fail", str(exc),
                     _("check smtp.host, smtp.port and smtp.security, and that this machine may reach "
                       "the server (firewall); then `cuentas notify test-email ADDRESS`"))
    who = f", logged in as {smtp.user}" if smtp.user else ""
    return Check("smtp", "ok", _("connected to {where} ({security}){who}")
                               .format(where=smtp.where, security=smtp.security, who=who))


# --- data the daily work needs ------------------------------------------------------------------


def check_reminders(state: _State, session: "Session") -> Check:
    """notify.channels against notify.levels, and every stored template still valid and used."""
    from cuentas_cli.admin import settings
    from cuentas_cli.reminders import template_store, templates
    from cuentas_cli.reminders.policy import check_channels

    try:
        levels = list(settings.get(session, state.config, "notify.levels"))
        language = settings.get(session, state.config, "notify.language")
        check_channels(settings.get(session, state.config, "notify.channels"), levels)
    except CuentasError as exc:
        return Check("reminders", "fail", exc.message, _("`cuentas settings set notify.channels ...` (or notify.levels)"))
    stored = template_store.custom(session)
    for (level, part), source in sorted(stored.items()):
        try:
            templates.validate(source, part=part, language=language)
        except templates.TemplateProblem as problem:
            return Check("reminders", "fail", template_store.problem_text(level, part, problem),
                         _("`cuentas notify templates edit {level} --part {part}` or `reset {level}`")
                         .format(level=level, part=part))
    unused = sorted({level for level, _part in stored if level not in levels})
    if unused:
        return Check("reminders", "warn", _("templates stored for level(s) {unused}, which notify.levels no "
                                            "longer has: they are not used").format(unused=", ".join(map(str, unused))),
                     _("`cuentas notify templates reset LEVEL`, or add the level back to notify.levels"))
    return Check("reminders", "ok", _("levels {levels}, in {language}; {count} template part(s) of the firm's own")
                 .format(levels=",".join(map(str, levels)), language=language, count=len(stored)))


def check_exchange_rate(state: _State, session: "Session") -> Check:
    from sqlmodel import select

    from cuentas_cli.db.models import ExchangeRate
    from cuentas_cli.ledger.fx import rate_text

    today = state.today
    row = session.exec(
        select(ExchangeRate).where(ExchangeRate.currency == "USD", ExchangeRate.rate_date <= today)
        .order_by(ExchangeRate.rate_date.desc()).limit(1)
    ).first()
    fix = f"`cuentas fx fetch` (or `cuentas fx set {today.isoformat()} 3.750`)"
    if row is None:
        return Check("exchange rate", "warn", _("no USD rate on or before {today_isoformat}: USD "
                                                "invoices need --rate")
                                              .format(today_isoformat=today.isoformat()), fix)
    gap = [row.rate_date + timedelta(days=n) for n in range(1, (today - row.rate_date).days + 1)]
    text = f"USD sell {rate_text(row.sell_e4)} of {row.rate_date.isoformat()}"
    if row.rate_date == today:
        return Check("exchange rate", "ok", text + " (today)")
    if all(day.weekday() >= 5 for day in gap):
        return Check("exchange rate", "ok", text + " (no publication at weekends: it applies today)")
    return Check("exchange rate", "warn", _("{text}: {n_gap} day(s) old; today's is not recorded")
                                          .format(text=text, n_gap=len(gap)), fix)


def check_padron(state: _State, session: "Session") -> Check:
    if state.actor is None:
        return Check("padrón", "skip", _("needs a logged-in user (see login)"))
    try:
        from cuentas_cli.parties import padron
    except ImportError:  # pragma: no cover - the padrón module ships with cuentas
        return Check("padrón", "skip", _("this cuentas has no padrón support"))
    try:
        status = padron.status(session=session, actor=state.actor, today=state.today)
    except CuentasError as exc:
        return Check("padrón", "fail", exc.message, _("`cuentas padron status` for details"))
    fix = ("download padron_reducido_ruc.zip from SUNAT and run `cuentas padron import padron_reducido_ruc.zip`")
    if not status.loaded:
        return Check("padrón", "warn", _("not loaded (optional: offline RUC checks and lookups)"), fix)
    if status.interrupted_import:
        return Check("padrón", "warn", _("an earlier import was interrupted; the previous data is still "
                                         "in use"),
                     "run the import again: " + fix)
    age = f"{status.age_days} days old" if status.age_days is not None else "date unknown"
    text = f"{status.row_count:,} RUCs from {status.file_name or 'an import'} ({age})"
    if status.age_days is not None and status.age_days > PADRON_MAX_AGE_DAYS:
        return Check("padrón", "warn", text + f"; older than {PADRON_MAX_AGE_DAYS} days", "import a newer one: " + fix)
    return Check("padrón", "ok", text)


def check_ledger(state: _State, session: "Session") -> Check:
    """Cached paid / adjustments / status against the payments and notes (`cuentas db check`),
    run here only while it is quick."""
    from cuentas_cli.ops import check as ledger_check

    count = ledger_check.invoice_count(session)
    if count > LEDGER_CHECK_MAX_INVOICES:
        return Check("ledger", "skip", _("{count:,} invoices: too many to compare here quickly")
                                       .format(count=count),
                     _("run `cuentas db check` (it lists each difference; `--repair` fixes them)"))
    found = ledger_check.differences(session, today=state.today)
    if not found:
        return Check("ledger", "ok", _("{count:,} invoices: cached paid, adjustments and status agree "
                                       "with the ledger")
                                     .format(count=count))
    columns = {d.column for d in found}
    invoices = len({d.invoice_id for d in found})
    detail = f"{len(found)} cached figure(s) on {invoices} invoice(s) differ from the ledger ({', '.join(sorted(columns))})"
    if columns == {"status"}:
        return Check("ledger", "warn", detail + ": statuses not yet updated as of today",
                     _("`cuentas invoices update-statuses` (cron, daily) or `cuentas db check --repair`"))
    return Check("ledger", "fail", detail, _("see them with `cuentas db check`; fix with `cuentas db "
                                             "check --repair` (administrador)"))
