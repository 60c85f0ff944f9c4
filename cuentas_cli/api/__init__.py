"""The HTTP API over the same subjects and permissions as the CLI (server.py; tokens in security.py)."""
