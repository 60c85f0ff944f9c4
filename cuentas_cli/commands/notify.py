"""`cuentas notify`: reminders by e-mail and webhook from the outbox, for cron or as a service."""

from __future__ import annotations

import re
from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import FormatOpt, runtime
from cuentas_cli.errors import UsageError
from cuentas_cli.render import emit, emit_record, success
from cuentas_cli.i18n import _

app = typer.Typer(
    help="Payment reminders: e-mail to clients, payables and a daily digest to staff, webhooks.\n\n"
         "Example: cuentas notify run --dry-run",
    no_args_is_help=True,
)

STATUSES = ("pending", "sending", "sent", "failed", "cancelled")


@app.callback()
def _group() -> None:
    """Payment reminders: e-mail to clients, payables and a daily digest to staff, webhooks."""


def _line(text: str) -> None:
    """The summary as one unwrapped line on stderr (cron mails and logs keep it greppable)."""
    import sys

    from cuentas_cli.render import safe

    sys.stderr.write(safe(text, one_line=True) + "\n")  # names and addresses come from the data
    sys.stderr.flush()


def _actor(rt):  # noqa: ANN001, ANN202
    with rt.session() as session:
        return rt.actor(session)


@app.command("run")
def run_(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be queued and sent; send and write nothing.")] = False,
    retry_now: Annotated[bool, typer.Option("--retry-now", help="Retry failed sends now, ignoring their backoff and the attempt limit.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Queue the reminders due today and send what is queued (safe to run from cron).

    Exit 0 when every send succeeded, 6 when another run holds the lock, 7 when some sends
    failed (they stay queued and later runs retry them). A summary line goes to stderr;
    with --format the summary (and, with --dry-run, the planned messages) goes to stdout.

    Example: cuentas notify run --dry-run --format json
    """
    from cuentas_cli.errors import ExternalError
    from cuentas_cli.reminders import sending

    rt = runtime()
    actor = _actor(rt)
    summary = sending.run(session_factory=rt.session, url=rt.url, actor=actor, config=rt.config,
                          today=rt.today, dry_run=dry_run, retry_now=retry_now)
    if dry_run:
        if fmt is not None or summary.planned:
            emit(summary.planned, fmt, columns=["kind", "channel", "recipient", "reminders", "invoices", "subject"])
        _line(summary.line())
        return
    if fmt is not None:
        emit_record(summary.record(), fmt)
    _line(summary.line())
    if summary.failed:
        first = sorted(set(summary.errors))[0]
        raise ExternalError(_("{failed} reminder(s) could not be sent ({first}); they stay queued and "
                              "the next run retries them (`cuentas notify list --status failed`)")
                            .format(failed=summary.failed, first=first))


@app.command()
def serve(
    at: Annotated[str, typer.Option("--at", help="Local time of the daily run, HH:MM.", metavar="HH:MM")] = "08:00",
    now: Annotated[bool, typer.Option("--now", help="Also run once right away.")] = False,
) -> None:
    """Run the daily reminder job at --at and retry failed sends every hour, until SIGTERM/SIGINT.

    A failing job is logged (stderr) and the service keeps going. Without --today or
    CUENTAS_TODAY each run uses the current date.

    Example: cuentas notify serve --at 07:30
    """
    import logging
    import signal
    import sys
    import threading
    from datetime import date

    from cuentas_cli.reminders import scheduler, sending

    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", at):
        raise UsageError(_("--at: {at!r} is not a time HH:MM (00:00 to 23:59)").format(at=at))
    rt = runtime()
    _actor(rt)  # refuse at once without a user or the permission
    fixed_today = rt.today if rt.today != date.today() else None

    logger = logging.getLogger("cuentas.notify")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    def job(enqueue_due: bool) -> None:
        rt.forget_actor()  # a revoked token or role change takes effect at the next job
        summary = sending.run(session_factory=rt.session, url=rt.url, actor=_actor(rt), config=rt.config,
                              today=fixed_today or date.today(), enqueue_due=enqueue_due)
        if summary.failed:
            logger.warning("%s; first error: %s", summary.line(), sorted(set(summary.errors))[0])
        elif summary.changed or enqueue_due:
            logger.info(summary.line())

    stop = threading.Event()

    def on_signal(signum, _frame) -> None:  # noqa: ANN001
        logger.info("notify serve: %s received, stopping after the current job", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.serve(daily=lambda: job(True), retry=lambda: job(False), at=at, stop=stop, run_now=now,
                        logger=logger)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        logger.removeHandler(handler)


@app.command("list")
def list_(
    status: Annotated[Optional[str], typer.Option("--status", help="pending, sending, sent, failed or cancelled.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows, newest first.")] = 100,
    fmt: FormatOpt = None,
) -> None:
    """List the outbox, newest first: what was queued, sent, failed (with the error) or cancelled.

    Example: cuentas notify list --status failed --format json
    """
    from cuentas_cli.reminders import outbox

    if status is not None and status.strip().lower() not in STATUSES:
        raise UsageError(_("--status: {status!r} is not one of {join_statuses}")
                         .format(status=status, join_statuses=', '.join(STATUSES)))
    rt = runtime()
    with rt.session() as session:
        rows = outbox.list_outbox(session=session, actor=rt.actor(session),
                                  status=status.strip().lower() if status else None, limit=limit)
    emit(rows, fmt)


@app.command("test-email")
def test_email(
    address: Annotated[str, typer.Argument(help="Where to send the test message.")],
) -> None:
    """Send a test e-mail now with the smtp.* settings (exit 7 if the server refuses).

    Example: cuentas notify test-email cobranzas@empresa.pe
    """
    from cuentas_cli.reminders import sending

    rt = runtime()
    where = sending.send_test_email(session_factory=rt.session, actor=_actor(rt), config=rt.config,
                                    address=address)
    success(_("test e-mail sent to {address} through {where}").format(address=address, where=where))
