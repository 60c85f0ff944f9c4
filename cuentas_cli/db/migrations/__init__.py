"""Alembic migrations, shipped inside the package."""

# The newest revision in versions/. Kept here so that checking a database is up to date
# costs one query, not an import of Alembic; a test asserts it equals Alembic's head.
HEAD_REVISION = "20261207_0010"
