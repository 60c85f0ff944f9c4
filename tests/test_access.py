"""Nothing gets past the permission matrix: every registered command, run as each role and as
nobody; every write attempted with an expired, a revoked and a forged token.

The command list is walked from the registered commands (tests/test_help.py's walker), so a new
command without an entry in CASES fails `test_every_command_has_an_access_case`. A denied run
must exit 5 with one `error:` line and leave every table exactly as it was (tests/dbstate.py).
The expected decision comes from the default grants in the migration (DEFAULT_GRANTS), which
`test_default_grants_are_the_design_matrix` pins to the matrix in design.md.
"""

from __future__ import annotations

import importlib
import itertools
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from cuentas_cli.db.engine import open_session
from tests.conftest import PASSWORD
from tests.dbstate import snapshot
from tests.reliability import backend, figure
from tests.test_help import ALL


ROLES = ("contador", "gerente", "administrador")
USERS = {"contador": "contador", "gerente": "gerente", "administrador": "admin"}
PUBLIC, LOGIN = "(public)", "(logged in)"

# design.md's matrix, row by row (fx.write is the project's addition: recording exchange rates
# goes with creating invoices).
DESIGN_MATRIX = {
    "contador": {"read", "invoices.create", "invoices.operate", "parties.write", "fx.write", "summary", "notify"},
    "gerente": {"read", "dashboards", "summary", "export", "notify", "audit"},
    "administrador": {"read", "invoices.create", "invoices.operate", "invoices.edit", "invoices.delete",
                      "parties.write", "parties.delete", "fx.write", "dashboards", "summary", "export", "notify",
                      "audit", "users", "settings"},
}


def default_grants() -> dict[str, list[str]]:
    module = importlib.import_module("cuentas_cli.db.migrations.versions.20261126_0001_initial_schema")
    return module.DEFAULT_GRANTS


@dataclass
class Case:
    permission: str
    args: Callable[["Book", str | None], list[str]]
    ok: tuple[int, ...] = (0,)  # exit codes an allowed run may end with
    write: bool = False
    input: Callable[[str | None], str | None] = lambda role: None  # noqa: E731
    blocking: bool = False  # runs forever when allowed: only refusals are run


@dataclass
class Book:
    """What the commands act on; per-role copies where an allowed run consumes its target."""

    tmp: Path
    client: str = ""
    supplier: str = ""
    invoice: int = 0
    per_role: dict[str, dict[str, object]] = field(default_factory=dict)

    def of(self, role: str | None, key: str) -> str:
        return str(self.per_role[role or "nobody"][key])


def _c(*args: str) -> Callable[[Book, str | None], list[str]]:
    return lambda book, role: list(args)


# The book's firm: its own RUC, and one more company, FILIAL, whose books `users grant` opens.
FIRM_RUC, FILIAL = "20100070970", "20100017491"

