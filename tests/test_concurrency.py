"""Everything at once, on SQLite and on PostgreSQL: an import, a reminder run, status updates
and four users recording payments, in separate processes released together.

Each worker process runs its `cuentas` command lines one after another through the real entry
point (tests/reliability.py `worker`), so dozens of commands overlap the import's write
transaction, the reminder run and each other. Afterwards: no "database is locked" (or any
other) failure within the busy timeout, no payment lost or counted twice, every invoice's
paid amount equal to the sum of its payments, every status right, every reminder sent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta

import pytest

from tests.reliability import (
    backend,
    balance_mismatches,
    bench_csv,
    cli_env,
    counts,
    figure,
    scalar,
    status_mismatches,
    wait_for,
)
from tests.test_notify_support import SMTP_PASSWORD, Inbox, SmtpServer, free_port, outbox, smtp_settings

pytestmark = pytest.mark.slow  # still part of the default run

TODAY = date(2026, 6, 15)
IMPORT_ROWS = 30_000
PAYERS = 4          # worker processes recording payments
SHARED = 8          # invoices every payer pays 100.00 on, twice
CONTESTED = 4       # invoices every payer tries to settle with one 1000.00 payment
STATUS_RUNS = 3


def _book(url: str) -> dict[str, list[int]]:
    """Invoices to pay (some overdue, with stale statuses for update-statuses to fix) and
    clients with e-mail for the reminder run."""
    from sqlalchemy import update

    from cuentas_cli.db.engine import open_session
    from cuentas_cli.db.models import Invoice
    from tests.factories import make_invoice, make_party, valid_ruc

    ids: dict[str, list[int]] = {"shared": [], "contested": [], "reminded": []}
    with open_session(url, write=True) as s:
        payer = make_party(s, ruc=valid_ruc(810_001), name="CLIENTE PAGADOR S.A.C.", email="pagos@pagador.pe")
        for i in range(SHARED):
            due = TODAY - timedelta(days=5) if i % 2 else TODAY + timedelta(days=20)
            ids["shared"].append(make_invoice(s, payer, serie="F900", numero=1 + i, issued=date(2026, 5, 1), due=due).id)
        for i in range(CONTESTED):
            ids["contested"].append(make_invoice(s, payer, serie="F901", numero=1 + i, issued=date(2026, 5, 1),
                                                 due=TODAY - timedelta(days=1 + i)).id)
        for i in range(10):
            client = make_party(s, ruc=valid_ruc(820_000 + i), name=f"DEUDOR {i} S.A.", email=f"cobro{i}@deudor{i}.pe")
            ids["reminded"].append(make_invoice(s, client, serie="F902", numero=1 + i, issued=date(2026, 4, 1),
                                                due=TODAY - timedelta(days=8 + i)).id)
        # stale statuses: overdue invoices still marked PENDIENTE until update-statuses runs
        s.execute(update(Invoice).where(Invoice.due_date < TODAY).values(status="PENDIENTE"))
    return ids


def _spawn(tmp_path, name: str, commands: list[list[str]], env: dict[str, str]):  # noqa: ANN001, ANN202
    spec = {"go": str(tmp_path / "go"), "ready": str(tmp_path / f"{name}.ready"), "out": str(tmp_path / f"{name}.json"),
            "commands": commands}
    (tmp_path / f"{name}.spec.json").write_text(json.dumps(spec))
    proc = subprocess.Popen([sys.executable, "-m", "tests.reliability", "worker", str(tmp_path / f"{name}.spec.json")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return name, proc, spec


def test_import_notify_statuses_and_payments_at_once(company, tmp_path):
    url = company.url
    ids = _book(url)
    csv_path = bench_csv(tmp_path / "lote.csv", IMPORT_ROWS)
    inbox = Inbox(delay=0.05)
    server = SmtpServer(free_port(), inbox=inbox).start()
    secret = tmp_path / "smtp-password"
    secret.write_text(SMTP_PASSWORD + "\n")
    secret.chmod(0o600)
    before = counts(url)
    try:
        smtp_settings(url, server.port, staff="")

        def env(role: str) -> dict[str, str]:
            return cli_env(url, company.tokens[role], CUENTAS_SMTP_PASSWORD_FILE=str(secret))

        workers = [
            _spawn(tmp_path, "import", [["import", str(csv_path)]], env("contador")),
            _spawn(tmp_path, "notify", [["notify", "run"]], env("gerente")),
            _spawn(tmp_path, "statuses", [["invoices", "update-statuses"]] * STATUS_RUNS, env("administrador")),
        ]
        for p in range(PAYERS):
            commands = []
            for _ in range(2):
                for invoice_id in ids["shared"]:
                    commands.append(["invoices", "pay", str(invoice_id), "100.00", "--reference", f"payer{p}"])
            for invoice_id in ids["contested"]:
                commands.append(["invoices", "pay", str(invoice_id), "1000.00", "--reference", f"payer{p}"])
            workers.append(_spawn(tmp_path, f"payer{p}", commands, env("contador" if p % 2 else "administrador")))
        assert wait_for(lambda: all((tmp_path / f"{n}.ready").exists() or proc.poll() is not None
                                    for n, proc, _ in workers), seconds=120)
        (tmp_path / "go").touch()  # all at once
        finished = [(name, proc.wait(timeout=600), proc.stderr.read(), spec) for name, proc, spec in workers]
        assert wait_for(lambda: len(inbox.messages) >= 10, seconds=10)
    finally:
        server.stop()
    results: dict[str, list[dict]] = {}
    for name, code, err, spec in finished:
        assert code == 0, f"worker {name} crashed: {err}"
        results[name] = json.loads(open(spec["out"]).read())
    everything = [r for rs in results.values() for r in rs]
    locked = [r for r in everything if "locked" in r["stderr"].lower() or "unexpected" in r["stderr"]]
    assert locked == [], locked

    # the import, every status run and the reminder run succeeded
    assert [r["code"] for r in results["import"]] == [0], results["import"]
    assert [r["code"] for r in results["statuses"]] == [0] * STATUS_RUNS, results["statuses"]
    assert [r["code"] for r in results["notify"]] == [0], results["notify"]
    # payments: every shared one recorded; exactly one of the contested ones per invoice
    pays = [r for p in range(PAYERS) for r in results[f"payer{p}"]]
    shared = [r for r in pays if r["argv"][3] == "100.00"]
    assert all(r["code"] == 0 for r in shared), [r for r in shared if r["code"]]
    contested = Counter((r["argv"][2], r["code"]) for r in pays if r["argv"][3] == "1000.00")
    for invoice_id in ids["contested"]:
        assert contested[(str(invoice_id), 0)] == 1, contested
        assert contested[(str(invoice_id), 3)] == PAYERS - 1, contested
    refused = [r for r in pays if r["code"] == 3]
    assert all("balance" in r["stderr"] for r in refused), refused

    after = counts(url)
    recorded = len(shared) + len(ids["contested"])
    assert after["payment"] - before["payment"] == recorded
    assert after["invoice"] - before["invoice"] == IMPORT_ROWS
    for invoice_id in ids["shared"]:
        assert scalar(url, "SELECT paid_cents FROM invoice WHERE id = :i", i=invoice_id) == 2 * PAYERS * 10_000
    for invoice_id in ids["contested"]:
        assert scalar(url, "SELECT paid_cents FROM invoice WHERE id = :i", i=invoice_id) == 100_000
    assert balance_mismatches(url) == []
    assert status_mismatches(url, TODAY) == []
    rows = outbox(url)
    assert rows and all(r["status"] in ("sent", "cancelled") for r in rows), rows
    reminded = {f"cobro{i}@deudor{i}.pe" for i in range(10)}
    assert reminded <= {m.to for m in inbox.messages}
    operations = len(everything)
    imp = results["import"][0]
    during_import = sum(1 for r in everything if r is not imp and r["start"] < imp["end"] and r["end"] > imp["start"])
    figure("concurrency", backend=backend(url), operations=operations, processes=len(workers),
           overlapping_the_import=during_import,
           payments=recorded, refused_overpayments=len(refused), imported=IMPORT_ROWS, locked=0, lost=0,
           balance_mismatches=0)
