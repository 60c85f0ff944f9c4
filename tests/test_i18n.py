"""The interface in Spanish and English: the catalog covers every help text, the language is
chosen as documented, and the language changes only what a person reads (the README tour gives
the same exit codes and the same JSON in both)."""

from __future__ import annotations

import ast
import gettext
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from cuentas_cli import i18n
from tests.test_help import ALL
from tests.test_readme import run_tour, tour_lines
from tools import catalog as tools_catalog

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def spanish():
    i18n.activate("es")
    yield i18n.catalog("es")
    i18n.activate("en")


# --- the catalog ------------------------------------------------------------------------------


def test_the_spanish_catalog_has_no_missing_fuzzy_or_untranslated_entry():
    """`python -m tools.catalog check`: every help text of the live command tree and every marked
    string is in es/cuentas.po, translated, not fuzzy, with the English placeholders."""
    assert tools_catalog.problems("es") == []


def test_every_command_and_option_help_has_a_spanish_translation(spanish):
    """Walks the registered commands (the test_help walk: every command once) and their options
    and looks each help text up in the compiled catalog the program reads."""
    missing = []
    for path, command in ALL:
        texts = [(f"{path} ({attr})", command.__dict__.get("_i18n_source", {}).get(attr, getattr(command, attr, None)))
                 for attr in ("help", "short_help", "epilog")]
        texts += [(f"{path} {param.opts[0] if param.opts else param.name}",
                   param.__dict__.get("_i18n_source", {}).get("help", getattr(param, "help", None)))
                  for param in command.params]
        for where, text in texts:
            if text and not spanish._catalog.get(text, "").strip():  # noqa: SLF001 - the compiled entries
                missing.append(f"{where}: {text[:60]!r}")
    assert not missing, "help without Spanish:\n" + "\n".join(missing)
    assert len(ALL) > 60


def test_the_compiled_catalog_is_the_po(tmp_path):
    """The .mo the program reads says what the .po says (a stale one means: reinstall, or run
    `python -m tools.catalog compile`)."""
    from babel.messages.pofile import read_po

    with tools_catalog.po_path("es").open("rb") as handle:
        po = read_po(handle, domain="cuentas")
    mo = tools_catalog.po_path("es").with_suffix(".mo")
    assert mo.is_file(), "no compiled catalog: `pip install -e .` (or python -m tools.catalog compile) makes it"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for message in po:
        if message.id and isinstance(message.id, str):
            assert compiled.gettext(message.id) == message.string, f"stale .mo for {message.id[:60]!r}"


def test_placeholders_survive_translation(spanish):
    """Every translated template formats with the English placeholders (a KeyError here would be a
    traceback in front of a user)."""
    from babel.messages.pofile import read_po

    with tools_catalog.po_path("es").open("rb") as handle:
        po = read_po(handle, domain="cuentas")
    checked = 0
    for message in po:
        if not message.id or isinstance(message.id, tuple) or "python-brace-format" not in message.flags:
            continue
        # a value each field's format spec takes: a datetime for `{at:%Y-%m-%d}`, else a number
        fields = re.findall(r"(?<!\{)\{(\w+)([^{}]*)\}(?!\})", message.id)
        values = {name: datetime(2026, 6, 15, 9, 30) if "%" in spec else 1 for name, spec in fields}
        try:
            message.id.format(**values)
            message.string.format(**values)
        except (KeyError, IndexError, ValueError) as exc:  # pragma: no cover - the failure message
            pytest.fail(f"{message.id[:60]!r}: {exc}")
        checked += 1
    assert checked > 10


# --- choosing the language --------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "code"), [
    ("es", "es"), ("en", "en"), ("es_PE.UTF-8", "es"), ("en_US.UTF-8", "en"), ("ES", "es"),
    ("es-PE", "es"), ("spanish", "es"), ("español", "es"), ("C", None), ("POSIX", None), ("fr_FR", None), ("", None),
])
def test_normalise(raw, code):
    assert i18n.normalise(raw) == code


