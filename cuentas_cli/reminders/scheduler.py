"""`notify serve`: the daily reminder job and the hourly retry job, run until told to stop; a
failing job is logged and the scheduler keeps going."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("cuentas.notify")


def guarded(name: str, job: Callable[[], Any], logger: logging.Logger = log) -> None:
    """Run one scheduled job; an exception is logged and the scheduler keeps going."""
    from cuentas_cli.errors import CuentasError

    try:
        job()
    except CuentasError as exc:
        logger.warning("%s job: %s", name, exc.message)
    except Exception:  # noqa: BLE001 - a scheduler must survive any failure of one job
        logger.exception("%s job failed", name)


def serve(*, daily: Callable[[], Any], retry: Callable[[], Any], at: str, stop: Any, run_now: bool = False,
          poll_seconds: float = 1.0, logger: logging.Logger = log) -> None:
    """The daily job at `at` (HH:MM, local time) and a retry job every hour, until `stop` is set."""
    import schedule

    scheduler = schedule.Scheduler()
    scheduler.every().day.at(at).do(guarded, "daily", daily, logger)
    scheduler.every().hour.do(guarded, "retry", retry, logger)
    logger.info("notify serve: daily run at %s, retries every hour", at)
    if run_now:
        guarded("daily", daily, logger)
    while not stop.is_set():
        scheduler.run_pending()
        idle = scheduler.idle_seconds
        stop.wait(poll_seconds if idle is None else max(0.0, min(poll_seconds, idle)))
    scheduler.clear()
    logger.info("notify serve: stopped")
