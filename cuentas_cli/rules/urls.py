"""URLs, as rules on text: the database URL a user gives (sqlite:///PATH or postgresql://...),
the webhook URL that may carry a secret (https, or http to this machine only), and the masks that
hide passwords and secret parts wherever a URL is shown (settings, audit, errors, logs).

Slack/Teams-style webhook URLs carry their secret in the path, others in the query: `mask_url`
is the one function that hides those parts.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from cuentas_cli.errors import UsageError
from cuentas_cli.i18n import _

# --- database URLs --------------------------------------------------------------------------

_URL_RE = re.compile(r"^(?P<scheme>[a-z][a-z0-9+]*)://(?P<rest>.*)$", re.IGNORECASE)


def normalise_url(raw: str) -> str:
    """Accept sqlite:///PATH and postgres(ql)://...; pick psycopg 3 for PostgreSQL."""
    url = raw.strip()
    match = _URL_RE.match(url)
    if not match:
        raise UsageError(_("malformed database URL {raw!r}; expected sqlite:///PATH or "
                           "postgresql://USER@HOST/DB").format(raw=raw))
    scheme = match.group("scheme").lower()
    rest = match.group("rest")
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise UsageError(_("malformed database URL {raw!r}; expected sqlite:///PATH").format(raw=raw))
        return "sqlite://" + rest
    if scheme in {"postgres", "postgresql", "postgresql+psycopg"}:
        if not rest or rest.startswith("/") and len(rest) == 1:
            raise UsageError(_("malformed database URL {raw!r}; expected postgresql://USER@HOST[:PORT]/DB")
                             .format(raw=raw))
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url("postgresql+psycopg://" + rest)
            parsed.port  # a non-numeric port raises here
        except (ArgumentError, ValueError) as exc:
            raise UsageError(_("malformed database URL {raw!r}: {exc}").format(raw=raw, exc=exc)) from None
        return "postgresql+psycopg://" + rest
    raise UsageError(_("unsupported database URL scheme {scheme!r}; use sqlite:/// or postgresql://")
                     .format(scheme=scheme))


def redact(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


# --- webhook URLs and masks -----------------------------------------------------------------

MASK = "***"
# The first path segment is shown when it is a plain word (services, api, hooks) followed by
# more segments; everything after it, or a lone segment (an ntfy topic), may be the secret.
_PLAIN_SEGMENT = re.compile(r"[A-Za-z][A-Za-z_-]{0,19}")
_URL_IN_TEXT = re.compile(r"""\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>\\]+""")


def mask_url(url: str) -> str:
    """The URL with its secret parts masked: scheme, host, port and a plain first path word
    stay; every other path segment, every query value, user info and fragment become ***."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return MASK
    if not parts.scheme or not parts.netloc:
        return MASK
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = (MASK + "@" if "@" in parts.netloc else "") + host + (f":{port}" if port else "")
    segments = parts.path.split("/")  # "/a/b" -> ["", "a", "b"]
    words = [i for i, seg in enumerate(segments) if seg]
    shown = words[0] if len(words) > 1 and _PLAIN_SEGMENT.fullmatch(segments[words[0]]) else None
    segments = [seg if not seg or i == shown else MASK for i, seg in enumerate(segments)]
    masked = f"{parts.scheme}://{netloc}{'/'.join(segments)}"
    if parts.query:
        pairs = [pair.split("=", 1)[0] + "=" + MASK if "=" in pair else MASK for pair in parts.query.split("&")]
        masked += "?" + "&".join(pairs)
    if parts.fragment:
        masked += "#" + MASK
    return masked


_WHOLE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")


def mask_url_value(value: str) -> str:
    """A setting's value: masked when the whole value is a URL, as given otherwise (a company
    name may quote a URL as text)."""
    return mask_url(value) if _WHOLE_URL.fullmatch(value.strip()) else value


def mask_urls_in(text: str | None) -> str | None:
    """Every URL inside a text (a log line, an audit entry's JSON) passed through mask_url."""
    if not text or "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)


def safe_url(url: str) -> str:
    """The URL as error messages show it."""
    return mask_url(url)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """A webhook URL fit to carry a secret path and a bearer token: https, or http to this
    machine only. Raises ValueError with the reason."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("expected an https:// URL")
    if scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(f"{mask_url(url)}: a webhook URL must use https:// (plain http:// would send its secret "
                         "path and the bearer token in clear); http:// is accepted only to this machine "
                         "(localhost, 127.0.0.1, ::1)")
    return url
