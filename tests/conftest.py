"""Test fixtures: every test runs in a temporary home with an in-memory keyring and a fixed
"today", against a fresh database on SQLite and, when CUENTAS_TEST_POSTGRES_URL is set, on
PostgreSQL too (a database per test session, a schema per test)."""

from __future__ import annotations

import io
import os
import sys
import uuid
from dataclasses import dataclass
from typing import Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend

PG_URL_ENV = "CUENTAS_TEST_POSTGRES_URL"
TODAY = "2026-06-15"
PASSWORD = "clave-de-prueba-123"

# --- hypothesis profiles -------------------------------------------------------------------
# "ci" (the default) derandomises every property test: the same examples on every run, so a red
# CI means a change broke something. CUENTAS_HYPOTHESIS_PROFILE=explore searches at random with
# EXPLORE_FACTOR times each test's example count; add what it finds as an explicit @example.

HYPOTHESIS_PROFILE_ENV = "CUENTAS_HYPOTHESIS_PROFILE"
EXPLORE_FACTOR = 20


def _register_hypothesis_profiles() -> str:
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
    settings.register_profile("explore", derandomize=False, print_blob=True, deadline=None, max_examples=2000)
    name = os.environ.get(HYPOTHESIS_PROFILE_ENV, "ci")
    if name not in ("ci", "explore"):
        raise pytest.UsageError(f"{HYPOTHESIS_PROFILE_ENV}={name!r}: use ci or explore")
    settings.load_profile(name)
    return name


HYPOTHESIS_PROFILE = _register_hypothesis_profiles()


def fuzz_examples(n: int) -> int:
    """A property test's example count: n in CI, EXPLORE_FACTOR x n when exploring."""
    return n * EXPLORE_FACTOR if HYPOTHESIS_PROFILE == "explore" else n


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in the test's memory only."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if self.store.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch) -> Iterator[MemoryKeyring]:
    """No test reads or writes the real home, config, keyring or database."""
    home = tmp_path / "cuentas-home"
    monkeypatch.setenv("CUENTAS_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user-home" / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-home" / ".local" / "share"))
    monkeypatch.setenv("CUENTAS_TODAY", TODAY)
    for name in list(os.environ):
        if name.startswith("CUENTAS_") and name not in {"CUENTAS_HOME", "CUENTAS_TODAY"}:
            monkeypatch.delenv(name)
    # The suite reads the English source strings; tests/test_i18n.py chooses Spanish where it means to.
    monkeypatch.setenv("CUENTAS_LANG", "en")
    from cuentas_cli import i18n

    i18n.activate("en")
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
    from cuentas_cli.db.engine import dispose_engines

    dispose_engines()


# --- databases ---------------------------------------------------------------------------


def _pg_admin_url() -> str | None:
    return os.environ.get(PG_URL_ENV) or None


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """A PostgreSQL database for this test session, dropped at the end (None without a URL)."""
    admin_url = _pg_admin_url()
    if not admin_url:
        yield None
        return
    import psycopg

    name = f"cuentas_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    conninfo = admin_url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(f"{PG_URL_ENV} is set but PostgreSQL is unreachable: {exc}", pytrace=False)
    base, _, _ = conninfo.rpartition("/")
    yield f"{base}/{name}"
    from cuentas_cli.db.engine import dispose_engines

    dispose_engines()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _backends() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    if _pg_admin_url():
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


@pytest.fixture(params=_backends())
def db_url(request, tmp_path, pg_database, monkeypatch) -> Iterator[str]:
    """An empty database (no schema) on each backend; CUENTAS_DATABASE_URL points at it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cuentas-home' / 'cuentas.db'}"
        monkeypatch.setenv("CUENTAS_DATABASE_URL", url)
        yield url
        return
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"postgresql+psycopg://{pg_database.removeprefix('postgresql://')}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("CUENTAS_DATABASE_URL", url)
    yield url
    from cuentas_cli.db.engine import dispose_engines

    dispose_engines()
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


# --- running the CLI -----------------------------------------------------------------------


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self):  # noqa: ANN201
        import json

        return json.loads(self.stdout)

    def jsonl(self) -> list:
        import json

        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


class _FakeStdin(io.StringIO):
    def isatty(self) -> bool:
        return False


def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """Run `cuentas ARGS` in this process through its real entry point and error boundary."""
    from cuentas_cli import app, render

    saved = sys.stdin, sys.stdout, sys.stderr
    saved_env = {k: os.environ.get(k) for k in (env or {})}
    out, err = io.StringIO(), io.StringIO()
    sys.stdin, sys.stdout, sys.stderr = _FakeStdin(input or ""), out, err
    for key, value in (env or {}).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    render.reset_consoles()
    try:
        code = app.main([str(a) for a in args])
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        render.reset_consoles()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return Result(int(code), out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    return invoke


@dataclass
class Company:
    """A database at head with one user per role; `tokens[role]` authenticates as that user."""

    url: str
    tokens: dict[str, str]

    def run(self, *args: str, role: str | None = "administrador", input: str | None = None,
            env: dict[str, str] | None = None) -> Result:
        merged = dict(env or {})
        if role is not None:
            merged.setdefault("CUENTAS_TOKEN", self.tokens[role])
        return invoke(*args, input=input, env=merged)


@pytest.fixture
def company(db_url, cli) -> Company:
    result = cli("init", "--admin", "admin", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    tokens: dict[str, str] = {}
    admin_login = cli("login", "admin", "--password-stdin", input=PASSWORD + "\n")
    assert admin_login.exit_code == 0, admin_login.output
    for role in ("contador", "gerente"):
        added = cli("users", "add", role, "--role", role, "--password-stdin", input=PASSWORD + "\n")
        assert added.exit_code == 0, added.output
    for role, user in (("administrador", "admin"), ("contador", "contador"), ("gerente", "gerente")):
        made = cli("tokens", "create", f"test-{role}", "--user", user)
        assert made.exit_code == 0, made.output
        tokens[role] = made.stdout.strip()
    cli("logout")
    return Company(db_url, tokens)


# --- the summary line CI reads: how many database tests ran on each backend -----------------


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ANN001, ARG001
    counts: dict[str, int] = {}
    for report in terminalreporter.stats.get("passed", []):
        _, bracket, ids = report.nodeid.partition("[")
        backend = next((b for b in ("sqlite", "postgresql") if bracket and b in ids.rstrip("]").split("-")), None)
        if backend is not None:
            counts[backend] = counts.get(backend, 0) + 1
    if counts:
        ran = ", ".join(f"{n} on {backend}" for backend, n in sorted(counts.items()))
        terminalreporter.write_line(f"database tests passed: {ran}")
