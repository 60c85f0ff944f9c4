"""Asking the provider again about many parties (`clients refresh`): a bounded pool of threads
asks while the answers are stored in short write transactions, so no network call runs
inside a write transaction and a failed lookup never changes stored data."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cuentas_cli.errors import CuentasError, ExternalError, NotFound, ValidationError
from cuentas_cli.admin import audit
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.parties.lookup import apply_info, is_fresh, lookup_settings, open_provider
from cuentas_cli.parties.records import audit_view, aware, normalise_kind, utcnow
from cuentas_cli.parties.service import get_party
from cuentas_cli.rules.identity import LOOKUP_DOC_TYPES, doc_type_label
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

    from cuentas_cli.config import Config
    from cuentas_cli.integrations.lookup import PartyInfo, Provider

DEFAULT_WORKERS = 6
MAX_WORKERS = 16


@dataclass
class RefreshItem:
    """One party's refresh result: updated, unchanged, skipped or failed (with the reason)."""

    id: int
    kind: str
    doc_type: str
    doc_number: str
    name: str
    result: str
    reason: str | None = None
    changed: str | None = None  # the fields that changed, comma separated


@dataclass
class RefreshSummary:
    items: list[RefreshItem] = field(default_factory=list)
    errors: dict[int, CuentasError] = field(default_factory=dict)  # party id -> the lookup's error
    provider: str = ""

    def count(self, result: str) -> int:
        return sum(1 for i in self.items if i.result == result)

    @property
    def failed(self) -> list[RefreshItem]:
        return [i for i in self.items if i.result == "failed"]


@dataclass(frozen=True)
class _Target:
    id: int
    kind: str
    doc_type: str
    doc_number: str
    name: str


SessionFactory = Callable[..., AbstractContextManager["Session"]]


def refresh_parties(
    *,
    sessions: SessionFactory,
    actor: Actor | None,
    config: "Config",
    kind: str,
    refs: list[str] | None = None,
    all_parties: bool = False,
    older_than_days: int | None = None,
    force: bool = False,
    workers: int = DEFAULT_WORKERS,
    provider: "Provider | None" = None,
    now: datetime | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    batch_size: int = 200,
) -> RefreshSummary:
    """Ask the provider again about some parties (`refs`) or all of a kind, in a pool of
    `workers` threads, and store the answers in short write transactions of `batch_size`.

    Stored answers younger than `older_than_days` (default lookup.max_age_days) are kept
    unless `force`. A party whose lookup fails keeps everything it had; the failure and its
    reason are in the summary. A refused token stops the run at once (every later lookup
    would fail the same way) after storing what was already answered.
    `sessions(write=...)` opens a transaction (the runtime's `session`).
    """
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from sqlalchemy import or_, select

    from cuentas_cli.db.models import Party
    from cuentas_cli.integrations.lookup import TokenInvalid, TokenMissing

    if not refs and not all_parties:
        raise ValidationError(_("give one or more documents, or --all"))
    if refs and all_parties:
        raise ValidationError(_("give documents or --all, not both"))
    if not 1 <= workers <= MAX_WORKERS:
        raise ValidationError(_("--workers: from 1 to {MAX_WORKERS}").format(MAX_WORKERS=MAX_WORKERS))
    if older_than_days is not None and older_than_days < 0:
        raise ValidationError(_("--older-than: give a number of days, 0 or more"))
    kind = normalise_kind(kind)
    now = now or utcnow()
    summary = RefreshSummary()
    targets: list[_Target] = []
    with sessions() as session:
        require(actor, "parties.write")
        options = lookup_settings(session, config)
        max_age = options.max_age_days if older_than_days is None else older_than_days
        if refs:
            for ref in dict.fromkeys(r.strip() for r in refs):
                party = get_party(session, kind=kind, ref=ref)
                target = _Target(party.id, party.kind, party.doc_type, party.doc_number, party.name)
                if party.doc_type not in LOOKUP_DOC_TYPES:
                    summary.items.append(_item(target, "skipped", _("a {document} cannot be looked up")
                                               .format(document=doc_type_label(party.doc_type))))
                elif not force and party.source == "provider" and is_fresh(party.verified_at, max_age, now):
                    age = (now - aware(party.verified_at)).days
                    summary.items.append(_item(target, "unchanged",
                                               _("verified {age} days ago (younger than {max_age}); --force asks "
                                                 "again").format(age=age, max_age=max_age)))
                else:
                    targets.append(target)
        else:
            query = select(Party.id, Party.kind, Party.doc_type, Party.doc_number, Party.name).where(
                Party.kind == kind, Party.doc_type.in_(LOOKUP_DOC_TYPES)).order_by(Party.id)
            if not force:
                cutoff = now - timedelta(days=max_age)
                query = query.where(or_(Party.verified_at.is_(None), Party.source != "provider",
                                        Party.verified_at < cutoff))
            targets = [_Target(*row) for row in session.execute(query).all()]
    if not targets:
        return summary
    owned = provider is None
    provider = provider or open_provider(options)
    summary.provider = provider.name
    pending: list[tuple[_Target, "PartyInfo"]] = []
    stop: CuentasError | None = None
    done = 0
    try:
        with ThreadPoolExecutor(max_workers=min(workers, len(targets)), thread_name_prefix="lookup") as pool:
            futures = {pool.submit(provider.lookup, t.doc_type, t.doc_number): t for t in targets}
            for future in as_completed(futures):
                target = futures[future]
                done += 1
                try:
                    pending.append((target, future.result()))
                except (TokenInvalid, TokenMissing) as exc:
                    summary.items.append(_item(target, "failed", exc.message))
                    summary.errors[target.id] = exc
                    stop = exc
                    for other in futures:
                        other.cancel()
                    break
                except CuentasError as exc:
                    summary.items.append(_item(target, "failed", exc.message))
                    summary.errors[target.id] = exc
                if len(pending) >= batch_size:
                    _store_batch(sessions, actor, pending, summary, now, provider.name)
                    pending = []
                if on_progress is not None:
                    on_progress(done, len(targets))
        if pending:
            _store_batch(sessions, actor, pending, summary, now, provider.name)
    finally:
        if owned:
            provider.close()
    if stop is not None:
        asked = {i.id for i in summary.items}
        for target in targets:
            if target.id not in asked:
                summary.items.append(_item(target, "failed", "not asked: the provider refused the token"))
        raise stop
    return summary


