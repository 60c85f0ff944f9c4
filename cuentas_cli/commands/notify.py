"""`cuentas notify`: reminders by e-mail and webhook from the outbox, for cron or as a service."""

from __future__ import annotations

import re
from typing import Annotated, Optional

import typer

from cuentas_cli.commands.common import AliasedGroup, FormatOpt, runtime
from cuentas_cli.errors import UsageError
from cuentas_cli.render import emit, emit_record, success
from cuentas_cli.i18n import _

class _Notify(AliasedGroup):
    aliases = {"plantillas": "templates", "vista-previa": "preview"}


app = typer.Typer(
    cls=_Notify,
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
    all_companies: Annotated[bool, typer.Option("--all-companies", help="Run every company of the firm in turn, each "
                                                "with its own settings, templates, SMTP and lock; one failing company "
                                                "does not stop the others.")] = False,
) -> None:
    """Queue the reminders due today and send what is queued (safe to run from cron).

    Exit 0 when every send succeeded, 6 when another run holds the lock, 7 when some sends
    failed (they stay queued and later runs retry them). A summary line goes to stderr;
    with --format the summary (and, with --dry-run, the planned messages) goes to stdout.
    With --all-companies: one line per company, and the exit code of the worst company.

    Example: cuentas notify run --dry-run --format json
    Example: cuentas notify run --all-companies
    """
    from cuentas_cli.errors import ExternalError
    from cuentas_cli.exports import statements as files
    from cuentas_cli.reminders import sending

    rt = runtime()
    if all_companies:
        _run_all(rt, dry_run=dry_run, retry_now=retry_now, fmt=fmt)
        return
    actor = _actor(rt)
    summary = sending.run(session_factory=rt.session, url=rt.url, actor=actor, config=rt.config,
                          today=rt.today, dry_run=dry_run, retry_now=retry_now,
                          render_pdf=files.pdf_bytes, attachment_name=files.attachment_name)
    if dry_run:
        if fmt is not None or summary.planned:
            emit(summary.planned, fmt, columns=["kind", "channel", "recipient", "reminders", "invoices", "subject",
                                                "attach_statement"])
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


def _run_all(rt, *, dry_run: bool, retry_now: bool, fmt: FormatOpt) -> None:  # noqa: ANN001
    from cuentas_cli.ops import firm

    outcomes, denied = firm.notify_all(rt, dry_run=dry_run, retry_now=retry_now)
    records = []
    for o in outcomes:
        summary = o.result if o.error is None else getattr(o.error, "summary", None)
        line = summary.line() if summary is not None else f"error: {o.error.message}"
        if o.error is not None and summary is not None:
            line = f"{line}; error: {o.error.message}"
        _line(f"{o.company.label}: {line}")
        records.append({"company_ruc": o.company.ruc, "company": o.company.name,
                        "exit_code": int(o.error.exit_code) if o.error is not None else 0,
                        **(summary.record() if summary is not None else {}),
                        "error": o.error.message if o.error is not None else None})
    for row in denied:
        _line(_("{label}: left out (you may not run its reminders)").format(label=row.label))
    if fmt is not None:
        emit(records, fmt)
    if not outcomes:
        from cuentas_cli.errors import PermissionDenied

        raise PermissionDenied(_("permission denied: no company of this firm lets you run its reminders"))
    firm.raise_worst(outcomes, _("reminders"))


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

    from cuentas_cli.exports import statements as files
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
                              today=fixed_today or date.today(), enqueue_due=enqueue_due,
                              render_pdf=files.pdf_bytes, attachment_name=files.attachment_name)
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


# --- templates and preview ------------------------------------------------------------------------

templates_app = typer.Typer(
    help="The reminder e-mails' templates, one per level (subject, text, html): list, show, edit, reset.\n\n"
         "Jinja2 in a sandbox; the defaults speak notify.language (es|en). Variables: "
         "`cuentas notify templates show --vars`. Channels per level: the notify.channels setting.\n\n"
         "Example: cuentas notify templates edit 7 --part subject --file asunto.j2",
    no_args_is_help=True,
)
app.add_typer(templates_app, name="templates")

