"""Webhook channel: an httpx POST of `{"text": ...}` (what Slack and Teams incoming webhooks read).

A timeout on every request; connection errors, 429 and 5xx answers are retried a few times
with a growing pause; any other answer is final. An optional bearer token comes from the
keyring secret `webhook-token` (or the 0600 file named by CUENTAS_WEBHOOK_TOKEN_FILE).

Slack/Teams-style URLs carry their secret in the path, others in the query: `mask_url` is the
one function that hides those parts wherever a URL is shown (settings show, audit list, error
messages and logs). The URL must be https, except to this machine (loopback), so neither the
path nor the bearer token travels in clear.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

TOKEN_SECRET = "webhook-token"
TOKEN_FILE_ENV = "CUENTAS_WEBHOOK_TOKEN_FILE"
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_RETRIES = 3
MAX_TEXT = 35_000  # Slack truncates messages near 40,000 characters


class WebhookError(Exception):
    """The webhook did not accept the message after the retries."""


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


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    timeout: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES
    backoff_s: float = 0.5


def post(settings: WebhookSettings, text: str, *, token: str | None = None,
         sleep: Callable[[float], None] | None = None) -> None:
    """POST `{"text": text}`; raises WebhookError after `retries` failed attempts."""
    import httpx

    sleep = sleep or time.sleep
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 20] + "\n… (recortado)"
    headers = {"Content-Type": "application/json", "User-Agent": "cuentas-notify"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    where = safe_url(settings.url)
    try:
        check_url(settings.url)
    except ValueError as exc:
        raise WebhookError(f"webhook not sent: {exc}") from None
    last = "no attempt made"
    attempts = max(1, settings.retries)
    with httpx.Client(timeout=settings.timeout, follow_redirects=False) as client:
        for attempt in range(1, attempts + 1):
            try:
                response = client.post(settings.url, json={"text": text}, headers=headers)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {mask_urls_in(' '.join(str(exc).split())) or 'transport error'}"
            else:
                if response.status_code < 300:
                    return
                last = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    raise WebhookError(f"webhook {where} answered {last}: {mask_urls_in(response.text[:200].strip())}")
            if attempt < attempts:
                sleep(settings.backoff_s * 2 ** (attempt - 1))
    raise WebhookError(f"webhook {where} failed after {attempts} attempts: {last}")


def token() -> str | None:
    from cuentas_cli.integrations.email import read_secret

    return read_secret(TOKEN_SECRET, TOKEN_FILE_ENV)