def _item(target: _Target, result: str, reason: str | None = None, changed: str | None = None) -> RefreshItem:
    return RefreshItem(target.id, target.kind, target.doc_type, target.doc_number, target.name, result, reason, changed)


def _store_batch(sessions: SessionFactory, actor: Actor | None, answers: list[tuple[_Target, "PartyInfo"]],
                 summary: RefreshSummary, now: datetime, provider_name: str) -> None:
    """Store one batch of answers in one short write transaction."""
    from cuentas_cli.db.models import Party

    items: list[RefreshItem] = []
    from sqlmodel import select

    with sessions(write=True) as session:
        ids = [target.id for target, _ in answers]
        loaded = {p.id: p for p in session.exec(select(Party).where(Party.id.in_(ids))).all()}
        for target, info in answers:
            party = loaded.get(target.id)
            if party is None:
                items.append(_item(target, "failed", "deleted while the refresh ran"))
                continue
            before = audit_view(party)
            changes = apply_info(party, info, now)
            session.add(party)
            if changes:
                audit.record(session, actor, action="party.refresh", entity="party", entity_id=party.id,
                             before={k: before[k] for k in changes}, after={k: v[1] for k, v in changes.items()})
                items.append(_item(target, "updated", None, ",".join(changes)))
            else:
                items.append(_item(target, "unchanged"))
        counts = {r: sum(1 for i in items if i.result == r) for r in ("updated", "unchanged")}
        audit.record(session, actor, action="party.verify", entity="party", entity_id=None,
                     after={"provider": provider_name, "verified": len(answers), **counts})
    summary.items.extend(items)


def refresh_exit_error(summary: RefreshSummary, noun: str) -> CuentasError | None:
    """The error a command ends with when some lookups failed (None when none did)."""
    failed = summary.failed
    if not failed:
        return None
    if len(summary.items) == 1:
        return summary.errors.get(failed[0].id) or ExternalError(failed[0].reason or "lookup failed")
    total = len(summary.items)
    all_not_found = all(isinstance(summary.errors.get(i.id), NotFound) for i in failed)
    cls = NotFound if all_not_found else ExternalError
    return cls(f"{len(failed)} of {total} lookups failed; their stored data was kept; "
               f"run `cuentas {noun} refresh --all` again later")