CASES: dict[str, Case] = {
    "cuentas init": Case(PUBLIC, _c("init")),
    "cuentas demo": Case(PUBLIC, lambda b, r: ["demo", "--dir", str(b.tmp / f"demo-{r}")]),
    "cuentas doctor": Case(PUBLIC, _c("doctor", "--offline"), ok=(0, 1, 3, 7)),  # 1: a check needs attention
    "cuentas db upgrade": Case(PUBLIC, _c("db", "upgrade")),
    "cuentas db current": Case(PUBLIC, _c("db", "current")),
    # allowed: refused by its prefix check (3) on PostgreSQL, as SQLite's (2), before any role is
    # created on the shared server (tests/test_team.py applies it for real)
    "cuentas db roles apply": Case("users", _c("db", "roles", "apply", "--prefix", "Mal-Prefijo"), ok=(2, 3)),
    # reading the check needs "audit" (tests/test_db_check.py); --repair, the write, needs invoices.edit
    "cuentas db check": Case("invoices.edit", _c("db", "check", "--repair"), write=True),
    "cuentas login": Case(PUBLIC, lambda b, r: ["login", USERS[r or "contador"], "--password-stdin"],
                          input=lambda r: PASSWORD + "\n"),
    "cuentas logout": Case(PUBLIC, _c("logout")),
    "cuentas whoami": Case(LOGIN, _c("whoami")),
    "cuentas passwd": Case(LOGIN, _c("passwd", "--password-stdin"), write=True,
                           input=lambda r: f"{PASSWORD}\nuna-clave-nueva-larga\n"),
    # invoices
    "cuentas invoices list": Case("read", _c("invoices", "list", "-f", "json")),
    "cuentas invoices add": Case("invoices.create", lambda b, r: [
        "invoices", "add", "--kind", "cxc", "--party", b.client, "--serie", "F050", "--numero", b.of(r, "numero"),
        "--issued", "2026-06-01", "--due", "2026-07-01", "--total", "118.00"], write=True),
    "cuentas invoices show": Case("read", lambda b, r: ["invoices", "show", str(b.invoice)]),
    "cuentas invoices edit": Case("invoices.edit", lambda b, r: ["invoices", "edit", str(b.invoice), "--description",
                                                                 f"editada {r}"], write=True),
    "cuentas invoices set-status": Case("invoices.operate", lambda b, r: ["invoices", "set-status", b.of(r, "void"),
                                                                          "ANULADA"], write=True),
    "cuentas invoices delete": Case("invoices.delete", lambda b, r: ["invoices", "delete", b.of(r, "delete")], write=True),
    "cuentas invoices pay": Case("invoices.operate", lambda b, r: ["invoices", "pay", str(b.invoice), "1.00"], write=True),
    "cuentas invoices payments": Case("read", lambda b, r: ["invoices", "payments", str(b.invoice)]),
    "cuentas invoices unpay": Case("invoices.delete", lambda b, r: ["invoices", "unpay", b.of(r, "payment")], write=True),
    "cuentas invoices overdue": Case("read", _c("invoices", "overdue")),
    "cuentas invoices upcoming": Case("read", _c("invoices", "upcoming")),
    "cuentas invoices update-statuses": Case("invoices.operate", _c("invoices", "update-statuses"), write=True),
    # import / export
    "cuentas import": Case("invoices.create", lambda b, r: ["import", str(b.tmp / "lote.csv")], write=True),
    "cuentas payments import": Case("invoices.operate", lambda b, r: ["payments", "import", str(b.tmp / "pagos.csv")],
                                    ok=(0, 3), write=True),
    "cuentas export": Case("export", _c("export", "--format", "json")),
    # notify
    "cuentas notify run": Case("notify", _c("notify", "run"), ok=(0, 3, 7), write=True),
    "cuentas notify serve": Case("notify", _c("notify", "serve", "--at", "03:00"), blocking=True, write=True),
    "cuentas notify list": Case("notify", _c("notify", "list")),
    "cuentas notify test-email": Case("notify", _c("notify", "test-email", "prueba@empresa.pe"), ok=(0, 3, 7)),
    "cuentas notify preview": Case("notify", lambda b, r: ["notify", "preview", str(b.invoice)]),
    "cuentas notify templates list": Case("notify", _c("notify", "templates", "list")),
    "cuentas notify templates show": Case("notify", _c("notify", "templates", "show", "7")),
    "cuentas notify templates edit": Case("settings", _c("notify", "templates", "edit", "7", "--file", "-"), write=True,
                                          input=lambda role: "{{ greeting }} " + (role or "") + "\n"),
    "cuentas notify templates reset": Case("settings", _c("notify", "templates", "reset", "7"), write=True),
    # dashboard
    "cuentas dashboard metrics": Case("dashboards", _c("dashboard", "metrics", "-f", "json")),
    "cuentas dashboard aging": Case("dashboards", _c("dashboard", "aging", "-f", "json")),
    "cuentas dashboard cashflow": Case("dashboards", _c("dashboard", "cashflow", "-f", "json")),
    "cuentas dashboard summary": Case("summary", _c("dashboard", "summary", "-f", "json")),
    "cuentas dashboard top": Case("dashboards", _c("dashboard", "top", "-f", "json")),
    # fx, padrón
    "cuentas bank accounts list": Case("read", _c("bank", "accounts", "list")),
    "cuentas bank presets": Case(PUBLIC, _c("bank", "presets")),
    "cuentas bank import": Case("invoices.operate", lambda b, r: [
        "bank", "import", str(b.tmp / "extracto.csv"), "--account", "cuenta-x"], ok=(0, 4), write=True),
    "cuentas bank accounts add": Case("settings", lambda b, r: [
        "bank", "accounts", "add", f"cuenta-{r}", "--bank", "BCP", "--currency", "PEN", "--number", f"193-{len(r or '')}"],
        write=True),
    "cuentas bank accounts remove": Case("settings", _c("bank", "accounts", "remove", "ninguna"), ok=(0, 4), write=True),
    "cuentas bank match": Case("read", _c("bank", "match", "--format", "json")),
    "cuentas bank review": Case("read", _c("bank", "review", "--all", "--format", "json")),
    "cuentas bank status": Case("read", _c("bank", "status", "--format", "json")),
    "cuentas bank confirm": Case("invoices.operate", _c("bank", "confirm", "999999", "F001-1"), ok=(0, 4), write=True),
    "cuentas bank ignore": Case("invoices.operate", _c("bank", "ignore", "999999", "--reason", "comision"), ok=(0, 4),
                                write=True),
    "cuentas bank undo": Case("invoices.operate", _c("bank", "undo", "999999"), ok=(0, 4), write=True),
    "cuentas fx list": Case("read", _c("fx", "list")),
    "cuentas fx set": Case("fx.write", lambda b, r: ["fx", "set", "2026-06-10", "3.7" + str(len(r or ""))], write=True),
    "cuentas fx fetch": Case("fx.write", _c("fx", "fetch"), ok=(0, 3, 4, 7), write=True),
    "cuentas padron import": Case("settings", lambda b, r: ["padron", "import", str(b.tmp / "padron_reducido_ruc.txt")],
                                  write=True),
    "cuentas padron status": Case("read", _c("padron", "status")),
    "cuentas padron lookup": Case("read", _c("padron", "lookup", "20131312955"), ok=(0, 4)),
    "cuentas padron search": Case("read", _c("padron", "search", "sunat")),
    # administration
    "cuentas users list": Case("users", _c("users", "list")),
    # serves until stopped: its refusals are the API's (tests/test_api.py)
    "cuentas serve api": Case(PUBLIC, _c("serve", "api", "--port", "1"), blocking=True),
    "cuentas users grant": Case("users", lambda b, r: ["users", "grant", "temporal", "--company", FILIAL, "--role", "gerente"],
                                write=True),
    "cuentas companies add": Case("users", lambda b, r: ["companies", "add", b.of(r, "company"), "--name", f"EMPRESA {r}"],
                                  write=True),
    "cuentas companies list": Case(LOGIN, _c("companies", "list")),
    "cuentas companies use": Case(LOGIN, _c("companies", "use", FIRM_RUC)),
    # after `companies add` (the order is the paths'): the company that role's add made, if allowed
    "cuentas companies remove": Case("users", lambda b, r: ["companies", "remove", b.of(r, "company")], ok=(0, 4),
                                     write=True),
    "cuentas users add": Case("users", lambda b, r: ["users", "add", f"nuevo-{r}", "--role", "gerente", "--password-stdin"],
                              input=lambda r: PASSWORD + "\n", write=True),
    "cuentas users show": Case("users", _c("users", "show", "temporal")),
    "cuentas users set-role": Case("users", _c("users", "set-role", "temporal", "contador"), write=True),
    "cuentas users disable": Case("users", _c("users", "disable", "temporal"), write=True),
    "cuentas users enable": Case("users", _c("users", "enable", "temporal"), write=True),
    "cuentas tokens create": Case("users", lambda b, r: ["tokens", "create", f"cron-{r}"], write=True),
    "cuentas tokens list": Case("users", _c("tokens", "list")),
    "cuentas tokens revoke": Case("users", lambda b, r: ["tokens", "revoke", b.of(r, "token")], write=True),
    "cuentas roles list": Case("read", _c("roles", "list")),
    "cuentas roles grant": Case("users", _c("roles", "grant", "gerente", "fx.write"), write=True),
    "cuentas roles revoke": Case("users", _c("roles", "revoke", "gerente", "fx.write"), write=True),
    "cuentas audit list": Case("audit", _c("audit", "list")),
    "cuentas settings show": Case("read", _c("settings", "show")),
    "cuentas settings set": Case("settings", lambda b, r: ["settings", "set", "company.name", f"EMPRESA {r}"], write=True),
    "cuentas settings secret set": Case("settings", _c("settings", "secret", "set", "lookup-token", "--stdin"),
                                        input=lambda r: "token-de-prueba-123\n", write=True),
}
for _kind, _ref in (("clients", "client"), ("suppliers", "supplier")):
    CASES.update({
        f"cuentas {_kind} list": Case("read", _c(_kind, "list")),
        f"cuentas {_kind} add": Case("parties.write", lambda b, r, k=_kind: [
            k, "add", "--ruc", b.of(r, k), "--name", f"NUEVO {r}", "--no-lookup"], write=True),
        f"cuentas {_kind} show": Case("read", lambda b, r, a=_ref, k=_kind: [k, "show", getattr(b, a)]),
        f"cuentas {_kind} edit": Case("parties.write", lambda b, r, a=_ref, k=_kind: [
            k, "edit", getattr(b, a), "--phone", f"01-{len(r or '')}"], write=True),
        f"cuentas {_kind} delete": Case("parties.delete", lambda b, r, k=_kind: [k, "delete", b.of(r, f"del-{k}"), "--yes"],
                                        write=True),
        f"cuentas {_kind} lookup": Case("read", _c(_kind, "lookup", "20131312955"), ok=(0, 4, 7)),
        f"cuentas {_kind} refresh": Case("parties.write", lambda b, r, a=_ref, k=_kind: [k, "refresh", getattr(b, a)],
                                         ok=(0, 3, 4, 7), write=True),
        f"cuentas {_kind} invoices": Case("read", lambda b, r, a=_ref, k=_kind: [k, "invoices", getattr(b, a)]),
        f"cuentas {_kind} statement": Case("read", lambda b, r, a=_ref, k=_kind: [
            k, "statement", getattr(b, a), "--format", "json"]),
    })


