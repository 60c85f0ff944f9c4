"""Amounts, currency symbols, dates and bounds (issue 15, items 1, 7, 10, 11): decimal commas read
by the evidence of the value or the file, never a silent factor of 1000; currency symbols that
contradict the document refused; non-ASCII digits a row error, never a crash; dates and day
counts bounded with a clear message, never exit 1."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from cuentas_cli.db.engine import open_session
from cuentas_cli.errors import ValidationError
from cuentas_cli.ledger import documents as d
from cuentas_cli.rules import dates
from tests.dbstate import snapshot
from tests.test_invoices import CLIENT, add, added, books, said, stored  # noqa: F401 (fixture)

RUC_A = "20131312955"
RUC_B = "20512333797"
HEADER = "RUC;Razón Social;Serie;Número;Fecha de Emisión;Fecha de Vencimiento;Moneda;Importe Total\r\n"


def totals(url: str) -> list[int]:
    with open_session(url) as s:
        return [r[0] for r in s.execute(text("SELECT total_cents FROM invoice ORDER BY numero"))]


def spanish_csv(tmp_path: Path, *amounts: str, currency: str = "PEN", name: str = "ventas.csv") -> Path:
    """A `;` CSV as Excel writes it in a Spanish locale, one row per amount."""
    lines = [HEADER]
    for n, amount in enumerate(amounts, start=1):
        lines.append(f"{RUC_A};SUNAT;F001;{n};25/05/2026;24/06/2026;{currency};{amount}\r\n")
    path = tmp_path / name
    path.write_bytes("".join(lines).encode("cp1252"))
    return path


def run_import(company, path: Path, *extra: str):
    return company.run("import", str(path), "--kind", "cxc", *extra, role="contador")


# --- parse_amount: the one parser -------------------------------------------------------------


@pytest.mark.parametrize("value,cents", [
    ("1,180.00", 118000), ("1180.00", 118000), ("S/ 1,180.00", 118000), ("US$ 99.00", 9900),
    ("1.180,00", 118000), ("350,75", 35075), ("S/ 1.180,00", 118000), ("S/. 1.180,50", 118050),
    ("1180,50", 118050), ("1.180.000", 118000000), ("1,180,000", 118000000), ("1180", 118000),
    ("0,5", 50), ("PEN 12.30", 1230), ("12.30 USD", 1230), (Decimal("12.3"), 1230), (5, 500),
])
def test_parse_amount_reads_both_styles_by_their_own_evidence(value, cents):
    assert d.parse_amount(value) == cents


@pytest.mark.parametrize("value", ["1.180", "1,180", "350.750", "999,990"])
def test_parse_amount_refuses_an_ambiguous_value_naming_both_readings(value):
    with pytest.raises(d.AmountStyleError) as caught:
        d.parse_amount(value, field="total")
    assert caught.value.ambiguous
    assert "could be" in caught.value.message and "decimal comma" in caught.value.message
    assert "decimal point" in caught.value.message


def test_parse_amount_with_a_style_reads_the_ambiguous_and_refuses_the_other_style():
    assert d.parse_amount("1.180", decimal="comma") == 118000
    assert d.parse_amount("1.180", decimal="point") == 118
    assert d.parse_amount("1,180", decimal="point") == 118000
    assert d.parse_amount("1,180", decimal="comma") == 118
    assert d.parse_amount("1.180,00", decimal="comma") == 118000
    with pytest.raises(d.AmountStyleError, match="written with a decimal comma"):
        d.parse_amount("350,75", decimal="point")
    with pytest.raises(d.AmountStyleError, match="written with a decimal point"):
        d.parse_amount("1180.50", decimal="comma")


@pytest.mark.parametrize("value,message", [
    ("1e309", "is not an amount"), ("1E5", "is not an amount"), ("NaN", "is not an amount"),
    ("inf", "is not an amount"), ("-Infinity", "is not an amount"), ("12.345", "at most 2 decimals"),
    ("1180,505", "at most 2 decimals"), ("99999999999999999999", "too large"),
    ("10000000000000.00", "too large"), ("1.18,00", "is not an amount"), ("1,18.00", "is not an amount"),
    ("²", "is not an amount"), ("١٢٣", "is not an amount"), ("１２３", "is not an amount"),
    (Decimal("1e309"), "too large"), (Decimal("NaN"), "is not an amount"),
])
def test_parse_amount_refuses_exponents_non_numbers_decimals_and_magnitudes(value, message):
    with pytest.raises(ValidationError, match=message):
        d.parse_amount(value)


def test_parse_amount_largest_amount_is_thirteen_integer_digits():
    assert d.parse_amount("9,999,999,999,999.99") == 999_999_999_999_999
    assert d.parse_amount("9.999.999.999.999,99") == 999_999_999_999_999


@pytest.mark.parametrize("value,currency", [("S/ 10.00", "USD"), ("S/. 10", "USD"), ("PEN 10", "USD"),
                                            ("US$ 10", "PEN"), ("USD 10", "PEN"), ("$10", "PEN")])
def test_parse_amount_refuses_a_symbol_of_another_currency(value, currency):
    with pytest.raises(ValidationError, match="but the document is in"):
        d.parse_amount(value, currency=currency)


def test_parse_amount_accepts_its_own_currency_symbol():
    assert d.parse_amount("US$ 10", currency="USD") == 1000
    assert d.parse_amount("S/ 10", currency="PEN") == 1000
    assert d.parse_amount("$ 5", currency="USD") == 500 and d.parse_amount("S/. 5", currency="PEN") == 500


@pytest.mark.parametrize("value", ["²", "1²", "١٢٣", "１２３", "12a"])
def test_check_numero_refuses_non_ascii_digits(value):
    with pytest.raises(ValidationError, match="whole number"):
        d.check_numero(value)


@pytest.mark.parametrize("value,day", [("2026-06-15", (2026, 6, 15)), ("15/06/2026", (2026, 6, 15)),
                                       ("1/6/2026", (2026, 6, 1)), ("1900-01-01", (1900, 1, 1)),
                                       ("2199-12-31", (2199, 12, 31))])
def test_parse_day_takes_the_two_forms(value, day):
    from datetime import date

    assert dates.parse_day(value) == date(*day)


@pytest.mark.parametrize("value", ["2026-W23", "2026-W23-1", "20260601", "2026-06-1", "9999-12-31", "0001-01-01",
                                   "1899-12-31", "2200-01-01", "31/02/2026", "2026-13-01", "２０２６-06-01"])
def test_parse_day_refuses_other_forms_and_years(value):
    with pytest.raises(ValidationError):
        dates.parse_day(value)


# --- item 1: decimal commas on the command line ---------------------------------------------


@pytest.mark.parametrize("total,cents", [("1.180,00", 118000), ("350,75", 35075), ("1180,50", 118050),
                                         ("1,180.00", 118000), ("S/ 1.180,00", 118000)])
def test_add_reads_a_decimal_comma(books, total, cents):
    row = added(books, total=total)
    assert stored(books, row["id"]).total_cents == cents


def test_add_refuses_an_ambiguous_total_with_both_readings(books):
    before = snapshot(books.url)
    result = add(books, total="1.180")
    assert result.exit_code == 3, result.output
    assert "could be 1180 (decimal comma" in said(result) and "or 1.18 (decimal point)" in said(result)
    assert snapshot(books.url) == before


def test_pay_reads_a_decimal_comma(books):
    row = added(books)
    result = books.run("invoices", "pay", str(row["id"]), "180,50", role="contador")
    assert result.exit_code == 0, result.output
    assert stored(books, row["id"]).paid_cents == 18050
    refused = books.run("invoices", "pay", str(row["id"]), "1.000", role="contador")
    assert refused.exit_code == 3 and "could be 1000" in said(refused)


# --- item 1: decimal commas in files ------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1.180,00", "S/ 1.180,00", "1180,00"])
def test_import_decimal_comma_file(company, tmp_path, amount):
    result = run_import(company, spanish_csv(tmp_path, amount))
    assert result.exit_code == 0, result.output
    assert totals(company.url) == [118000]


def test_import_reads_an_ambiguous_value_by_the_other_rows_evidence(company, tmp_path):
    """`1.180` in row 2 is read as 1180.00 because row 3 shows a decimal comma."""
    result = run_import(company, spanish_csv(tmp_path, "1.180", "350,75", "2.360.000"))
    assert result.exit_code == 0, result.output
    assert totals(company.url) == [118000, 35075, 236000000]


def test_import_point_file_reads_thousands_commas(company, tmp_path):
    result = run_import(company, spanish_csv(tmp_path, "1,180", "2,360.50"))
    assert result.exit_code == 0, result.output
    assert totals(company.url) == [118000, 236050]


def test_import_ambiguous_file_is_refused_naming_the_options(company, tmp_path):
    path = spanish_csv(tmp_path, "1.180", "2500")
    result = run_import(company, path)
    assert result.exit_code == 3, result.output
    message = said(result)
    assert "row 2, column Importe Total, value '1.180'" in message
    assert "--decimal-comma" in message and "--decimal-point" in message
    assert totals(company.url) == []


@pytest.mark.parametrize("option,cents", [("--decimal-comma", [118000, 250000]), ("--decimal-point", [118, 250000])])
def test_import_options_decide_the_ambiguous_file(company, tmp_path, option, cents):
    result = run_import(company, spanish_csv(tmp_path, "1.180", "2500"), option)
    assert result.exit_code == 0, result.output
    assert totals(company.url) == cents


def test_import_options_exclude_each_other(company, tmp_path):
    result = run_import(company, spanish_csv(tmp_path, "1180.00"), "--decimal-comma", "--decimal-point")
    assert result.exit_code == 2 and "exclude each other" in result.stderr


def test_import_row_contradicting_the_files_style_is_a_row_error(company, tmp_path):
    result = run_import(company, spanish_csv(tmp_path, "1,180.50", "200.00", "1.180,00"))
    assert result.exit_code == 3, result.output
    message = said(result)
    assert "row 4, column Importe Total, value '1.180,00'" in message
    assert "written with a decimal comma, but this file's amounts have a decimal point" in message
    assert "--decimal-comma or --decimal-point" in message
    assert totals(company.url) == []


def test_import_option_contradicted_by_a_row(company, tmp_path):
    result = run_import(company, spanish_csv(tmp_path, "1.180,00", "1180.50"), "--decimal-comma")
    assert result.exit_code == 3, result.output
    assert "row 3" in said(result) and "as --decimal-comma says" in said(result)


def test_import_plain_point_values_under_decimal_comma_are_not_read_as_points(company, tmp_path):
    """The fast path for "1234.50" must not bypass the file's style."""
    result = run_import(company, spanish_csv(tmp_path, "1234.50"), "--decimal-comma")
    assert result.exit_code == 3 and "written with a decimal point" in said(result)