# `edit -3`: a negative level is the LEVEL argument, not an unknown option
NEGATIVE_LEVELS = {"ignore_unknown_options": True}
PartOpt = Annotated[Optional[str], typer.Option("--part", help="subject, text or html.", metavar="PART")]


@templates_app.command("list")
def templates_list(fmt: FormatOpt = None) -> None:
    """List the reminder levels, their channels and whether each part is the default or the firm's own.

    Example: cuentas notify templates list
    """
    from cuentas_cli.reminders import template_store

    rt = runtime()
    with rt.session() as session:
        rows = template_store.listing(session=session, actor=rt.actor(session), config=rt.config)
    emit(rows, fmt)


def _print_source(text: str) -> None:
    import sys

    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@templates_app.command("show", context_settings=NEGATIVE_LEVELS)
def templates_show(
    level: Annotated[Optional[str], typer.Argument(help="The level (days from the due date, e.g. -3, 0, 7).",
                                                   metavar="LEVEL")] = None,
    part: PartOpt = None,
    variables: Annotated[bool, typer.Option("--vars", help="List the variables and filters a template may use.")] = False,
    sample: Annotated[bool, typer.Option("--sample", help="Print the template rendered with sample data instead "
                                         "of its source.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Print a level's template (the firm's own, or the default), or the variables with --vars.

    With --part the source alone is printed, ready to be edited and saved with `edit --file`.

    Example: cuentas notify templates show 7 --part text > recordatorio.j2
    """
    from cuentas_cli.reminders import template_store, templates

    if variables:
        rows = [{"name": name, "description": _(text)} for name, text in templates.VARIABLES.items()]
        rows += [{"name": f"| {name}", "description": _(text)} for name, text in templates.FILTERS_HELP.items()]
        emit(rows, fmt)
        return
    if level is None:
        raise UsageError(_("give the LEVEL (see `cuentas notify templates list`) or --vars"))
    rt = runtime()
    with rt.session() as session:
        parts = (template_store.check_part(part),) if part else templates.PARTS
        shown = template_store.show(session=session, actor=rt.actor(session), config=rt.config, level=level,
                                    parts=parts, sample=sample)
    if fmt is not None:
        emit(shown, fmt)
        return
    if part:
        _print_source(shown[0].source)
        return
    for item in shown:
        origin = _("the firm's own") if item.custom else _("default")
        _print_source(f"--- {item.part} ({origin}) ---")
        _print_source(item.source)


def _edit_in_editor(text: str) -> str:
    """`text` in $VISUAL or $EDITOR on a private temporary file; what the editor left there."""
    import os
    import shlex
    import subprocess
    import tempfile
    from pathlib import Path

    editor = (os.environ.get("VISUAL") or os.environ.get("EDITOR") or "").strip()
    if not editor:
        raise UsageError(_("no editor: set $EDITOR (e.g. export EDITOR=nano) or give --file"))
    with tempfile.TemporaryDirectory(prefix="cuentas-template-") as folder:
        path = Path(folder) / "template.j2"
        path.write_text(text, encoding="utf-8")
        try:
            done = subprocess.run([*shlex.split(editor), str(path)], check=False)
        except OSError as exc:
            raise UsageError(_("cannot start the editor {editor!r}: {reason}").format(editor=editor, reason=exc)) from None
        if done.returncode != 0:
            raise UsageError(_("the editor exited with status {code}; nothing stored").format(code=done.returncode))
        return path.read_text(encoding="utf-8")


@templates_app.command("edit", context_settings=NEGATIVE_LEVELS)
def templates_edit(
    level: Annotated[str, typer.Argument(help="The level (days from the due date, e.g. -3, 0, 7).",
                                         metavar="LEVEL")],
    part: PartOpt = None,
    file: Annotated[Optional[str], typer.Option("--file", help="Read the template from this file ('-': standard "
                                                "input) instead of opening $EDITOR.", metavar="FILE")] = None,
) -> None:
    """Change one part of a level's template (administrador); --part text unless told.

    Without --file, $EDITOR (or VISUAL) opens the current template. The template is checked before it
    is stored: a syntax error or an unknown variable is refused with its line (exit 3), and nothing
    is stored.

    Example: cuentas notify templates edit -3 --part subject --file asunto.j2
    """
    from pathlib import Path

    from cuentas_cli.reminders import template_store

    rt = runtime()
    chosen = template_store.check_part(part or "text")
    with rt.session() as session:
        template_store.may_edit(rt.actor(session))
        current = template_store.show(session=session, actor=rt.actor(session), config=rt.config, level=level,
                                      parts=(chosen,))[0]
    if file == "-":
        import sys

        text = sys.stdin.read()
    elif file:
        path = Path(file).expanduser()
        try:
            if path.stat().st_size > 400_000:  # a template is at most 100,000 characters
                raise UsageError(_("--file {file}: too large for a template").format(file=file))
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(_("--file {file}: cannot read it ({reason})").format(file=file, reason=exc)) from None
    else:
        edited = _edit_in_editor(current.source)
        if edited == current.source:
            success(_("template {level}/{part} unchanged; nothing stored").format(level=current.level, part=chosen))
            return
        text = edited
    with rt.session(write=True) as session:
        number = template_store.save(session=session, actor=rt.actor(session), config=rt.config, level=level,
                                     part=chosen, text=text)
    success(_("template {level}/{part} stored; `cuentas notify preview INVOICE --level {level}` shows it")
            .format(level=number, part=chosen))


@templates_app.command("reset", context_settings=NEGATIVE_LEVELS)
def templates_reset(
    level: Annotated[str, typer.Argument(help="The level (days from the due date, e.g. -3, 0, 7).",
                                         metavar="LEVEL")],
    part: PartOpt = None,
) -> None:
    """Go back to the default template of a level: every part, or the one of --part (administrador).

    Example: cuentas notify templates reset 7
    """
    from cuentas_cli.reminders import template_store

    rt = runtime()
    with rt.session(write=True) as session:
        dropped = template_store.reset(session=session, actor=rt.actor(session), config=rt.config, level=level,
                                       part=part)
    success(_("level {level}: {count} part(s) back to the default").format(level=level.strip(), count=dropped))


@app.command("preview")
def preview_(
    invoice: Annotated[str, typer.Argument(help="The invoice: its id or SERIE-NUMERO (F001-123).")],
    level: Annotated[Optional[int], typer.Option("--level", help="The reminder level; the one reached today "
                                                 "unless told.", metavar="N")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Show exactly what the reminder of an invoice would say (subject, text, html); nothing is sent.

    Example: cuentas notify preview F001-123 --level 7 --format json
    """
    from cuentas_cli.reminders import preview as previews

    rt = runtime()
    with rt.session() as session:
        shown = previews.preview(session=session, actor=rt.actor(session), config=rt.config, invoice=invoice,
                                 today=rt.today, level=level)
    if fmt is not None:
        emit_record(shown, fmt)
        return
    from cuentas_cli.render import safe

    head = [_("Level: {level} ({channels})").format(level=shown.level, channels=shown.channels),
            _("To: {to}").format(to=", ".join(shown.to) or "—")]
    if shown.cc:
        head.append(_("Cc: {cc}").format(cc=", ".join(shown.cc)))
    head.append(_("Subject: {subject}").format(subject=shown.subject))
    if shown.attach_statement:
        head.append(_("Attachment: the statement of account"))
    body = ["\n".join(head), "", shown.text.rstrip("\n"), "", "--- html ---", shown.html]
    if shown.webhook:
        body += ["", "--- webhook ---", shown.webhook]
    _print_source(safe("\n".join(body)))
    for note in shown.notes:
        _line(note)