@pytest.mark.parametrize(("flag", "environ", "setting", "expected"), [
    ("en", {"CUENTAS_LANG": "es", "LANG": "es_PE.UTF-8"}, "es", "en"),          # the flag first
    (None, {"CUENTAS_LANG": "en", "LANG": "es_PE.UTF-8"}, "es", "en"),          # then CUENTAS_LANG
    (None, {"CUENTAS_UI_LANGUAGE": "en", "LANG": "es_PE.UTF-8"}, "es", "en"),   # the setting by env
    (None, {"LANG": "es_PE.UTF-8"}, "en", "en"),                                # the setting's file
    (None, {"LANG": "en_US.UTF-8"}, None, "en"),                                # the locale
    (None, {"LC_ALL": "es_PE.UTF-8", "LANG": "en_US.UTF-8"}, None, "es"),       # LC_ALL before LANG
    (None, {"LC_MESSAGES": "en_GB.UTF-8", "LANG": "es_PE"}, None, "en"),        # LC_MESSAGES before LANG
    (None, {"LANG": "C"}, None, "es"),                                          # C: Spanish
    (None, {"LANG": "C.UTF-8"}, None, "es"),
    (None, {"LC_ALL": "POSIX"}, None, "es"),
    (None, {}, None, "es"),                                                     # cron: nothing set
    (None, {"LANG": "fr_FR.UTF-8"}, None, "es"),                                # neither: Spanish
])
def test_choose(flag, environ, setting, expected):
    assert i18n.choose(flag, setting=setting, environ=environ) == expected


def _plain(**env):
    """The environment of a run that leaves the choice to the locale."""
    return {"CUENTAS_LANG": None, "CUENTAS_UI_LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": None, **env}


def test_the_locale_and_cron_give_spanish_help(cli):
    for env in (_plain(LANG="es_PE.UTF-8"), _plain(LANG="C"), _plain()):
        shown = cli("--help", env=env)
        assert shown.exit_code == 0 and "Uso: " in shown.stdout and "Opciones" in shown.stdout, env
        assert "Usage:" not in shown.stdout
    english = cli("--help", env=_plain(LANG="en_US.UTF-8"))
    assert "Usage: " in english.stdout and "Options" in english.stdout and "Uso:" not in english.stdout


def test_lang_flag_wins_for_one_run(cli):
    spanish = cli("--lang", "es", "facturas", "--help")
    assert spanish.exit_code == 0 and "Uso: cuentas facturas" in spanish.stdout
    assert "Muestra este mensaje y termina." in spanish.stdout
    english = cli("--lang=en", "invoices", "--help", env={"CUENTAS_LANG": "es"})
    assert english.exit_code == 0 and "Usage: cuentas invoices" in english.stdout
    # the command names are the same in both
    names = lambda text: sorted(set(re.findall(r"^  ([a-z][\w-]+)", text, re.M)))  # noqa: E731
    assert names(spanish.stdout) == names(english.stdout)


def test_ui_language_setting_in_the_config_file(cli, db_url):
    assert cli("settings", "set", "ui.language", "en").exit_code == 0
    shown = cli("--help", env=_plain(LANG="es_PE.UTF-8"))
    assert "Usage: " in shown.stdout
    assert "Uso: " in cli("--help", env=_plain(LANG="en_US.UTF-8", CUENTAS_LANG="es")).stdout
    bad = cli("settings", "set", "ui.language", "klingon")
    assert bad.exit_code != 0 and "klingon" in bad.stderr and "Traceback" not in bad.output


@pytest.mark.parametrize("args", [("--lang", "fr", "--help"), ("--lang=xx", "whoami")])
def test_a_bad_language_is_a_usage_error(cli, args):
    result = cli(*args)
    assert result.exit_code == 2 and result.stdout == ""
    assert "is not a language" in result.stderr or "no es un idioma" in result.stderr
    assert "Traceback" not in result.output


