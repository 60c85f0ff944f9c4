"""`cuentas doctor`: every problem named with its fix; non-zero exit when something fails."""

from __future__ import annotations

import os

import keyring
import pytest
from keyring.backends import fail

from tests.lookup_server import TOKEN, FakeProvider
from tests.test_notify_support import SMTP_PASSWORD, SMTP_USER, configure, free_port, smtp_server  # noqa: F401


def checks(result) -> dict[str, dict]:  # noqa: ANN001
    return {c["name"]: c for c in result.json()["checks"]}


def outdate_schema(url: str) -> None:
    from sqlalchemy import text

    from cuentas_cli.db.engine import open_session

    with open_session(url, write=True) as s:
        s.execute(text("UPDATE alembic_version SET version_num = '20200101_0000'"))


def test_healthy_company_passes_with_warnings(company):
    result = company.run("doctor", "--offline", "--format", "json")
    assert result.exit_code == 0, result.output
    found = checks(result)
    assert [c for c in found] == ["database", "permissions", "keyring", "login", "lookup", "smtp", "reminders",
                                  "exchange rate", "padrón", "ledger"]
    assert found["reminders"]["status"] == "ok"
    assert found["database"]["status"] == "ok" and "newest" in found["database"]["detail"]
    assert found["permissions"]["status"] == "ok"
    assert found["keyring"]["status"] == "ok"
    assert found["login"]["status"] == "ok" and found["login"]["detail"].startswith("admin (administrador)")
    assert found["lookup"]["status"] == "warn" and "lookup.provider apisnet" in found["lookup"]["fix"]
    assert found["smtp"]["status"] == "warn" and "smtp.host" in found["smtp"]["fix"]
    assert found["exchange rate"]["status"] == "warn" and "cuentas fx fetch" in found["exchange rate"]["fix"]
    assert found["padrón"]["status"] == "warn" and "cuentas padron import" in found["padrón"]["fix"]
    assert found["ledger"]["status"] == "ok" and "agree with the ledger" in found["ledger"]["detail"]
    assert result.json()["ok"] is True and result.json()["warnings"] == 4
    assert "nothing failed" in result.stderr
    # --strict: warnings fail too
    strict = company.run("doctor", "--offline", "--strict", "--format", "json")
    assert strict.exit_code == 1
    assert strict.stderr.startswith("error: 4 check(s) need attention: lookup, smtp, exchange rate, padrón")


def test_broken_setup_names_each_problem_and_fix(company):
    """The issue's must-show: no keyring, unreachable SMTP, outdated schema -> each named with its fix, exit 1."""
    outdate_schema(company.url)
    keyring.set_keyring(fail.Keyring())
    port = free_port()  # nothing listens there
    env = {"CUENTAS_SMTP_HOST": "127.0.0.1", "CUENTAS_SMTP_PORT": str(port), "CUENTAS_SMTP_SECURITY": "none",
           "CUENTAS_SMTP_FROM": "avisos@empresa.pe"}
    result = company.run("doctor", "--format", "json", "--timeout", "2", role=None, env=env)
    assert result.exit_code == 1, result.output
    found = checks(result)
    assert found["database"]["status"] == "fail"
    assert "schema at revision 20200101_0000" in found["database"]["detail"]
    assert "cuentas db upgrade" in found["database"]["fix"]
    assert found["keyring"]["status"] == "fail" and "no usable OS keyring" in found["keyring"]["detail"]
    assert "--session-file" in found["keyring"]["fix"] and "CUENTAS_TOKEN" in found["keyring"]["fix"]
    assert found["smtp"]["status"] == "fail" and f"127.0.0.1:{port}" in found["smtp"]["detail"]
    assert "Connection refused" in found["smtp"]["detail"]
    assert "smtp.host" in found["smtp"]["fix"] and "cuentas notify test-email" in found["smtp"]["fix"]
    assert found["login"]["status"] == "skip"
    lines = result.stderr.strip().splitlines()
    assert lines == ["error: 3 check(s) need attention: database, keyring, smtp; each one's fix is in the fix column"]
    # The same as a table for a person: every problem and its fix on the screen.
    table = company.run("doctor", "--format", "table", "--timeout", "2", role=None, env={**env, "COLUMNS": "250"})
    assert table.exit_code == 1
    for text in ("FAIL", "cuentas db upgrade", "--session-file", "Connection refused", "smtp.port"):
        assert text in table.stdout
    # doctor changes nothing: the schema is still the old one
    from cuentas_cli.db.engine import get_engine
    from cuentas_cli.db.migrate import current_revision

    assert current_revision(get_engine(company.url)) == "20200101_0000"


def test_not_logged_in_and_no_keyring_alternative(company):
    result = company.run("doctor", "--offline", "--format", "json", role=None)
    assert result.exit_code == 1
    found = checks(result)
    assert found["login"]["status"] == "fail" and "cuentas login NAME" in found["login"]["fix"]
    assert found["padrón"]["status"] == "skip"
    # a revoked service token is named too
    assert company.run("tokens", "revoke", "test-contador").exit_code == 0
    revoked = company.run("doctor", "--offline", "--format", "json", role="contador")
    assert checks(revoked)["login"]["status"] == "fail"


def test_no_keyring_but_a_token_is_a_warning(company):
    keyring.set_keyring(fail.Keyring())
    result = company.run("doctor", "--offline", "--format", "json", role="gerente")
    assert result.exit_code == 0, result.output
    found = checks(result)
    assert found["keyring"]["status"] == "warn" and "using CUENTAS_TOKEN instead" in found["keyring"]["detail"]
    assert found["login"]["status"] == "ok" and found["login"]["detail"].startswith("gerente (gerente), service token")


