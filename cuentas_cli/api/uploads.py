"""Files sent to the API: kept in a private temporary folder under a safe name, no larger than
MAX_UPLOAD_BYTES, then handed to the same import pipeline as `cuentas import FILE` (its checks of
zip bombs, XML entities, far cells and malformed rows apply unchanged), and removed."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cuentas_cli.errors import CuentasError, ExitCode, UsageError
from cuentas_cli.i18n import _

MAX_UPLOAD_BYTES = 256 * 1024 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class TooLarge(CuentasError):
    exit_code = ExitCode.VALIDATION
    http_status = 413


def safe_name(raw: str | None) -> str:
    """The upload's own name without any folder, as plain characters (its suffix tells the format)."""
    name = _SAFE.sub("_", Path((raw or "").replace("\\", "/")).name).lstrip(".")
    return name[:120] or "upload.csv"


@contextmanager
def saved(upload: Any) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="cuentas-upload-"))  # 0700
    try:
        path = folder / safe_name(upload.filename)
        written = 0
        with path.open("wb") as out:
            while chunk := upload.file.read(1024 * 1024):
                written += len(chunk)
                if written > MAX_UPLOAD_BYTES:
                    raise TooLarge(_("the file is larger than {mib} MiB; import it with `cuentas import` on the "
                                     "server").format(mib=MAX_UPLOAD_BYTES // (1024 * 1024)))
                out.write(chunk)
        if written == 0:
            raise UsageError(_("the upload holds no file (multipart field `file`)"))
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_import(rt: Any, path: Path, *, kind: str | None, sheet: str | None, on_duplicate: str, dry_run: bool) -> Any:
    """`cuentas import`'s transaction: permissions first, all rows or none, a dry run rolled back."""
    from cuentas_cli.imports import context, pipeline

    if on_duplicate not in context.ON_DUPLICATE:
        raise UsageError(_("--on-duplicate {on_duplicate!r}: use skip, update or error").format(on_duplicate=on_duplicate))
    options = context.Options(kind=kind, sheet=sheet, on_duplicate=on_duplicate, dry_run=dry_run)

    class _DryRun(Exception):
        pass

    holder: dict[str, Any] = {}
    try:
        with rt.session(write=True) as session:
            actor = rt.actor(session)
            pipeline.check_permissions(actor, options)
            holder["result"] = pipeline.import_file(session=session, actor=actor, path=path, options=options,
                                                    today=rt.today, progress=None, config=rt.config)
            if dry_run:
                raise _DryRun()
    except _DryRun:
        pass
    result = holder["result"]
    result.committed = not dry_run
    result.errors = []
    return result
