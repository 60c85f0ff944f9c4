"""The offline RUC register: SUNAT's padrón reducido, imported whole (`parties.padron_load`)
and looked up locally.

`lookup(session, ruc)` is what the parties lookup chain calls: no permission check (the
caller did it), None when the RUC is not in the register. `get`, `search` and `status` are
the `cuentas padron` commands. On SQLite names are searched through an FTS5 index, on
PostgreSQL with a word regex that a trigram index serves when pg_trgm is available.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from cuentas_cli.errors import NotFound, ValidationError
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

TABLE = "ruc_registry"
STAGING = "ruc_registry_new"
OLD = "ruc_registry_old"
FTS = "ruc_registry_fts"
FTS_STAGING = "ruc_registry_fts_new"
FTS_OLD = "ruc_registry_fts_old"
TRGM_INDEX = "ruc_registry_name_trgm"

PROVIDER_PREFIX = "padrón of "  # how a party lookup answered by the register names its source
ACTIVE_ESTADO = "ACTIVO"
ACTIVE_CONDICION = "HABIDO"


# --- what the register answers --------------------------------------------------------------


@dataclass(frozen=True)
class PadronEntry:
    """One RUC as the padrón has it, with the date of the padrón it came from."""

    ruc: str
    name: str
    estado: str | None
    condicion: str | None
    ubigeo: str | None
    address: str | None
    padron_date: date | None

    @property
    def active(self) -> bool:
        """ACTIVO and HABIDO: what strict mode asks of a RUC."""
        return self.estado == ACTIVE_ESTADO and self.condicion == ACTIVE_CONDICION


@dataclass
class PadronStatus:
    loaded: bool
    row_count: int
    file_name: str | None
    file_date: date | None
    age_days: int | None
    sha256: str | None
    malformed_count: int | None
    duplicate_count: int | None
    imported_at: datetime | None
    imported_by: str | None
    search_index: str
    interrupted_import: bool


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).upper()


# --- reading the register ---------------------------------------------------------------------


_COLUMNS = "ruc, name, detail"


def format_address(fields: list[str]) -> str | None:
    """The padrón's ten address fields in SUNAT's usual reading order, '-' fields left out.

    [AV., LOS PINOS, URB., SANTA ROSA, 123, 4, -, -, -, -] -> 'AV. LOS PINOS NRO. 123 INT. 4 URB. SANTA ROSA'
    """
    parts = [_clean(p) or "" for p in fields] + [""] * 10
    via_type, via_name, zone_code, zone_type, number, interior, lot, dept, block, km = parts[:10]
    words: list[str] = [p for p in (via_type, via_name) if p]
    for label, value in (("NRO.", number), ("INT.", interior), ("DPTO.", dept), ("MZA.", block),
                         ("LOTE.", lot), ("KM.", km)):
        if value:
            words.append(f"{label} {value}")
    words.extend(p for p in (zone_code, zone_type) if p)
    return " ".join(words) or None


def _latest_date(session: "Session") -> date | None:
    from sqlalchemy import text

    value = session.execute(text("SELECT file_date FROM padron_import ORDER BY id DESC LIMIT 1")).scalar()
    if isinstance(value, str):  # SQLite hands dates back as text through a raw SELECT
        return date.fromisoformat(value[:10])
    return value


def _clean(value: str | None) -> str | None:
    """Padrón text with spaces tidied and SUNAT's '-' (empty) as None."""
    if value is None:
        return None
    value = " ".join(value.split())
    return None if value in ("", "-") else value


def _entry(row: Any, padron_date: date | None) -> PadronEntry:
    fields = row[2].split("|")
    fields += [""] * (3 - len(fields))
    return PadronEntry(ruc=row[0], name=_clean(row[1]) or "", estado=_clean(fields[0]), condicion=_clean(fields[1]),
                       ubigeo=_clean(fields[2]), address=format_address(fields[3:13]), padron_date=padron_date)


def lookup(session: "Session", ruc: str) -> PadronEntry | None:
    """The register's entry for a RUC, or None; for the parties lookup chain (no permission check)."""
    ruc = ruc.strip()
    if len(ruc) != 11 or not ruc.isdigit():
        return None
    from cuentas_cli import runtime

    rt = runtime.current_or_none()
    if rt is not None and rt.in_company:  # the padrón is the firm's, loaded once for all its companies
        with rt.firm_connection() as firm:
            return _lookup_in(firm, ruc)
    return _lookup_in(session, ruc)


def _lookup_in(session: "Session", ruc: str) -> PadronEntry | None:
    from sqlalchemy import text

    row = session.execute(text(f"SELECT {_COLUMNS} FROM {TABLE} WHERE ruc = :ruc"), {"ruc": ruc}).first()
    if row is None:
        return None
    return _entry(row, _latest_date(session))


def get(*, session: "Session", actor: Actor | None, ruc: str) -> PadronEntry:
    """`cuentas padron lookup RUC`: the entry, or NotFound naming the padrón's date."""
    from cuentas_cli.rules.identity import validate_ruc

    require(actor, "read")
    ruc = validate_ruc(ruc)
    entry = lookup(session, ruc)
    if entry is None:
        when = _latest_date(session)
        if when is None and not _has_rows(session):
            raise NotFound(_("RUC {ruc}: the padrón is not loaded; import it with `cuentas padron import "
                             "padron_reducido_ruc.zip`").format(ruc=ruc))
        dated = f" of {when.isoformat()}" if when else ""
        raise NotFound(_("RUC {ruc} is not in the padrón{dated}").format(ruc=ruc, dated=dated))
    return entry


