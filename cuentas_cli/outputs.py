"""Files the commands write (`export --output`, `import --errors`, `login --session-file`, the
demo's folder): one set of rules, checked in one place.

A target is refused (UsageError, exit 2, with the path and the reason) when it is

- the active database, its `-wal`, `-shm` or `-journal` file, or the configuration file
  (compared by real path and by inode, so a hard link or a `..` detour is caught too);
- any other SQLite database (a file that starts with SQLite's header);
- an input of the same command (the file being imported, its mapping);
- a symbolic link (the last component; writing through it would replace another file);
- an existing folder, or something that is not a regular file (a device, a pipe);
- in a folder that does not exist.

Writing goes to a temporary file in the same folder, which is flushed to disk and then
renamed over the target (`os.replace`): a reader sees the old file or the new one, never half
of one, and a failure leaves the old file as it was. Files with company data are 0600 unless
the `files.mode` setting says otherwise (0640 or 0660 for colleagues on a shared folder).

No typer or rich here: commands check a target early (before any work) and services write it.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cuentas_cli.errors import UsageError
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

DEFAULT_MODE = 0o600
SQLITE_HEADER = b"SQLite format 3\x00"
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Target:
    """An output path that passed the checks, with what it must never be (re-checked just
    before the rename, in case the folder changed meanwhile)."""

    path: Path
    option: str
    protected: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # (real path, what it is)
    accept_existing: Callable[[Path], str | None] | None = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        return str(self.path)

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def name(self) -> str:
        return self.path.name


def configured_mode(session: "Session | None", config: Any = None) -> int:
    """The mode for files with company data: the `files.mode` setting, else 0600."""
    if session is None or config is None:
        return DEFAULT_MODE
    from cuentas_cli.admin import settings

    value = settings.get(session, config, "files.mode")
    return int(value) if value is not None else DEFAULT_MODE


# --- what a target must not be --------------------------------------------------------------


def database_file(url: str | None) -> Path | None:
    """The SQLite file of a database URL (None for PostgreSQL or an in-memory database)."""
    if not url or url.split(":", 1)[0].split("+", 1)[0] != "sqlite":
        return None
    raw = url.split("://", 1)[-1]
    raw = raw[1:] if raw.startswith("/") else raw
    raw = raw.split("?", 1)[0]
    if not raw or raw == ":memory:":
        return None
    return Path(raw)


def session_database_url(session: "Session") -> str | None:
    """The URL of the database a session is bound to (for services handed a plain path)."""
    try:
        url = session.get_bind().url
    except Exception:  # noqa: BLE001 - no bind: nothing to protect
        return None
    if url.get_backend_name() != "sqlite":
        return None
    return f"sqlite:///{url.database}" if url.database else None


def _protected(database_url: str | None, inputs: Iterable[Path | str | None]) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    db = database_file(database_url)
    if db is not None:
        found.append((os.path.realpath(db), "the active database"))
        for suffix in SQLITE_COMPANIONS:
            found.append((os.path.realpath(f"{db}{suffix}"), f"the active database's {suffix[1:]} file"))
    try:
        from cuentas_cli.config import config_file_path

        found.append((os.path.realpath(config_file_path()), "the configuration file"))
    except Exception:  # noqa: BLE001 - no configuration folder known: nothing to protect
        pass
    for item in inputs:
        if item:
            found.append((os.path.realpath(Path(item).expanduser()), "an input file of this command"))
    return tuple(found)


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _is_sqlite_database(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def _refuse(option: str, path: Path, why: str) -> UsageError:
    return UsageError(_("{option} {path}: {why}; nothing was written")
                      .format(option=option, path=path, why=why))


def protected_as(path: Path | str, *, database_url: str | None = None,
                 inputs: Iterable[Path | str | None] = ()) -> str | None:
    """What a path is among the files no command may write over or put a folder in place of
    (the active database and its companions, the configuration file, the inputs), else None."""
    return _protected_as(os.path.realpath(Path(path).expanduser()), _protected(database_url, inputs))


def _protected_as(real: str, protected: tuple[tuple[str, str], ...]) -> str | None:
    for other, what in protected:
        if real == other or _same_file(real, other):
            return what
    return None


def _verify(path: Path, option: str, protected: tuple[tuple[str, str], ...],
            accept_existing: Callable[[Path], str | None] | None) -> None:
    if path.is_symlink():
        raise _refuse(option, path, "is a symbolic link; give the real file's path")
    what = _protected_as(os.path.realpath(path), protected)
    if what:
        raise _refuse(option, path, f"is {what}")
    if path.exists():
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise _refuse(option, path, "is a folder; give a file name")
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(option, path, "is not a regular file")
        if _is_sqlite_database(path):
            raise _refuse(option, path, "is an SQLite database; choose another file")
        if accept_existing is not None:
            why = accept_existing(path)
            if why:
                raise _refuse(option, path, why)
    if not path.parent.is_dir():
        raise _refuse(option, path, f"folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise _refuse(option, path, f"no permission to write in folder {path.parent}")


def check(path: Path | str | Target, *, option: str, database_url: str | None = None,
          inputs: Iterable[Path | str | None] = (),
          accept_existing: Callable[[Path], str | None] | None = None, create_folder: bool = False) -> Target:
    """Check an output path against the rules above; returns the Target to write.

    `accept_existing(path)` may refuse an existing file by returning the reason (e.g. a
    session file that does not hold a session). With `create_folder`, a missing folder is
    created (0700) when the file is written instead of being refused."""
    if isinstance(path, Target):
        return path
    given = Path(path).expanduser()
    absolute = Path(os.path.abspath(given))  # `..` resolved by the folder, not by following links
    protected = _protected(database_url, inputs)
    if create_folder and not os.path.lexists(absolute.parent):
        _verify_new_folder(absolute, option, protected)
    else:
        _verify(absolute, option, protected, accept_existing)
    return Target(path=absolute, option=option, protected=protected, accept_existing=accept_existing)


def _verify_new_folder(path: Path, option: str, protected: tuple[tuple[str, str], ...]) -> None:
    """A file in a folder still to be made: only the protected paths can be in the way."""
    what = _protected_as(os.path.realpath(path), protected)
    if what:
        raise _refuse(option, path, f"is {what}")
    folder = path.parent
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise _refuse(option, path, f"{folder} is not a folder")


def make_folder(target: Target) -> None:
    """Create the target's folder (0700) when it is missing; an existing folder is left as it is."""
    if not os.path.lexists(target.path.parent):
        from cuentas_cli.config import ensure_private_dir

        ensure_private_dir(target.path.parent)