LEAVES = [path for path, command in ALL if not hasattr(command, "commands")]


def test_every_command_has_an_access_case():
    missing = sorted(set(LEAVES) - set(CASES))
    stale = sorted(set(CASES) - set(LEAVES))
    assert not missing, f"commands without an entry in tests/test_access.py CASES: {missing}"
    assert not stale, f"CASES names commands that no longer exist: {stale}"


def test_default_grants_are_the_design_matrix():
    from cuentas_cli.admin.auth import PERMISSIONS

    grants = {role: set(perms) for role, perms in default_grants().items()}
    assert grants == DESIGN_MATRIX
    assert {c.permission for c in CASES.values()} - {PUBLIC, LOGIN} <= set(PERMISSIONS)
    # every permission is exercised by at least one command
    assert set(PERMISSIONS) <= {c.permission for c in CASES.values()}


def _book(company, tmp_path: Path) -> Book:
    from cuentas_cli.db.models import Payment
    from tests.factories import make_invoice, make_party, valid_ruc
    from tests.test_padron import sample

    book = Book(tmp_path)
    with open_session(company.url, write=True) as s:
        client = make_party(s, ruc="20131312955", name="SUNAT", email="pagos@sunat.example")
        supplier = make_party(s, kind="supplier", ruc=valid_ruc(730_001), name="PROVEEDOR S.A.C.")
        book.client, book.supplier = client.doc_number, supplier.doc_number
        book.invoice = make_invoice(s, client, serie="F040", numero=1, total="5000.00").id
        for n, role in enumerate(("nobody", *ROLES)):
            mine: dict[str, object] = {"numero": 100 + n}
            mine["void"] = make_invoice(s, client, serie="F041", numero=1 + n).id
            mine["delete"] = make_invoice(s, client, serie="F042", numero=1 + n).id
            paid = make_invoice(s, client, serie="F043", numero=1 + n)
            payment = Payment(invoice_id=paid.id, paid_on=paid.issue_date, amount_cents=1000)
            s.add(payment)
            paid.paid_cents = 1000
            s.add(paid)
            s.flush()
            mine["payment"] = payment.id
            mine["clients"], mine["suppliers"] = valid_ruc(740_000 + n), valid_ruc(750_000 + n)
            mine["del-clients"] = make_party(s, ruc=valid_ruc(760_000 + n)).doc_number
            mine["del-suppliers"] = make_party(s, kind="supplier", ruc=valid_ruc(770_000 + n)).doc_number
            mine["company"] = valid_ruc(780_000 + n)
            book.per_role[role] = mine
    assert company.run("users", "add", "temporal", "--role", "gerente", "--password-stdin",
                       input=PASSWORD + "\n").exit_code == 0
    assert company.run("settings", "set", "company.ruc", FIRM_RUC).exit_code == 0
    added = company.run("companies", "add", FILIAL, "--name", "FILIAL S.A.C.")
    assert added.exit_code == 0, added.output
    for n, role in enumerate(("nobody", *ROLES)):
        name = f"spare-{role}"
        assert company.run("tokens", "create", name, "--user", "gerente").exit_code == 0
        book.per_role[role]["token"] = name
    (tmp_path / "lote.csv").write_text(
        "tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total\n"
        "cxc,20131312955,SUNAT,F060,1,2026-05-01,2026-06-01,118.00\n", encoding="utf-8")
    (tmp_path / "extracto.csv").write_text("Fecha;Descripción;Monto\n15/06/2026;DEPOSITO;10,00\n", encoding="utf-8")
    (tmp_path / "pagos.csv").write_text(f"id factura,fecha,monto\n{book.invoice},2026-06-15,0.01\n", encoding="utf-8")
    sample(tmp_path)
    return book