def test_a_bad_cuentas_lang_is_a_usage_error(cli):
    result = cli("--help", env={"CUENTAS_LANG": "zz"})
    assert result.exit_code == 2 and "CUENTAS_LANG" in result.stderr


# --- what Spanish changes ---------------------------------------------------------------------


def test_clicks_own_words_and_usage_errors_in_spanish(cli, spanish):
    missing = cli("--lang", "es", "facturas", "add", "--kind", "cxc")
    assert missing.exit_code == 2
    assert "Missing option" not in missing.stderr and "Usage:" not in missing.stderr
    assert spanish.gettext("Missing option '{name}'.").split("{")[0] in missing.stderr
    unknown = cli("--lang", "es", "facturas", "nada")
    assert unknown.exit_code == 2 and "No such command" not in unknown.stderr
    assert spanish.gettext("No such command {name!r}.").split("{")[0] in unknown.stderr
    typo = cli("--lang", "es", "facturas", "list", "--limt", "3")
    assert typo.exit_code == 2 and "--limit" in typo.stderr and "No such option" not in typo.stderr
    english = cli("--lang", "en", "invoices", "add", "--kind", "cxc")
    assert english.exit_code == 2 and "Missing option" in english.stderr


def test_table_headers_are_labels_in_the_language(cli, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CUENTAS_TODAY", "2026-06-15")
    assert cli("init", "--admin", "ana", "--password-stdin", input="clave-de-ana-2026\n").exit_code == 0
    assert cli("login", "ana", "--password-stdin", input="clave-de-ana-2026\n").exit_code == 0
    assert cli("clients", "add", "--ruc", "20999990011", "--lookup").exit_code == 0
    assert cli("invoices", "add", "--kind", "cxc", "--party", "20999990011", "--serie", "F001", "--numero", "7",
               "--issued", "01/06/2026", "--due", "10/06/2026", "--total", "1180.00").exit_code == 0
    env = {"COLUMNS": "200"}
    es = cli("--lang", "es", "facturas", "vencidas", "--format", "table", env=env).stdout
    en = cli("--lang", "en", "invoices", "overdue", "--format", "table", env=env).stdout
    assert "party_name" not in es and "party_name" not in en
    assert "Days overdue" in en and "Days overdue" not in es
    assert "10/06/2026" in es and "10/06/2026" in en          # dates for people: DD/MM/YYYY
    # JSON is the script contract: the same keys and values whatever the language
    as_json = [cli("--lang", code, "invoices", "overdue", "--format", "json").json() for code in ("es", "en")]
    assert as_json[0] == as_json[1] and as_json[0][0]["due_date"] == "2026-06-10"


# --- messages and errors -------------------------------------------------------------------------

_MESSAGE_CALLS = {"info": (0,), "success": (0,), "warn": (0,), "RowError": (2,), "Check": (2, 3)}


def _error_classes(trees) -> set[str]:
    """CuentasError and every class below it, wherever it is defined."""
    bases = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
    found, grew = {"CuentasError"}, True
    while grew:
        grew = False
        for name, parents in bases.items():
            if name not in found and parents & found:
                found.add(name)
                grew = True
    return found


def test_every_message_a_person_reads_goes_through_the_catalog():
    """An error raised with a literal message, a row error, a doctor check's text or a console line
    written as a bare string or f-string would stay English in Spanish: each must be `_("...")` (with `.format`)."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8"))
             for path in (ROOT / "cuentas_cli").rglob("*.py")}
    calls = dict(_MESSAGE_CALLS, **{name: (0,) for name in _error_classes(trees)})
    bare = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            indexes = calls.get(name)
            if indexes is None:
                continue
            if (name in ("info", "warn") and isinstance(node.func, ast.Attribute)
                    and getattr(node.func.value, "id", "") not in ("render", "console")):
                continue  # logger.info(...): the log of a daemon stays in English, like its traceback
            for arg in [node.args[i] for i in indexes if i < len(node.args)]:
                words = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else (
                    "".join(v.value for v in arg.values if isinstance(v, ast.Constant))
                    if isinstance(arg, ast.JoinedStr) else "")
                if re.search(r"[A-Za-z]{2}", words):
                    bare.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name}({words[:50]!r})")
    assert not bare, "messages outside the catalog:\n" + "\n".join(bare)
    assert len(calls) > 10  # the error classes were found


def test_errors_and_messages_in_spanish_with_the_same_exit_codes(cli, db_url, tmp_path):
    """The same mistakes in both languages: the exit code never changes, the words do."""
    password = "clave-de-ana-2026"
    cases = [
        (("init", "--admin", "ana", "--password-stdin"), 3, "password too short", "contraseña demasiado corta"),
    ]
    for args, code, english, spanish_text in cases:
        for lang, expected in (("en", english), ("es", spanish_text)):
            result = cli("--lang", lang, *args, input="corta\n")
            assert result.exit_code == code and expected in result.stderr, (lang, args, result.stderr)
            assert result.stderr.startswith("error: ") and "Traceback" not in result.output
    if db_url.startswith("sqlite"):  # the refused password left no database behind
        assert not Path(db_url.split(":///", 1)[1]).exists()
    assert cli("init", "--admin", "ana", "--password-stdin", input=password + "\n").exit_code == 0
    assert cli("login", "ana", "--password-stdin", input=password + "\n").exit_code == 0
    after_login = [
        (("invoices", "show", "999"), 4, "no invoice '999'", "no existe la factura '999'"),
        (("invoices", "add", "--kind", "cxc", "--party", "20999990011", "--serie", "F001", "--numero", "1",
          "--issued", "2026-06-01", "--due", "2026-06-10", "--total", "1.180"), 3, "1.180", "1.180"),
        (("clients", "add", "--ruc", "20999990012", "--no-lookup", "--name", "X"), 3, "check digit", "dígito verificador"),
        (("invoices", "list", "--limit", "0"), 2, "--limit", "--limit"),
    ]
    for args, code, english, spanish_text in after_login:
        en = cli("--lang", "en", *args)
        es = cli("--lang", "es", *args)
        assert en.exit_code == es.exit_code == code, (args, en.stderr, es.stderr)
        assert english in en.stderr and spanish_text in es.stderr, (en.stderr, es.stderr)
        assert en.stderr != es.stderr  # the words changed
        assert "Traceback" not in en.output + es.output
    # a success line and a row error of an import, in Spanish
    assert cli("clients", "add", "--ruc", "20999990011", "--lookup").exit_code == 0
    sheet = tmp_path / "lote.csv"
    sheet.write_text("tipo,ruc,serie,numero,fecha_emision,fecha_vencimiento,total\n"
                     "cxc,20999990011,F001,1,2026-06-01,2026-06-10,1180.00\n"
                     "cxc,20999990011,F001,2,2026-06-01,2026-06-10,mil\n", encoding="utf-8")
    refused = cli("--lang", "es", "import", str(sheet))
    assert refused.exit_code == 3 and "error(es) de fila" in refused.stderr and "no es un monto" in refused.stderr
    partial = cli("--lang", "es", "import", str(sheet), "--partial", "--errors", str(tmp_path / "malas.csv"))
    assert partial.exit_code == 0 and "importadas 1 nuevas" in partial.stderr, partial.stderr


# --- the README tour in both languages ----------------------------------------------------------

_VOLATILE = re.compile(r"(_at|token|secret|created|updated|sent|last_.*)$")


def _mask(value):
    if isinstance(value, dict):
        return {k: "<volatile>" if _VOLATILE.search(k) else _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def _second_database(db_url: str, pg_database: str | None, tmp_path: Path) -> tuple[str, callable]:
    """Another empty database on the same backend as `db_url`, and how to drop it."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'otra' / 'cuentas.db'}", lambda: None
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        from cuentas_cli.db.engine import dispose_engines

        dispose_engines()
        with psycopg.connect(pg_database, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    return f"postgresql+psycopg://{pg_database.removeprefix('postgresql://')}?options=-csearch_path%3D{schema}", drop


_SNAPSHOTS = [
    ("invoices", "list", "--format", "json"),
    ("invoices", "show", "F001-1001", "--format", "json"),
    ("clients", "list", "--format", "json"),
    ("suppliers", "list", "--format", "json"),
    ("dashboard", "--format", "json"),
    ("dashboard", "aging", "--format", "json"),
    ("invoices", "overdue", "--format", "json"),
]


def _run_tour(cli, code: str, url: str, workdir: Path, monkeypatch) -> tuple[list[tuple[str, int]], list]:
    shutil.copytree(ROOT / "examples", workdir / "examples")
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("CUENTAS_DATABASE_URL", url)
    monkeypatch.setenv("CUENTAS_LANG", code)
    monkeypatch.setenv("CUENTAS_SESSION_FILE", str(workdir / "session"))
    codes = []
    for line, result in run_tour(cli, tour_lines(), monkeypatch):
        assert "Traceback" not in result.output
        codes.append((line, result.exit_code))
    snapshots = []
    for args in _SNAPSHOTS:
        result = cli(*args)
        assert result.exit_code == 0, f"{code}: {args}: {result.output}"
        snapshots.append(_mask(result.json()))
    return codes, snapshots


def test_the_readme_tour_gives_the_same_codes_and_json_in_spanish_and_english(cli, db_url, pg_database, tmp_path,
                                                                              monkeypatch):
    other, drop = _second_database(db_url, pg_database, tmp_path)
    try:
        (tmp_path / "es").mkdir()
        (tmp_path / "en").mkdir()
        es_codes, es_json = _run_tour(cli, "es", db_url, tmp_path / "es", monkeypatch)
        en_codes, en_json = _run_tour(cli, "en", other, tmp_path / "en", monkeypatch)
    finally:
        drop()
    assert es_codes == en_codes
    assert all(exit_code == 0 for _line, exit_code in es_codes)
    for args, es, en in zip(_SNAPSHOTS, es_json, en_json):
        assert es == en, f"`cuentas {' '.join(args)}` differs between es and en"
    # and the Excel file each tour wrote has the same rows
    from openpyxl import load_workbook

    sheets = []
    for code in ("es", "en"):
        book = load_workbook(tmp_path / code / "vencidas.xlsx", read_only=True)
        sheets.append(len(list(book.worksheets[-1].iter_rows())))
    assert sheets[0] == sheets[1] > 1


# --- a fresh install is Spanish -----------------------------------------------------------------


@pytest.mark.slow
def test_the_built_package_carries_the_spanish_catalog_and_speaks_spanish(tmp_path):
    """`pip wheel` builds the package the way a fresh install does (isolated build environment,
    setup.py compiles the catalogs); the wheel holds the .mo, and the installed package, with no
    language set (as under cron), prints Spanish help."""
    # the files a clone has (no compiled catalog: .gitignore keeps the .mo out of the repository)
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    source = tmp_path / "clone"
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    assert not list(source.rglob("*.mo")) and (source / "cuentas_cli/locale/es/LC_MESSAGES/cuentas.po").is_file()
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                            str(source)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("cuentas*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "cuentas_cli/locale/es/LC_MESSAGES/cuentas.mo" in names
        with archive.open("cuentas_cli/locale/es/LC_MESSAGES/cuentas.mo") as handle:
            compiled = gettext.GNUTranslations(handle)
    assert compiled.gettext("Usage: ") == "Uso: "
    site = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
                                str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CUENTAS_", "LC_", "LANG"))}
    env.update(PYTHONPATH=str(site), CUENTAS_HOME=str(tmp_path / "home"))
    shown = subprocess.run([sys.executable, "-c", "import cuentas_cli, sys; print(cuentas_cli.__file__); "
                            "from cuentas_cli.app import main; sys.exit(main(['facturas', '--help']))"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0].startswith(str(site))  # the built package, not the source tree
    assert "Uso: cuentas facturas" in shown.stdout and "Opciones" in shown.stdout
