"""The foundation: start-up, schema, configuration, errors and output."""

from __future__ import annotations

import re
import stat
import subprocess
import sys

import pytest

from cuentas_cli.db.migrations import HEAD_REVISION


def test_help_is_a_table_of_contents(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for section in ("Start:", "Administration:"):
        assert section in result.stdout
    for command in ("init", "login", "users", "settings", "db"):
        # a row starts with the command's name, then its Spanish name if it has one ("settings, ajustes")
        assert re.search(rf"^  {command}[ ,]", result.stdout, re.M), command
    assert "Example:" in result.stdout


def test_no_arguments_prints_help(cli):
    result = cli()
    assert result.exit_code == 0
    assert "Usage:" in result.stdout


def test_version(cli):
    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.startswith("cuentas ")


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from cuentas_cli.app import main; main(['--help']);"
        "heavy=[m for m in ('sqlalchemy','sqlmodel','pandas','openpyxl','httpx','alembic','fpdf') if m in sys.modules];"
        "print('HEAVY', heavy, file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in proc.stderr


def test_upgrade_twice_changes_nothing_and_file_is_private(cli, tmp_path):
    path = tmp_path / "nuevo" / "datos.db"
    url = f"sqlite:///{path}"
    first = cli("--db", url, "db", "upgrade")
    assert first.exit_code == 0, first.output
    assert "upgraded" in first.stderr
    second = cli("--db", url, "db", "upgrade")
    assert second.exit_code == 0
    assert "nothing changed" in second.stderr
    current = cli("--db", url, "db", "current")
    assert current.stdout.strip() == HEAD_REVISION
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_db_current_on_every_backend(db_url, cli):
    assert cli("db", "current").exit_code in (0, 4)
    assert cli("db", "upgrade").exit_code == 0
    assert cli("db", "current").stdout.strip() == HEAD_REVISION


def test_unreachable_postgresql_is_an_external_failure(cli):
    result = cli("--db", "postgresql://postgres@127.0.0.1:1/nada", "db", "current")
    assert result.exit_code == 7
    assert result.stderr.startswith("error: cannot reach the database")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


@pytest.mark.parametrize("url", ["nonsense", "mysql://x/y", "sqlite://", "postgresql://h:port/db"])
def test_malformed_database_url_is_a_usage_error(cli, url):
    result = cli("--db", url, "db", "current")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")


def test_missing_sqlite_database_names_init(cli, tmp_path):
    result = cli("--db", f"sqlite:///{tmp_path}/no.db", "users", "list")
    assert result.exit_code == 4
    assert "cuentas init" in result.stderr


def test_outdated_schema_names_db_upgrade(db_url, cli):
    from sqlalchemy import text

    from cuentas_cli.db.engine import dispose_engines, get_engine

    assert cli("db", "upgrade").exit_code == 0
    with get_engine(db_url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '20200101_0000'"))
    dispose_engines()
    result = cli("users", "list")
    assert result.exit_code == 6
    assert "cuentas db upgrade" in result.stderr


def test_unknown_command_and_flag_are_usage_errors(cli):
    assert cli("nada").exit_code == 2
    result = cli("db", "upgrade", "--nope")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")


def test_bad_today_is_a_usage_error(cli):
    result = cli("--today", "2026-W24", "db", "current")
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.stderr


def test_settings_show_sources(company, monkeypatch):
    monkeypatch.setenv("CUENTAS_SMTP_HOST", "smtp.env.pe")
    assert company.run("settings", "set", "smtp.port", "465").exit_code == 0
    rows = {r["key"]: r for r in company.run("settings", "show", "-f", "json").json()}
    assert rows["smtp.host"]["value"] == "smtp.env.pe" and rows["smtp.host"]["source"] == "environment"
    assert rows["smtp.port"]["value"] == "465" and rows["smtp.port"]["source"] == "database"
    assert rows["aging.buckets"]["source"] == "default"
    assert rows["database.url"]["source"] == "environment"
    assert rows["secret.smtp-password"]["value"] == "not set"


def test_settings_config_file_overrides_database(company):
    from cuentas_cli.config import write_config_value

    write_config_value("company.name", "Empresa Local SAC")
    rows = {r["key"]: r for r in company.run("settings", "show", "-f", "json").json()}
    assert rows["company.name"] == {**rows["company.name"], "value": "Empresa Local SAC", "source": "config file"}


@pytest.mark.parametrize(
    "key,value,fragment",
    [
        ("nada.clave", "1", "unknown settings key"),
        ("smtp.port", "0", "from 1 to 65535"),
        ("smtp.security", "tls", "starttls, ssl, none"),
        ("validation.strict", "quizas", "true or false"),
        ("aging.buckets", "60,30", "increase"),
        ("company.ruc", "20123456789", "check digit should be 6, not 9"),
        ("smtp.from", "no-es-correo", "e-mail"),
    ],
)
def test_settings_set_refuses_bad_keys_and_values(company, key, value, fragment):
    result = company.run("settings", "set", key, value)
    assert result.exit_code == 3, result.output
    assert fragment in result.stderr


def test_settings_set_database_url_goes_to_config_file(cli, tmp_path):
    url = f"sqlite:///{tmp_path}/otra.db"
    assert cli("settings", "set", "database.url", url).exit_code == 0
    from cuentas_cli.config import config_file_path, read_config_file

    assert read_config_file()["database.url"] == url
    assert stat.S_IMODE(config_file_path().stat().st_mode) == 0o600
    assert cli("db", "upgrade").exit_code == 0
    assert (tmp_path / "otra.db").exists()


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "table"])
def test_every_format_renders(company, fmt):
    result = company.run("users", "list", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert "contador" in result.stdout


def test_piped_output_defaults_to_jsonl(company):
    rows = company.run("users", "list").jsonl()
    assert {r["username"] for r in rows} == {"admin", "contador", "gerente"}


def test_traceback_flag_reraises(cli):
    from cuentas_cli.errors import CuentasError

    with pytest.raises(CuentasError):
        cli("--traceback", "--db", "postgresql://postgres@127.0.0.1:1/nada", "db", "current")
