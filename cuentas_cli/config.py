"""Settings: flags > environment (CUENTAS_*) > config file > database > defaults.

Two kinds of keys live here. *Local* keys (`database.url`) say where this machine finds
its data and can only come from a flag, the environment or the TOML config file. *Shared*
keys (company, lookup, smtp, notify, aging, ...) are the team's: `cuentas settings set`
stores them in the database so every user and the cron host see the same value, and a
config file or environment variable may still override them on one machine.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable

from cuentas_cli.errors import UsageError, ValidationError
from cuentas_cli.rules.urls import check_url, mask_urls_in, normalise_url
from cuentas_cli.i18n import _

APP_NAME = "cuentas"
CONFIG_FILE_NAME = "config.toml"
DB_FILE_NAME = "cuentas.db"

_EMAIL_RE = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"true", "yes", "1", "on", "si", "sí"}:
        return True
    if value in {"false", "no", "0", "off"}:
        return False
    raise ValueError("expected true or false")


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError("expected a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"expected a number from {low} to {high}")
        return value

    return parse


def _positive_seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("expected a number of seconds") from None
    if not 0 < value <= 300:
        raise ValueError("expected seconds between 0 and 300")
    return value


def _choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return value

    return parse


def _text(raw: str) -> str:
    return raw.strip()


def _url(raw: str) -> str:
    value = raw.strip()
    if value and not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("expected an http:// or https:// URL")
    return value.rstrip("/")


def _email(raw: str) -> str:
    value = raw.strip()
    if value and not _EMAIL_RE.match(value):
        raise ValueError("expected an e-mail address like cobranzas@empresa.pe")
    return value


def _email_list(raw: str) -> list[str]:
    items = [item.strip() for item in raw.split(",") if item.strip()]
    for item in items:
        _email(item)
    return items


def _int_list(*, increasing: bool, low: int, high: int) -> Callable[[str], list[int]]:
    def parse(raw: str) -> list[int]:
        try:
            values = [int(part) for part in raw.split(",") if part.strip()]
        except ValueError:
            raise ValueError("expected whole numbers separated by commas") from None
        if not values:
            raise ValueError("expected at least one number")
        if any(not low <= v <= high for v in values):
            raise ValueError(f"each number must be from {low} to {high}")
        if increasing and any(b <= a for a, b in zip(values, values[1:])):
            raise ValueError("numbers must increase, e.g. 30,60,90,120")
        if len(set(values)) != len(values):
            raise ValueError("numbers must not repeat")
        return values

    return parse


def _ruc(raw: str) -> str:
    from cuentas_cli.rules.identity import validate_ruc

    value = raw.strip()
    if value:
        validate_ruc(value)
    return value


def _webhook_url(raw: str) -> str:
    """https, or http to this machine only: the URL's path and the bearer token are secrets."""
    value = _url(raw)
    return check_url(value) if value else value


def _language(raw: str) -> str:
    from cuentas_cli.i18n import check

    return check(raw) if raw.strip() else ""


def _notify_language(raw: str) -> str:
    from cuentas_cli.i18n import check

    return check(raw) if raw.strip() else "es"


def _channels(raw: str):  # noqa: ANN202 - rules.channels.ChannelPlan
    from cuentas_cli.rules.channels import parse_channels

    return parse_channels(raw)


def _database_url(raw: str) -> str:
    return normalise_url(raw)


class FileMode(int):
    """Permissions that print as octal ("0640"), so the setting is stored as it was given."""

    def __str__(self) -> str:
        return f"0{int(self):o}"


def parse_mode(raw: str) -> FileMode:
    """`files.mode`: octal permissions such as 0600, 0640 or 0660; read and write for the owner,
    never executable, never writable by everyone."""
    text = raw.strip().lower().removeprefix("0o")
    if not text or len(text) > 4 or any(c not in "01234567" for c in text):
        raise ValueError("expected octal permissions such as 0600, 0640 or 0660")
    mode = int(text, 8)
    if mode & 0o7000:
        raise ValueError("no setuid, setgid or sticky bits")
    if mode & 0o600 != 0o600:
        raise ValueError("the owner must be able to read and write (6 in the first digit)")
    if mode & 0o111:
        raise ValueError("data files are never executable")
    if mode & 0o002:
        raise ValueError("a file anyone may write is not allowed; use 0640 or 0660")
    return FileMode(mode)