def _denied(result, before, after) -> None:  # noqa: ANN001
    assert result.exit_code == 5, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert after == before


def test_every_command_as_every_role_and_as_nobody(company, tmp_path):
    book = _book(company, tmp_path)
    grants = {role: set(perms) for role, perms in default_grants().items()}
    runs = denied = allowed = 0
    # least privileged first: a refused run must find its target intact; passwd ends the
    # user's sessions and tokens, so it runs last
    order = sorted(CASES, key=lambda p: (p == "cuentas passwd", p))
    for path in order:
        case = CASES[path]
        for role in (None, "gerente", "contador", "administrador"):
            if case.permission == PUBLIC:
                may = True
            elif case.permission == LOGIN:
                may = role is not None
            else:
                may = role is not None and case.permission in grants[role]
            if may and case.blocking:
                continue  # e.g. `notify serve` would serve forever; its refusals are what matter
            args = case.args(book, role)
            before = snapshot(company.url)
            result = company.run(*args, role=role, input=case.input(role))
            runs += 1
            where = f"{path} as {role or 'nobody'}"
            if may:
                assert result.exit_code != 5 and result.exit_code in case.ok, (where, result.output)
                allowed += 1
            else:
                _denied(result, before, snapshot(company.url))
                if role is not None and case.permission not in (PUBLIC, LOGIN):
                    assert case.permission in result.stderr and role in result.stderr, (where, result.stderr)
                denied += 1
    figure("access-matrix", backend=backend(company.url), commands=len(CASES), runs=runs, allowed=allowed,
           denied=denied, got_past=0)


