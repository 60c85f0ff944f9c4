"""Reminders: who is reminded of what and when, the outbox, sending by e-mail and webhook, the scheduler."""