def test_import_decides_only_from_the_first_rows(company, tmp_path, monkeypatch):
    """The pre-scan for an ambiguous value reads a bounded number of rows, not the whole file."""
    from cuentas_cli.imports import convert

    monkeypatch.setattr(convert, "DECIMAL_SCAN_ROWS", 2)
    result = run_import(company, spanish_csv(tmp_path, "1.180", "2500", "350,75"))
    assert result.exit_code == 3 and "first 2 rows" in said(result)
    result = run_import(company, spanish_csv(tmp_path, "1.180", "350,75", "2500", name="b.csv"))
    assert result.exit_code == 0, result.output


def test_import_xlsx_text_cells_with_decimal_comma(company, tmp_path):
    import xlsxwriter

    path = tmp_path / "cartera.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Cartera")
    ws.write_row(0, 0, ["RUC", "Razón social", "Serie", "Número", "Fecha de emisión", "Fecha de vencimiento", "Total"])
    ws.write_row(1, 0, [RUC_A, "SUNAT", "F002", "10", "2026-05-02", "2026-07-01", "1.180,00"])
    ws.write_row(2, 0, [RUC_A, "SUNAT", "F002", "11", "2026-05-02", "2026-07-01", 2360.5])
    wb.close()
    result = run_import(company, path)
    assert result.exit_code == 0, result.output
    assert totals(company.url) == [118000, 236050]


