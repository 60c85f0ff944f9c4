"""An invoice in cuotas is aged, listed, given its status and chased by its cuotas' due dates,
on both backends: the detracción not yet deposited is due with the first cuota, payments settle
the oldest cuota first, the status is VENCIDA while the earliest cuota still owed is past its
date, and reminders count their levels from that cuota, each cuota with its own levels.
(The random histories of tests/test_ledger_differential.py check every surface against the
oracle; these are the cases it does not draw: detracción, reminders sent, `db check`, edits.)"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from cuentas_cli.db.engine import open_session
from tests.test_notify_support import free_port, smtp_server, smtp_settings  # noqa: F401 - fixture

RUC = "20131312955"
EMAIL = "pagos@andino.pe"


def _ok(result):  # noqa: ANN001, ANN202
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def client(company):  # noqa: ANN001, ANN201
    _ok(company.run("clients", "add", "--ruc", RUC, "--name", "CLIENTE ANDINO S.A.C.", "--email", EMAIL,
                    "--no-lookup"))
    return company


def _aging(company, as_of: str = "2026-06-15") -> dict:  # noqa: ANN001
    rows = _ok(company.run("dashboard", "aging", "--as-of", as_of, "-f", "json")).json()
    (row,) = [r for r in rows if r["kind"] == "cxc"]
    return {k: row[k] for k in ("corriente", "d1_30", "d31_60", "total", "count")}


def _show(company, ref: str) -> dict:  # noqa: ANN001
    return _ok(company.run("invoices", "show", ref, "-f", "json")).json()


def test_the_detraccion_not_deposited_is_due_with_the_first_cuota(client):
    # 11,800.00 with a 12% detracción (1,416.00): three cuotas of the net 10,384.00, the first
    # due 2026-05-31 (overdue on 2026-06-15), then 06-30 and 07-31.
    _ok(client.run("invoices", "add", "--kind", "cxc", "--party", RUC, "--serie", "F001", "--numero", "1",
                   "--issued", "2026-05-01", "--total", "11800.00", "--detraccion", "12",
                   "--cuota", "2026-05-31:3461.33", "--cuota", "2026-06-30:3461.33", "--cuota", "2026-07-31:3461.34",
                   role="contador"))
    assert _show(client, "F001-1")["status"] == "VENCIDA"  # cuota 1 is past its date
    assert _aging(client) == {"corriente": "6922.67", "d1_30": "4877.33", "d31_60": "0.00", "total": "11800.00",
                              "count": 1}
    # cuota 1 paid: the detracción not yet deposited is still due with it
    _ok(client.run("invoices", "pay", "F001-1", "3461.33", "--date", "2026-06-01", role="contador"))
    shown = _show(client, "F001-1")
    assert shown["status"] == "VENCIDA" and shown["days_overdue"] == 15
    assert [c["balance"] for c in shown["cuotas"]] == ["0.00", "3461.33", "3461.34"]
    assert _aging(client) == {"corriente": "6922.67", "d1_30": "1416.00", "d31_60": "0.00", "total": "8338.67",
                              "count": 1}
    overdue = _ok(client.run("invoices", "overdue", "-f", "json")).json()
    assert [r["document"] for r in overdue] == ["F001-1"]
    # the deposit recorded: nothing is overdue until cuota 2's date
    _ok(client.run("invoices", "pay", "F001-1", "1416.00", "--date", "2026-06-02", "--method", "detraccion",
                   role="contador"))
    shown = _show(client, "F001-1")
    assert (shown["status"], shown["days_overdue"]) == ("PARCIAL", 0)
    assert _aging(client) == {"corriente": "6922.67", "d1_30": "0.00", "d31_60": "0.00", "total": "6922.67",
                              "count": 1}
    assert _ok(client.run("invoices", "overdue", "-f", "json")).json() == []
    upcoming = _ok(client.run("invoices", "upcoming", "--days", "15", "-f", "json")).json()
    assert [r["document"] for r in upcoming] == ["F001-1"]  # cuota 2, due 06-30
    # as of 2026-07-10 (payments then counted), cuota 2 is 10 days overdue and cuota 3 current
    assert _aging(client, "2026-07-10") == {"corriente": "3461.34", "d1_30": "3461.33", "d31_60": "0.00",
                                            "total": "6922.67", "count": 1}
    _ok(client.run("db", "check"))  # the stored statuses are the rule's, cuotas included


def test_update_statuses_and_db_check_go_by_the_earliest_cuota_owed(client):
    _ok(client.run("invoices", "add", "--kind", "cxc", "--party", RUC, "--serie", "F001", "--numero", "2",
                   "--issued", "2026-05-01", "--total", "1180.00",
                   "--cuota", "2026-06-01:590.00", "--cuota", "2026-08-01:590.00", role="contador"))
    with open_session(client.url, write=True) as s:  # a stored status left behind (as if cron had not run)
        s.execute(text("UPDATE invoice SET status = 'PENDIENTE' WHERE numero = 2"))
    checked = client.run("db", "check")
    assert checked.exit_code != 0 and "VENCIDA" in checked.output
    _ok(client.run("invoices", "update-statuses", role="contador"))
    _ok(client.run("db", "check"))
    assert _show(client, "F001-2")["status"] == "VENCIDA"
    listed = _ok(client.run("invoices", "list", "--status", "VENCIDA", "-f", "json")).json()
    assert [r["document"] for r in listed] == ["F001-2"]
    # cuota 1 paid: the status follows at once (cuota 2 is not due yet)
    _ok(client.run("invoices", "pay", "F001-2", "590.00", "--date", "2026-06-10", role="contador"))
    assert _show(client, "F001-2")["status"] == "PARCIAL"
    _ok(client.run("db", "check"))


def test_each_cuota_is_chased_with_its_own_levels(client, smtp_server):
    smtp_settings(client.url, smtp_server.port)
    _ok(client.run("settings", "set", "notify.levels", "0,7"))
    _ok(client.run("invoices", "add", "--kind", "cxc", "--party", RUC, "--serie", "F001", "--numero", "3",
                   "--issued", "2026-05-01", "--total", "2000.00",
                   "--cuota", "2026-06-08:1000.00", "--cuota", "2026-07-15:1000.00", role="contador"))
    _ok(client.run("notify", "run"))  # 2026-06-15: cuota 1 is 7 days overdue
    (first,) = smtp_server.inbox.to(EMAIL)
    assert "F001-3" in first.text() and "08/06/2026" in first.text()  # the cuota's date, not the invoice's
    _ok(client.run("invoices", "pay", "F001-3", "1000.00", "--date", "2026-06-16", role="contador",
                   env={"CUENTAS_TODAY": "2026-06-16"}))
    _ok(client.run("notify", "run", env={"CUENTAS_TODAY": "2026-06-20"}))  # cuota 2 not yet due: nothing
    assert len(smtp_server.inbox.to(EMAIL)) == 1
    _ok(client.run("notify", "run", env={"CUENTAS_TODAY": "2026-07-15"}))  # cuota 2's level 0, its own
    _ok(client.run("notify", "run", env={"CUENTAS_TODAY": "2026-07-15"}))  # and only once
    assert len(smtp_server.inbox.to(EMAIL)) == 2
    assert "15/07/2026" in smtp_server.inbox.to(EMAIL)[1].text()
    with open_session(client.url) as s:
        sent = s.execute(text("SELECT cuota, level, status FROM notification WHERE kind = 'reminder' "
                              "ORDER BY id")).all()
    assert [tuple(r) for r in sent] == [(1, 7, "sent"), (2, 0, "sent")]


def test_a_queued_reminder_of_a_cuota_paid_since_is_cancelled_not_sent(client, smtp_server):
    """A reminder of cuota 1 that could not go out (SMTP down) is not sent once cuota 1 is paid:
    the next run cancels it ("cuota paid"); the invoice, still owing cuota 2, is not chased for
    cuota 1 again."""
    smtp_settings(client.url, free_port())  # nothing listens there
    _ok(client.run("settings", "set", "notify.levels", "0,7"))
    _ok(client.run("invoices", "add", "--kind", "cxc", "--party", RUC, "--serie", "F001", "--numero", "4",
                   "--issued", "2026-05-01", "--total", "2000.00",
                   "--cuota", "2026-06-08:1000.00", "--cuota", "2026-07-15:1000.00", role="contador"))
    assert client.run("notify", "run").exit_code == 7  # cuota 1's level 7 queued, failed
    _ok(client.run("invoices", "pay", "F001-4", "1000.00", "--date", "2026-06-15", role="contador"))
    smtp_settings(client.url, smtp_server.port)
    run = _ok(client.run("notify", "run", "--retry-now"))
    assert smtp_server.inbox.to(EMAIL) == [] and "cancelled 1" in run.stderr, run.stderr
    with open_session(client.url) as s:
        rows = s.execute(text("SELECT cuota, level, status, last_error FROM notification WHERE kind = 'reminder'")).all()
    assert [tuple(r) for r in rows] == [(1, 7, "cancelled", "cuota paid")]
