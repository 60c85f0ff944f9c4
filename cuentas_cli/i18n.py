"""The language a person reads: gettext catalogs (English source strings, Spanish `es`).

What changes with the language is only what a person reads: help, messages, table headers,
report labels. Command and option names, JSON/CSV keys, status codes, exit codes and ISO dates
never change (shared/docs/cli.md, "the script contract").

The choice, first match wins: `--lang`, `CUENTAS_LANG`, the local setting `ui.language` (env
`CUENTAS_UI_LANGUAGE` or the config file), then the locale (`LC_ALL`, `LC_MESSAGES`, `LANG`);
a locale that is neither Spanish nor English (C, POSIX, unset: most servers and cron) means
Spanish. The compiled catalogs (`locale/es/LC_MESSAGES/cuentas.mo`) are produced by the package
build from the `.po` sources (setup.py); `tools/catalog.py` extracts and checks them.

Only the standard library here: this module sits below everything else and is loaded by every
command, so a catalog costs one small file read.
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Mapping

DOMAIN = "cuentas"
LANGUAGES = ("es", "en")
DEFAULT = "es"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_translation: _gettext.NullTranslations = _gettext.NullTranslations()
_language = "en"
_cache: dict[str, _gettext.NullTranslations] = {}


def N_(message: str) -> str:
    """Marks a string for the catalog where it is defined; translated where it is shown."""
    return message


def _(message: str) -> str:
    """`message` in the active language (the English source when it has no translation)."""
    return _translation.gettext(message) if message else message


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)


def language() -> str:
    return _language


def normalise(raw: str | None) -> str | None:
    """`es`, `es_PE.UTF-8`, `Spanish`... -> `es`; `en_US` -> `en`; anything else -> None."""
    if not raw:
        return None
    code = raw.strip().lower().replace("-", "_").split(".", 1)[0].split("@", 1)[0].split("_", 1)[0]
    aliases = {"spanish": "es", "espanol": "es", "español": "es", "castellano": "es", "english": "en"}
    code = aliases.get(code, code)
    return code if code in LANGUAGES else None


def from_locale(environ: Mapping[str, str]) -> str:
    """The locale's language: the first of LC_ALL, LC_MESSAGES, LANG that is set decides; one
    that is neither Spanish nor English (C, POSIX) or none at all gives Spanish."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return normalise(value) or DEFAULT
    return DEFAULT


def choose(flag: str | None = None, *, setting: str | None = None,
           environ: Mapping[str, str] | None = None) -> str:
    """The language of this run; a bad `--lang` is the caller's usage error (see `check`)."""
    environ = os.environ if environ is None else environ
    for candidate in (flag, environ.get("CUENTAS_LANG"), environ.get("CUENTAS_UI_LANGUAGE"), setting):
        code = normalise(candidate)
        if code:
            return code
    return from_locale(environ)


def check(raw: str) -> str:
    """A `--lang` or `ui.language` value: `es` or `en` (a locale name such as es_PE works)."""
    code = normalise(raw)
    if code is None:
        raise ValueError(f"expected one of {', '.join(LANGUAGES)}")
    return code


def catalog(code: str) -> _gettext.NullTranslations:
    if code not in _cache:
        if code == "en":  # the source strings
            _cache[code] = _gettext.NullTranslations()
        else:
            _cache[code] = _gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[code], fallback=True)
    return _cache[code]


def compiled(code: str) -> bool:
    """Whether the build produced the catalog of `code` (doctor reports a missing one)."""
    return code == "en" or (LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file()


def activate(code: str) -> None:
    global _translation, _language
    _translation = catalog(code)
    _language = code


@contextmanager
def speaking(code: str) -> Iterator[None]:
    """`code` active inside the block, the previous language after it: what a client reads (a
    reminder's attached statement, in notify.language) next to what the operator reads."""
    global _translation, _language
    previous = (_translation, _language)
    activate(code)
    try:
        yield
    finally:
        _translation, _language = previous
