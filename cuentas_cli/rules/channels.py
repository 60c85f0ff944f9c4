"""`notify.channels`: which reminder levels go where. A pure text rule (configuration parses it).

Syntax: entries separated by `;`, each `LEVEL:CHANNEL[,CHANNEL...]`, LEVEL a day offset from the
due date as in `notify.levels` (-3, 0, 7...) or `*` for every level not named:

    -3:email;0:email,staff;7:email,staff,webhook;30:digest

Channels:
- `email`   the reminder e-mail: to the client for a receivable, to the staff for a payable;
- `staff`   the staff (notify.staff_emails) in copy of the client's e-mail (needs `email`);
- `webhook` a post to notify.webhook_url (when it is set);
- `attach`  the client's statement of account goes attached (needs `email`);
- `digest`  nothing is sent at this level: the invoice shows only in the staff's daily digest
            (which lists every overdue invoice anyway). It stands alone.

Empty (the default), or a level neither named nor covered by `*`: `email,staff,webhook`, which is
what every level did before the setting existed.
"""

from __future__ import annotations

from dataclasses import dataclass

CHANNEL_NAMES = ("email", "staff", "webhook", "attach", "digest")
EVERY = "*"


@dataclass(frozen=True)
class LevelChannels:
    email: bool = True
    staff: bool = True
    webhook: bool = True
    attach: bool = False

    @property
    def digest_only(self) -> bool:
        return not (self.email or self.webhook)

    def text(self) -> str:
        names = [name for name in ("email", "staff", "webhook", "attach") if getattr(self, name)]
        return ",".join(names) or "digest"


DEFAULT = LevelChannels()


@dataclass(frozen=True)
class ChannelPlan:
    """The parsed setting: per-level channels, `other` for levels not named."""

    levels: tuple[tuple[int, LevelChannels], ...] = ()
    other: LevelChannels = DEFAULT

    def for_level(self, level: int) -> LevelChannels:
        for named, channels in self.levels:
            if named == level:
                return channels
        return self.other

    def named_levels(self) -> list[int]:
        return [level for level, _ in self.levels]

    def __str__(self) -> str:
        parts = [f"{level}:{channels.text()}" for level, channels in self.levels]
        if self.other != DEFAULT or not parts:
            parts.append(f"{EVERY}:{self.other.text()}")
        return ";".join(parts)


def _entry(raw: str) -> tuple[str, LevelChannels]:
    level_text, colon, names_text = raw.partition(":")
    level_text = level_text.strip()
    if not colon or not level_text:
        raise ValueError(f"{raw.strip()!r}: write LEVEL:CHANNELS, e.g. 7:email,staff")
    if level_text != EVERY:
        try:
            int(level_text)
        except ValueError:
            raise ValueError(f"{level_text!r} is not a level (a day offset such as -3, 0, 7, or *)") from None
    names = [n.strip().lower() for n in names_text.split(",") if n.strip()]
    if not names:
        raise ValueError(f"level {level_text}: no channel (use {', '.join(CHANNEL_NAMES)})")
    unknown = [n for n in names if n not in CHANNEL_NAMES]
    if unknown:
        raise ValueError(f"level {level_text}: unknown channel {unknown[0]!r} (use {', '.join(CHANNEL_NAMES)})")
    if len(set(names)) != len(names):
        raise ValueError(f"level {level_text}: a channel is repeated")
    if "digest" in names and len(names) > 1:
        raise ValueError(f"level {level_text}: digest stands alone (it means: only in the staff digest)")
    chosen = set(names)
    if chosen & {"staff", "attach"} and "email" not in chosen:
        raise ValueError(f"level {level_text}: staff and attach go with email")
    return level_text, LevelChannels(email="email" in chosen, staff="staff" in chosen,
                                     webhook="webhook" in chosen, attach="attach" in chosen)


def parse_channels(raw: str) -> ChannelPlan:
    """The setting's text -> ChannelPlan; ValueError naming the faulty entry."""
    entries = [part for part in raw.replace("\n", ";").split(";") if part.strip()]
    levels: list[tuple[int, LevelChannels]] = []
    other = DEFAULT
    seen: set[str] = set()
    for part in entries:
        level_text, channels = _entry(part)
        if level_text in seen:
            raise ValueError(f"level {level_text} is named twice")
        seen.add(level_text)
        if level_text == EVERY:
            other = channels
        else:
            levels.append((int(level_text), channels))
    return ChannelPlan(tuple(sorted(levels)), other)
