"""`cuentas import` of SUNAT UBL 2.1 electronic invoices (.xml, a folder of them, a .zip): the
existing pipeline's rules (parties, notes, idempotence, atomicity, --partial, --dry-run) on
documents read from the XML, our side of each from company.ruc, and hostile XML refused."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.dbstate import snapshot
from tests.test_import import RUC_A, RUC_B, RUC_C, count, rows
from benchmarks.ubl_files import Doc, cdr

OURS = RUC_C  # the company whose books these are
CLIENT = ("6", RUC_A, "CLIENTE S.A.")
SUPPLIER = ("6", RUC_B, "PROVEEDOR S.R.L.")
US = ("6", OURS, "EMPRESA EMISORA S.A.C.")


@pytest.fixture
def books(company):  # noqa: ANN001, ANN201
    """The company, with its RUC set."""
    set_ruc = company.run("settings", "set", "company.ruc", OURS)
    assert set_ruc.exit_code == 0, set_ruc.output
    return company


def put(folder: Path, *docs: Doc) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for doc in docs:
        (folder / f"{doc.id}.xml").write_text(doc.xml(), encoding="utf-8")
    return folder


def invoices(company) -> dict[str, dict]:  # noqa: ANN001
    """serie-número -> the stored invoice's columns (and its party)."""
    got = rows(company.url, "SELECT i.serie, i.numero, i.direction, i.doc_type, i.issue_date, i.due_date, i.currency, "
                            "i.exchange_rate_e4, i.base_cents, i.igv_cents, i.total_cents, i.detraccion_bp, "
                            "i.detraccion_cents, i.adjust_cents, i.status, i.references_id, i.description, "
                            "p.kind, p.doc_type, p.doc_number, p.name, i.id FROM invoice i JOIN party p ON p.id = i.party_id")
    names = ("direction", "doc_type", "issued", "due", "currency", "rate", "base", "igv", "total", "det_bp", "det",
             "adjust", "status", "references", "description", "party_kind", "party_doc_type", "party_doc", "party_name",
             "id")
    return {f"{r[0]}-{r[1]}": {n: (str(v)[:10] if n in ("issued", "due") else v) for n, v in zip(names, r[2:])}
            for r in got}


def imported(company, path: Path, *args: str):  # noqa: ANN001, ANN201
    result = company.run("import", str(path), "--json", *args, role="contador")
    assert result.exit_code == 0, result.output
    return result.json()


def refused(company, path: Path, code: int = 3, *args: str) -> str:  # noqa: ANN001
    """Runs the import, expects it refused with one line and the database unchanged; the line."""
    before = snapshot(company.url)
    result = company.run("import", str(path), *args, role="contador")
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert snapshot(company.url) == before
    return lines[0]


# --- documents ----------------------------------------------------------------------------------


def test_factura_al_contado_is_a_receivable_due_on_issue(books, tmp_path):
    put(tmp_path / "x", Doc(id="F001-1"), Doc(id="F001-2", due="2026-06-20"))
    summary = imported(books, tmp_path / "x" / "F001-1.xml")
    assert (summary["format"], summary["new"], summary["parties_created"]) == ("ubl", 1, 1)
    inv = invoices(books)["F001-1"]
    assert (inv["direction"], inv["doc_type"], inv["issued"], inv["due"]) == ("receivable", "01", "2026-06-01", "2026-06-01")
    assert (inv["base"], inv["igv"], inv["total"], inv["currency"], inv["rate"]) == (100000, 18000, 118000, "PEN", 10000)
    assert (inv["party_kind"], inv["party_doc_type"], inv["party_doc"], inv["party_name"]) == \
        ("client", "6", RUC_A, "CLIENTE S.A.")
    imported(books, tmp_path / "x" / "F001-2.xml")
    assert invoices(books)["F001-2"]["due"] == "2026-06-20"  # its cbc:DueDate


def test_factura_a_credito_in_three_cuotas_with_detraccion(books, tmp_path):
    doc = Doc(id="F001-7", forma="Credito", pending="1038.40", detraccion=("037", "12.00", "142.00"),
              cuotas=[("346.13", "2026-07-01"), ("346.13", "2026-08-01"), ("346.14", "2026-08-31")])
    imported(books, put(tmp_path / "x", doc))
    inv = invoices(books)["F001-7"]
    assert inv["due"] == "2026-08-31"  # no cbc:DueDate: the last cuota's
    assert (inv["det_bp"], inv["det"]) == (1200, 14160)  # 12% of 1180.00


