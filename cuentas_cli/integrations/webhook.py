"""Webhook channel: an httpx POST of `{"text": ...}` (what Slack and Teams incoming webhooks read).

A timeout on every request; connection errors, 429 and 5xx answers are retried a few times
with a growing pause; any other answer is final. An optional bearer token comes from the
keyring secret `webhook-token` (or the 0600 file named by CUENTAS_WEBHOOK_TOKEN_FILE). Error
messages name only the scheme and host of the URL: Slack-style URLs carry a secret in the path.
"""

from __future__ import annotations

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


def safe_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}/…"


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
    last = "no attempt made"
    attempts = max(1, settings.retries)
    with httpx.Client(timeout=settings.timeout, follow_redirects=False) as client:
        for attempt in range(1, attempts + 1):
            try:
                response = client.post(settings.url, json={"text": text}, headers=headers)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {' '.join(str(exc).split()) or 'transport error'}"
            else:
                if response.status_code < 300:
                    return
                last = f"HTTP {response.status_code}"
                if response.status_code != 429 and response.status_code < 500:
                    raise WebhookError(f"webhook {where} answered {last}: {response.text[:200].strip()}")
            if attempt < attempts:
                sleep(settings.backoff_s * 2 ** (attempt - 1))
    raise WebhookError(f"webhook {where} failed after {attempts} attempts: {last}")


def token() -> str | None:
    from cuentas_cli.integrations.email import read_secret

    return read_secret(TOKEN_SECRET, TOKEN_FILE_ENV)