# --- item 7: non-ASCII digits ------------------------------------------------------------------


@pytest.mark.parametrize("numero", ["²", "1²", "١٢٣", "１２３"])
def test_import_non_ascii_numero_is_a_row_error(company, tmp_path, numero):
    path = tmp_path / "raro.csv"
    path.write_text(HEADER + f"{RUC_A};SUNAT;F001;{numero};25/05/2026;24/06/2026;PEN;100.00\r\n", encoding="utf-8")
    result = run_import(company, path)
    assert result.exit_code == 3, result.output
    assert "row 2, column Número" in said(result) and "whole number" in said(result)
    assert totals(company.url) == []


def test_import_non_ascii_numero_after_a_valid_row_of_the_same_serie(company, tmp_path):
    """The fast path of a serie already seen must refuse it too."""
    path = tmp_path / "raro.csv"
    path.write_text(HEADER + f"{RUC_A};SUNAT;F001;1;25/05/2026;24/06/2026;PEN;100.00\r\n"
                    f"{RUC_A};SUNAT;F001;²;25/05/2026;24/06/2026;PEN;100.00\r\n", encoding="utf-8")
    result = run_import(company, path)
    assert result.exit_code == 3 and "row 3, column Número" in said(result)


@pytest.mark.parametrize("amount", ["١٢٣.00", "²00.00", "１２３"])
def test_import_non_ascii_amount_is_a_row_error(company, tmp_path, amount):
    path = tmp_path / "raro.csv"
    path.write_text(HEADER + f"{RUC_A};SUNAT;F001;1;25/05/2026;24/06/2026;PEN;{amount}\r\n", encoding="utf-8")
    result = run_import(company, path)
    assert result.exit_code == 3 and "row 2, column Importe Total" in said(result)