def test_the_source_emits_forma_de_pago_and_cuota_columns(tmp_path):
    from cuentas_cli.imports.sources.ubl import open_ubl

    doc = Doc(id="F001-7", forma="Credito", pending="1038.40", detraccion=("037", "12.00", "142.00"),
              cuotas=[("346.13", "2026-07-01"), ("346.13", "2026-08-01"), ("346.14", "2026-08-31")], retencion="35.40")
    source = open_ubl(put(tmp_path / "x", doc) / "F001-7.xml", company_ruc=OURS)
    [(_, cells)] = list(source.rows())
    row = dict(zip(source.header, cells))
    assert row["archivo"] == "F001-7.xml" and row["kind"] == "cxc"
    assert (row["forma_pago"], row["monto_neto_pendiente"]) == ("credito", "1038.40")
    assert [row[f"cuota_{n}_{f}"] for n in (1, 2, 3) for f in ("fecha", "monto")] == \
        ["2026-07-01", "346.13", "2026-08-01", "346.13", "2026-08-31", "346.14"]
    assert row["cuota_4_fecha"] == ""
    assert (row["detraccion_pct"], row["detraccion_codigo"], row["detraccion_monto"]) == ("12.00", "037", "142.00")
    assert row["retencion_monto"] == "35.40" and row["direccion"] == "AV. GARCILASO DE LA VEGA 1472, LIMA"


def test_a_usd_factura_takes_the_recorded_rate(books, tmp_path):
    assert books.run("fx", "set", "2026-06-01", "3.745").exit_code == 0
    imported(books, put(tmp_path / "x", Doc(id="F002-10", currency="USD", base="500.00", igv="90.00", total="590.00")))
    inv = invoices(books)["F002-10"]
    assert (inv["currency"], inv["rate"], inv["total"]) == ("USD", 37450, 59000)


def test_a_boleta_to_a_dni(books, tmp_path):
    imported(books, put(tmp_path / "x", Doc(id="B001-3", type_code="03", customer=("1", "45678912", "JUAN PEREZ"),
                                            customer_address=None, base="50.00", igv="9.00", total="59.00")))
    inv = invoices(books)["B001-3"]
    assert (inv["doc_type"], inv["party_doc_type"], inv["party_doc"], inv["party_name"]) == \
        ("03", "1", "45678912", "JUAN PEREZ")


def test_a_purchase_is_a_payable_to_the_issuer(books, tmp_path):
    imported(books, put(tmp_path / "x", Doc(id="E001-5", issuer=SUPPLIER, customer=US, due="2026-07-01")))
    inv = invoices(books)["E001-5"]
    assert (inv["direction"], inv["party_kind"], inv["party_doc"], inv["party_name"]) == \
        ("payable", "supplier", RUC_B, "PROVEEDOR S.R.L.")


def test_credit_note_anulacion_and_debit_note_apply_to_their_invoice(books, tmp_path):
    folder = put(tmp_path / "x", Doc(id="F001-1"), Doc(id="F001-2"),
                 Doc(id="FC01-1", kind="CreditNote", reference=("F001-1", "01"), forma=None),
                 Doc(id="FD01-1", kind="DebitNote", reference=("F001-2", "01"), forma=None, reason=("02", "INTERESES"),
                     base="100.00", igv="18.00", total="118.00"))
    summary = imported(books, folder)
    assert (summary["rows"], summary["new"], summary["rejected"]) == (4, 4, 0)
    docs = invoices(books)
    assert docs["FC01-1"]["references"] == docs["F001-1"]["id"] and docs["FC01-1"]["doc_type"] == "07"
    assert docs["FC01-1"]["description"] == "01: ANULACION DE LA OPERACION"
    assert docs["F001-1"]["adjust"] == -118000 and docs["F001-1"]["status"] == "PAGADA"  # annulled: nothing owed
    assert docs["FD01-1"]["references"] == docs["F001-2"]["id"] and docs["FD01-1"]["total"] == 11800
    assert docs["F001-2"]["adjust"] == 11800


def cuotas_of(company, ref: str) -> tuple[str, list[tuple]]:  # noqa: ANN001
    shown = company.run("invoices", "show", ref, "--format", "json")
    assert shown.exit_code == 0, shown.output
    data = shown.json()
    return data["due_date"], [(c["cuota"], c["due_date"], c["amount"]) for c in data["cuotas"]]


