"""Storage: engine and sessions, SQLModel tables, Alembic migrations."""