# --- item 10: currency symbols ---------------------------------------------------------------


def test_pay_in_soles_on_a_dollar_invoice_is_refused(books):
    row = added(books, "--currency", "USD", "--rate", "3.7", total="100.00")
    before = snapshot(books.url)
    result = books.run("invoices", "pay", str(row["id"]), "S/ 10.00", role="contador")
    assert result.exit_code == 3, result.output
    assert "is in soles (S/), but the document is in dollars (US$)" in said(result)
    assert snapshot(books.url) == before
    assert books.run("invoices", "pay", str(row["id"]), "US$ 10.00", role="contador").exit_code == 0
    assert stored(books, row["id"]).paid_cents == 1000


def test_add_total_in_dollars_on_a_soles_invoice_is_refused(books):
    before = snapshot(books.url)
    result = add(books, "--currency", "PEN", total="US$ 10")
    assert result.exit_code == 3, result.output
    assert "is in dollars (US$), but the document is in soles (S/)" in said(result)
    assert snapshot(books.url) == before


def test_import_dollar_amount_on_a_soles_row_is_a_row_error(company, tmp_path):
    result = run_import(company, spanish_csv(tmp_path, "US$ 100.00"))
    assert result.exit_code == 3, result.output
    assert "row 2, column Importe Total" in said(result) and "is in dollars (US$)" in said(result)
    assert totals(company.url) == []


