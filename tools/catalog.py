"""The translation catalogs: `python -m tools.catalog extract|update|check|compile`.

- `extract` writes cuentas_cli/locale/cuentas.pot: every help text of every command and option
  (read from the live command tree, so nothing is missed), and every string the code marks with
  `_()`, `N_()` or `ngettext()` (Babel's Python extractor).
- `update` merges the template into each language's .po: new entries empty, obsolete ones
  dropped, never a fuzzy guess (a translator fills them in).
- `check` lists what is wrong: an entry missing from a .po, untranslated or fuzzy, one whose
  `{placeholders}` differ from the English. Exit 1 when anything is; tests/test_i18n.py runs it.
- `compile` writes the .mo files beside the .po; the package build calls it (setup.py), so the
  compiled catalogs are never committed.

Babel is needed here (a build and test dependency); cuentas itself reads the .mo files with the
standard library's gettext.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cuentas_cli"
LOCALE = PACKAGE / "locale"
DOMAIN = "cuentas"
TRANSLATED = ("es",)
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "gettext": None}  # gettext: a template's {% trans %}
TEMPLATES = "**/default_templates/*.j2"  # reminders/default_templates: Jinja2 with the i18n extension
_PLACEHOLDER = re.compile(r"(?<!\{)\{([^{}]*)\}(?!\})")


def po_path(code: str) -> Path:
    return LOCALE / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def help_texts() -> list[tuple[str, str]]:
    """(where, text) for every help text of the command tree, in English."""
    import typer.main

    from cuentas_cli import i18n
    from cuentas_cli.app import COMMANDS, app
    from cuentas_cli.commands.localize import help_texts as walk

    i18n.activate("en")
    root = typer.main.get_command(app)
    ctx = root.make_context("cuentas", ["--help"], resilient_parsing=True)
    for _section, name, _target, _help in COMMANDS:
        root.get_command(ctx, name)
    return walk(root)


def template():
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    from cuentas_cli import __version__

    catalog = Catalog(project="cuentas", version=__version__, domain=DOMAIN, charset="utf-8", fuzzy=False,
                      copyright_holder="cuentas", msgid_bugs_address="")
    for where, text in help_texts():
        catalog.add(text, locations=[(where.replace(" ", "/"), 0)], flags=("python-brace-format",) if _PLACEHOLDER.search(text) else ())
    # the reminder templates' words ({% trans %} and _() of the jinja2 i18n extension) too
    found = extract_from_dir(str(PACKAGE), method_map=[("**.py", "python"), (TEMPLATES, "jinja2.ext:babel_extract")],
                             options_map={TEMPLATES: {"extensions": "jinja2.ext.i18n", "trimmed": "true"}},
                             keywords=KEYWORDS, comment_tags=("Translators:",), strip_comment_tags=True)
    for filename, lineno, message, comments, _context in found:
        if not message or (isinstance(message, tuple) and not message[0]):
            continue
        catalog.add(message, locations=[(f"cuentas_cli/{filename}", lineno)], auto_comments=comments)
    return catalog


def extract() -> Path:
    from babel.messages.pofile import write_po

    path = LOCALE / f"{DOMAIN}.pot"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, template(), width=100, omit_header=False, sort_output=True, include_lineno=False)
    return path


def _read(path: Path):
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        return read_po(handle, domain=DOMAIN)


def update() -> list[Path]:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    pot = template()
    written = []
    for code in TRANSLATED:
        path = po_path(code)
        catalog = _read(path) if path.exists() else Catalog(
            locale=code, domain=DOMAIN, project=pot.project, version=pot.version, copyright_holder="cuentas",
            msgid_bugs_address="", fuzzy=False,
            header_comment=f"# Spanish ({code}) catalog of cuentas: the interface a person reads.\n"
                           "# Filled in by hand; `python -m tools.catalog check` lists what is missing.")
        catalog.update(pot, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_output=True, include_lineno=False, ignore_obsolete=True)
        written.append(path)
    return written


def _ids(message) -> list[str]:  # noqa: ANN001
    return list(message.id) if isinstance(message.id, tuple) else [message.id]


def _strings(message) -> list[str]:  # noqa: ANN001
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def problems(code: str) -> list[str]:
    """What stops the `code` catalog from covering the interface; empty when it does."""
    path = po_path(code)
    if not path.exists():
        return [f"{path.relative_to(ROOT)} is missing"]
    catalog = _read(path)
    found = []
    wanted = {(m.id if isinstance(m.id, str) else m.id[0]) for m in template() if m.id}
    have = {}
    for message in catalog:
        if message.id:
            have[message.id if isinstance(message.id, str) else message.id[0]] = message
    for msgid in sorted(wanted - set(have)):
        found.append(f"{code}: not in the catalog: {msgid[:70]!r}")
    for msgid, message in sorted(have.items()):
        short = msgid[:70]
        if message.fuzzy:
            found.append(f"{code}: fuzzy: {short!r}")
        if not all(_strings(message)):
            found.append(f"{code}: untranslated: {short!r}")
            continue
        source = set().union(*(set(_PLACEHOLDER.findall(i)) for i in _ids(message)))
        for translated in _strings(message):
            if set(_PLACEHOLDER.findall(translated)) != source:
                found.append(f"{code}: placeholders differ from the English: {short!r}")
                break
        if msgid not in wanted:
            found.append(f"{code}: no longer used (run update): {short!r}")
    return found


def compile_catalogs(locale_dir: Path = LOCALE) -> list[Path]:
    """Each .po under `locale_dir` to its .mo (the package build runs this)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, domain=DOMAIN)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        written.append(mo)
    return written


def main(argv: list[str]) -> int:
    action = argv[0] if argv else ""
    if action == "extract":
        print(extract().relative_to(ROOT))
    elif action == "update":
        for path in update():
            print(path.relative_to(ROOT))
    elif action == "compile":
        for path in compile_catalogs():
            print(path.relative_to(ROOT))
    elif action == "check":
        found = [p for code in TRANSLATED for p in problems(code)]
        for line in found:
            print(line)
        print(f"{len(found)} problem(s)")
        return 1 if found else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
