"""Domain errors and the exit code each one maps to (the contract in cli.md)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    VALIDATION = 3
    NOT_FOUND = 4
    PERMISSION = 5
    CONFLICT = 6
    EXTERNAL = 7
    INTERRUPTED = 130


class CuentasError(Exception):
    """Base of every error a user may cause; the boundary prints `error: <message>`."""

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(CuentasError):
    exit_code = ExitCode.USAGE


class ValidationError(CuentasError):
    exit_code = ExitCode.VALIDATION


class NotFound(CuentasError):
    exit_code = ExitCode.NOT_FOUND


class PermissionDenied(CuentasError):
    exit_code = ExitCode.PERMISSION


class NotLoggedIn(PermissionDenied):
    pass


class Conflict(CuentasError):
    exit_code = ExitCode.CONFLICT


class SchemaOutdated(Conflict):
    """The database schema is not the one this program was built for."""


class LockHeld(Conflict):
    pass


class DatabaseBusy(Conflict):
    """SQLite's write lock stayed with another writer for the whole busy timeout."""


class ExternalError(CuentasError):
    exit_code = ExitCode.EXTERNAL


class DatabaseUnavailable(ExternalError):
    pass