def test_import_dollar_amount_on_a_dollar_row(company, tmp_path):
    path = tmp_path / "usd.csv"
    path.write_text("RUC;Razón Social;Serie;Número;Fecha de Emisión;Fecha de Vencimiento;Moneda;Tipo de cambio;"
                    "Importe Total\r\n"
                    f"{RUC_A};SUNAT;F001;1;25/05/2026;24/06/2026;USD;3.7;US$ 100.00\r\n", encoding="utf-8")
    result = run_import(company, path)
    assert result.exit_code == 0, result.output
    assert totals(company.url) == [10000]


# --- item 11: bounds ----------------------------------------------------------------------------


def test_add_total_1e309_is_a_clear_error(books):
    before = snapshot(books.url)
    result = add(books, total="1e309")
    assert result.exit_code == 3, result.output
    assert "--total" in said(result) or "total '1e309' is not an amount" in said(result)
    assert snapshot(books.url) == before


def test_add_total_too_large_is_a_clear_error(books):
    result = add(books, total="99999999999999999999")
    assert result.exit_code == 3 and "too large" in said(result)


@pytest.mark.parametrize("amount,message", [("1e309", "is not an amount"), ("99999999999999999999", "too large"),
                                            ("NaN", "is not an amount"), ("12.345", "at most 2 decimals")])
def test_import_absurd_amount_is_a_row_error_with_its_row(company, tmp_path, amount, message):
    path = spanish_csv(tmp_path, "100.00", amount)
    result = run_import(company, path)
    assert result.exit_code == 3, result.output
    assert f"row 3, column Importe Total, value '{amount}'" in said(result) and message in said(result)
    assert totals(company.url) == []


def test_import_absurd_amount_with_partial_keeps_the_good_rows(company, tmp_path):
    path = spanish_csv(tmp_path, "100.00", "1e309")
    result = run_import(company, path, "--partial", "--errors", str(tmp_path / "err.csv"))
    assert result.exit_code == 0, result.output
    assert totals(company.url) == [10000]


@pytest.mark.parametrize("day", ["1850-01-01", "2300-01-01", "31/12/1899"])
def test_import_date_outside_the_years_is_a_row_error(company, tmp_path, day):
    path = tmp_path / "fechas.csv"
    path.write_text(HEADER + f"{RUC_A};SUNAT;F001;1;{day};{day};PEN;100.00\r\n", encoding="utf-8")
    result = run_import(company, path)
    assert result.exit_code == 3, result.output
    assert "row 2" in said(result) and "outside the years 1900-2199" in said(result)


@pytest.mark.parametrize("day", ["2026-W23", "20260601"])
def test_import_refuses_week_and_basic_iso_dates(company, tmp_path, day):
    path = tmp_path / "fechas.csv"
    path.write_text(HEADER + f"{RUC_A};SUNAT;F001;1;{day};2026-07-01;PEN;100.00\r\n", encoding="utf-8")
    result = run_import(company, path)
    assert result.exit_code == 3 and "row 2, column Fecha de Emisión" in said(result)


@pytest.mark.parametrize("flag", ["--issued", "--due"])
@pytest.mark.parametrize("value", ["2026-W23", "20260601"])
def test_add_refuses_week_and_basic_iso_dates(books, flag, value):
    kw = {"issued": value} if flag == "--issued" else {"due": value}
    result = add(books, **kw)
    assert result.exit_code == 2, result.output
    assert f"{flag}: '{value}' is not a date: use YYYY-MM-DD or DD/MM/YYYY" in said(result)


def test_add_takes_day_first_dates(books):
    row = added(books, issued="01/06/2026", due="01/07/2026")
    assert (row["issue_date"], row["due_date"]) == ("2026-06-01", "2026-07-01")


