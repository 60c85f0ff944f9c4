"""The firm's register of companies (an estudio contable keeping several companies' books).

Kept in the firm's database, the one `database.url` names: its own books are the first
company, and every other company's books live in a database of their own (a SQLite file under
the data dir, a schema of the firm's PostgreSQL database, or a database given by URL), each a
complete cuentas database with its settings, members and audit log (admin/companies.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlmodel import Field, SQLModel

from cuentas_cli.db.enums import utcnow


class Company(SQLModel, table=True):
    """One company of the firm. `location` is where its books are: NULL for the firm database's
    own, `schema:NAME` for a schema of the firm's PostgreSQL database (reached with the firm's
    own credentials), else a database URL that holds no password."""

    __tablename__ = "company"

    id: Optional[int] = Field(default=None, primary_key=True)
    ruc: str = Field(max_length=11, unique=True)
    alias: Optional[str] = Field(default=None, max_length=40, unique=True)
    name: str = Field(max_length=200)
    location: Optional[str] = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)
    archived_at: Optional[datetime] = None
    archive_path: Optional[str] = Field(default=None, max_length=1000)
