"""Imported credit and debit notes end exactly as notes added by hand, and an import's update
path keeps the rules of `invoices edit` (issue 15 items 2 and 9, issue 25 item 2)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import text

from cuentas_cli.db.engine import open_session
from tests.dbstate import snapshot
from tests.factories import make_invoice, make_party
from tests.test_import import RUC_A, RUC_C, count, ple_line, rows, write
from tests.test_notify_support import smtp_settings

HEADER = "tipo,ruc,razon_social,tipo_comprobante,serie,numero,fecha_emision,fecha_vencimiento,total,ref_serie,ref_numero\n"
INVOICE = f"cxc,{RUC_A},SUNAT,01,F001,1,2026-05-01,2026-05-31,1180.00,,\n"  # overdue on 2026-06-15
CREDIT = f"cxc,{RUC_A},SUNAT,07,F001,2,2026-05-10,2026-05-10,300.00,F001,1\n"
DEBIT = f"cxc,{RUC_A},SUNAT,08,F001,3,2026-05-11,2026-05-11,100.00,F001,1\n"


def client(company) -> None:  # noqa: ANN001
    with open_session(company.url, write=True) as s:
        make_party(s, ruc=RUC_A, name="SUNAT", email="pagos@sunat.pe")


def stored(company) -> dict[str, tuple]:  # noqa: ANN001
    """document -> (doc type, total, adjust, paid, status, references_id)."""
    got = rows(company.url, "SELECT serie, numero, doc_type, total_cents, adjust_cents, paid_cents, status, references_id "
                            "FROM invoice")
    return {f"{r[0]}-{r[1]}": tuple(r[2:]) for r in got}


def by_document(result) -> dict[str, dict]:  # noqa: ANN001
    assert result.exit_code == 0, result.output
    return {r["document"] if "document" in r else f"{r['serie']}-{r['numero']}": r for r in result.json()}


def audit(company, action: str) -> list[tuple]:  # noqa: ANN001
    return rows(company.url, "SELECT entity_id, before, after FROM audit_log WHERE action = :a ORDER BY id", a=action)


# --- notes by CSV and PLE ---------------------------------------------------------------------


def test_csv_credit_and_debit_notes_adjust_their_invoice_and_carry_no_balance(company, tmp_path):
    client(company)
    path = write(tmp_path / "notas.csv", HEADER + INVOICE + CREDIT + DEBIT)
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 0, result.output
    docs = stored(company)
    target_id = rows(company.url, "SELECT id FROM invoice WHERE numero = 1")[0][0]
    # as `invoices add --doc-type 07/08`: the note's own adjust is minus its total, the
    # invoice's adjust is the sum of its notes (07 -, 08 +)
    assert docs["F001-2"] == ("07", 30000, -30000, 0, "PAGADA", target_id)
    assert docs["F001-3"] == ("08", 10000, -10000, 0, "PAGADA", target_id)
    assert docs["F001-1"] == ("01", 118000, -20000, 0, "VENCIDA", None)

    listed = by_document(company.run("invoices", "list", "-f", "json", role="contador"))
    assert (listed["F001-2"]["balance"], listed["F001-2"]["status"]) == ("0.00", "PAGADA")
    assert (listed["F001-3"]["balance"], listed["F001-3"]["status"]) == ("0.00", "PAGADA")
    assert listed["F001-1"]["balance"] == "980.00"
    overdue = by_document(company.run("invoices", "overdue", "-f", "json", role="contador"))
    assert list(overdue) == ["F001-1"] and overdue["F001-1"]["balance"] == "980.00"
    shown = company.run("clients", "show", RUC_A, "-f", "json", role="contador").json()
    assert (shown["open_invoices"], shown["open_balance_pen"], shown["overdue_invoices"]) == (1, "980.00", 1)
    exported = by_document(company.run("export", "--format", "json", role="gerente"))
    assert exported["F001-2"]["balance"] == "0.00" and exported["F001-3"]["balance"] == "0.00"
    assert exported["F001-1"]["balance"] == "980.00"

    smtp_settings(company.url, 2525)
    planned = company.run("notify", "run", "--dry-run", "-f", "json", role="contador")
    assert planned.exit_code == 0, planned.output
    [reminder] = [p for p in planned.json() if p["kind"] == "reminder"]
    # one reminder for the invoice, none for the client's own credit note or the debit note
    assert reminder["recipient"] == "pagos@sunat.pe" and reminder["invoices"] == 1

    again = company.run("import", str(path), "--json", role="contador")  # idempotent: applied once
    assert again.exit_code == 0 and again.json()["skipped"] == 3
    assert stored(company) == docs


def test_csv_note_on_an_invoice_already_in_the_database(company, tmp_path):
    with open_session(company.url, write=True) as s:
        party = make_party(s, ruc=RUC_A, name="SUNAT")
        target = make_invoice(s, party, serie="F001", numero=1, total="1180.00", issued=date(2026, 5, 1),
                              due=date(2026, 7, 1), paid="180.00")
        target_id = target.id
    path = write(tmp_path / "nota.csv", HEADER + CREDIT.replace("300.00", "-1000.00"))  # the whole balance
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 0, result.output
    docs = stored(company)
    assert docs["F001-2"] == ("07", 100000, -100000, 0, "PAGADA", target_id)
    assert docs["F001-1"] == ("01", 118000, -100000, 18000, "PAGADA", None)  # settled by the note


def test_xlsx_notes_with_number_cells(company, tmp_path):
    import xlsxwriter

    client(company)
    path = tmp_path / "notas.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    datef = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws.write_row(0, 0, ["RUC", "Razón social", "Tipo de comprobante", "Serie", "Número", "Fecha de emisión",
                        "Fecha de vencimiento", "Total", "Ref serie", "Ref número"])
    for r, (doc_type, numero, total, ref) in enumerate((("01", 1, 1180.0, None), ("07", 2, -300.0, 1), ("08", 3, 100.0, 1)),
                                                       start=1):
        ws.write_row(r, 0, [RUC_A, "SUNAT", doc_type, "F001", numero])
        ws.write_datetime(r, 5, date(2026, 5, 1), datef)
        ws.write_datetime(r, 6, date(2026, 5, 31), datef)
        ws.write_number(r, 7, total)
        if ref is not None:
            ws.write_row(r, 8, ["F001", ref])
    wb.close()
    result = company.run("import", str(path), "--kind", "cxc", role="contador")
    assert result.exit_code == 0, result.output
    docs = stored(company)
    assert docs["F001-2"][:5] == ("07", 30000, -30000, 0, "PAGADA")
    assert docs["F001-3"][:5] == ("08", 10000, -10000, 0, "PAGADA")
    assert docs["F001-1"][:5] == ("01", 118000, -20000, 0, "VENCIDA")


def test_ple_sales_register_note_fields_28_to_31(company, tmp_path):
    """The example PLE 14.1 has a credit note (FC01-1) on F001-238 in fields 28-31."""
    example = Path(__file__).resolve().parent.parent / "examples" / "LE2099999000320260500140100001111.txt"
    path = tmp_path / example.name
    path.write_bytes(example.read_bytes())
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 0, result.output
    docs = stored(company)
    target_id = rows(company.url, "SELECT id FROM invoice WHERE serie = 'F001' AND numero = 238")[0][0]
    assert docs["FC01-1"] == ("07", 187900, -187900, 0, "PAGADA", target_id)
    assert docs["F001-238"][:3] == ("01", 1879732, -187900)
    listed = by_document(company.run("invoices", "list", "-f", "json", role="contador"))
    assert listed["FC01-1"]["balance"] == "0.00" and listed["F001-238"]["balance"] == "16918.32"
    overdue = by_document(company.run("invoices", "overdue", "-f", "json", role="contador"))
    assert "FC01-1" not in overdue and overdue["F001-238"]["balance"] == "16918.32"


def test_ple_sales_register_debit_note(company, tmp_path):
    base = {1: "20260500", 10: "6", 26: "PEN", 27: "1.000", 35: "1"}
    lines = [
        ple_line({**base, 2: "M1", 3: "M1", 4: "02/05/2026", 5: "01/07/2026", 6: "01", 7: "F001", 8: "501", 11: RUC_A,
                  12: "SUNAT", 14: "1000.00", 16: "180.00", 25: "1180.00"}),
        ple_line({**base, 2: "M2", 3: "M2", 4: "10/05/2026", 5: "10/05/2026", 6: "08", 7: "F001", 8: "13", 11: RUC_A,
                  12: "SUNAT", 14: "50.00", 16: "9.00", 25: "59.00", 28: "02/05/2026", 29: "01", 30: "F001", 31: "501"}),
    ]
    path = tmp_path / f"LE{RUC_C}20260500140100001111.txt"
    path.write_bytes("\r\n".join(lines).encode("latin-1") + b"\r\n")
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 0, result.output
    docs = stored(company)
    assert docs["F001-13"][:5] == ("08", 5900, -5900, 0, "PAGADA")
    assert docs["F001-501"][:5] == ("01", 118000, 5900, 0, "PENDIENTE")
    listed = by_document(company.run("invoices", "list", "-f", "json", role="contador"))
    assert listed["F001-501"]["balance"] == "1239.00" and listed["F001-13"]["balance"] == "0.00"


def test_ple_purchases_register_credit_note(company, tmp_path):
    """Registro de Compras 8.1: the modified document is in fields 28, 29 and 31."""
    base = {1: "20260500", 11: "6", 12: RUC_A, 13: "SUNAT", 25: "PEN", 26: "1.000", 42: "1"}
    lines = [
        ple_line({**base, 2: "C1", 3: "M1", 4: "02/05/2026", 5: "01/06/2026", 6: "01", 7: "F001", 9: "77",
                  14: "1000.00", 15: "180.00", 24: "1180.00"}, width=43),
        ple_line({**base, 2: "C2", 3: "M2", 4: "05/05/2026", 5: "05/05/2026", 6: "07", 7: "F001", 9: "8",
                  14: "-100.00", 15: "-18.00", 24: "-118.00", 27: "02/05/2026", 28: "01", 29: "F001", 31: "77"},
                 width=43),
    ]
    path = tmp_path / f"LE{RUC_C}20260500080100001111.txt"
    path.write_bytes("\r\n".join(lines).encode("latin-1") + b"\r\n")
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 0, result.output
    docs = stored(company)
    target_id = rows(company.url, "SELECT id FROM invoice WHERE numero = 77")[0][0]
    assert docs["F001-8"] == ("07", 11800, -11800, 0, "PAGADA", target_id)
    assert docs["F001-77"][:5] == ("01", 118000, -11800, 0, "VENCIDA")
    assert rows(company.url, "SELECT DISTINCT direction FROM invoice") == [("payable",)]
    overdue = by_document(company.run("invoices", "overdue", "-f", "json", role="contador"))
    assert list(overdue) == ["F001-77"] and overdue["F001-77"]["balance"] == "1062.00"


def test_notes_that_do_not_fit_are_row_errors_like_by_hand(company, tmp_path):
    client(company)
    cases = {
        # a credit above the open balance (the same message as `invoices add`)
        "mayor": (INVOICE + CREDIT.replace("300.00", "1180.01"), "row 3", "credit note of 1180.01 is more than the balance 1180.00"),
        # two credits: the second one is checked against what the first one left
        "dos": (INVOICE + CREDIT.replace("300.00", "1000.00") + CREDIT.replace(",2,", ",4,"), "row 4",
                "credit note of 300.00 is more than the balance 180.00"),
        "sin referencia": (INVOICE + CREDIT.replace("F001,1\n", ",\n"), "row 3, column ref_numero", "give the document it modifies"),
        "inexistente": (CREDIT.replace("F001,1\n", "F001,99\n"), "row 2, column ref_numero", "neither in the database nor in this file"),
    }
    before = snapshot(company.url)
    for name, (body, where, message) in cases.items():
        path = write(tmp_path / f"{name}.csv", HEADER + body)
        result = company.run("import", str(path), role="contador")
        assert result.exit_code == 3, (name, result.output)
        assert where in result.stderr and message in result.stderr, (name, result.stderr)
        assert snapshot(company.url) == before, name
    # --partial: the note that does not fit is left out, the rest is imported
    path = write(tmp_path / "parcial.csv", HEADER + INVOICE + CREDIT.replace("300.00", "1180.01") + DEBIT)
    errors = tmp_path / "errores.csv"
    result = company.run("import", str(path), "--partial", "--errors", str(errors), "--json", role="contador")
    assert result.exit_code == 0, result.output
    assert (result.json()["new"], result.json()["rejected"]) == (2, 1)
    docs = stored(company)
    assert "F001-2" not in docs and docs["F001-1"][2] == 10000 and docs["F001-3"][2] == -10000
    assert "credit note of 1180.01" in errors.read_text(encoding="utf-8-sig")


def test_a_note_on_an_anulada_or_paid_invoice_is_refused(company, tmp_path):
    with open_session(company.url, write=True) as s:
        party = make_party(s, ruc=RUC_A, name="SUNAT")
        voided = make_invoice(s, party, serie="F001", numero=1, total="1180.00")
        voided.status = "ANULADA"
        s.add(voided)
        make_invoice(s, party, serie="F001", numero=5, total="100.00", paid="100.00")
    before = snapshot(company.url)
    for body, message in ((CREDIT, "F001-1 is ANULADA; a note cannot modify it"),
                          (DEBIT, "F001-1 is ANULADA; a note cannot modify it"),
                          (CREDIT.replace("F001,1\n", "F001,5\n").replace("300.00", "10.00"),
                           "F001-5 is PAGADA; a credit note on a paid invoice is refused")):
        path = write(tmp_path / "nota.csv", HEADER + body)
        result = company.run("import", str(path), role="contador")
        assert result.exit_code == 3 and message in result.stderr, result.output
        assert snapshot(company.url) == before


# --- the update path ---------------------------------------------------------------------------


def test_update_never_lowers_a_total_below_what_is_paid(company, tmp_path):
    with open_session(company.url, write=True) as s:
        party = make_party(s, ruc=RUC_A, name="SUNAT")
        make_invoice(s, party, serie="F001", numero=1, total="11434.18", paid="11434.18")
    before = snapshot(company.url)
    path = write(tmp_path / "baja.csv", HEADER + INVOICE.replace("1180.00", "1.00"))
    result = company.run("import", str(path), "--on-duplicate", "update", role="administrador")
    assert result.exit_code == 3, result.output
    assert "row 2, column total, value '1.00'" in result.stderr
    assert "payments of 11434.18 already exceed the new total 1.00" in result.stderr
    assert snapshot(company.url) == before


def test_update_never_changes_a_note_amount_or_sign(company, tmp_path):
    client(company)
    path = write(tmp_path / "notas.csv", HEADER + INVOICE + CREDIT)
    assert company.run("import", str(path), role="contador").exit_code == 0
    before = snapshot(company.url)
    flipped = write(tmp_path / "volteada.csv", HEADER + INVOICE + CREDIT.replace("300.00", "-900.00"))
    result = company.run("import", str(flipped), "--on-duplicate", "update", role="administrador")
    assert result.exit_code == 3, result.output
    assert "row 3, column total" in result.stderr and "is a note: its" in result.stderr
    assert snapshot(company.url) == before
    # --partial skips that row and applies the rest
    changed = write(tmp_path / "cambio.csv", HEADER + INVOICE.replace("2026-05-31", "2026-07-31") +
                    CREDIT.replace("300.00", "-900.00"))
    result = company.run("import", str(changed), "--on-duplicate", "update", "--partial", "--errors",
                         str(tmp_path / "e.csv"), "--json", role="administrador")
    assert result.exit_code == 0, result.output
    assert (result.json()["updated"], result.json()["rejected"]) == (1, 1)
    docs = stored(company)
    assert docs["F001-2"][:5] == ("07", 30000, -30000, 0, "PAGADA")
    assert docs["F001-1"][:5] == ("01", 118000, -30000, 0, "PENDIENTE")  # due moved, the credit still applied
    overdue = company.run("invoices", "overdue", "-f", "json").json()
    assert overdue == []


def test_update_never_touches_an_anulada_document(company, tmp_path):
    with open_session(company.url, write=True) as s:
        party = make_party(s, ruc=RUC_A, name="SUNAT")
        voided = make_invoice(s, party, serie="F001", numero=1, total="1180.00", issued=date(2026, 5, 1),
                              due=date(2026, 5, 31), base_cents=100000, igv_cents=18000)
        voided.status = "ANULADA"
        s.add(voided)
        voided_id = voided.id
    before = snapshot(company.url)
    path = write(tmp_path / "anulada.csv", HEADER + INVOICE.replace("1180.00", "2360.00"))
    result = company.run("import", str(path), "--on-duplicate", "update", role="administrador")
    assert result.exit_code == 3 and "is ANULADA and cannot be changed" in result.stderr, result.output
    assert snapshot(company.url) == before
    same = write(tmp_path / "igual.csv", HEADER + INVOICE)  # nothing to change: no error
    result = company.run("import", str(same), "--on-duplicate", "update", "--json", role="administrador")
    assert result.exit_code == 0 and result.json()["skipped"] == 1, result.output
    # one rule, two callers: `invoices edit` refuses it too
    edited = company.run("invoices", "edit", str(voided_id), "--description", "x")
    assert edited.exit_code == 3 and "is ANULADA and cannot be changed" in edited.stderr


def test_update_needs_invoices_edit_and_is_audited_with_before_and_after(company, tmp_path):
    with open_session(company.url, write=True) as s:
        party = make_party(s, ruc=RUC_A, name="SUNAT")
        inv = make_invoice(s, party, serie="F001", numero=1, total="1180.00", issued=date(2026, 5, 1),
                           due=date(2026, 5, 31), description="original")
        inv_id = inv.id
    path = write(tmp_path / "cambio.csv", HEADER + INVOICE.replace("2026-05-31", "2026-07-31").replace("1180.00", "2360.00"))
    before = snapshot(company.url)
    denied = company.run("import", str(path), "--on-duplicate", "update", role="contador")
    assert denied.exit_code == 5, denied.output
    assert "invoices.edit" in denied.stderr and "contador" in denied.stderr
    assert snapshot(company.url) == before
    assert company.run("import", str(path), role="contador").exit_code == 0  # skip: creating is enough
    assert snapshot(company.url)["invoice"] == before["invoice"]

    result = company.run("import", str(path), "--on-duplicate", "update", "--json", role="administrador")
    assert result.exit_code == 0 and result.json()["updated"] == 1, result.output
    [(entity_id, before_json, after_json)] = audit(company, "invoice.import_update")
    assert entity_id == str(inv_id)
    old, new = json.loads(before_json), json.loads(after_json)
    assert (old["total"], old["due_date"], old["status"]) == ("1180.00", "2026-05-31", "VENCIDA")
    assert (new["total"], new["due_date"], new["status"]) == ("2360.00", "2026-07-31", "PENDIENTE")
    assert "description" in old and new["description"] is None  # the file has no descripcion column: cleared
    assert rows(company.url, "SELECT total_cents, status FROM invoice WHERE id = :i", i=inv_id) == [(236000, "PENDIENTE")]


def test_creating_parties_needs_parties_write(company, tmp_path):
    assert company.run("roles", "revoke", "contador", "parties.write").exit_code == 0
    path = write(tmp_path / "nuevo.csv", HEADER + INVOICE)  # RUC_A is not a client yet
    before = snapshot(company.url)
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 5, result.output
    assert "parties.write" in result.stderr and "contador" in result.stderr
    assert snapshot(company.url) == before and count(company.url, "party") == 0
    client(company)  # a known client: creating invoices is enough
    result = company.run("import", str(path), role="contador")
    assert result.exit_code == 0, result.output


def test_edit_and_import_share_the_note_rule(company, tmp_path):
    client(company)
    path = write(tmp_path / "notas.csv", HEADER + INVOICE + CREDIT)
    assert company.run("import", str(path), role="contador").exit_code == 0
    with open_session(company.url) as s:
        note_id = s.execute(text("SELECT id FROM invoice WHERE doc_type = '07'")).scalar_one()
    result = company.run("invoices", "edit", str(note_id), "--total", "900")
    assert result.exit_code == 3 and "is a note: its" in result.stderr and "total" in result.stderr
    assert company.run("invoices", "edit", str(note_id), "--description", "devolución").exit_code == 0
