"""Effective settings: each value and where it came from; shared values stored for the team."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cuentas_cli.config import SECRET_NAMES, SETTINGS, Config, parse_value, spec_for, write_config_value
from cuentas_cli.errors import ValidationError
from cuentas_cli.admin import audit
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlmodel import Session


@dataclass
class SettingValue:
    key: str
    value: str
    source: str
    description: str


def stored(session: "Session | Connection") -> dict[str, str]:
    """The settings kept in the database (Core: an ORM session or a connection)."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import setting

    return {key: value for key, value in session.execute(select(setting.c.key, setting.c.value)).all()}


def effective(session: "Session | None", config: Config) -> dict[str, SettingValue]:
    """Every key's effective raw value: flag/environment > config file > database > default."""
    db_values = stored(session) if session is not None else {}
    overrides = config.local_overrides()
    out: dict[str, SettingValue] = {}
    for key, spec in SETTINGS.items():
        if key == "database.url":
            out[key] = SettingValue(key, _redact_url(config.database_url), config.database_url_source, spec.help)
        elif key in overrides:
            raw, source = overrides[key]
            out[key] = SettingValue(key, raw, source, spec.help)
        elif spec.firm and config.firm_values is not None:  # a company of a firm: the firm's value
            raw = config.firm_values.get(key)
            out[key] = SettingValue(key, raw if raw is not None else spec.default,
                                    "firm" if raw is not None else "default", spec.help)
        elif key in db_values:
            out[key] = SettingValue(key, db_values[key], "database", spec.help)
        else:
            out[key] = SettingValue(key, spec.default, "default", spec.help)
    return out


def get(session: "Session", config: Config, key: str) -> Any:
    """One setting, parsed to its type."""
    raw = effective(session, config)[spec_for(key).key].value
    return parse_value(key, raw)


def _redact_url(url: str) -> str:
    from cuentas_cli.rules.urls import redact

    return redact(url)


def show(*, session: "Session | None", actor: Actor | None, config: Config) -> list[SettingValue]:
    if session is not None:
        require(actor, "read")
    from cuentas_cli.rules.urls import mask_url_value

    # A URL setting (notify.webhook_url, lookup.base_url) may carry a secret in its path or
    # query: masked for every role. database.url is already redacted; text settings stay as given.
    rows = [r if r.key == "database.url" else SettingValue(r.key, mask_url_value(r.value), r.source, r.description)
            for r in effective(session, config).values()]
    from cuentas_cli.integrations import keyring_store

    for name in SECRET_NAMES:
        try:
            present = keyring_store.get_secret(name) is not None
            state = "set (in keyring)" if present else "not set"
        except keyring_store.KeyringUnavailable:
            state = "keyring unavailable"
        rows.append(SettingValue(f"secret.{name}", state, "keyring", "secret: `cuentas settings secret set`"))
    return rows


def set_shared(*, session: "Session", actor: Actor | None, key: str, raw: str, config: Config | None = None) -> str:
    """Validate and store a team setting; returns the normalised value."""
    from cuentas_cli.db.models import Setting, utcnow

    spec = spec_for(key)
    if spec.local:
        raise ValidationError(_("{key} is local to this machine; it is set with `cuentas settings set` "
                                "without a database").format(key=key))
    if spec.firm and config is not None and config.firm_values is not None:
        raise ValidationError(_("{key} is the firm's, shared by all its companies: set it in the firm's own books "
                                "(`cuentas --company FIRM_RUC settings set {key} ...`)").format(key=key))
    require(actor, "settings")
    value = parse_value(key, raw)
    text = ",".join(str(v) for v in value) if isinstance(value, list) else (
        ("true" if value else "false") if isinstance(value, bool) else str(value))
    row = session.get(Setting, key)
    before = {"value": row.value} if row else None
    if row is None:
        row = Setting(key=key, value=text, updated_by=actor.user_id)
    else:
        row.value, row.updated_at, row.updated_by = text, utcnow(), actor.user_id
    session.add(row)
    from cuentas_cli.rules.urls import mask_url_value

    # the log never keeps a URL setting's secret path or query (a gerente reads it)
    audit.record(session, actor, action="setting.set", entity="setting", entity_id=key,
                 before={"value": mask_url_value(before["value"])} if before else None,
                 after={"value": mask_url_value(text)})
    return mask_url_value(text)  # what the command echoes: a URL's secret parts masked


def set_local(key: str, raw: str) -> str:
    """A local key (database.url) goes to this machine's config file."""
    spec = spec_for(key)
    if not spec.local:
        raise ValidationError(_("{key} is shared; it is stored in the database").format(key=key))
    value = parse_value(key, raw)
    path = write_config_value(key, value)
    return str(path)


def check_secret_name(name: str) -> str:
    if name not in SECRET_NAMES:
        raise ValidationError(_("unknown secret {name!r}; secrets are {join_secret_names}")
                              .format(name=name, join_secret_names=', '.join(SECRET_NAMES)))
    return name


def set_secret(*, session: "Session", actor: Actor | None, name: str, value: str) -> None:
    from cuentas_cli.integrations import keyring_store

    require(actor, "settings")
    check_secret_name(name)
    if not value:
        raise ValidationError(_("empty secret; nothing stored"))
    keyring_store.set_secret(name, value)
    audit.record(session, actor, action="secret.set", entity="secret", entity_id=name)
