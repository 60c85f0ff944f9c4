"""`cuentas doctor`: check the set-up; every problem comes with its fix."""

from __future__ import annotations

from typing import Annotated

import typer

from cuentas_cli.commands.common import FormatOpt, runtime
from cuentas_cli.i18n import _

MARKS = {"ok": "OK", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


def doctor(
    offline: Annotated[bool, typer.Option("--offline", help="Do not contact the lookup provider or the SMTP server.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too (for CI and monitoring).")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for each network check.", min=0.1, max=60)] = 5.0,
    fmt: FormatOpt = None,
) -> None:
    """Check the set-up: database reachable and at the newest schema, file permissions, OS keyring,
    logged-in user, lookup provider (token, reachable), SMTP (settings, a test connection),
    today's exchange rate, padrón loaded and its age, and the invoices' cached figures against the
    ledger (`cuentas db check`, run here up to 200,000 invoices; above that doctor says to run it).

    Each finding is OK, WARN (works, but fix it soon) or FAIL (commands will fail), with the fix.
    Exit 0 when nothing failed (warnings allowed; with --strict warnings fail too), 1 otherwise.
    Needs no login: it tells you whether you are logged in.

    Example: cuentas doctor --format json
    """
    import json
    import sys

    from cuentas_cli.render import emit, info, plain, resolve_format
    from cuentas_cli.ops import doctor as service

    rt = runtime()
    report = service.run_checks(config=rt.config, today=rt.today, network=not offline, timeout_s=timeout)
    kind = resolve_format(fmt)
    if kind == "json":
        sys.stdout.write(json.dumps(plain(report.summary()), ensure_ascii=False, indent=2) + "\n")
    elif kind == "table":
        rows = [{"check": c.name, "status": MARKS[c.status], "finding": c.detail, "fix": c.fix} for c in report.checks]
        emit(rows, "table", title="cuentas doctor")
    else:
        emit(report.checks, kind)
    failing = report.failed + (report.warnings if strict else [])
    if failing:
        names = ", ".join(c.name for c in failing)
        raise service.ChecksFailed(_("{n_failing} check(s) need attention: {names}; each one's fix is in "
                                     "the fix column")
                                   .format(n_failing=len(failing), names=names))
    info(_("doctor: {len_report_checks_len_re} ok, {n_warnings} warning(s), nothing failed")
         .format(len_report_checks_len_re=len(report.checks) - len(report.warnings) - len(report.of('skip')), n_warnings=len(report.warnings)))
