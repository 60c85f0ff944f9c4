"""No secret in clear anywhere: after a realistic run (log in, service tokens, a new user, the
SMTP password and the lookup token stored as secrets, a cron-style reminder run against a local
SMTP server), a scan of every table of the database, every file under the test's home, config
and data folders, the e-mails sent, the process's arguments and all captured output finds no
password, token or SMTP secret. No command takes a secret as an argument. The SQLite file is
0600 in a 0700 folder.

(tests/test_auth.py::test_no_secret_in_clear_anywhere is the small version of this scan; this
one adds the reminder run, all tables on both backends, argv and the options check.)
"""

from __future__ import annotations

import base64
import re
import stat
import subprocess
import time
from pathlib import Path

from sqlalchemy import inspect, text

from tests.conftest import PASSWORD
from tests.reliability import backend, cli_env, cuentas_argv, figure
from tests.test_help import ALL

SECRET_WORDS = re.compile(r"pass(word|wd)?|secret|token|api.?key|credential", re.IGNORECASE)
# options that name a secret but never carry one: where to read it from, or its name
ALLOWED = {"--password-stdin", "--session-file", "--stdin"}
NAMED_SECRETS = {("cuentas tokens create", "name"), ("cuentas tokens revoke", "name"),
                 ("cuentas settings secret set", "name")}


def test_no_command_takes_a_secret_as_an_argument():
    checked = 0
    for path, command in ALL:
        for param in getattr(command, "params", []):
            names = [param.name or "", *getattr(param, "opts", [])]
            checked += 1
            if (path, param.name) in NAMED_SECRETS or set(names[1:]) & ALLOWED:
                continue
            if getattr(param, "is_flag", False):  # takes no value (--no-password): nothing to leak
                continue
            assert not any(SECRET_WORDS.search(n) for n in names), f"{path} {names} could take a secret in argv"
    figure("argv-options", options_checked=checked, secret_options=0)


def test_secrets_cannot_go_through_settings_set(company):
    from cuentas_cli.admin.settings import SECRET_NAMES

    for name in [*SECRET_NAMES, "smtp.password", "lookup.token"]:
        result = company.run("settings", "set", name, "no-deberia-guardarse")
        assert result.exit_code == 3, (name, result.output)
        assert result.stderr.startswith("error: ")
    shown = company.run("settings", "show", "-f", "json")
    assert "no-deberia-guardarse" not in shown.output


def _all_rows(url: str) -> bytes:
    from cuentas_cli.db.engine import get_engine

    engine = get_engine(url)
    chunks = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            try:
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).fetchall()
            except Exception:  # noqa: BLE001 - a contentless FTS table; its shadow tables are read
                continue
            chunks.append(repr(rows))
    return "\n".join(chunks).encode()


def test_realistic_run_leaves_no_secret_in_clear(company, cli, tmp_path, isolated_home):
    from cuentas_cli.integrations.keyring_store import SERVICE, session_key
    from tests.test_notify_support import SMTP_PASSWORD, SMTP_USER, Inbox, SmtpServer, free_port, make_book, smtp_settings

    url = company.url
    lookup_token = "lk_" + "S3cr3t0-lookup-" * 2
    new_password = "luisa-clave-muy-secreta-7"
    outputs = []
    outputs.append(cli("login", "admin", "--password-stdin", input=PASSWORD + "\n"))
    session_token = isolated_home.store[(SERVICE, session_key(url))]
    outputs.append(cli("users", "add", "luisa", "--role", "contador", "--password-stdin", input=new_password + "\n"))
    made = cli("tokens", "create", "cron-avisos", "--user", "luisa")
    cron_token = made.stdout.strip()  # shown once on stdout by design; its stderr is scanned below
    outputs.append(cli("settings", "secret", "set", "smtp-password", "--stdin", input=SMTP_PASSWORD + "\n"))
    outputs.append(cli("settings", "secret", "set", "lookup-token", "--stdin", input=lookup_token + "\n"))
    outputs.append(cli("login", "luisa", "--password-stdin", input=new_password + "\n"))
    luisa_session = isolated_home.store[(SERVICE, session_key(url))]
    make_book(url)
    inbox = Inbox()
    server = SmtpServer(free_port(), inbox=inbox).start()
    secret_file = tmp_path / "secretos" / "smtp-password"
    secret_file.parent.mkdir(mode=0o700)
    secret_file.write_text(SMTP_PASSWORD + "\n")
    secret_file.chmod(0o600)
    argv_seen: list[bytes] = []
    try:
        smtp_settings(url, server.port)
        # the cron path: a service token in the environment, the SMTP password from a 0600 file
        env = cli_env(url, cron_token, CUENTAS_SMTP_PASSWORD_FILE=str(secret_file))
        proc = subprocess.Popen(cuentas_argv("notify", "run"), env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        while proc.poll() is None:
            try:
                argv_seen.append(Path(f"/proc/{proc.pid}/cmdline").read_bytes())
            except OSError:
                pass
            time.sleep(0.02)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        # the same run through the keyring (an interactive user), and the reports people read
        outputs.append(company.run("notify", "run", "--retry-now", role="contador"))
        for args in (("notify", "list", "-f", "json"), ("audit", "list", "-f", "json"), ("settings", "show", "-f", "json"),
                     ("tokens", "list", "-f", "json"), ("users", "list", "-f", "json"), ("whoami", "-f", "json"),
                     ("doctor", "--offline", "-f", "json")):
            outputs.append(company.run(*args))
    finally:
        server.stop()
    assert inbox.logins, "the reminder run never logged in to the SMTP server"

    secrets = {
        "admin password": PASSWORD, "new user's password": new_password, "admin session": session_token,
        "luisa session": luisa_session, "cron token": cron_token, "SMTP password": SMTP_PASSWORD,
        "lookup token": lookup_token, **{f"{role} token": t for role, t in company.tokens.items()},
        "SMTP AUTH PLAIN": base64.b64encode(f"\0{SMTP_USER}\0{SMTP_PASSWORD}".encode()).decode(),
        "SMTP AUTH LOGIN": base64.b64encode(SMTP_PASSWORD.encode()).decode(),
    }
    blobs: dict[str, bytes] = {"database (all tables)": _all_rows(url), "notify stdout": out, "notify stderr": err,
                               "tokens create stderr": made.stderr.encode()}
    for i, result in enumerate(outputs):
        blobs[f"output {i}"] = result.output.encode()
    for i, argv in enumerate(argv_seen):
        blobs[f"argv {i}"] = argv
    for i, message in enumerate(inbox.messages):
        blobs[f"e-mail {i}"] = message.message.as_bytes()
    files = 0
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != secret_file:
            blobs[str(path.relative_to(tmp_path))] = path.read_bytes()
            files += 1
    leaks = [(what, where) for what, value in secrets.items() for where, blob in blobs.items()
             if value.encode() in blob]
    assert leaks == [], leaks
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    if url.startswith("sqlite"):
        home = tmp_path / "cuentas-home"
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        for path in home.iterdir():
            if path.name.startswith("cuentas.db"):  # the file, its -wal and -shm
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        lock = home / "cuentas.db.notify.lock"
        if lock.exists():
            assert stat.S_IMODE(lock.stat().st_mode) & 0o077 == 0, oct(lock.stat().st_mode)
    figure("secrets-scan", backend=backend(url), secrets=len(secrets), places=len(blobs), files=files,
           argv_samples=len(argv_seen), found=0)
