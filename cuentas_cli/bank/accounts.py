"""The company's bank accounts: where clients pay (statements, reminders, the PDF report).

An account has the bank's own number and, for transfers between banks, the CCI (código de
cuenta interbancario, 20 digits, the first three the bank's code). Detracciones are deposited
into an account at the Banco de la Nación, in soles, which serves only to pay taxes: that one
is flagged `detracciones` and shown apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from cuentas_cli.admin import audit
from cuentas_cli.admin.auth import Actor, require
from cuentas_cli.db.enums import CURRENCIES
from cuentas_cli.errors import Conflict, NotFound, ValidationError
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from sqlmodel import Session

# Short code -> (name, the CCI's first three digits where certain). Other banks and cajas are
# accepted by the name given, without a CCI prefix check.
BANKS: dict[str, tuple[str, str | None]] = {
    "BCP": ("Banco de Crédito del Perú", "002"),
    "IBK": ("Interbank", "003"),
    "SCOTIA": ("Scotiabank Perú", "009"),
    "BBVA": ("BBVA Perú", "011"),
    "BN": ("Banco de la Nación", "018"),
    "BANBIF": ("BanBif", None),
    "PICHINCHA": ("Banco Pichincha", None),
}
BANK_ALIASES = {"INTERBANK": "IBK", "SCOTIABANK": "SCOTIA", "NACION": "BN", "BANCO DE LA NACION": "BN",
                "BANCO DE LA NACIÓN": "BN", "BBVA CONTINENTAL": "BBVA", "CONTINENTAL": "BBVA",
                "BANCO DE CREDITO": "BCP", "BANCO DE CRÉDITO": "BCP"}
CCI_DIGITS = 20
MAX_NAME = 60
MAX_NUMBER = 40


@dataclass(frozen=True)
class BankAccount:
    id: int
    name: str
    bank: str
    bank_name: str
    currency: str
    number: str
    cci: str | None
    detracciones: bool


def bank_code(raw: str) -> str:
    """`bcp`, `Interbank`, `Banco de la Nación` -> the short code; another bank keeps its name."""
    text = " ".join(raw.split())
    if not text:
        raise ValidationError(_("--bank is empty; give a code such as {codes}").format(codes=", ".join(BANKS)))
    upper = text.upper()
    code = BANK_ALIASES.get(upper, upper)
    if code in BANKS:
        return code
    if len(text) > 20:
        raise ValidationError(_("bank {bank!r}: at most 20 characters (known codes: {codes})")
                              .format(bank=text, codes=", ".join(BANKS)))
    return text


def bank_name(code: str) -> str:
    return BANKS[code][0] if code in BANKS else code


def _digits(raw: str, what: str, *, allowed: str) -> str:
    text = raw.strip()
    bad = [ch for ch in text if not (ch.isascii() and ch.isdigit()) and ch not in allowed]
    if bad or not any(ch.isdigit() for ch in text):
        raise ValidationError(_("{what} {value!r}: only digits{extra}")
                              .format(what=what, value=raw, extra=_(" and hyphens") if "-" in allowed else ""))
    return text


def check_cci(raw: str, bank: str) -> str:
    cci = "".join(_digits(raw, "CCI", allowed=" -").replace("-", "").split())
    if len(cci) != CCI_DIGITS:
        raise ValidationError(_("CCI {value!r} has {n} digits; a CCI has 20").format(value=raw, n=len(cci)))
    prefix = BANKS.get(bank, ("", None))[1]
    if prefix and not cci.startswith(prefix):
        raise ValidationError(_("CCI {cci} does not belong to {bank}: its CCIs start with {prefix}")
                              .format(cci=cci, bank=bank_name(bank), prefix=prefix))
    return cci


def _view(row) -> BankAccount:  # noqa: ANN001 - a Core row of bank_account
    return BankAccount(row.id, row.name, row.bank, bank_name(row.bank), row.currency, row.number, row.cci,
                       bool(row.detracciones))


def list_accounts(session: "Session") -> list[BankAccount]:
    """Every account: soles first, then dollars, the detracciones account last."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import bank_account as t

    rows = session.execute(select(t)).all()
    accounts = [_view(row) for row in rows]
    return sorted(accounts, key=lambda a: (a.detracciones, a.currency != "PEN", a.currency, a.name.lower()))


def find_account(session: "Session", name: str) -> BankAccount:
    """One of the company's accounts by its name."""
    from sqlalchemy import select

    from cuentas_cli.db.tables import bank_account as t

    row = session.execute(select(t).where(t.c.name == " ".join(name.split()))).first()
    if row is None:
        raise NotFound(_("no bank account named {name!r}; see `cuentas bank accounts list` (or add it with `cuentas "
                         "bank accounts add`)").format(name=name))
    return _view(row)


def listed(session: "Session", actor: Actor) -> list[BankAccount]:
    require(actor, "read")
    return list_accounts(session)


def add(session: "Session", actor: Actor, *, name: str, bank: str, currency: str, number: str,
        cci: str | None = None, detracciones: bool = False) -> BankAccount:
    from sqlalchemy import insert, select

    from cuentas_cli.db.enums import utcnow
    from cuentas_cli.db.tables import bank_account as t

    require(actor, "settings")
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise ValidationError(_("account name: 1 to {n} characters").format(n=MAX_NAME))
    code = bank_code(bank)
    currency = currency.strip().upper()
    if currency not in CURRENCIES:
        raise ValidationError(_("currency {currency!r}: use {choices}")
                              .format(currency=currency, choices=" or ".join(CURRENCIES)))
    number = _digits(number, _("account number"), allowed="- ")
    if len(number) > MAX_NUMBER:
        raise ValidationError(_("account number: at most {n} characters").format(n=MAX_NUMBER))
    cci_value = check_cci(cci, code) if cci else None
    if detracciones:
        if code != "BN" or currency != "PEN":
            raise ValidationError(_("the detracciones account is in soles at the Banco de la Nación "
                                    "(--bank BN --currency PEN)"))
        if session.execute(select(t.c.name).where(t.c.detracciones.is_(True))).first():
            raise Conflict(_("there is already a detracciones account; remove it first "
                             "(`cuentas bank accounts remove NAME`)"))
    if session.execute(select(t.c.id).where(t.c.name == name)).first():
        raise Conflict(_("there is already an account named {name!r}").format(name=name))
    if session.execute(select(t.c.name).where(t.c.bank == code, t.c.number == number)).first():
        raise Conflict(_("{bank} account {number} is already recorded").format(bank=bank_name(code), number=number))
    new_id = session.execute(insert(t).values(
        name=name, bank=code, currency=currency, number=number, cci=cci_value, detracciones=detracciones,
        created_at=utcnow()).returning(t.c.id)).scalar_one()
    account = BankAccount(new_id, name, code, bank_name(code), currency, number, cci_value, detracciones)
    audit.record(session, actor, action="bank_account.add", entity="bank_account", entity_id=name,
                 after=asdict(account))
    return account


def remove(session: "Session", actor: Actor, name: str) -> BankAccount:
    from sqlalchemy import delete, select

    from cuentas_cli.db.tables import bank_account as t

    require(actor, "settings")
    row = session.execute(select(t).where(t.c.name == " ".join(name.split()))).first()
    if row is None:
        raise NotFound(_("no bank account named {name!r}; see `cuentas bank accounts list`").format(name=name))
    account = _view(row)
    session.execute(delete(t).where(t.c.id == account.id))
    audit.record(session, actor, action="bank_account.remove", entity="bank_account", entity_id=account.name,
                 before=asdict(account))
    return account
