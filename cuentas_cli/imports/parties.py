"""The clients and suppliers an import names: found by their RUC/DNI, created when unknown
(with the file's name for them, or through the lookup provider with --lookup or in strict
mode), and the party's part of each invoice's unique key.
"""

from __future__ import annotations


from cuentas_cli.admin.auth import require
from cuentas_cli.errors import ValidationError
from cuentas_cli.imports.context import Job, sqlite_ts


class PartyResolver:
    """(kind, doc type, doc) -> party id for the rows of one import, chunk by chunk."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.party_ids: dict[tuple[str, str, str], int] = {}
        # (kind, doc type, doc) -> (party id, its part of the invoice key), for the parties above
        self.party_keys = _PartyKeys(self.party_ids)
        self.strict = _strict_mode(job)
        self.provider = None

    def close(self) -> None:
        if self.provider is not None:
            self.provider.close()

    def resolve(self, pending: list[tuple]) -> None:
        """Find or create the parties of a chunk's records; a row whose party cannot be had is
        a row error (and its key stays out of party_keys)."""
        from sqlalchemy import bindparam, text

        known = self.party_ids
        if not {rec[19] for _, rec, _ in pending}.difference(known):
            return
        wanted: dict[tuple[str, str, str], tuple[int, str | None, list]] = {}
        for row_no, rec, cells in pending:
            key = rec[19]
            if key in known:
                continue
            current = wanted.get(key)
            if current is None:
                wanted[key] = (row_no, rec[3], [(row_no, cells)])
            else:
                current[2].append((row_no, cells))
                if not current[1] and rec[3]:
                    wanted[key] = (current[0], rec[3], current[2])
        if not wanted:
            return
        by_kind: dict[str, list[str]] = {}
        for kind, _doc_type, doc in wanted:
            by_kind.setdefault(kind, []).append(doc)
        query = text("SELECT id, kind, doc_type, doc_number FROM party WHERE kind = :kind AND doc_number IN :docs").bindparams(
            bindparam("docs", expanding=True))
        for kind, docs in by_kind.items():
            for start in range(0, len(docs), 500):
                for pid, k, dt, dn in self.job.session.execute(query, {"kind": kind, "docs": docs[start:start + 500]}):
                    self.party_ids[(k, dt, dn)] = pid
        missing = [key for key in wanted if key not in self.party_ids]
        if not missing:
            return
        # Creating clients or suppliers is the permission of `clients add`, checked at the first
        # unknown RUC/DNI, before any party is written (the import is one transaction).
        require(self.job.actor, "parties.write")
        if (self.strict or self.job.options.lookup) and self.job.config is not None:
            self._ensure_parties(missing, wanted)
            return
        create = []
        for key in missing:
            first_row, name, rows = wanted[key]
            problem = None
            if self.strict:
                problem = (f"{key[2]} is not a known {key[0]}, and validation.strict is on: add it first with "
                           f"`cuentas {'clients' if key[0] == 'client' else 'suppliers'} add --ruc {key[2]} --lookup`")
            elif not name:
                problem = (f"{key[2]} is not a known {key[0]} and the file gives no name for it "
                           "(add a razon_social column, or add the party first)")
            if problem:
                for row_no, cells in rows:
                    self.job.error(row_no, self.job.doc_column, key[2], problem, cells)
                continue
            create.append((key[0], key[1], key[2], name))
        if not create:
            return
        now = self.job.stamp if not self.job.sqlite else sqlite_ts(self.job.stamp)
        self.job.session.execute(
            text("INSERT INTO party (kind, doc_type, doc_number, name, source, is_retention_agent, is_good_taxpayer, "
                 "created_at, updated_at) VALUES (:kind, :doc_type, :doc, :name, 'import', false, false, :now, :now)"),
            [{"kind": k, "doc_type": dt, "doc": dn, "name": nm, "now": now} for k, dt, dn, nm in create],
        )
        self.job.result.parties_created += len(create)
        for kind in {c[0] for c in create}:
            docs = [c[2] for c in create if c[0] == kind]
            for start in range(0, len(docs), 500):
                for pid, k, dt, dn in self.job.session.execute(query, {"kind": kind, "docs": docs[start:start + 500]}):
                    self.party_ids[(k, dt, dn)] = pid

    def _ensure_parties(self, missing: list[tuple[str, str, str]], wanted: dict) -> None:
        """--lookup or validation.strict: new parties go through the parties service, which asks
        the lookup provider (with its cache) and applies strict mode, one party at a time."""
        from cuentas_cli.errors import ExternalError, NotFound
        from cuentas_cli.parties import lookup as party_lookup
        from cuentas_cli.parties import service as parties

        if self.provider is None and self.job.options.lookup:
            self.provider = party_lookup.open_provider(party_lookup.lookup_settings(self.job.orm(), self.job.config))
        for key in missing:
            kind, doc_type, doc = key
            _, name, rows = wanted[key]
            try:
                made = parties.ensure_party(self.job.orm(), self.job.actor, config=self.job.config, kind=kind,
                                            doc_type=doc_type, doc_number=doc, name=name or None, lookup=True, provider=self.provider,
                                            source="import")
            except (ValidationError, NotFound, ExternalError) as exc:
                for row_no, cells in rows:
                    self.job.error(row_no, self.job.doc_column, doc, exc.message, cells)
                continue
            self.party_ids[key] = made.party.id
            if made.created:
                self.job.result.parties_created += 1


def _strict_mode(job: Job) -> bool:
    from sqlalchemy import text

    if job.config is not None:
        from cuentas_cli.admin import settings

        return bool(settings.get(job.session, job.config, "validation.strict"))

    row = job.session.execute(text("SELECT value FROM setting WHERE key = 'validation.strict'")).first()
    return bool(row) and str(row[0]).strip().lower() in {"true", "yes", "1", "on", "si", "sí"}


def party_kind(direction: str) -> str:
    return "client" if direction == "receivable" else "supplier"


# The invoice's unique key (direction, party, document type, serie, número) packed exactly into
# one integer, to tell a document that appears twice in a file (a set of a million of these
# takes a fraction of the memory of a set of tuples). A serie is 4 characters of [0-9A-Z], so a
# base-36 number below 36**4; a número is below 10**8. The key is the party's part plus the
# document's part plus the número; each part is computed once per party and per serie.


def document_key_part(doc_type: str, serie: str) -> int:
    return (int(doc_type) * 1_679_616 + int(serie, 36)) * 100_000_000


def party_key_part(direction: str, party_id: int) -> int:
    return (party_id * 2 + (direction == "payable")) * 100 * 1_679_616 * 100_000_000


class _PartyKeys(dict):
    """(kind, doc type, doc) -> (party id, party_key_part()), derived from the party ids on
    first use."""

    def __init__(self, party_ids: dict[tuple[str, str, str], int]) -> None:
        super().__init__()
        self.party_ids = party_ids

    def __missing__(self, key: tuple[str, str, str]) -> tuple[int, int] | None:
        party_id = self.party_ids.get(key)
        if party_id is None:
            return None  # not remembered: the party may be created by a later chunk
        found = self[key] = (party_id, party_key_part("payable" if key[0] == "supplier" else "receivable", party_id))
        return found

