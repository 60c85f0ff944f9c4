"""Reminders: who is reminded of what and when, the outbox, sending by e-mail and webhook, the scheduler.

`policy` (levels and settings), `outbox` (set-based enqueue, cancel, supersede; claim, sent,
failed; listing), `messages` (what a reminder or digest says), `sending` (a run, the run lock,
the test e-mail), `scheduler` (`notify serve`).
"""