def ensure(target: Path | str | Target, *, option: str, session: "Session | None" = None) -> Target:
    """A Target for a service: the one the command checked, or a plain path checked now against
    the session's own database."""
    if isinstance(target, Target):
        return target
    return check(target, option=option, database_url=session_database_url(session) if session is not None else None)


# --- writing ----------------------------------------------------------------------------------


class AtomicFile:
    """A temporary file beside the target: `commit()` flushes it and renames it over the
    target with the given mode; `discard()` removes it and leaves the target as it was."""

    def __init__(self, target: Target, *, mode: int = DEFAULT_MODE) -> None:
        self.target = target
        self.mode = mode
        import tempfile

        folder = target.path.parent
        fd, name = tempfile.mkstemp(prefix=f".{target.path.name}.", suffix=".part", dir=folder)
        os.close(fd)  # mkstemp makes it 0600; the final mode is set on commit
        self.tmp = Path(name)
        self.done = False

    def open(self, mode: str = "w", **kwargs: Any) -> IO[Any]:
        return self.tmp.open(mode, **kwargs)

    def commit(self) -> Path:
        if self.done:
            return self.target.path
        try:
            fd = os.open(self.tmp, os.O_RDONLY)
            try:
                if hasattr(os, "fchmod"):
                    os.fchmod(fd, self.mode)
                os.fsync(fd)
            finally:
                os.close(fd)
            # Re-checked now: the folder may have changed since the command started.
            _verify(self.target.path, self.target.option, self.target.protected, self.target.accept_existing)
            try:
                os.replace(self.tmp, self.target.path)
            except IsADirectoryError:
                raise _refuse(self.target.option, self.target.path, "is a folder; give a file name") from None
        except BaseException:
            self.discard()
            raise
        self.done = True
        _sync_folder(self.target.path.parent)
        return self.target.path

    def discard(self) -> None:
        self.done = True
        self.tmp.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    if sys.platform == "win32":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def replacing(target: Target, *, mode: int = DEFAULT_MODE) -> Iterator[Path]:
    """`with replacing(target) as tmp:` write `tmp` (by path); on success it replaces the target
    atomically with `mode`; on any error the target is left as it was."""
    atomic = AtomicFile(target, mode=mode)
    try:
        yield atomic.tmp
    except BaseException:
        atomic.discard()
        raise
    atomic.commit()


def write_text(target: Target, text: str, *, mode: int = DEFAULT_MODE, encoding: str = "utf-8") -> Path:
    with replacing(target, mode=mode) as tmp:
        with tmp.open("w", encoding=encoding, newline="") as handle:
            handle.write(text)
    return target.path
