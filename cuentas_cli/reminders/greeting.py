"""How a reminder greets its reader: a person by name in natural order, a company by its name.

Who is a persona natural: a DNI (doc type 1), a carné de extranjería (4) or a passport (7), or a
RUC starting 10 (a person with a business), 15 or 17 (persons without a DNI: foreigners, others
SUNAT registers). Every other RUC (20: a company) is a persona jurídica.

The name in natural order. SUNAT (and RENIEC) write a person's name apellidos first: the father's
surname, the mother's, then the given names: "HUAMÁN TORRES JORGE LUIS" is Jorge Luis Huamán
Torres. The rule here, for DNI and RUC 10/15/17 names:
- a comma, when there is one, separates the surnames (before it) from the given names;
- otherwise the name is cut in words, a particle (de, del, la, las, los, y, san, santa, vda.)
  joined to the word after it ("DE LA CRUZ" is one surname, "GARCÍA DE PÉREZ": García and de Pérez);
  the first two are the surnames, the rest the given names; with two words, the first is the
  surname;
- the result is written as a person writes it: capitals first, particles in lower case
  ("María del Carmen de la Cruz Rojas"); the accents are those SUNAT wrote (HUAMAN stays Huaman).
Limits: a person with one surname and two given names ("QUISPE JUAN CARLOS") comes out as
"Carlos Quispe Juan"; a given name made of two particles-free words cannot be told from a third
surname. Carné de extranjería and passport names are kept in their order, only re-capitalised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cuentas_cli.i18n import N_

NATURAL_RUC_PREFIXES = ("10", "15", "17")
PARTICLES = {"DE", "DEL", "LA", "LAS", "LOS", "Y", "SAN", "SANTA", "VDA", "VDA.", "VIUDA"}
LOWER_PARTICLES = {"DE", "DEL", "LA", "LAS", "LOS", "Y", "VDA", "VDA.", "VIUDA"}

DEAR_PERSON = N_("Dear {name},")
DEAR_COMPANY = N_("Dear team at {name},")
DEAR_CLIENT = N_("Dear client,")


@dataclass(frozen=True)
class Addressee:
    name: str
    doc_type: str = ""
    doc_number: str = ""

    @property
    def natural(self) -> bool:
        return is_natural(self.doc_type, self.doc_number)


def is_natural(doc_type: str, doc_number: str) -> bool:
    """A persona natural by its document (see the module docstring)."""
    doc_type = (doc_type or "").strip()
    if doc_type in ("1", "4", "7"):
        return True
    return doc_type == "6" and (doc_number or "").strip()[:2] in NATURAL_RUC_PREFIXES


def _capital(word: str, *, first: bool) -> str:
    if not first and word.upper() in LOWER_PARTICLES:
        return word.lower()
    return "-".join("'".join(piece[:1].upper() + piece[1:].lower() for piece in part.split("'"))
                    for part in word.split("-"))


def written(name: str) -> str:
    """'MARÍA DEL CARMEN ROJAS' -> 'María del Carmen Rojas'."""
    words = name.split()
    return " ".join(_capital(word, first=i == 0) for i, word in enumerate(words))


def _units(words: list[str]) -> list[str]:
    units: list[str] = []
    pending: list[str] = []
    for word in words:
        pending.append(word)
        if word.upper() not in PARTICLES:
            units.append(" ".join(pending))
            pending = []
    if pending:  # a trailing particle belongs to the last unit
        if units:
            units[-1] += " " + " ".join(pending)
        else:
            units.append(" ".join(pending))
    return units


def natural_order(name: str) -> str:
    """A SUNAT name (apellidos first) as a person writes it: 'HUAMÁN TORRES JORGE LUIS' ->
    'Jorge Luis Huamán Torres'."""
    text = " ".join(name.split())
    if "," in text:
        surnames, _, given = text.partition(",")
        return written(f"{given.strip()} {surnames.strip()}".strip())
    units = _units(text.split())
    if len(units) < 2:
        return written(text)
    cut = 1 if len(units) == 2 else 2
    return written(" ".join(units[cut:] + units[:cut]))


def display_name(addressee: Addressee) -> str:
    """How the person or company is named in a letter."""
    if not addressee.natural:
        return " ".join(addressee.name.split())
    if addressee.doc_type in ("4", "7"):
        return written(addressee.name)
    return natural_order(addressee.name)


def greeting(addressees: list[Addressee], gettext: Callable[[str], str]) -> str:
    """The salutation in the language of `gettext`: one person by name, one company by its name,
    several parties (one address for more than one client) neutral."""
    distinct = {(a.doc_type, a.doc_number, a.name) for a in addressees}
    if len(distinct) != 1:
        return gettext(DEAR_CLIENT)
    only = addressees[0]
    template = DEAR_PERSON if only.natural else DEAR_COMPANY
    return gettext(template).format(name=display_name(only))