def _bad_tokens(company) -> dict[str, str]:  # noqa: ANN001
    """Tokens of an administrador that must not work: expired, revoked, forged."""
    from sqlmodel import select

    from cuentas_cli.db.models import ApiToken

    expired = company.run("tokens", "create", "caducado", "--days", "1").stdout.strip()
    with open_session(company.url, write=True) as s:
        row = s.exec(select(ApiToken).where(ApiToken.name == "caducado")).one()
        row.expires_at = datetime.now(timezone.utc) - timedelta(minutes=1)
        s.add(row)
    revoked = company.run("tokens", "create", "revocado").stdout.strip()
    assert company.run("tokens", "revoke", "revocado").exit_code == 0
    forged = "cst_" + secrets.token_urlsafe(32)
    # a session-looking token and an admin token with one character changed are forged too
    real = company.tokens["administrador"]
    tampered = real[:-1] + ("A" if real[-1] != "A" else "B")
    return {"expired": expired, "revoked": revoked, "forged": forged, "forged-session": "cts_" + secrets.token_urlsafe(32),
            "tampered": tampered}


def test_every_write_with_an_expired_revoked_or_forged_token(company, tmp_path):
    book = _book(company, tmp_path)
    tokens = _bad_tokens(company)
    tries = 0
    for path, case in sorted(CASES.items()):
        if not case.write or case.permission == PUBLIC:
            continue
        for kind, token in tokens.items():
            args = case.args(book, "administrador")
            before = snapshot(company.url)
            result = company.run(*args, role=None, input=case.input("administrador"), env={"CUENTAS_TOKEN": token})
            _denied(result, before, snapshot(company.url))
            expected = {"expired": "expired", "revoked": "revoked"}.get(kind, "not valid")
            assert expected in result.stderr, (path, kind, result.stderr)
            tries += 1
    figure("bad-tokens", backend=backend(company.url), writes=sum(1 for c in CASES.values() if c.write and c.permission != PUBLIC),
           tokens=len(tokens), tries=tries, got_past=0)


