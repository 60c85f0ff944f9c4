"""`cuentas payments import`: payments from a CSV or Excel file, checked as `invoices pay` checks
one, all or none (or --partial), idempotent, on both backends."""

from __future__ import annotations

from datetime import date

import pytest

from tests.dbstate import snapshot as _snapshot
from tests.factories import make_invoice, make_party
from tests.test_invoices import CLIENT, CLIENT2, SUPPLIER, audit_rows, books, stored  # noqa: F401 (fixture)

from cuentas_cli.db.engine import open_session


@pytest.fixture
def ledger(books) -> dict:
    """F001-1 and F001-2 of the client (PEN, 1,180.00 and 2,360.00), F001-1 of the second client
    (the same serie-número), a USD invoice, a supplier's invoice and an ANULADA one."""
    from sqlmodel import select

    from cuentas_cli.db.models import Party

    with open_session(books.url, write=True) as s:
        parties = {p.doc_number: p for p in s.exec(select(Party)).all()}
        made = {
            "a1": make_invoice(s, parties[CLIENT], serie="F001", numero=1, total="1180.00"),
            "a2": make_invoice(s, parties[CLIENT], serie="F001", numero=2, total="2360.00"),
            "b1": make_invoice(s, parties[CLIENT2], serie="F001", numero=1, total="590.00"),
            "usd": make_invoice(s, parties[CLIENT], serie="F002", numero=7, total="100.00", currency="USD",
                                rate_e4=37500),
            "cxp": make_invoice(s, parties[SUPPLIER], serie="E001", numero=55, total="300.00"),
            "void": make_invoice(s, parties[CLIENT], serie="F001", numero=9, total="100.00"),
        }
        made["void"].status = "ANULADA"
        s.add(made["void"])
        ids = {k: v.id for k, v in made.items()}
    books.ids = ids
    return ids


def snapshot(url: str) -> dict:
    return {k: v for k, v in _snapshot(url).items() if k != "api_token"}  # a token's last use is not data