def correction(number: int, issued: str, *cuotas: tuple[str, str], ref: str = "F001-1") -> Doc:
    """A credit note of type 13: the new cuotas of `ref`, total 0.00."""
    return Doc(id=f"FC01-{number}", kind="CreditNote", issued=issued, reference=(ref, "01"),
               reason=("13", "CORRECCION DE CUOTAS"), base="0.00", igv="0.00", total="0.00", forma="Credito",
               pending="1180.00", cuotas=list(cuotas))


def test_credit_note_13_replaces_the_cuotas_of_the_invoice_it_corrects(books, tmp_path):
    folder = put(tmp_path / "x", Doc(id="F001-1", forma="Credito", pending="1180.00", cuotas=[("1180.00", "2026-07-01")]),
                 correction(2, "2026-06-10", ("590.00", "2026-07-15"), ("590.00", "2026-08-15")))
    summary = imported(books, folder)  # the invoice and its correction in one import
    assert (summary["rows"], summary["new"], summary["cuotas_corrected"], summary["rejected"]) == (2, 1, 1, 0)
    assert cuotas_of(books, "F001-1") == ("2026-08-15", [(1, "2026-07-15", "590.00"), (2, "2026-08-15", "590.00")])
    assert list(invoices(books)) == ["F001-1"]  # the note is not a document with a balance
    [(action, after)] = rows(books.url, "SELECT action, after FROM audit_log WHERE entity = 'invoice'")
    assert action == "invoice.cuotas_corrected" and "FC01-2" in after
    assert books.run("db", "check").exit_code == 0  # the status follows the new cuota 1

    before = snapshot(books.url)
    again = books.run("import", str(folder), "--json", role="contador")
    assert again.exit_code == 0 and (again.json()["skipped"], again.json()["cuotas_corrected"]) == (2, 0)
    assert "nothing new" in again.stderr or "nada nuevo" in again.stderr

    older = put(tmp_path / "y", correction(1, "2026-06-05", ("1180.00", "2026-09-01")))
    late = books.run("import", str(older), "--json", role="contador")
    assert late.exit_code == 0 and late.json()["skipped"] == 1 and "later cuota correction" in late.stderr
    assert cuotas_of(books, "F001-1")[1] == [(1, "2026-07-15", "590.00"), (2, "2026-08-15", "590.00")]
    assert {k: v for k, v in snapshot(books.url).items() if k != "audit_log"} == \
        {k: v for k, v in before.items() if k != "audit_log"}

    newer = put(tmp_path / "z", correction(3, "2026-06-20", ("1180.00", "2026-09-01")))
    dry = books.run("import", str(newer), "--dry-run", "--json", role="contador")
    assert dry.exit_code == 0 and dry.json()["cuotas_corrected"] == 1
    assert cuotas_of(books, "F001-1")[0] == "2026-08-15"  # a dry run writes nothing
    assert imported(books, newer)["cuotas_corrected"] == 1
    assert cuotas_of(books, "F001-1") == ("2026-09-01", [(1, "2026-09-01", "1180.00")])


def test_a_credit_note_13_that_does_not_fit_is_a_row_error(books, tmp_path):
    imported(books, put(tmp_path / "a", Doc(id="F001-1", forma="Credito", pending="1180.00",
                                            cuotas=[("1180.00", "2026-07-01")])))
    for doc, message in ((correction(2, "2026-06-10", ("1000.00", "2026-07-15")), "add up to 1000.00"),
                         (correction(2, "2026-06-10", ("1180.00", "2026-07-15"), ref="F001-77"), "not in the books"),
                         (correction(2, "2026-06-10"), "without cuotas")):
        text = refused(books, put(tmp_path / f"b{message[:3]}", doc))
        assert "FC01-2" in text and message in text, text
    assert cuotas_of(books, "F001-1") == ("2026-07-01", [(1, "2026-07-01", "1180.00")])
    mixed = put(tmp_path / "c", correction(2, "2026-06-10", ("1180.00", "2026-07-15"), ref="F001-77"),
                correction(3, "2026-06-11", ("1180.00", "2026-07-20")))
    summary = imported(books, mixed, "--partial", "--errors", str(tmp_path / "errores.csv"))
    assert (summary["cuotas_corrected"], summary["rejected"]) == (1, 1)
    assert cuotas_of(books, "F001-1") == ("2026-07-20", [(1, "2026-07-20", "1180.00")])
    assert "FC01-2.xml" in (tmp_path / "errores.csv").read_text(encoding="utf-8-sig")


