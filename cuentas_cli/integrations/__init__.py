"""The outside world: keyring, lookup providers, SMTP, webhooks; each behind a small interface."""