def _has_rows(session: "Session") -> bool:
    from sqlalchemy import text

    return session.execute(text(f"SELECT 1 FROM {TABLE} LIMIT 1")).first() is not None


_TOKEN = re.compile(r"\w+", re.UNICODE)
_ACCENTS = {"A": "AÁÀÄÂ", "E": "EÉÈËÊ", "I": "IÍÌÏÎ", "O": "OÓÒÖÔ", "U": "UÚÙÜÛ", "N": "NÑ", "C": "CÇ"}


def _tokens(query: str) -> list[str]:
    tokens = [fold(t) for t in _TOKEN.findall(query)]
    tokens = [t for t in tokens if t]
    if not tokens:
        raise ValidationError(_("search text {query!r} has no letters or digits to search for")
                              .format(query=query))
    return tokens[:8]


def _pg_word_regex(token: str) -> str:
    """A case- and accent-insensitive regex for a word starting with `token` (PostgreSQL ~*)."""
    out = ["\\m"]
    for char in token:
        variants = _ACCENTS.get(char)
        if variants:
            out.append("[" + variants + variants.lower() + "]")
        elif char.isalnum():
            out.append(char)
        else:
            out.append("\\" + char)
    return "".join(out)


def search(*, session: "Session", actor: Actor | None, query: str, limit: int = 20) -> list[PadronEntry]:
    """Names with a word starting with each term of `query` (accents and case ignored), in RUC order.

    SQLite: the FTS5 index built by the import. PostgreSQL: a case-insensitive word regex,
    which the trigram index (pg_trgm) serves when the extension was available.
    """
    from sqlalchemy import text

    require(actor, "read")
    if limit < 1:
        raise ValidationError(_("--limit must be at least 1"))
    tokens = _tokens(query)
    when = _latest_date(session)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        has_fts = session.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"), {"n": FTS}
        ).first()
        if has_fts:
            match = " ".join(f'"{t}"*' for t in tokens)
            rows = session.execute(
                text(f"SELECT {_COLUMNS} FROM {TABLE} WHERE ruc IN (SELECT CAST(rowid AS TEXT) FROM {FTS} "
                     f"WHERE {FTS} MATCH :match ORDER BY rowid LIMIT :limit) ORDER BY ruc"),
                {"match": match, "limit": limit},
            ).all()
        else:  # no import yet: a plain scan of whatever the table holds
            where = " AND ".join(f"(' ' || upper(name)) LIKE :t{i}" for i in range(len(tokens)))
            params: dict[str, Any] = {f"t{i}": f"% {t}%" for i, t in enumerate(tokens)}
            rows = session.execute(
                text(f"SELECT {_COLUMNS} FROM {TABLE} WHERE {where} ORDER BY ruc LIMIT :limit"), {**params, "limit": limit}
            ).all()
    else:
        where = " AND ".join(f"name ~* :t{i}" for i in range(len(tokens)))
        params = {f"t{i}": _pg_word_regex(t) for i, t in enumerate(tokens)}
        rows = session.execute(
            text(f"SELECT {_COLUMNS} FROM {TABLE} WHERE {where} ORDER BY ruc LIMIT :limit"), {**params, "limit": limit}
        ).all()
    return [_entry(r, when) for r in rows]


def status(*, session: "Session", actor: Actor | None, today: date) -> PadronStatus:
    """What is loaded: the last import's file, date, age, counts, and the search index in use."""
    from sqlalchemy import text

    from cuentas_cli.db.models import PadronImport, User

    require(actor, "read")
    last = session.execute(
        text("SELECT id FROM padron_import ORDER BY id DESC LIMIT 1")
    ).scalar()
    row = session.get(PadronImport, last) if last is not None else None
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        names = {r[0] for r in session.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (:a, :b)"), {"a": FTS, "b": STAGING})}
        index = "fts5" if FTS in names else "none"
        interrupted = STAGING in names
    else:
        found = session.execute(text("SELECT to_regclass(:n)"), {"n": TRGM_INDEX}).scalar()
        index = "trigram" if found else "regex scan"
        interrupted = False  # an interrupted import on PostgreSQL is rolled back by the server
    if row is None:
        count = int(session.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar() or 0)
        return PadronStatus(loaded=count > 0, row_count=count, file_name=None, file_date=None, age_days=None,
                            sha256=None, malformed_count=None, duplicate_count=None, imported_at=None,
                            imported_by=None, search_index=index, interrupted_import=interrupted)
    user = session.get(User, row.imported_by) if row.imported_by else None
    return PadronStatus(
        loaded=True, row_count=row.row_count, file_name=row.file_name, file_date=row.file_date,
        age_days=(today - row.file_date).days if row.file_date else None, sha256=row.sha256,
        malformed_count=row.malformed_count, duplicate_count=row.duplicate_count, imported_at=row.imported_at,
        imported_by=user.username if user else None, search_index=index, interrupted_import=interrupted,
    )
