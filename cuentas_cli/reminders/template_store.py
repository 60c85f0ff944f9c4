"""The firm's own reminder templates, stored in the `setting` table under
`notify.template.<level>.<part>` (e.g. `notify.template.7.subject`); a level without one uses the
shipped default (reminders/default_templates/reminder.*.j2, in the language of notify.language).

Saving validates first (templates.validate: syntax, documented names, a render of the sample
context); a refused template is never stored (ValidationError, exit 3, naming the line).
Editing and resetting need the `settings` permission (administrador); reading, `notify`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cuentas_cli.admin import audit
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.config import Config
from cuentas_cli.errors import ValidationError
from cuentas_cli.i18n import _
from cuentas_cli.reminders import templates

if TYPE_CHECKING:
    from sqlmodel import Session

PREFIX = "notify.template."


def key(level: int, part: str) -> str:
    return f"{PREFIX}{int(level)}.{part}"


def custom(session: "Session") -> dict[tuple[int, str], str]:
    """Every stored template: (level, part) -> source."""
    from sqlalchemy import select

    from cuentas_cli.db.models import Setting

    table = Setting.__table__
    found: dict[tuple[int, str], str] = {}
    for name, value in session.execute(select(table.c.key, table.c.value).where(table.c.key.like(PREFIX + "%"))):
        level_text, _dot, part = name[len(PREFIX):].rpartition(".")
        try:
            found[(int(level_text), part)] = value
        except ValueError:
            continue
    return found


def source(stored: dict[tuple[int, str], str], level: int, part: str) -> tuple[str, bool]:
    """(the template of this level and part, whether it is the firm's own)."""
    if (level, part) in stored:
        return stored[(level, part)], True
    return templates.default_source("reminder", part), False


def _settings(session: "Session", config: Config) -> tuple[list[int], str, object]:
    from cuentas_cli.admin import settings

    return (list(settings.get(session, config, "notify.levels")), settings.get(session, config, "notify.language"),
            settings.get(session, config, "notify.channels"))


def check_level(raw: str | int, levels: list[int]) -> int:
    try:
        level = int(str(raw).strip())
    except ValueError:
        raise ValidationError(_("{level!r} is not a reminder level; the levels are {levels} (notify.levels)")
                              .format(level=raw, levels=",".join(map(str, levels)))) from None
    if level not in levels:
        raise ValidationError(_("level {level} is not one of notify.levels ({levels}); add it with `cuentas "
                                "settings set notify.levels ...` first")
                              .format(level=level, levels=",".join(map(str, levels))))
    return level


def check_part(part: str) -> str:
    value = part.strip().lower()
    if value not in templates.PARTS:
        raise ValidationError(_("--part {part!r}: use subject, text or html").format(part=part))
    return value


@dataclass
class TemplateRow:
    level: int
    channels: str
    subject: str
    text: str
    html: str


def listing(*, session: "Session", actor: Actor | None, config: Config) -> list[TemplateRow]:
    """Each level with its channels and, per part, whether the firm's own or the default is used."""
    require(actor, "notify")
    levels, _language, plan = _settings(session, config)
    stored = custom(session)
    rows = []
    for level in levels:
        kinds = [_("custom") if (level, part) in stored else _("default") for part in templates.PARTS]
        rows.append(TemplateRow(level, plan.for_level(level).text(), *kinds))
    return rows


@dataclass
class Shown:
    level: int
    part: str
    custom: bool
    source: str


def show(*, session: "Session", actor: Actor | None, config: Config, level: str | int,
         parts: tuple[str, ...] = templates.PARTS, sample: bool = False) -> list[Shown]:
    """Each part's source, or (`sample`) the part rendered with the sample context."""
    require(actor, "notify")
    levels, language, _plan = _settings(session, config)
    number = check_level(level, levels)
    stored = custom(session)
    shown = []
    for part in parts:
        text, own = source(stored, number, part)
        if sample:
            try:
                text = templates.render(text, templates.sample_context(language), part=part, language=language)
            except templates.TemplateProblem as problem:
                raise ValidationError(_("template {level}/{part}, line {line}: {problem}")
                                      .format(level=number, part=part, line=problem.line,
                                              problem=_(problem.message))) from None
        shown.append(Shown(number, part, own, text))
    return shown


def may_edit(actor: Actor | None) -> None:
    """Refuse at once (before an editor opens) whoever may not change templates."""
    require(actor, "settings")


def problem_text(level: int, part: str, problem: templates.TemplateProblem) -> str:
    if problem.line:
        return (_("template {level}/{part}, line {line}: {problem}; nothing was stored")
                .format(level=level, part=part, line=problem.line, problem=_(problem.message)))
    return _("template {level}/{part}: {problem}; nothing was stored").format(level=level, part=part,
                                                                               problem=_(problem.message))


def save(*, session: "Session", actor: Actor | None, config: Config, level: str | int, part: str,
         text: str) -> int:
    """Validate and store one part of a level's template; returns the level."""
    from cuentas_cli.db.models import Setting, utcnow

    require(actor, "settings")
    levels, language, _plan = _settings(session, config)
    number = check_level(level, levels)
    part = check_part(part)
    if not text.strip():
        raise ValidationError(_("the template is empty; nothing was stored (`cuentas notify templates reset "
                                "{level}` goes back to the default)").format(level=number))
    try:
        templates.validate(text, part=part, language=language)
    except templates.TemplateProblem as problem:
        raise ValidationError(problem_text(number, part, problem)) from None
    name = key(number, part)
    row = session.get(Setting, name)
    before = {"value": row.value} if row else None
    if row is None:
        row = Setting(key=name, value=text, updated_by=actor.user_id)
    else:
        row.value, row.updated_at, row.updated_by = text, utcnow(), actor.user_id
    session.add(row)
    audit.record(session, actor, action="notify.template.edit", entity="setting", entity_id=name,
                 before=before, after={"value": text})
    return number


def reset(*, session: "Session", actor: Actor | None, config: Config, level: str | int,
          part: str | None = None) -> int:
    """Drop the firm's template of a level (one part, or all three); returns how many were dropped."""
    from sqlalchemy import delete

    from cuentas_cli.db.models import Setting

    require(actor, "settings")
    levels, _language, _plan = _settings(session, config)
    stored = custom(session)
    try:
        number = check_level(level, levels)
    except ValidationError:
        # a level removed from notify.levels may still have a stored template: it can be reset
        number = int(str(level).strip()) if str(level).strip().lstrip("-").isdigit() else None
        if number is None or not any(lvl == number for lvl, _part in stored):
            raise
    parts = [check_part(part)] if part else list(templates.PARTS)
    names = [key(number, p) for p in parts if (number, p) in stored]
    if names:
        table = Setting.__table__
        session.execute(delete(table).where(table.c.key.in_(names)))
        audit.record(session, actor, action="notify.template.reset", entity="setting", entity_id=key(number, "*"),
                     before={n: stored[(number, n.rpartition(".")[2])] for n in names})
    return len(names)