def write(tmp_path, text: str, name: str = "pagos.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(books, path, *extra, role="contador"):
    return books.run("payments", "import", str(path), *extra, role=role)


def test_spanish_file_records_payments_like_invoices_pay_and_a_second_import_adds_nothing(books, ledger, tmp_path):
    path = write(tmp_path, "Comprobante;RUC;Fecha de pago;Monto;Medio de pago;Nro operación\n"
                           f"F001-1;{CLIENT};10/06/2026;180,00;transferencia;OP-1\n"
                           f"F001-2;{CLIENT};11/06/2026;1.000,50;efectivo;\n"
                           f"F001-2;{CLIENT};12/06/2026;1.359,50;cheque;CH-9\n"
                           f"F001-1;{CLIENT2};13/06/2026;590,00;;\n"
                           f"E001-55;{SUPPLIER};14/06/2026;100,00;;T-77\n")
    first = run(books, path, "--date-format", "DD/MM/YYYY", "--json")
    assert first.exit_code == 0, first.output
    assert first.json()["new"] == 5 and first.json()["skipped"] == 0
    assert "recorded 5 payment(s), 0 already recorded (skipped), 0 rejected from 5 rows of pagos.csv" in first.stderr
    a1, a2, b1, cxp = (stored(books, ledger[k]) for k in ("a1", "a2", "b1", "cxp"))
    assert (a1.paid_cents, a1.status) == (18000, "PARCIAL")
    assert (a2.paid_cents, a2.status) == (236000, "PAGADA")
    assert (b1.paid_cents, b1.status) == (59000, "PAGADA")
    assert (cxp.paid_cents, cxp.status) == (10000, "PARCIAL")
    listed = books.run("invoices", "payments", str(ledger["a2"]), "-f", "json").json()
    assert [(r["amount"], r["method"], r["reference"], r["paid_on"], r["recorded_by"]) for r in listed] == [
        ("1000.50", "efectivo", None, "2026-06-11", "contador"), ("1359.50", "cheque", "CH-9", "2026-06-12", "contador")]
    # the one balance: what `invoices show` says equals the payments recorded
    shown = books.run("invoices", "show", str(ledger["a1"]), "-f", "json").json()
    assert (shown["paid"], shown["balance"], shown["status"]) == ("180.00", "1000.00", "PARCIAL")
    [entry] = audit_rows(books, "payments.import")
    assert '"new": 5' in entry.after
    before = snapshot(books.url)
    again = run(books, path, "--date-format", "DD/MM/YYYY", "--json")
    assert again.exit_code == 0 and again.json()["new"] == 0 and again.json()["skipped"] == 5
    assert "nothing new, the file was already imported" in again.stderr
    after = snapshot(books.url)
    assert {k: v for k, v in after.items() if k != "audit_log"} == {k: v for k, v in before.items() if k != "audit_log"}


def test_reads_split_at_the_parameter_limit_find_the_same_invoices(books, ledger, tmp_path, monkeypatch):
    """On SQLite the invoices and their payments are read a few thousand values per statement; with
    the limit at 2 every read takes several statements and the result is the same (PostgreSQL
    reads with one array either way)."""
    from cuentas_cli.imports import payments_load

    monkeypatch.setattr(payments_load, "_MAX_PARAMETERS", 2)
    path = write(tmp_path, "id factura,comprobante,ruc,fecha,importe\n"
                           f",F001-1,{CLIENT},2026-06-10,100.00\n,F001-2,{CLIENT},2026-06-10,200.00\n"
                           f",F002-7,{CLIENT},2026-06-10,10.00\n{ledger['b1']},,,2026-06-10,90.00\n"
                           f"{ledger['cxp']},,,2026-06-10,30.00\n,F001-2,{CLIENT},2026-06-11,60.00\n")
    first = run(books, path, "--json")
    assert first.exit_code == 0, first.output
    assert first.json()["new"] == 6
    paid = {k: stored(books, ledger[k]).paid_cents for k in ("a1", "a2", "b1", "usd", "cxp")}
    assert paid == {"a1": 10000, "a2": 26000, "b1": 9000, "usd": 1000, "cxp": 3000}
    again = run(books, path, "--json")
    assert again.exit_code == 0 and (again.json()["new"], again.json()["skipped"]) == (0, 6)


def test_two_equal_rows_are_two_payments_and_only_those_are_skipped_later(books, ledger, tmp_path):
    path = write(tmp_path, "id factura,fecha,importe\n"
                           f"{ledger['a1']},2026-06-10,100.00\n{ledger['a1']},2026-06-10,100.00\n")
    assert run(books, path).exit_code == 0
    assert stored(books, ledger["a1"]).paid_cents == 20000
    longer = write(tmp_path, path.read_text() + f"{ledger['a1']},2026-06-10,100.00\n", "mas.csv")
    result = run(books, longer, "--json")
    assert result.exit_code == 0 and (result.json()["new"], result.json()["skipped"]) == (1, 2)
    assert stored(books, ledger["a1"]).paid_cents == 30000


@pytest.mark.parametrize("line,message", [
    (f"F001-1,{CLIENT},2026-06-20,10.00", "is after today"),
    (f"F001-1,{CLIENT},2026-05-01,10.00", "is before F001-1 was issued"),
    (f"F001-1,{CLIENT},2026-06-10,1180.01", "is more than the balance 1180.00 PEN of F001-1"),
    (f"F001-9,{CLIENT},2026-06-10,10.00", "F001-9 is ANULADA"),
    (f"F001-1,{CLIENT},2026-06-10,0", "must be greater than zero"),
    (f"F001-1,{CLIENT},2026-06-10,abc", "is not"),
    (f"F001-3,{CLIENT},2026-06-10,10.00", f"no invoice F001-3 of {CLIENT}"),
    ("F001-1,,2026-06-10,10.00", f"names 2 invoices (cxc {CLIENT}; cxc {CLIENT2})"),
    (f"F001-1,{CLIENT},,10.00", "empty: every payment needs its date"),
])
def test_a_bad_row_rejects_the_file_and_changes_nothing(books, ledger, tmp_path, line, message):
    path = write(tmp_path, "comprobante,ruc,fecha de pago,monto\n"
                           f"F001-2,{CLIENT},2026-06-10,50.00\n{line}\n")
    before = snapshot(books.url)
    result = run(books, path)
    assert result.exit_code == 3, result.output
    assert message in result.stderr and "row 3" in result.stderr and "no payment was recorded" in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(books.url) == before


def test_rows_on_one_invoice_are_checked_in_order_and_partial_keeps_the_good_ones(books, ledger, tmp_path):
    path = write(tmp_path, "comprobante,ruc,fecha de pago,monto,moneda\n"
                           f"F001-1,{CLIENT},2026-06-10,1000.00,PEN\n"
                           f"F001-1,{CLIENT},2026-06-11,180.01,PEN\n"  # 0.01 more than what the first leaves
                           f"F001-1,{CLIENT},2026-06-12,180.00,PEN\n"
                           f"F002-7,{CLIENT},2026-06-12,10.00,PEN\n")  # a USD invoice
    errors = tmp_path / "errores.csv"
    result = run(books, path, "--partial", "--errors", str(errors))
    assert result.exit_code == 0, result.output
    assert "recorded 2 payment(s), 0 already recorded (skipped), 2 rejected from 4 rows" in result.stderr
    assert stored(books, ledger["a1"]).paid_cents == 118000 and stored(books, ledger["a1"]).status == "PAGADA"
    assert stored(books, ledger["usd"]).paid_cents == 0
    text = errors.read_text(encoding="utf-8-sig")
    assert "more than the balance 180.00 PEN of F001-1" in text and "F002-7 is in USD; this payment says PEN" in text


def test_an_excel_file_with_typed_cells_and_a_kind(books, ledger, tmp_path):
    import xlsxwriter

    path = tmp_path / "cobros.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Pagos")
    dates = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws.write_row(0, 0, ["Serie", "Número", "Fecha de pago", "Importe", "Referencia"])
    ws.write_row(1, 0, ["E001", 55])
    ws.write_datetime(1, 2, __import__("datetime").datetime(2026, 6, 14), dates)
    ws.write_number(1, 3, 299.99)
    ws.write_string(1, 4, "OP-5")
    wb.close()
    result = run(books, path, "--kind", "cxp")
    assert result.exit_code == 0, result.output
    assert stored(books, ledger["cxp"]).paid_cents == 29999
    wrong_kind = run(books, path, "--kind", "cxc")
    assert wrong_kind.exit_code == 3 and "no invoice E001-55" in wrong_kind.stderr


