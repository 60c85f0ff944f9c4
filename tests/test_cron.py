"""The cron job of examples/crontab.txt runs as written: its command line, in the environment cron
gives a job (HOME, PATH=/usr/bin:/bin, SHELL, LOGNAME and nothing else), through the installed
entry point, against a database created the README's way (the URL in the config file; on SQLite
the data dir's default file), sends the day's reminder to a real SMTP server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from tests.test_notify_support import SMTP_PASSWORD, SMTP_USER, smtp_server  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent
CRONTAB = (ROOT / "examples" / "crontab.txt").read_text(encoding="utf-8")


def job_commands() -> list[str]:
    """The command of each job line (its five schedule fields dropped)."""
    jobs = [line for line in CRONTAB.splitlines() if line.strip() and not line.startswith("#") and "=" not in line.split()[0]]
    return [re.split(r"\s+", line.strip(), maxsplit=5)[5] for line in jobs]


def _cron_env(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "SHELL": "/bin/sh", "LOGNAME": "contador"}


def _cuentas(home: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    """A set-up step as the README's user would type it (no keyring on this server)."""
    env = {**_cron_env(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    return subprocess.run([str(home / ".local" / "bin" / "cuentas"), *args], input=input, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_crontab_line_sends_the_days_reminders_in_crons_bare_environment(db_url, tmp_path, smtp_server):  # noqa: F811
    commands = job_commands()
    assert len(commands) == 2 and all('"$HOME/.local/bin/cuentas" notify run' in c for c in commands)
    assert "CUENTAS_DATABASE_URL" not in CRONTAB.split("SHELL=")[1]  # the URL comes from the config file
    home = tmp_path / "home"
    bin_dir = home / ".local" / "bin"
    bin_dir.mkdir(parents=True)
    (home / ".local" / "state" / "cuentas").mkdir(parents=True)  # the set-up notes' `mkdir -p`
    (home / ".config" / "cuentas").mkdir(parents=True)
    (bin_dir / "cuentas").symlink_to(Path(sys.executable).parent / "cuentas")  # the installed entry point

    def step(*args: str, input: str | None = None) -> str:
        done = _cuentas(home, *args, input=input)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    if db_url.startswith("postgresql"):
        step("settings", "set", "database.url", db_url)
        assert db_url.split("?")[0] in (home / ".config" / "cuentas" / "config.toml").read_text()
    step("init", "--admin", "ana", "--password-stdin", input="clave-de-ana-2026\n")
    step("login", "ana", "--password-stdin", input="clave-de-ana-2026\n")
    today = date.today()
    for key, value in (("smtp.host", "127.0.0.1"), ("smtp.port", str(smtp_server.port)), ("smtp.security", "none"),
                       ("smtp.user", SMTP_USER), ("smtp.from", "avisos@empresa.pe"), ("company.name", "EMPRESA S.A.C.")):
        step("settings", "set", key, value)
    step("clients", "add", "--ruc", "20131312955", "--name", "SUNAT", "--email", "pagos@sunat.example", "--no-lookup")
    step("invoices", "add", "--kind", "cxc", "--party", "20131312955", "--serie", "F001", "--numero", "7",
         "--issued", (today - timedelta(days=30)).isoformat(), "--due", today.isoformat(), "--total", "1180.00")
    token = step("tokens", "create", "cron-notify", "--user", "ana").strip()
    config = home / ".config" / "cuentas"
    for name, secret in (("cron-token", token), ("smtp-password", SMTP_PASSWORD)):
        path = config / name
        path.write_text(secret + "\n", encoding="utf-8")
        os.chmod(path, 0o600)
    step("logout")

    ran = subprocess.run(["/bin/sh", "-c", commands[0]], env=_cron_env(home), capture_output=True, text=True,
                         timeout=180)
    log = (home / ".local" / "state" / "cuentas" / "notify.log").read_text(encoding="utf-8")
    assert ran.returncode == 0, (ran.stdout, ran.stderr, log)
    assert "Traceback" not in log
    assert [m.to for m in smtp_server.inbox.messages] == ["pagos@sunat.example"], log
    # the next day's retry line finds nothing more to send: each reminder goes once
    again = subprocess.run(["/bin/sh", "-c", commands[1]], env=_cron_env(home), capture_output=True, text=True,
                           timeout=180)
    assert again.returncode == 0 and len(smtp_server.inbox.messages) == 1