# --- effects that an option or the file adds to a command ----------------------------------------
# One permission check per effect, not per command: `import` needs invoices.create, and also the
# permission of each further thing a run does (updating stored invoices is editing them; an
# unknown RUC/DNI in the file creates a client or supplier).


@dataclass
class Effect:
    permissions: tuple[str, ...]  # every one is needed; a refusal names the first one missing
    args: Callable[[Path, str], list[str]]
    in_run: bool = False  # known only from the file: refused mid-run, after the run's own notices


_NEW_PARTIES = itertools.count(780_000)


def _new_party_file(tmp: Path, role: str) -> Path:
    """A file whose only row is of a RUC not yet in the database (a new one on every call)."""
    from tests.factories import valid_ruc

    path = tmp / f"nuevo-{role}.csv"
    ruc = valid_ruc(next(_NEW_PARTIES))
    path.write_text("tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total\n"
                    f"cxc,{ruc},CLIENTE NUEVO {role.upper()},F061,1,2026-05-01,2026-06-01,118.00\n", encoding="utf-8")
    return path


EFFECTS: dict[str, Effect] = {
    "cuentas import --on-duplicate update": Effect(
        ("invoices.create", "invoices.edit"), lambda tmp, r: ["import", str(tmp / "lote.csv"), "--on-duplicate", "update"]),
    "cuentas import (an unknown RUC: creates the client)": Effect(
        ("invoices.create", "parties.write"), lambda tmp, r: ["import", str(_new_party_file(tmp, r))], in_run=True),
}


def _effect_runs(company, book: Book, grants: dict[str, set[str]], roles=(None, "gerente", "contador", "administrador")):  # noqa: ANN001, ANN202
    runs = 0
    for name, effect in EFFECTS.items():
        for role in roles:
            missing = [p for p in effect.permissions if role is None or p not in grants[role]]
            before = snapshot(company.url)
            result = company.run(*effect.args(book.tmp, role or "nobody"), role=role)
            where = f"{name} as {role or 'nobody'}"
            if missing and effect.in_run and missing[0] not in ("invoices.create",):
                # refused when the file shows the effect: the notices said before, then one error
                assert result.exit_code == 5, (where, result.output)
                errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
                assert len(errors) == 1 and result.stderr.splitlines()[-1] == errors[0], (where, result.stderr)
                assert snapshot(company.url) == before, where
            elif missing:
                _denied(result, before, snapshot(company.url))
                if role is not None:
                    assert missing[0] in result.stderr and role in result.stderr, (where, result.stderr)
            else:
                assert result.exit_code == 0, (where, result.output)
            runs += 1
    return runs


def test_option_and_file_dependent_effects_need_their_own_permission(company, tmp_path):
    book = _book(company, tmp_path)
    grants = {role: set(perms) for role, perms in default_grants().items()}
    runs = _effect_runs(company, book, grants)
    # with the matrix edited, the check follows it: a contador without parties.write may still
    # import invoices of known clients, but not create one
    assert company.run("roles", "revoke", "contador", "parties.write").exit_code == 0
    grants["contador"].discard("parties.write")
    runs += _effect_runs(company, book, grants, roles=("contador",))
    assert company.run("import", str(tmp_path / "lote.csv"), role="contador").exit_code == 0
    figure("access-effects", backend=backend(company.url), effects=len(EFFECTS), runs=runs, got_past=0)
