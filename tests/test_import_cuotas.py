"""`cuentas import` of cuotas (forma de pago Crédito): one column pair per cuota in a CSV or a
workbook, the cuotas of a UBL invoice; SUNAT's rules on them as row errors; stored for the
invoices an import inserts, once (a re-import adds nothing), never by a dry run."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from benchmarks.ubl_files import Doc
from tests.dbstate import snapshot
from tests.test_import import RUC_A, RUC_B, RUC_C, count, rows, write

HEADER = ("RUC;Razón Social;Serie;Número;Fecha de Emisión;Fecha de Vencimiento;Total;Detracción %;Forma de pago;"
          "Cuota 1 Fecha;Cuota 1 Monto;Fecha cuota 2;Monto cuota 2;cuota_3_fecha;cuota_3_monto\r\n")
# F001-1: 11,800.00 with a 12% detracción (1,416.00) in three cuotas of the 10,384.00 left, no due date;
# F001-2 al contado without a due date; F001-3 in one cuota with its due date given.
GOOD = (f"{RUC_A};CLIENTE ANDINO S.A.C.;F001;1;01/05/2026;;11800,00;12;credito;31/05/2026;3461,33;30/06/2026;3461,33;"
        "31/07/2026;3461,34\r\n"
        f"{RUC_A};CLIENTE ANDINO S.A.C.;F001;2;02/05/2026;;1180,00;;contado;;;;;;\r\n"
        f"{RUC_B};DISTRIBUIDORA S.R.L.;F001;3;03/05/2026;03/07/2026;590,00;;;03/07/2026;590,00;;;;\r\n")


def run_import(company, path: Path, *args: str):  # noqa: ANN001, ANN201
    return company.run("import", str(path), "--kind", "cxc", "--json", *args, role="contador")


def imported(company, path: Path, *args: str) -> dict:  # noqa: ANN001
    result = run_import(company, path, *args)
    assert result.exit_code == 0, result.output
    return result.json()


def show(company, ref: str) -> dict:  # noqa: ANN001
    shown = company.run("invoices", "show", ref, "--format", "json")
    assert shown.exit_code == 0, shown.output
    return shown.json()


def stored(company) -> list[tuple]:  # noqa: ANN001
    """(serie-número, cuota, due date, céntimos) of every stored cuota."""
    got = rows(company.url, "SELECT i.serie, i.numero, c.number, c.due_date, c.amount_cents FROM invoice_cuota c "
                            "JOIN invoice i ON i.id = c.invoice_id ORDER BY i.numero, c.number")
    return [(f"{s}-{n}", k, str(d)[:10], cents) for s, n, k, d, cents in got]


def test_a_csv_with_three_cuotas_one_sale_with_detraccion(company, tmp_path):
    summary = imported(company, write(tmp_path / "ventas.csv", HEADER + GOOD))
    assert (summary["new"], summary["rejected"]) == (3, 0)
    shown = show(company, "F001-1")
    assert shown["due_date"] == "2026-07-31"  # no due date: the last cuota's
    assert [(c["cuota"], c["due_date"], c["amount"], c["balance"]) for c in shown["cuotas"]] == [
        (1, "2026-05-31", "3461.33", "3461.33"), (2, "2026-06-30", "3461.33", "3461.33"),
        (3, "2026-07-31", "3461.34", "3461.34")]
    contado = show(company, "F001-2")
    assert (contado["due_date"], contado["cuotas"]) == ("2026-05-02", [])  # al contado: due on issue
    one = show(company, "F001-3")
    assert one["due_date"] == "2026-07-03" and [c["amount"] for c in one["cuotas"]] == ["590.00"]
    assert company.run("invoices", "pay", "F001-1", "4000.00", "--date", "2026-06-01",
                       role="contador").exit_code == 0
    assert [c["balance"] for c in show(company, "F001-1")["cuotas"]] == ["0.00", "2922.66", "3461.34"]


def test_a_workbook_with_cuotas(company, tmp_path):
    import xlsxwriter

    path = tmp_path / "cartera.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Cartera")
    datef = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws.write_row(0, 0, ["RUC", "Razón social", "Serie", "Número", "Fecha de emisión", "Total", "Forma de pago",
                        "Fecha cuota 1", "Monto cuota 1", "Fecha cuota 2", "Monto cuota 2"])
    ws.write_row(1, 0, [RUC_A, "SUNAT", "F002", 10, None, 2360.5, "Crédito"])
    ws.write_datetime(1, 4, date(2026, 5, 2), datef)
    ws.write_datetime(1, 7, date(2026, 6, 1), datef)
    ws.write_number(1, 8, 1180.25)
    ws.write_datetime(1, 9, date(2026, 7, 1), datef)
    ws.write_number(1, 10, 1180.25)
    wb.close()
    summary = imported(company, path)
    assert summary["new"] == 1
    assert stored(company) == [("F002-10", 1, "2026-06-01", 118025), ("F002-10", 2, "2026-07-01", 118025)]
    assert show(company, "F002-10")["due_date"] == "2026-07-01"


def test_a_ubl_factura_a_credito_in_three_cuotas_with_detraccion(company, tmp_path):
    assert company.run("settings", "set", "company.ruc", RUC_C).exit_code == 0
    folder = tmp_path / "x"
    folder.mkdir()
    docs = [Doc(id="F001-7", issuer=("6", RUC_C, "NOSOTROS S.A.C."), customer=("6", RUC_A, "CLIENTE S.A."),
                forma="Credito", pending="1038.40", detraccion=("037", "12.00", "142.00"),
                cuotas=[("346.13", "2026-07-01"), ("346.13", "2026-08-01"), ("346.14", "2026-08-31")]),
            Doc(id="F001-8", issuer=("6", RUC_C, "NOSOTROS S.A.C."), customer=("6", RUC_A, "CLIENTE S.A."))]
    for doc in docs:
        (folder / f"{doc.id}.xml").write_text(doc.xml(), encoding="utf-8")
    result = company.run("import", str(folder), "--json", role="contador")
    assert result.exit_code == 0, result.output
    assert result.json()["new"] == 2
    assert stored(company) == [("F001-7", 1, "2026-07-01", 34613), ("F001-7", 2, "2026-08-01", 34613),
                               ("F001-7", 3, "2026-08-31", 34614)]  # F001-8, al contado: none
    again = company.run("import", str(folder), "--json", role="contador")
    assert again.exit_code == 0 and again.json()["new"] == 0
    assert count(company.url, "invoice_cuota") == 3


BAD = {
    "sum": (f"{RUC_A};X;F009;1;01/05/2026;;1180,00;;credito;01/06/2026;500,00;01/07/2026;500,00;;\r\n",
            "Monto cuota 2", "add up to 1000.00"),
    "half pair": (f"{RUC_A};X;F009;1;01/05/2026;;1180,00;;credito;01/06/2026;1180,00;01/07/2026;;;\r\n",
                  "Monto cuota 2", "needs its date and its amount"),
    "contado": (f"{RUC_A};X;F009;1;01/05/2026;;1180,00;;contado;01/06/2026;1180,00;;;;\r\n",
                "Forma de pago", "al contado has no cuotas"),
    "due mismatch": (f"{RUC_A};X;F009;1;01/05/2026;15/06/2026;1180,00;;credito;01/06/2026;1180,00;;;;\r\n",
                     "Fecha de Vencimiento", "last cuota"),
    "before issue": (f"{RUC_A};X;F009;1;01/05/2026;;1180,00;;credito;01/04/2026;1180,00;;;;\r\n",
                     "Cuota 1 Fecha", "before the issue date"),
    "zero": (f"{RUC_A};X;F009;1;01/05/2026;;1180,00;;credito;01/06/2026;0,00;01/07/2026;1180,00;;\r\n",
             "Cuota 1 Monto", "greater than zero"),
    "forma": (f"{RUC_A};X;F009;1;01/05/2026;01/06/2026;1180,00;;a plazos;;;;;;\r\n", "Forma de pago", "contado or credito"),
    "no due": (f"{RUC_A};X;F009;1;01/05/2026;;1180,00;;;;;;;;\r\n", "Fecha de Vencimiento", "empty"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_cuota_is_a_row_error_and_nothing_is_stored(company, tmp_path, case):
    line, column, message = BAD[case]
    path = write(tmp_path / "ventas.csv", HEADER + GOOD + line)
    company.run("whoami", role="contador")
    before = snapshot(company.url)
    result = run_import(company, path)
    assert result.exit_code != 0 and "Traceback" not in result.output
    errors = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and "row 5" in errors[0] and f"column {column}" in errors[0] and message in errors[0], \
        result.stderr
    assert snapshot(company.url) == before


def test_partial_puts_the_bad_cuota_row_in_the_errors_file(company, tmp_path):
    path = write(tmp_path / "ventas.csv", HEADER + GOOD + BAD["sum"][0])
    summary = imported(company, path, "--partial", "--errors", str(tmp_path / "errores.csv"))
    assert (summary["new"], summary["rejected"]) == (3, 1)
    with open(tmp_path / "errores.csv", encoding="utf-8-sig", newline="") as handle:
        bad = list(csv.reader(handle))
    assert len(bad) == 2 and bad[1][2] == "F009" and "add up to" in bad[1][-1]
    assert [c[0] for c in stored(company)] == ["F001-1"] * 3 + ["F001-3"]


def test_a_reimport_adds_no_cuotas_and_a_dry_run_stores_none(company, tmp_path):
    path = write(tmp_path / "ventas.csv", HEADER + GOOD)
    company.run("whoami", role="contador")  # the token's first use is recorded, not the import's
    before = snapshot(company.url)
    dry = imported(company, path, "--dry-run")
    assert dry["new"] == 3 and snapshot(company.url) == before
    imported(company, path)
    first = stored(company)
    assert len(first) == 4
    again = imported(company, path)
    assert (again["new"], again["skipped"]) == (0, 3)
    assert stored(company) == first


def test_a_file_with_half_a_cuota_pair_of_columns_is_refused(company, tmp_path):
    path = write(tmp_path / "ventas.csv", "RUC;Serie;Número;Fecha de Emisión;Total;Cuota 1 Fecha\r\n"
                                          f"{RUC_A};F001;1;01/05/2026;1180,00;01/06/2026\r\n")
    before = snapshot(company.url)
    result = run_import(company, path)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "Cuota 1 Fecha has no cuota_1_monto" in result.stderr
    assert snapshot(company.url) == before


def test_on_duplicate_update_replaces_the_cuotas_a_row_carries(company, tmp_path):
    imported(company, write(tmp_path / "a.csv", HEADER + GOOD))
    changed = GOOD.replace("31/05/2026;3461,33;30/06/2026;3461,33;31/07/2026;3461,34",
                           "30/06/2026;5192,00;31/07/2026;5192,00;;")
    result = company.run("import", str(write(tmp_path / "b.csv", HEADER + changed)), "--kind", "cxc", "--json",
                         "--on-duplicate", "update")  # the administrador: updating is editing
    assert result.exit_code == 0, result.output
    summary = result.json()
    assert summary["new"] == 0
    assert stored(company)[:2] == [("F001-1", 1, "2026-06-30", 519200), ("F001-1", 2, "2026-07-31", 519200)]
    assert len(stored(company)) == 3  # F001-3's own cuota, carried again, replaced by the same one


def test_a_document_twice_in_the_file_keeps_the_first_rows_cuotas(company, tmp_path):
    twice = GOOD.splitlines(keepends=True)[0]
    path = write(tmp_path / "ventas.csv", HEADER + twice + twice.replace("3461,33;30/06", "3461,33;01/07"))
    summary = imported(company, path, "--partial", "--errors", str(tmp_path / "errores.csv"))
    assert (summary["new"], summary["rejected"]) == (1, 1)
    assert [c[2] for c in stored(company)] == ["2026-05-31", "2026-06-30", "2026-07-31"]


def test_a_ubl_invoice_with_a_retencion_keeps_its_cuotas_net_of_it(company, tmp_path):
    """SUNAT's cuotas add up to the total less the detracción and the retención: the import
    records the XML's retención (AllowanceCharge 62), so the cuotas fit and are stored; cuotas
    that fit neither way are still a row error."""
    assert company.run("settings", "set", "company.ruc", RUC_C).exit_code == 0
    doc = Doc(id="F001-9", issuer=("6", RUC_C, "NOSOTROS S.A.C."), customer=("6", RUC_A, "CLIENTE S.A."),
              forma="Credito", pending="1144.60", retencion="35.40",
              cuotas=[("572.30", "2026-07-01"), ("572.30", "2026-08-01")])
    (tmp_path / "F001-9.xml").write_text(doc.xml(), encoding="utf-8")
    result = company.run("import", str(tmp_path / "F001-9.xml"), role="contador")
    assert result.exit_code == 0, result.output
    assert rows(company.url, "SELECT retencion_cents, due_date FROM invoice")[0][0] == 3540
    assert [(c[1], c[2], c[3]) for c in stored(company)] == [(1, "2026-07-01", 57230), (2, "2026-08-01", 57230)]
    shown = show(company, "F001-9")
    assert (shown["retencion"], shown["retencion_recorded"]) == ("35.40", "0.00")
    bad = Doc(id="F001-10", issuer=("6", RUC_C, "NOSOTROS S.A.C."), customer=("6", RUC_A, "CLIENTE S.A."),
              forma="Credito", pending="1000.00", retencion="35.40", cuotas=[("1000.00", "2026-07-01")])
    (tmp_path / "F001-10.xml").write_text(bad.xml(), encoding="utf-8")
    refused = company.run("import", str(tmp_path / "F001-10.xml"), role="contador")
    assert refused.exit_code != 0 and "add up to 1000.00" in refused.stderr and "Traceback" not in refused.output
    assert count(company.url) == 1


RET_HEADER = "RUC;Razón Social;Serie;Número;Fecha de Emisión;Fecha de Vencimiento;Total;Detracción %;Retención\r\n"


def test_a_retencion_column_is_recorded_by_the_rules_of_invoices_add(company, tmp_path):
    """A CSV's retención column (the amount withheld) is stored; 3% of the total to the céntimo,
    on an invoice above S/ 700 without detracción, never on a note: else a row error naming the
    column, and nothing stored."""
    good = f"{RUC_A};CLIENTE ANDINO S.A.C.;F001;1;01/05/2026;31/05/2026;1180,00;;35,40\r\n" \
           f"{RUC_A};CLIENTE ANDINO S.A.C.;F001;2;01/05/2026;31/05/2026;1180,00;;\r\n"
    summary = imported(company, write(tmp_path / "a.csv", RET_HEADER + good))
    assert summary["new"] == 2
    assert rows(company.url, "SELECT numero, retencion_cents FROM invoice ORDER BY numero") == [(1, 3540), (2, 0)]
    before = snapshot(company.url)
    for row, message in (
            (f"{RUC_A};CLIENTE ANDINO S.A.C.;F001;3;01/05/2026;31/05/2026;1180,00;;40,00", "3% of the total, 35.40"),
            (f"{RUC_A};CLIENTE ANDINO S.A.C.;F001;3;01/05/2026;31/05/2026;590,00;;17,70", "at or below S/ 700.00"),
            (f"{RUC_A};CLIENTE ANDINO S.A.C.;F001;3;01/05/2026;31/05/2026;1180,00;12;35,40", "detracción (SPOT)")):
        result = run_import(company, write(tmp_path / "b.csv", RET_HEADER + row + "\r\n"))
        assert result.exit_code != 0 and message in result.output and "Retención" in result.output, result.output
        assert "Traceback" not in result.output and snapshot(company.url) == before
    note = ("RUC;Razón Social;Tipo comprobante;Serie;Número;Fecha de Emisión;Fecha de Vencimiento;Total;Retención;"
            f"ref_tipo;ref_serie;ref_numero\r\n{RUC_A};CLIENTE ANDINO S.A.C.;07;F001;9;22/05/2026;22/05/2026;100,00;"
            "3,00;01;F001;1\r\n")
    result = run_import(company, write(tmp_path / "n.csv", note))
    assert result.exit_code != 0 and "not to a credit or debit note" in result.output, result.output
    assert snapshot(company.url) == before


def test_on_duplicate_update_without_cuota_columns_keeps_the_cuotas_whole(company, tmp_path):
    """A file without cuota columns leaves the stored cuotas as they are, so a row that would
    change the total or the due date they fit is a row error naming the invoice."""
    imported(company, write(tmp_path / "a.csv", HEADER + GOOD))
    before = snapshot(company.url)
    plain = "RUC;Razón Social;Serie;Número;Fecha de Emisión;Fecha de Vencimiento;Total;Detracción %\r\n"
    for row, message in (
            (f"{RUC_A};CLIENTE ANDINO S.A.C.;F001;1;01/05/2026;31/07/2026;12000,00;12\r\n", "add up to"),
            (f"{RUC_A};CLIENTE ANDINO S.A.C.;F001;1;01/05/2026;15/08/2026;11800,00;12\r\n", "due in cuotas")):
        result = company.run("import", str(write(tmp_path / "b.csv", plain + row)), "--kind", "cxc",
                             "--on-duplicate", "update")
        assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output, result.output
        assert snapshot(company.url) == before
    same = f"{RUC_A};CLIENTE ANDINO S.A.C.;F001;1;01/05/2026;31/07/2026;11800,00;12\r\n"  # nothing changes: fine
    result = company.run("import", str(write(tmp_path / "c.csv", plain + same)), "--kind", "cxc", "--json",
                         "--on-duplicate", "update")
    assert result.exit_code == 0, result.output
    assert len(stored(company)) == 4  # F001-1's three and F001-3's one, untouched