@dataclass(frozen=True)
class SettingSpec:
    key: str
    parse: Callable[[str], Any]
    default: str
    help: str
    local: bool = False  # local keys never go to the database
    # Firm-wide keys: with several companies, the firm's database holds them for all
    # (admin/companies.py); each company keeps the others in its own books.
    firm: bool = False
    env: str | None = None  # the environment variable, when not CUENTAS_ + the key

    @property
    def env_var(self) -> str:
        return self.env or "CUENTAS_" + re.sub(r"[^A-Z0-9]", "_", self.key.upper())


SETTINGS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in [
        SettingSpec("database.url", _database_url, "", "SQLAlchemy URL (sqlite:///PATH or postgresql://...)", local=True),
        SettingSpec("firm.company", _text, "", "The company whose books commands use on this machine (`cuentas "
                    "companies use`; --company or CUENTAS_COMPANY for one run)", local=True, env="CUENTAS_COMPANY"),
        SettingSpec("ui.language", _language, "", "Language of the interface on this machine: es or en (empty: CUENTAS_LANG, "
                    "else the locale, else es)", local=True),
        SettingSpec("company.name", _text, "", "Company name printed on reports and e-mails"),
        SettingSpec("company.ruc", _ruc, "", "Company RUC"),
        SettingSpec("lookup.provider", _choice("offline", "apisnet", "decolecta"), "offline", "RUC/DNI lookup provider", firm=True),
        SettingSpec("lookup.base_url", _url, "https://api.apis.net.pe", "Base URL of the lookup provider", firm=True),
        SettingSpec("lookup.timeout_s", _positive_seconds, "10", "Seconds before a lookup request gives up", firm=True),
        SettingSpec("lookup.max_age_days", _int_range(0, 3650), "30", "Reuse a stored lookup younger than this", firm=True),
        SettingSpec("validation.strict", _parse_bool, "false", "Require an ACTIVO/HABIDO lookup to add a party"),
        SettingSpec("session.hours", _int_range(1, 720), "12", "Hours a login session lasts", firm=True),
        SettingSpec("smtp.host", _text, "", "SMTP server host"),
        SettingSpec("smtp.port", _int_range(1, 65535), "587", "SMTP server port"),
        SettingSpec("smtp.security", _choice("starttls", "ssl", "none"), "starttls", "SMTP transport security"),
        SettingSpec("smtp.user", _text, "", "SMTP login user"),
        SettingSpec("smtp.from", _email, "", "From address of reminders"),
        SettingSpec("smtp.reply_to", _email, "", "Reply-To address of reminders"),
        SettingSpec("notify.levels", _int_list(increasing=True, low=-60, high=365), "-3,0,7,15,30", "Reminder day offsets from the due date"),
        SettingSpec("notify.staff_emails", _email_list, "", "Staff addresses (comma separated) for CxP reminders and the digest"),
        SettingSpec("notify.language", _notify_language, "es", "Language of the reminders the clients read: es or en "
                    "(not the operator's --lang)"),
        SettingSpec("notify.channels", _channels, "", "Channels per reminder level, e.g. "
                    "-3:email;0:email,staff;7:email,staff,webhook;30:digest (see `cuentas notify templates list`)"),
        SettingSpec("notify.webhook_url", _webhook_url, "", "Webhook URL (Slack/Teams compatible)"),
        SettingSpec("aging.buckets", _int_list(increasing=True, low=1, high=3650), "30,60,90,120", "Aging bucket cut-offs in days"),
        SettingSpec("files.mode", parse_mode, "0600", "Permissions of exports and error files (0600; 0640/0660 for a shared folder)"),
    ]
}

# Secrets are never settings values: they live in the keyring under these names.
SECRET_NAMES = ("lookup-token", "smtp-password", "webhook-token")


def spec_for(key: str) -> SettingSpec:
    try:
        return SETTINGS[key]
    except KeyError:
        known = ", ".join(SETTINGS)
        raise ValidationError(_("unknown settings key {key!r}; known keys: {known}")
                              .format(key=key, known=known)) from None


def parse_value(key: str, raw: str) -> Any:
    spec = spec_for(key)
    try:
        return spec.parse(raw)
    except ValueError as exc:
        shown = raw
        if "://" in raw:  # a URL may carry a secret in its path or query
            shown = mask_urls_in(raw)
        raise ValidationError(_("invalid value {shown!r} for {key}: {exc}")
                              .format(shown=shown, key=key, exc=exc)) from None


def home_dirs() -> tuple[Path, Path]:
    """(config dir, data dir): both under CUENTAS_HOME when set, else the platform's."""
    home = os.environ.get("CUENTAS_HOME")
    if home:
        base = Path(home).expanduser()
        return base, base
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME)), Path(platformdirs.user_data_dir(APP_NAME))


