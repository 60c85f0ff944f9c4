"""Users, login sessions, service tokens, lockout, the permission matrix and the audit log."""

from __future__ import annotations

import stat
from datetime import datetime, timedelta, timezone

import keyring
import pytest
from keyring.backends import fail
from sqlmodel import select

from cuentas_cli.db.engine import open_session
from cuentas_cli.integrations.keyring_store import SERVICE, session_key
from tests.conftest import PASSWORD
from tests.dbstate import snapshot


def _session_token(backend, url: str) -> str | None:
    return backend.store.get((SERVICE, session_key(url)))


def test_login_by_stdin_keeps_the_token_in_the_keyring(company, cli, isolated_home, tmp_path):
    result = cli("login", "contador", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    token = _session_token(isolated_home, company.url)
    assert token and token.startswith("cts_")
    who = cli("whoami", "-f", "json").json()
    assert who["username"] == "contador" and who["role"] == "contador"
    assert "invoices.operate" in who["permissions"] and "users" not in who["permissions"]
    # only the hash is stored; no file holds the token
    for path in (tmp_path).rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


def test_login_by_prompt(company, cli, isolated_home, monkeypatch):
    import getpass
    import sys

    prompts = []

    def fake_getpass(prompt, stream=None):
        prompts.append((prompt, stream))
        return PASSWORD

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    monkeypatch.setattr("tests.conftest._FakeStdin.isatty", lambda self: True)
    result = cli("login", "gerente")
    assert result.exit_code == 0, result.output
    assert prompts and prompts[0][0].startswith("Password for gerente")
    assert prompts[0][1] is not sys.stdout  # prompts never go to stdout
    assert _session_token(isolated_home, company.url)
    assert cli("whoami", "-f", "json").json()["username"] == "gerente"


def test_password_is_never_taken_from_arguments_without_a_terminal(company, cli):
    result = cli("login", "admin")
    assert result.exit_code == 2
    assert "--password-stdin" in result.stderr


def test_logout_revokes_the_session(company, cli, isolated_home):
    assert cli("login", "admin", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    token = _session_token(isolated_home, company.url)
    assert cli("logout").exit_code == 0
    assert _session_token(isolated_home, company.url) is None
    reused = cli("whoami", env={"CUENTAS_TOKEN": token})
    assert reused.exit_code == 5
    assert "revoked" in reused.stderr and "cuentas login" in reused.stderr


def test_expired_session_is_refused(company, cli, isolated_home):
    from cuentas_cli.db.models import ApiToken

    assert cli("login", "admin", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    with open_session(company.url, write=True) as s:
        for row in s.exec(select(ApiToken).where(ApiToken.kind == "session")).all():
            row.expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
            s.add(row)
    result = cli("whoami")
    assert result.exit_code == 5
    assert "expired" in result.stderr and "log in again" in result.stderr


def test_forged_token_is_refused(company):
    result = company.run("users", "list", env={"CUENTAS_TOKEN": "cst_" + "A" * 43})
    assert result.exit_code == 5
    assert "not valid" in result.stderr


def test_revoked_service_token_is_refused(company):
    made = company.run("tokens", "create", "cron-x", "--user", "contador")
    token = made.stdout.strip()
    assert company.run("whoami", env={"CUENTAS_TOKEN": token}).exit_code == 0
    assert company.run("tokens", "revoke", "cron-x").exit_code == 0
    result = company.run("whoami", env={"CUENTAS_TOKEN": token})
    assert result.exit_code == 5 and "revoked" in result.stderr
    listed = {t["name"]: t for t in company.run("tokens", "list", "-f", "json").json()}
    assert listed["cron-x"]["revoked"] is True
    assert listed["test-administrador"]["last_used_at"] is not None


def test_cron_path_without_keyring(company, cli):
    keyring.set_keyring(fail.Keyring())
    who = cli("whoami", "-f", "json", env={"CUENTAS_TOKEN": company.tokens["contador"]})
    assert who.exit_code == 0, who.output
    assert who.json()["token"] == "service"
    listing = cli("users", "list", env={"CUENTAS_TOKEN": company.tokens["administrador"]})
    assert listing.exit_code == 0
    missing = cli("whoami")
    assert missing.exit_code == 5
    assert "cuentas login" in missing.stderr and "CUENTAS_TOKEN" in missing.stderr
    refused = cli("login", "admin", "--password-stdin", input=PASSWORD + "\n", env={"CUENTAS_REQUIRE_KEYRING": "1"})
    assert refused.exit_code == 7
    assert "CUENTAS_TOKEN" in refused.stderr and "--session-file" in refused.stderr
    assert refused.stderr.count("\n") == 1 and len(refused.stderr.rstrip("\n")) <= 80  # one terminal line


def test_login_without_keyring_keeps_the_session_in_a_0600_file(company, cli):
    """A server without a keyring: login keeps the session in the data dir (one short warning),
    later commands find it there, logout removes it; CUENTAS_REQUIRE_KEYRING=1 refuses both."""
    from cuentas_cli.runtime import fallback_session_path

    keyring.set_keyring(fail.Keyring())
    path = fallback_session_path(company.url)
    result = cli("login", "gerente", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "no OS keyring here" in line]
    assert len(warnings) == 1 and str(path) in warnings[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and str(company.url) not in path.name
    who = cli("whoami", "-f", "json")
    assert who.exit_code == 0 and who.json()["username"] == "gerente", who.output
    strict = cli("whoami", env={"CUENTAS_REQUIRE_KEYRING": "1"})
    assert strict.exit_code == 5 and len(strict.stderr.rstrip("\n")) <= 80, strict.stderr
    out = cli("logout")
    assert out.exit_code == 0 and "revoked" in out.stderr, out.output
    assert not path.exists()
    after = cli("whoami")
    assert after.exit_code == 5 and "cuentas login" in after.stderr
    assert len(after.stderr.rstrip("\n")) <= 80 and after.stderr.count("\n") == 1, after.stderr


def test_session_file_when_no_keyring(company, cli, tmp_path):
    keyring.set_keyring(fail.Keyring())
    path = tmp_path / "sesion" / "token"
    result = cli("login", "gerente", "--password-stdin", "--session-file", str(path), input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    who = cli("whoami", "-f", "json", env={"CUENTAS_SESSION_FILE": str(path)})
    assert who.json()["username"] == "gerente"
    path.chmod(0o644)
    loose = cli("whoami", env={"CUENTAS_SESSION_FILE": str(path)})
    assert loose.exit_code == 3 and "0600" in loose.stderr


def test_same_message_for_unknown_user_and_wrong_password(company, cli):
    unknown = cli("login", "nadie", "--password-stdin", input=PASSWORD + "\n")
    wrong = cli("login", "admin", "--password-stdin", input="otra-clave-mala\n")
    assert unknown.exit_code == wrong.exit_code == 5
    assert unknown.stderr == wrong.stderr == "error: wrong user name or password\n"


def test_lockout_after_five_failures(company, cli):
    for _ in range(5):
        assert cli("login", "contador", "--password-stdin", input="clave-incorrecta\n").exit_code == 5
    locked = cli("login", "contador", "--password-stdin", input=PASSWORD + "\n")
    assert locked.exit_code == 5
    assert "locked" in locked.stderr and "until" in locked.stderr
    # other users are unaffected
    assert cli("login", "gerente", "--password-stdin", input=PASSWORD + "\n").exit_code == 0


def test_lock_expires_after_fifteen_minutes(company, cli):
    from cuentas_cli.db.models import User

    for _ in range(5):
        cli("login", "contador", "--password-stdin", input="clave-incorrecta\n")
    with open_session(company.url, write=True) as s:
        user = s.exec(select(User).where(User.username == "contador")).one()
        assert user.locked_until is not None
        user.locked_until = datetime.now(timezone.utc) - timedelta(seconds=1)
        s.add(user)
    assert cli("login", "contador", "--password-stdin", input=PASSWORD + "\n").exit_code == 0


def test_password_rehashed_when_parameters_change(company, cli):
    from argon2 import PasswordHasher

    from cuentas_cli.db.models import User

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with open_session(company.url, write=True) as s:
        user = s.exec(select(User).where(User.username == "gerente")).one()
        user.password_hash = weak
        s.add(user)
    assert cli("login", "gerente", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    with open_session(company.url) as s:
        stored = s.exec(select(User).where(User.username == "gerente")).one().password_hash
    assert stored != weak and "m=19456,t=2,p=1" in stored


def test_short_password_refused(company):
    result = company.run("users", "add", "luis", "--role", "contador", "--password-stdin", input="corta\n")
    assert result.exit_code == 3 and "at least 10" in result.stderr


def test_user_lifecycle(company, cli):
    assert company.run("users", "add", "luis", "--role", "contador", "--email", "luis@empresa.pe",
                       "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    assert company.run("users", "add", "luis", "--role", "contador", "--password-stdin",
                       input=PASSWORD + "\n").exit_code == 6
    assert company.run("users", "set-role", "luis", "gerente").exit_code == 0
    assert company.run("users", "show", "luis", "-f", "json").json()["role"] == "gerente"
    assert cli("login", "luis", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    assert company.run("users", "disable", "luis").exit_code == 0
    assert cli("whoami").exit_code == 5  # the disabled user's session ended
    assert cli("login", "luis", "--password-stdin", input=PASSWORD + "\n").exit_code == 5
    assert company.run("users", "enable", "luis").exit_code == 0
    assert cli("login", "luis", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    assert company.run("users", "set-role", "luis", "jefe").exit_code == 3
    assert company.run("users", "show", "nadie").exit_code == 4


def test_last_admin_is_protected(company):
    for args in (("users", "disable", "admin"), ("users", "set-role", "admin", "gerente"),
                 ("roles", "revoke", "administrador", "users")):
        result = company.run(*args)
        assert result.exit_code == 6, args
    assert company.run("users", "add", "jefa", "--role", "administrador", "--password-stdin",
                       input=PASSWORD + "\n").exit_code == 0
    assert company.run("users", "set-role", "admin", "gerente").exit_code == 0


def test_passwd_changes_password_and_ends_sessions(company, cli):
    assert cli("login", "contador", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    wrong = cli("passwd", "--password-stdin", input="no-es-la-clave\nnueva-clave-larga-1\n")
    assert wrong.exit_code == 5
    ok = cli("passwd", "--password-stdin", input=f"{PASSWORD}\nnueva-clave-larga-1\n")
    assert ok.exit_code == 0, ok.output
    assert cli("whoami").exit_code == 5
    assert cli("login", "contador", "--password-stdin", input=PASSWORD + "\n").exit_code == 5
    assert cli("login", "contador", "--password-stdin", input="nueva-clave-larga-1\n").exit_code == 0


def test_roles_grant_and_revoke(company):
    assert company.run("invoices", "--help").exit_code in (0, 2)
    assert company.run("audit", "list", role="contador").exit_code == 5
    assert company.run("roles", "grant", "contador", "audit").exit_code == 0
    assert company.run("audit", "list", role="contador").exit_code == 0
    assert company.run("roles", "revoke", "contador", "audit").exit_code == 0
    assert company.run("audit", "list", role="contador").exit_code == 5
    assert company.run("roles", "grant", "contador", "no.existe").exit_code == 3
    assert company.run("roles", "grant", "contador", "audit", role="gerente").exit_code == 5


def test_denied_message_names_permission_and_role(company):
    result = company.run("users", "list", role="gerente")
    assert result.exit_code == 5
    assert result.stderr.startswith("error: permission denied: users")
    assert "role gerente" in result.stderr


def test_audit_log_records_who_what_before_after(company):
    company.run("users", "add", "luis", "--role", "contador", "--password-stdin", input=PASSWORD + "\n")
    company.run("users", "set-role", "luis", "gerente")
    company.run("settings", "set", "smtp.host", "smtp.empresa.pe")
    rows = company.run("audit", "list", "-f", "json", role="gerente").json()
    by_action = {r["action"]: r for r in rows}
    role_change = by_action["user.set_role"]
    assert role_change["user"] == "admin" and role_change["entity_id"] == "luis"
    assert '"role": "contador"' in role_change["before"] and '"role": "gerente"' in role_change["after"]
    assert by_action["setting.set"]["entity_id"] == "smtp.host"
    only_settings = company.run("audit", "list", "--entity", "setting", "-f", "json", role="gerente").json()
    assert {r["entity"] for r in only_settings} == {"setting"}
    assert all("password" not in (r["after"] or "") for r in rows)


# One row per (role, permission) cell of the default matrix that today's commands exercise;
# other issues add their commands to this table.
CELLS = {
    "read": (("roles", "list"), {"contador": True, "gerente": True, "administrador": True}),
    "users": (("users", "list"), {"contador": False, "gerente": False, "administrador": True}),
    "settings": (("settings", "set", "company.name", "Empresa SAC"), {"contador": False, "gerente": False, "administrador": True}),
    "audit": (("audit", "list"), {"contador": False, "gerente": True, "administrador": True}),
}


@pytest.mark.parametrize("permission", sorted(CELLS))
@pytest.mark.parametrize("role", ["contador", "gerente", "administrador", None])
def test_matrix_cell(company, role, permission):
    args, allowed = CELLS[permission]
    before = snapshot(company.url)
    result = company.run(*args, role=role)
    if role is not None and allowed[role]:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 5, result.output
        assert result.stderr.startswith("error: ")
        assert snapshot(company.url) == before


def test_no_secret_in_clear_anywhere(company, cli, tmp_path, isolated_home):
    outputs = []
    outputs.append(cli("login", "admin", "--password-stdin", input=PASSWORD + "\n"))
    token = _session_token(isolated_home, company.url)
    made = company.run("tokens", "create", "cron-scan")
    service_token = made.stdout.strip()
    outputs.append(company.run("settings", "secret", "set", "smtp-password", "--stdin", input="smtp-secreto-999\n"))
    outputs.append(company.run("audit", "list", "-f", "json"))
    outputs.append(company.run("settings", "show", "-f", "json"))
    outputs.append(company.run("users", "list", "-f", "json"))
    outputs.append(company.run("tokens", "list", "-f", "json"))
    secrets = [PASSWORD, token, service_token, "smtp-secreto-999"] + list(company.tokens.values())
    blobs = [r.output.encode() for r in outputs]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            blobs.append(path.read_bytes())
    if not company.url.startswith("sqlite"):
        from sqlalchemy import text

        from cuentas_cli.db.engine import get_engine

        with get_engine(company.url).connect() as conn:
            for table in ("app_user", "api_token", "audit_log", "setting"):
                blobs.append(repr(conn.execute(text(f"SELECT * FROM {table}")).fetchall()).encode())
    for secret in secrets:
        for blob in blobs:
            assert secret.encode() not in blob
    if company.url.startswith("sqlite"):
        assert stat.S_IMODE((tmp_path / "cuentas-home").stat().st_mode) == 0o700
        assert stat.S_IMODE((tmp_path / "cuentas-home" / "cuentas.db").stat().st_mode) == 0o600


def test_login_writes_the_session_file_the_environment_names(cli, db_url, tmp_path):
    """With CUENTAS_SESSION_FILE exported, login keeps the session there (where every later
    command reads it), not in the keyring where they would never look."""
    assert cli("init", "--admin", "ana", "--password-stdin", input="clave-de-ana-2026\n").exit_code == 0
    path = tmp_path / "sesion"
    env = {"CUENTAS_SESSION_FILE": str(path)}
    logged = cli("login", "ana", "--password-stdin", input="clave-de-ana-2026\n", env=env)
    assert logged.exit_code == 0 and str(path) in logged.stderr + logged.stdout
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    assert cli("whoami", "--format", "json", env=env).json()["username"] == "ana"
    assert cli("logout", env=env).exit_code == 0 and not path.exists()
