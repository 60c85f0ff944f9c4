"""The demo company: a fresh SQLite database filled through the real services.

Users of the three roles, the company settings, June 2026's exchange rates, the clients and
suppliers of `examples/terceros.csv`, then the example files imported by the real importer
(CSV, XLSX, a SUNAT PLE register and a file read with a column mapping) and the payments of
`examples/pagos.csv` recorded by the payments service. Nothing here bypasses a permission
check or an audit record: the demo's audit log shows how it was built.

The demo's password is printed on the screen and is for the demo only.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import Conflict, UsageError
from cuentas_cli.ops import demo_data
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

    from cuentas_cli.config import Config
    from cuentas_cli.admin.auth import Actor

DEMO_PASSWORD = "demo-cuentas-2026"  # printed on the screen: for the demo database only
USERS = (("demo-admin", "administrador"), ("demo-contador", "contador"), ("demo-gerente", "gerente"))
MARKER = ".cuentas-demo"
DB_NAME = "cuentas.db"
SESSION_FILE = "session"
REPO_EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass
class DemoResult:
    folder: Path | None  # the demo's folder; None for a company filled into another database
    url: str
    today: date
    token: str  # demo-admin's login session
    examples: Path
    users: tuple[tuple[str, str], ...] = USERS
    password: str = DEMO_PASSWORD
    counts: dict[str, int] = field(default_factory=dict)
    imports: list[dict[str, Any]] = field(default_factory=list)


def default_folder() -> Path:
    """`demo` under the data dir (CUENTAS_HOME when set)."""
    from cuentas_cli.config import home_dirs

    return home_dirs()[1] / "demo"


def database_url(folder: Path) -> str:
    return f"sqlite:///{(folder / DB_NAME).resolve()}"


DEMO_FILES = (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", DB_NAME + "-journal", DB_NAME + ".notify.lock",
              SESSION_FILE, MARKER)


def check_folder(folder: Path, *, database_url: str | None = None) -> None:
    """Refuse a folder the demo may not use: only a missing folder, an empty one or one an
    earlier `cuentas demo` made (it holds the marker file) is used; never a symbolic link,
    a file, a folder holding anything else, or the place of the active database's files."""
    from cuentas_cli import outputs

    given = Path(folder).expanduser()
    if given.is_symlink():
        raise UsageError(_("--dir {given}: is a symbolic link; give the real folder's path")
                         .format(given=given))
    folder = Path(os.path.abspath(given))
    what = outputs.protected_as(folder, database_url=database_url)
    if what:
        raise UsageError(_("--dir {folder}: is {what}; give a new or empty folder")
                         .format(folder=folder, what=what))
    if not folder.exists():
        return
    if not folder.is_dir():
        raise UsageError(_("--dir {folder}: exists and is not a folder").format(folder=folder))
    db = folder / DB_NAME
    marked = (folder / MARKER).is_file() and not (folder / MARKER).is_symlink()
    if not marked:
        if os.path.lexists(db):
            raise Conflict(
                _("{db} is a cuentas database that `cuentas demo` did not make; refusing to overwrite "
                  "it. Choose another folder with `cuentas demo --dir PATH`")
                .format(db=db)
            )
        if any(folder.iterdir()):
            raise UsageError(_("--dir {folder}: the folder is not empty and was not made by `cuentas "
                               "demo`; give a new or empty folder")
                             .format(folder=folder))
        return
    for name in DEMO_FILES:
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            raise UsageError(_("--dir {folder}: {name} there is a folder; the demo will not remove it")
                             .format(folder=folder, name=name))