def test_cdrs_are_skipped_and_counted(books, tmp_path):
    folder = put(tmp_path / "x", Doc(id="F001-1"))
    (folder / "R-20100070970-01-F001-1.xml").write_text(cdr(), encoding="utf-8")
    (folder / "constancia.xml").write_text(cdr("F001-2"), encoding="utf-8")  # recognised by its root
    with zipfile.ZipFile(folder / "R-20100070970-01-F001-2.zip", "w") as z:
        z.writestr("R-20100070970-01-F001-2.xml", cdr("F001-2"))
    result = books.run("import", str(folder), "--json", role="contador")
    assert result.exit_code == 0, result.output
    assert (result.json()["new"], result.json()["skipped_cdr"]) == (1, 3)
    assert "3 CDR" in result.stderr


def test_a_zip_of_several_documents(books, tmp_path):
    lote = tmp_path / "lote.zip"
    with zipfile.ZipFile(lote, "w", zipfile.ZIP_DEFLATED) as z:
        for doc in (Doc(id="F001-1"), Doc(id="F001-2"), Doc(id="B001-1", type_code="03")):
            z.writestr(f"{doc.id}.xml", doc.xml())
        z.writestr("R-20100070970-01-F001-1.xml", cdr())
        z.writestr("F001-1.pdf", b"%PDF-1.4")  # the printed copy beside it: not read
    summary = imported(books, lote)
    assert (summary["new"], summary["skipped_cdr"], summary["file"]) == (3, 1, "lote.zip")
    assert set(invoices(books)) == {"F001-1", "F001-2", "B001-1"}


def test_a_row_error_names_the_file_inside_the_zip(books, tmp_path):
    lote = tmp_path / "lote.zip"
    with zipfile.ZipFile(lote, "w") as z:
        z.writestr("F001-1.xml", Doc(id="F001-1").xml())
        z.writestr("junio/F001-2.xml", Doc(id="F001-2", issued="2026-02-30").xml())  # no such day
    before = snapshot(books.url)
    result = books.run("import", str(lote), role="contador")
    assert result.exit_code == 3, result.output
    assert "lote.zip:junio/F001-2.xml" in result.stderr and "nothing was imported" in result.stderr
    assert snapshot(books.url) == before


def test_a_foreign_companys_document_is_refused_naming_both_rucs(books, tmp_path):
    line = refused(books, put(tmp_path / "x", Doc(id="F009-1", issuer=SUPPLIER, customer=CLIENT)) / "F009-1.xml")
    assert RUC_B in line and RUC_A in line and OURS in line and "F009-1.xml" in line


def test_no_company_ruc_is_a_usage_error(company, tmp_path):
    line = refused(company, put(tmp_path / "x", Doc()), 2)
    assert "cuentas settings set company.ruc" in line


# --- idempotence, dry run, partial --------------------------------------------------------------


def test_reimport_skips_and_dry_run_writes_nothing(books, tmp_path):
    folder = put(tmp_path / "x", Doc(id="F001-1"), Doc(id="F001-2"))
    books.run("whoami", role="contador")  # the token's first use is recorded, not the import's
    before = snapshot(books.url)
    dry = imported(books, folder, "--dry-run")
    assert (dry["new"], dry["dry_run"], dry["committed"]) == (2, True, False)
    assert snapshot(books.url) == before
    assert imported(books, folder)["new"] == 2
    again = imported(books, folder)
    assert (again["new"], again["skipped"]) == (0, 2)
    assert count(books.url) == 2


def test_partial_imports_the_good_files_and_names_the_bad_one(books, tmp_path):
    folder = put(tmp_path / "x", Doc(id="F001-1"), Doc(id="F001-2"))
    (folder / "F001-3.xml").write_text(Doc(id="F001-3").xml()[:-40], encoding="utf-8")  # cut short
    errors = tmp_path / "errores.csv"
    result = books.run("import", str(folder), "--partial", "--errors", str(errors), "--json", role="contador")
    assert result.exit_code == 0, result.output
    assert (result.json()["new"], result.json()["rejected"]) == (2, 1)
    assert "F001-3.xml" in result.stderr
    [row] = list(csv.DictReader(io.StringIO(errors.read_text(encoding="utf-8-sig"))))
    assert row["archivo"] == "F001-3.xml" and "F001-3.xml" in row["error"]
    assert set(invoices(books)) == {"F001-1", "F001-2"}


