"""Cuotas (forma de pago Crédito): `invoices add --cuota DATE:AMOUNT ... | --contado`, SUNAT's
rules on them, what each cuota owes in `invoices show` (payments settle the oldest first; the
detracción is settled apart), an edit that would break them refused, a delete taking them along."""

from __future__ import annotations

import pytest

from cuentas_cli.ledger import cuotas as rules
from tests.dbstate import snapshot

RUC = "20131312955"


@pytest.fixture
def client(company):
    assert company.run("clients", "add", "--ruc", RUC, "--name", "CLIENTE ANDINO S.A.C.", "--no-lookup").exit_code == 0
    return company


def _add(company, numero: int, *extra: str, total: str = "11800.00"):
    return company.run("invoices", "add", "--kind", "cxc", "--party", RUC, "--serie", "F001", "--numero", str(numero),
                       "--issued", "2026-05-01", "--total", total, *extra, role="contador")


def _show(company, ref: str) -> dict:
    shown = company.run("invoices", "show", ref, "--format", "json")
    assert shown.exit_code == 0, shown.output
    return shown.json()


def test_a_credit_sale_in_three_cuotas_with_detraccion(client):
    cuotas = ["--cuota", "2026-05-31:3461.33", "--cuota", "30/06/2026:3461.33", "--cuota", "2026-07-31:3461.34"]
    added = _add(client, 1, "--detraccion", "12", *cuotas)
    assert added.exit_code == 0, added.output
    shown = _show(client, "F001-1")
    assert shown["due_date"] == "2026-07-31"  # due on its last cuota
    assert [(c["cuota"], c["due_date"], c["amount"], c["balance"]) for c in shown["cuotas"]] == [
        (1, "2026-05-31", "3461.33", "3461.33"), (2, "2026-06-30", "3461.33", "3461.33"),
        (3, "2026-07-31", "3461.34", "3461.34")]
    # 4,000.00 paid: cuota 1 settled, 538.67 of cuota 2; the detracción deposit settles none of them
    assert client.run("invoices", "pay", "F001-1", "4000.00", "--date", "2026-06-01", role="contador").exit_code == 0
    assert client.run("invoices", "pay", "F001-1", "1416.00", "--date", "2026-06-02", "--method", "detraccion",
                      role="contador").exit_code == 0
    shown = _show(client, "F001-1")
    assert [c["balance"] for c in shown["cuotas"]] == ["0.00", "2922.66", "3461.34"]
    assert shown["balance"] == "6384.00"
    table = client.run("invoices", "show", "F001-1", "--format", "table", env={"COLUMNS": "120"})
    assert table.exit_code == 0 and "2,922.66" in table.stdout


def test_the_cuotas_rules(client):
    before = snapshot(client.url)
    cases = [
        (("--cuota", "2026-06-01:500.00", "--cuota", "2026-07-01:500.00"), "add up to 1000.00"),
        (("--cuota", "2026-04-01:11800.00"), "before the issue date"),
        (("--cuota", "2026-06-01"), "DATE:AMOUNT"),
        (("--cuota", "2026-06-01:0.00", "--cuota", "2026-07-01:11800.00"), "greater than zero"),
        (("--cuota", "2026-06-01:11800.00", "--contado"), "exclude each other"),
        (("--cuota", "2026-06-01:11800.00", "--due", "2026-07-01"), "last cuota"),
        (("--cuota", "2026-06-01:11800.00", "--doc-type", "03", "--serie", "B001"), "boleta"),
    ]
    for extra, message in cases:
        result = client.run("invoices", "add", "--kind", "cxc", "--party", RUC, "--serie", "F001", "--numero", "9",
                            "--issued", "2026-05-01", "--total", "11800.00", *extra, role="contador")
        assert result.exit_code != 0 and message in result.stderr and "Traceback" not in result.output, (extra, result.output)
    assert snapshot(client.url) == before


def test_contado_is_due_on_the_issue_date_and_has_no_cuotas(client):
    assert _add(client, 2, "--contado").exit_code == 0
    shown = _show(client, "F001-2")
    assert (shown["due_date"], shown["cuotas"]) == ("2026-05-01", [])


def test_an_edit_keeps_the_cuotas_whole_and_a_delete_takes_them(client):
    assert _add(client, 3, "--cuota", "2026-06-01:5900.00", "--cuota", "2026-07-01:5900.00").exit_code == 0
    before = snapshot(client.url)
    total = client.run("invoices", "edit", "F001-3", "--total", "10000.00")
    assert total.exit_code != 0 and "add up to" in total.stderr
    due = client.run("invoices", "edit", "F001-3", "--due", "2026-08-01")
    assert due.exit_code != 0 and "cuotas" in due.stderr
    assert snapshot(client.url) == before
    assert client.run("invoices", "edit", "F001-3", "--description", "Servicio en dos cuotas").exit_code == 0
    assert client.run("invoices", "delete", "F001-3").exit_code == 0
    assert snapshot(client.url)["invoice_cuota"][0] == 0


def test_open_amounts_settle_the_oldest_first():
    plan = [rules.Cuota(1, None, 300), rules.Cuota(2, None, 300), rules.Cuota(3, None, 400)]  # type: ignore[arg-type]
    assert rules.open_amounts(plan, 1000) == [300, 300, 400]
    assert rules.open_amounts(plan, 650) == [0, 250, 400]
    assert rules.open_amounts(plan, 0) == [0, 0, 0]
    assert rules.open_amounts(plan, -5) == [0, 0, 0]  # overpaid
