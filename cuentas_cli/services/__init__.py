"""The domain: each module takes a Session and an acting user, checks the permission, and
returns models or plain dataclasses. Nothing here imports typer or rich."""