@pytest.mark.parametrize("args", [
    ("dashboard", "aging", "--as-of", "9999-12-31"),
    ("dashboard", "aging", "--as-of", "0001-01-01"),
    ("dashboard", "cashflow", "--as-of", "9999-12-31"),
    ("dashboard", "summary", "--as-of", "2026-W23"),
    ("--today", "9999-12-31", "invoices", "list"),
    ("--today", "20260615", "invoices", "list"),
    ("invoices", "list", "--from", "0001-01-01"),
    ("invoices", "list", "--to", "2026-W23"),
    ("invoices", "pay", "1", "10", "--date", "9999-12-31"),
])
def test_out_of_range_dates_are_usage_errors(company, args):
    result = company.run(*args, role="administrador")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert "1900-2199" in result.stderr or "YYYY-MM-DD or DD/MM/YYYY" in result.stderr


@pytest.mark.parametrize("args,flag", [
    (("invoices", "upcoming", "--days", "100000000"), "--days"),
    (("invoices", "list", "--due-within", "999999999"), "--due-within"),
    (("export", "--format", "json", "--due-within", "999999999"), "--due-within"),
    (("invoices", "list", "--limit", "99999999999999999999999"), "--limit"),
    (("dashboard", "cashflow", "--weeks", "100000000"), "--weeks"),
    (("dashboard", "cashflow", "--months", "100000000"), "--months"),
])
def test_huge_day_counts_and_limits_are_usage_errors(company, args, flag):
    result = company.run(*args, role="administrador")
    assert result.exit_code == 2, result.output
    assert flag in result.stderr


def test_largest_day_count_still_works(company):
    result = company.run("invoices", "upcoming", "--days", "3660", "-f", "json", role="contador")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("ruc", ["2013131295²", "²0131312955", "２0131312955"])
def test_import_non_ascii_digit_in_the_ruc_is_a_row_error(company, tmp_path, ruc):
    """int() on a RUC that str.isdigit() accepted crashed the importer."""
    path = tmp_path / "raro.csv"
    path.write_text(HEADER + f"{ruc};SUNAT;F001;1;25/05/2026;24/06/2026;PEN;100.00\r\n", encoding="utf-8")
    result = run_import(company, path)
    assert result.exit_code == 3, result.output
    assert "row 2, column RUC" in said(result) and "Traceback" not in result.output
    assert totals(company.url) == []


@pytest.mark.parametrize("command", [("invoices", "show", "²"), ("clients", "show", "²"), ("clients", "show", "2013131295²")])
def test_non_ascii_digits_as_a_reference_are_not_found(books, command):
    result = books.run(*command)
    assert result.exit_code in (3, 4), result.output
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output


@pytest.mark.parametrize("command", [
    ("audit", "list", "--since"), ("padron", "import", "nada.zip", "--file-date"), ("fx", "list", "--from"),
    ("invoices", "list", "--to"), ("dashboard", "aging", "--as-of"),
])
@pytest.mark.parametrize("value", ["2026-W23", "20260601", "9999-12-31", "0001-01-01"])
def test_every_date_option_takes_only_the_two_forms(books, command, value):
    result = books.run(*command, value)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output


@pytest.mark.parametrize("value,rate", [("3.7500", 37500), ("3,7500", 37500), ("3,75", 37500), ("3", 30000)])
def test_parse_rate_takes_either_decimal_mark(value, rate):
    assert d.parse_rate(value) == rate


@pytest.mark.parametrize("value", ["3.7.5", "3,750.0", "1e1", "٣.٧٥", "abc", "", "-3.75", "NaN"])
def test_parse_rate_refuses_what_is_not_a_rate(value):
    with pytest.raises(ValidationError):
        d.parse_rate(value)


@pytest.mark.parametrize("value", ["(-118.00)", "(- 118.00)", "(-S/ 118.00)"])
def test_a_sign_inside_brackets_is_not_an_amount(value):
    """'(-118.00)' was read as +118.00: the brackets' minus and the sign cancelled out."""
    with pytest.raises(ValidationError):
        d.parse_amount(value, allow_negative=True)