def test_missing_database(cli, db_url):
    from cuentas_cli.db.engine import is_sqlite

    result = cli("doctor", "--offline", "--format", "json")
    assert result.exit_code == 1
    found = checks(result)
    assert found["database"]["status"] == "fail"
    assert "cuentas init" in found["database"]["fix"]
    if is_sqlite(db_url):
        assert "no database at" in found["database"]["detail"]
        assert found["permissions"]["status"] == "skip"
    else:
        assert "has no cuentas schema" in found["database"]["detail"]


def test_unreachable_postgresql_server(cli, monkeypatch):
    port = free_port()
    monkeypatch.setenv("CUENTAS_DATABASE_URL", f"postgresql://nadie@127.0.0.1:{port}/cuentas")
    result = cli("doctor", "--offline", "--format", "json")
    assert result.exit_code == 1
    database = checks(result)["database"]
    assert database["status"] == "fail" and database["detail"].startswith(f"cannot reach PostgreSQL nadie@127.0.0.1:{port}/cuentas")
    assert "server is up" in database["fix"]


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX file modes")
def test_wide_file_modes_fail_with_chmod_fix(company):
    from cuentas_cli.db.engine import is_sqlite, sqlite_path

    if not is_sqlite(company.url):
        found = checks(company.run("doctor", "--offline", "--format", "json"))
        assert found["permissions"]["status"] == "ok" and "PostgreSQL" in found["permissions"]["detail"]
        return
    db = sqlite_path(company.url)
    os.chmod(db, 0o644)
    os.chmod(db.parent, 0o755)
    result = company.run("doctor", "--offline", "--format", "json")
    assert result.exit_code == 1
    permissions = checks(result)["permissions"]
    assert permissions["status"] == "fail"
    assert f"chmod 700 {db.parent}" in permissions["fix"] and f"chmod 600 {db}" in permissions["fix"]
    assert "bypass roles" in permissions["detail"]


def test_smtp_server_reachable_and_login(company, smtp_server):  # noqa: F811
    configure(company.url, {"smtp.host": "127.0.0.1", "smtp.port": str(smtp_server.port), "smtp.security": "none",
                            "smtp.from": "avisos@empresa.pe"})
    found = checks(company.run("doctor", "--format", "json"))
    assert found["smtp"]["status"] == "ok", found["smtp"]
    assert found["smtp"]["detail"] == f"connected to 127.0.0.1:{smtp_server.port} (none)"
    # with a user and no password stored: named, with where to put it
    configure(company.url, {"smtp.user": SMTP_USER})
    found = checks(company.run("doctor", "--format", "json"))
    assert found["smtp"]["status"] == "fail" and "settings secret set smtp-password" in found["smtp"]["fix"]
    keyring.set_password("cuentas", "smtp-password", SMTP_PASSWORD)
    found = checks(company.run("doctor", "--format", "json"))
    assert found["smtp"] == {"name": "smtp", "status": "ok", "fix": "",
                             "detail": f"connected to 127.0.0.1:{smtp_server.port} (none), logged in as {SMTP_USER}"}


def test_lookup_provider_token_and_reachability(company):
    provider = FakeProvider().start()
    try:
        provider.ruc("20131312955", name="SUNAT")
        env = provider.env()
        no_token = checks(company.run("doctor", "--format", "json", env=env))["lookup"]
        assert no_token["status"] == "fail" and "lookup-token" in no_token["fix"]
        keyring.set_password("cuentas", "lookup-token", TOKEN)
        ok = checks(company.run("doctor", "--format", "json", env=env))["lookup"]
        assert ok["status"] == "ok" and "token accepted" in ok["detail"]
        assert provider.count("20131312955") == 1  # one request, no retries
        keyring.set_password("cuentas", "lookup-token", "otro-token")
        refused = checks(company.run("doctor", "--format", "json", env=env))["lookup"]
        assert refused["status"] == "fail" and "refused the token" in refused["detail"]
        offline = checks(company.run("doctor", "--offline", "--format", "json", env=env))["lookup"]
        assert offline["status"] == "ok" and "not contacted" in offline["detail"]
    finally:
        provider.stop()
    down = checks(company.run("doctor", "--format", "json", env={**env, "CUENTAS_LOOKUP_BASE_URL": f"http://127.0.0.1:{free_port()}"}))
    assert down["lookup"]["status"] == "fail" and "cannot connect" in down["lookup"]["detail"]


def test_exchange_rate_of_today_and_weekends(company, cli):
    assert company.run("fx", "set", "2026-06-12", "3.741").exit_code == 0  # a Friday
    friday = checks(company.run("doctor", "--offline", "--format", "json"))["exchange rate"]
    assert friday["status"] == "warn" and "3 day(s) old" in friday["detail"]  # today is Monday 2026-06-15
    sunday = checks(company.run("--today", "2026-06-14", "doctor", "--offline", "--format", "json"))["exchange rate"]
    assert sunday["status"] == "ok" and "weekends" in sunday["detail"]
    assert company.run("fx", "set", "2026-06-15", "3.739").exit_code == 0
    today = checks(company.run("doctor", "--offline", "--format", "json"))["exchange rate"]
    assert today == {"name": "exchange rate", "status": "ok", "detail": "USD sell 3.739 of 2026-06-15 (today)", "fix": ""}