def config_file_path() -> Path:
    return home_dirs()[0] / CONFIG_FILE_NAME


def read_config_file(path: Path | None = None) -> dict[str, str]:
    """The config file flattened to dotted keys; values kept as text for the specs to parse."""
    import tomllib

    path = path or config_file_path()
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(_("config file {path} is not valid TOML: {exc}").format(path=path, exc=exc)) from None
    flat: dict[str, str] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        for name, value in node.items():
            key = f"{prefix}{name}"
            if isinstance(value, dict):
                walk(key + ".", value)
            elif isinstance(value, list):
                flat[key] = ",".join(str(v) for v in value)
            elif isinstance(value, bool):
                flat[key] = "true" if value else "false"
            else:
                flat[key] = str(value)

    walk("", data)
    for key in flat:
        if key not in SETTINGS:
            raise ValidationError(_("config file {path}: unknown key {key!r}").format(path=path, key=key))
    return flat


def write_config_value(key: str, raw: str, path: Path | None = None) -> Path:
    """Set one key in the TOML config file, keeping the others (file created 0600)."""
    path = path or config_file_path()
    current = read_config_file(path)
    current[key] = raw
    sections: dict[str, dict[str, str]] = {}
    for dotted, value in sorted(current.items()):
        section, _, name = dotted.rpartition(".")
        sections.setdefault(section, {})[name] = value
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        for name, value in values.items():
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{name} = "{escaped}"')
        lines.append("")
    ensure_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    return path


def ensure_private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if sys.platform != "win32":
        os.chmod(path, 0o700)


@dataclass
class Resolved:
    key: str
    value: Any
    raw: str
    source: str  # default | database | config file | environment | flag


@dataclass
class Config:
    """What this process runs with: where the data is, what "today" is, who it is."""

    database_url: str
    database_url_source: str
    today: date
    token: str | None = None
    traceback: bool = False
    file_values: dict[str, str] = field(default_factory=dict)
    company: str | None = None  # RUC or alias: --company > CUENTAS_COMPANY > config file
    company_source: str = "default"
    # With a company other than the firm's own books: the firm's stored values of its firm-wide
    # keys (runtime.Runtime fills them in), which settings.effective reads instead of the company's.
    firm_values: dict[str, str] | None = None

    def local_overrides(self) -> dict[str, tuple[str, str]]:
        """Shared keys overridden on this machine: key -> (raw value, source)."""
        out: dict[str, tuple[str, str]] = {}
        for key, spec in SETTINGS.items():
            if spec.local:
                continue
            if spec.env_var in os.environ:
                out[key] = (os.environ[spec.env_var], "environment")
            elif key in self.file_values:
                out[key] = (self.file_values[key], "config file")
        return out


def default_database_url() -> str:
    return f"sqlite:///{home_dirs()[1] / DB_FILE_NAME}"


def parse_today(raw: str, source: str) -> date:
    from cuentas_cli.rules.dates import parse_day

    try:
        return parse_day(raw, field=f"{source}:")
    except ValidationError as exc:
        raise UsageError(exc.message) from None


def load(*, db_flag: str | None = None, today_flag: str | None = None, traceback: bool = False,
         company_flag: str | None = None) -> Config:
    file_values = read_config_file()
    if db_flag:
        url, source = db_flag, "flag"
    elif os.environ.get("CUENTAS_DATABASE_URL"):
        url, source = os.environ["CUENTAS_DATABASE_URL"], "environment"
    elif file_values.get("database.url"):
        url, source = file_values["database.url"], "config file"
    else:
        url, source = default_database_url(), "default"
    url = normalise_url(url)
    if today_flag:
        today = parse_today(today_flag, "--today")
    elif os.environ.get("CUENTAS_TODAY"):
        today = parse_today(os.environ["CUENTAS_TODAY"], "CUENTAS_TODAY")
    else:
        today = date.today()
    company, company_source = None, "default"
    for raw, where in ((company_flag, "flag"), (os.environ.get("CUENTAS_COMPANY"), "environment"),
                       (file_values.get("firm.company"), "config file")):
        if raw and raw.strip():
            company, company_source = raw.strip(), where
            break
    return Config(
        database_url=url,
        database_url_source=source,
        today=today,
        token=os.environ.get("CUENTAS_TOKEN") or None,
        traceback=traceback,
        file_values=file_values,
        company=company,
        company_source=company_source,
    )
