"""Webhook channel: an httpx POST of `{"text": ...}` (what Slack and Teams incoming webhooks read).

A timeout on every request; connection errors, 429 and 5xx answers are retried a few times
with a growing pause; any other answer is final. An optional bearer token comes from the
keyring secret `webhook-token` (or the 0600 file named by CUENTAS_WEBHOOK_TOKEN_FILE).

Slack/Teams-style URLs carry their secret in the path, others in the query: `rules.urls.mask_url`
hides those parts wherever a URL is shown (settings show, audit list, error messages and logs).
The URL must be https, except to this machine (loopback), so neither the path nor the bearer
token travels in clear (`rules.urls.check_url`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cuentas_cli.rules.urls import check_url, mask_urls_in, safe_url

TOKEN_SECRET = "webhook-token"
TOKEN_FILE_ENV = "CUENTAS_WEBHOOK_TOKEN_FILE"
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_RETRIES = 3
MAX_TEXT = 35_000  # Slack truncates messages near 40,000 characters


class WebhookError(Exception):
    """The webhook did not accept the message after the retries."""


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
