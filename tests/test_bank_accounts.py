"""The company's bank accounts: add, list, remove; the checks on CCI, currency, the detracciones
account; who may change them; a refused change leaves the database as it was."""

from __future__ import annotations

import pytest

from tests.dbstate import snapshot

BCP = ("bank", "accounts", "add", "soles-bcp", "--bank", "bcp", "--currency", "PEN",
       "--number", "193-1234567-0-12", "--cci", "002-193-001234567012-12")


def test_add_list_remove(company):
    added = company.run(*BCP, "-f", "json")
    assert added.exit_code == 0, added.output
    assert added.json()["cci"] == "00219300123456701212"  # hyphens and spaces dropped
    assert company.run("banco", "accounts", "add", "detracciones", "--bank", "Banco de la Nación", "--currency",
                       "PEN", "--number", "00-012-345678", "--detracciones").exit_code == 0
    assert company.run("bank", "accounts", "add", "dolares", "--bank", "Interbank", "--currency", "usd",
                       "--number", "200-3001234567").exit_code == 0
    listed = company.run("bank", "accounts", "list", "-f", "json", role="contador")
    assert listed.exit_code == 0, listed.output
    assert [(a["name"], a["bank"], a["bank_name"], a["currency"], a["detracciones"]) for a in listed.json()] == [
        ("soles-bcp", "BCP", "Banco de Crédito del Perú", "PEN", False),
        ("dolares", "IBK", "Interbank", "USD", False),
        ("detracciones", "BN", "Banco de la Nación", "PEN", True),
    ]
    table = company.run("bank", "accounts", "list", "-f", "table", env={"COLUMNS": "160"})
    assert "Banco de Crédito del Perú" in table.stdout and "Account number" in table.stdout  # labels, not keys
    removed = company.run("bank", "accounts", "remove", "dolares")
    assert removed.exit_code == 0 and "dolares" in removed.stderr
    assert [a["name"] for a in company.run("bank", "accounts", "list", "-f", "json").json()] == [
        "soles-bcp", "detracciones"]
    audit = company.run("audit", "list", "-f", "json").json()
    assert {"bank_account.add", "bank_account.remove"} <= {row["action"] for row in audit}


@pytest.mark.parametrize("args,code,message", [
    (("--cci", "0021930012345670121"), 3, "has 19 digits; a CCI has 20"),
    (("--cci", "01119300123456701212"), 3, "does not belong to Banco de Crédito del Perú: its CCIs start with 002"),
    (("--cci", "0021930012345670121x"), 3, "only digits"),
    (("--currency", "EUR"), 3, "currency 'EUR': use PEN or USD"),
    (("--detracciones",), 3, "the detracciones account is in soles at the Banco de la Nación"),
    (("--number", "cuenta"), 3, "only digits"),
])
def test_refusals_leave_nothing(company, args, code, message):
    base = {"--bank": "BCP", "--currency": "PEN", "--number": "193-1", "--cci": None}
    flags = list(args)
    for key, value in base.items():
        if key not in flags and value is not None:
            flags += [key, value]
    before = snapshot(company.url)
    result = company.run("bank", "accounts", "add", "x", *flags)
    assert result.exit_code == code, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert snapshot(company.url) == before


def test_duplicates_and_unknown(company):
    assert company.run(*BCP).exit_code == 0
    again = company.run(*BCP[:3], "otra", *BCP[4:])
    assert again.exit_code == 6 and "already recorded" in again.stderr
    same_name = company.run(*BCP[:9], "999")
    assert same_name.exit_code == 6 and "already an account named 'soles-bcp'" in same_name.stderr
    gone = company.run("bank", "accounts", "remove", "nada")
    assert gone.exit_code == 4 and "no bank account named 'nada'" in gone.stderr


def test_only_an_administrador_changes_them(company):
    for role in ("contador", "gerente"):
        before = snapshot(company.url)
        denied = company.run(*BCP, role=role)
        assert denied.exit_code == 5 and "settings" in denied.stderr, denied.output
        assert snapshot(company.url) == before
    assert company.run(*BCP).exit_code == 0
    assert company.run("bank", "accounts", "remove", "soles-bcp", role="contador").exit_code == 5


def test_spanish_words(company):
    result = company.run("bank", "accounts", "add", "x", "--bank", "BCP", "--currency", "EUR", "--number", "1",
                         env={"CUENTAS_LANG": "es"})
    assert result.exit_code == 3
    assert "moneda 'EUR'" in result.stderr