def test_dry_run_and_permissions_write_nothing(books, ledger, tmp_path):
    path = write(tmp_path, f"id factura,fecha,monto\n{ledger['a1']},2026-06-10,100.00\n")
    before = snapshot(books.url)
    dry = run(books, path, "--dry-run")
    assert dry.exit_code == 0 and "would record 1 payment(s)" in dry.stderr and "nothing written" in dry.stderr
    assert snapshot(books.url) == before
    denied = run(books, path, role="gerente")
    assert denied.exit_code == 5 and "invoices.operate" in denied.stderr
    assert snapshot(books.url) == before


def test_a_file_without_the_needed_columns_says_what_it_found(books, ledger, tmp_path):
    path = write(tmp_path, "cliente,valor\nX,1\n")
    result = run(books, path)
    assert result.exit_code == 3
    assert "missing required column(s)" in result.stderr and "Found: cliente, valor" in result.stderr


def test_spanish_messages(books, ledger, tmp_path):
    path = write(tmp_path, f"id factura,fecha,monto\n{ledger['a1']},2026-06-20,1.00\n")
    result = books.run("pagos", "import", str(path), role="contador", env={"CUENTAS_LANG": "es"})
    assert result.exit_code == 3
    assert "ningún pago se registró" in result.stderr and "es posterior a hoy" in result.stderr