def prepare_folder(folder: Path) -> None:
    """Make `folder` ready for a fresh demo database: a new folder is made 0700; an existing
    one (empty, or an earlier demo's) keeps its permissions, and only the demo's own files in
    it are removed. The marker goes in first, so a failed run can be replaced by the next."""
    check_folder(folder)
    from cuentas_cli.db.engine import dispose_engines

    dispose_engines()  # an engine still open on an earlier demo file
    if not folder.exists():
        from cuentas_cli.config import ensure_private_dir

        ensure_private_dir(folder)
    else:
        for name in DEMO_FILES:
            path = folder / name
            if os.path.lexists(path):
                path.unlink()
    fd = os.open(folder / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("made by `cuentas demo`; the folder's database may be replaced by the next run\n")


def examples_folder(folder: Path) -> Path:
    """The repository's examples/ when cuentas runs from a checkout; otherwise the same files,
    generated from the same seed into the demo folder."""
    if all((REPO_EXAMPLES / name).is_file() for name in demo_data.DEMO_FILES):
        return REPO_EXAMPLES
    target = folder / "examples"
    demo_data.write_all(target)
    return target


def demo_config(url: str, today: date) -> "Config":
    from cuentas_cli.config import Config

    return Config(database_url=url, database_url_source="demo", today=today)


def create_demo(*, folder: Path, today: date = demo_data.DEMO_TODAY) -> DemoResult:
    """Build the demo company in `folder` and log demo-admin in; returns the session token."""
    folder = folder.expanduser().resolve()
    prepare_folder(folder)
    url = database_url(folder)
    return fill_company(url=url, examples=examples_folder(folder), today=today, folder=folder)


def fill_company(*, url: str, examples: Path, today: date = demo_data.DEMO_TODAY,
                 folder: Path | None = None) -> DemoResult:
    """The demo company's data in the (new, empty) database at `url`, on either backend; the
    benchmarks build it on PostgreSQL too. Returns demo-admin's login session."""
    from cuentas_cli.db import migrate
    from cuentas_cli.db.engine import get_engine, open_session
    from cuentas_cli.admin import auth
    from cuentas_cli.admin import settings
    from cuentas_cli.admin import users

    config = demo_config(url, today)
    migrate.upgrade(get_engine(url, create=True))

    with open_session(url, write=True) as session:
        (admin_name, _), *others = USERS
        admin = users.create_first_admin(session=session, username=admin_name, password=DEMO_PASSWORD)
        actor = auth.actor_for(session, admin)
        for name, role in others:
            users.add_user(session=session, actor=actor, username=name, role=role, password=DEMO_PASSWORD)
        settings.set_shared(session=session, actor=actor, key="company.name", raw=demo_data.COMPANY_NAME)
        settings.set_shared(session=session, actor=actor, key="company.ruc", raw=demo_data.COMPANY_RUC)
        _record_rates(session, actor, today)
        _add_parties(session, actor, config, examples / demo_data.PARTIES_FILE)

    result = DemoResult(folder=folder, url=url, today=today, token="", examples=examples)
    for name, options in _imports(examples):
        with open_session(url, write=True) as session:
            actor = _actor(session, admin_name)
            imported = _import(session, actor, config, examples / name, options, today)
        result.imports.append(imported)

    with open_session(url, write=True) as session:
        actor = _actor(session, admin_name)
        _record_payments(session, actor, examples / demo_data.PAYMENTS_FILE, today)

    with open_session(url, write=True) as session:
        hours = settings.get(session, config, "session.hours")
        result.token = users.login(session=session, username=admin_name, password=DEMO_PASSWORD, hours=hours).token
        result.counts = _counts(session, today)
    return result


def _actor(session: "Session", username: str) -> "Actor":
    from cuentas_cli.admin import auth
    from cuentas_cli.admin import users

    return auth.actor_for(session, users.get_user(session, username))


def _record_rates(session: "Session", actor: "Actor", today: date) -> None:
    """The USD rates the offline provider knows for the demo's month (SUNAT's shapes, fictitious values)."""
    from datetime import timedelta

    from cuentas_cli.integrations.lookup import LookupNotFound, Offline
    from cuentas_cli.ledger import fx

    provider = Offline()
    day = today.replace(day=1)
    while day <= today:
        try:
            info = provider.exchange_rate(day)
        except LookupNotFound:
            info = None
        if info is not None and info.rate_date == day:
            fx.store_fetched(session=session, actor=actor, info=info)
        day += timedelta(days=1)


def _add_parties(session: "Session", actor: "Actor", config: "Config", path: Path) -> None:
    from cuentas_cli.parties import service as parties

    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            parties.add_party(session=session, actor=actor, config=config, kind=row["tipo"], doc_type="6",
                              doc_number=row["ruc"], name=row["razon_social"], email=row["email"] or None,
                              phone=row["telefono"] or None, address=row["direccion"] or None, lookup=False)


def _imports(examples: Path) -> list[tuple[str, dict[str, Any]]]:
    return [
        (demo_data.SALES_FILE, {}),
        (demo_data.PURCHASES_FILE, {}),
        (demo_data.PLE_FILE, {}),
        (demo_data.LEGACY_FILE, {"mapping_path": examples / demo_data.MAPPING_FILE}),
    ]


def _import(session: "Session", actor: "Actor", config: "Config", path: Path, options: dict[str, Any],
            today: date) -> dict[str, Any]:
    from cuentas_cli.imports import context, pipeline

    result = pipeline.import_file(session=session, actor=actor, path=path, options=context.Options(**options),
                                  today=today, config=config)
    return result.summary()


def _record_payments(session: "Session", actor: "Actor", path: Path, today: date) -> int:
    """pagos.csv: one `pay_many` per invoice (all its payments at once, each checked)."""
    from datetime import date as date_type

    from sqlalchemy import select

    from cuentas_cli.db.models import Invoice, Party
    from cuentas_cli.ledger import payments

    direction = {"cxc": "receivable", "cxp": "payable"}
    grouped: dict[tuple[str, str, str, int], list[tuple[str, date, str, str]]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key = (direction[row["tipo"]], row["ruc"], row["serie"], int(row["numero"]))
            grouped.setdefault(key, []).append(
                (row["monto"], date_type.fromisoformat(row["fecha_pago"]), row["medio"], row["referencia"]))
    ids = {
        (r.direction, r.doc_number, r.serie, r.numero): r.id
        for r in session.execute(
            select(Invoice.id, Invoice.direction, Party.doc_number, Invoice.serie, Invoice.numero)
            .join(Party, Party.id == Invoice.party_id)
            .where(Invoice.doc_type == "01")
        )
    }
    for key, items in grouped.items():
        payments.pay_many(session=session, actor=actor, today=today, ref=str(ids[key]), items=items)
    return sum(len(items) for items in grouped.values())


def _counts(session: "Session", today: date) -> dict[str, int]:
    from sqlalchemy import func, select

    from cuentas_cli.db.models import Invoice, Party, Payment

    def scalar(query: Any) -> int:
        return int(session.execute(query).scalar() or 0)

    return {
        "clients": scalar(select(func.count()).select_from(Party).where(Party.kind == "client")),
        "suppliers": scalar(select(func.count()).select_from(Party).where(Party.kind == "supplier")),
        "invoices": scalar(select(func.count()).select_from(Invoice)),
        "payments": scalar(select(func.count()).select_from(Payment)),
        "overdue": scalar(select(func.count()).select_from(Invoice).where(Invoice.status == "VENCIDA")),
    }


def env_lines(result: DemoResult, *, session_file: Path | None) -> list[str]:
    """The shell lines that point later commands at the demo (and at its login session)."""
    import shlex

    lines = [f"export CUENTAS_DATABASE_URL={shlex.quote(result.url)}", f"export CUENTAS_TODAY={result.today.isoformat()}"]
    if session_file is not None:
        lines.append(f"export CUENTAS_SESSION_FILE={shlex.quote(str(session_file))}")
    elif os.environ.get("CUENTAS_SESSION_FILE") or os.environ.get("CUENTAS_TOKEN"):
        lines.append("unset CUENTAS_SESSION_FILE CUENTAS_TOKEN")
    return lines