# --- hostile XML ----------------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&lol3;</Invoice>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><cbc:ID>&xxe;</cbc:ID></Invoice>"""


@pytest.mark.parametrize("content", [
    pytest.param(BILLION_LAUGHS, id="billion-laughs"),
    pytest.param(EXTERNAL_ENTITY, id="external-entity"),
    pytest.param(Doc().xml().replace("<Invoice ", '<!DOCTYPE Invoice SYSTEM "http://example.invalid/x.dtd">\n<Invoice ',
                                     1), id="dtd"),
    pytest.param(BILLION_LAUGHS.encode("utf-16"), id="utf-16-entities"),
])
def test_entities_and_dtds_are_refused(books, tmp_path, content):
    folder = put(tmp_path / "x", Doc(id="F001-1"))
    bad = folder / "F001-2.xml"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    assert "refused as unsafe" in refused(books, folder)


def test_a_hostile_document_inside_a_zip_is_refused(books, tmp_path):
    lote = tmp_path / "lote.zip"
    with zipfile.ZipFile(lote, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("F001-1.xml", Doc().xml())
        z.writestr("F001-2.xml", BILLION_LAUGHS)
    assert "refused as unsafe" in refused(books, lote)


def test_a_zip_bomb_is_refused_before_it_inflates(books, tmp_path):
    lote = tmp_path / "bomba.zip"
    with zipfile.ZipFile(lote, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("F001-1.xml", "w") as member:
            chunk = b" " * (1024 * 1024)
            for _ in range(64):
                member.write(chunk)
    assert "zip bomb" in refused(books, lote)


def test_a_zip_lying_about_its_size_is_refused(books, tmp_path):
    lote = tmp_path / "lote.zip"
    body = Doc().xml().encode() + b" " * 2_000_000
    with zipfile.ZipFile(lote, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("F001-1.xml", body)
    raw = bytearray(lote.read_bytes())
    # the sizes in both headers say 1000 bytes where the member inflates to 2 MB
    size = len(body).to_bytes(4, "little")
    for at in [i for i in range(len(raw) - 4) if raw[i:i + 4] == size]:
        raw[at:at + 4] = (1000).to_bytes(4, "little")
    lote.write_bytes(bytes(raw))
    line = refused(books, lote)
    assert "lote.zip" in line


def test_a_nested_zip_is_refused(books, tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("F001-1.xml", Doc().xml())
    lote = tmp_path / "lote.zip"
    with zipfile.ZipFile(lote, "w") as z:
        z.writestr("otro.zip", inner.getvalue())
    assert "zip inside a zip" in refused(books, lote)


def test_an_oversize_document_is_refused(books, tmp_path):
    from cuentas_cli.imports.sources.ubl import MAX_UBL_DOCUMENT_BYTES

    folder = put(tmp_path / "x", Doc(id="F001-1"))
    big = Doc(id="F001-2").xml().replace("<cbc:UBLVersionID>", "<cbc:UBLVersionID>" + " " * MAX_UBL_DOCUMENT_BYTES, 1)
    (folder / "F001-2.xml").write_text(big, encoding="utf-8")
    assert "F001-2.xml" in refused(books, folder)


def test_not_xml_and_not_ubl_are_row_errors(books, tmp_path):
    folder = put(tmp_path / "x", Doc(id="F001-1"))
    (folder / "nota.xml").write_text("esto no es XML", encoding="utf-8")
    (folder / "pedido.xml").write_text('<Order xmlns="urn:x"/>', encoding="utf-8")
    result = books.run("import", str(folder), role="contador")
    assert result.exit_code == 3, result.output
    assert "nota.xml" in result.stderr and "pedido.xml" in result.stderr and "Order" in result.stderr
    assert count(books.url) == 0


def test_the_json_summary_keeps_its_keys_for_other_formats(books, tmp_path):
    path = tmp_path / "v.csv"
    path.write_text(f"tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total\n"
                    f"cxc,{RUC_A},X,F001,1,2026-06-01,2026-06-30,118.00\n", encoding="utf-8")
    summary = json.loads(books.run("import", str(path), "--json", role="contador").stdout)
    assert (summary["skipped_cdr"], summary["format"]) == (0, "csv")
