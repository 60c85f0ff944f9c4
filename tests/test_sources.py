"""The sources' registry: each format is found by the file's name (or --format) and opened by
its own module through open_source, which is all the importer calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from cuentas_cli.errors import UsageError, ValidationError
from cuentas_cli.imports import sources

PLE = "LE2013131295520260500140100001111.txt"
HEADER = ("ruc", "serie", "numero", "total")


def known(header: str) -> bool:
    return header in HEADER


@pytest.mark.parametrize(("name", "forced", "expected"), [
    ("ventas.csv", None, "csv"), ("ventas.txt", None, "csv"), ("VENTAS.XLSX", None, "xlsx"),
    ("macros.xlsm", None, "xlsx"), (PLE, None, "ple"), ("ventas.xlsx", "CSV", "csv"), ("v.txt", "ple", "ple"),
])
def test_the_format_is_the_one_asked_for_or_the_one_the_name_claims(name, forced, expected):
    assert sources.detect_format(Path(name), forced) == expected


def test_an_unknown_format_and_an_old_workbook_are_refused():
    with pytest.raises(UsageError, match="use csv, xlsx, ple or ubl"):
        sources.detect_format(Path("v.csv"), "pdf")
    with pytest.raises(ValidationError, match=r"old \.xls workbooks"):
        sources.detect_format(Path("v.xls"), None)


def test_open_source_opens_each_format_with_its_own_reader(tmp_path):
    import xlsxwriter

    csv_path = tmp_path / "v.csv"
    csv_path.write_text("ruc;serie;numero;total\n20131312955;F001;1;10,00\n", encoding="utf-8")
    xlsx_path = tmp_path / "v.xlsx"
    book = xlsxwriter.Workbook(str(xlsx_path))
    sheet = book.add_worksheet("Ventas")
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, ("20131312955", "F001", 1, 10.0))
    book.close()
    ple_path = tmp_path / PLE
    ple_path.write_text("|".join(["x"] * 36) + "\n", encoding="utf-8")

    opened = sources.open_source(csv_path, "csv", known=known)
    assert (opened.format, opened.delimiter, opened.header) == ("csv", ";", list(HEADER))
    assert list(opened.rows()) == [(2, ["20131312955", "F001", "1", "10,00"])]
    opened = sources.open_source(xlsx_path, "xlsx", known=known, sheet="Ventas")
    try:
        assert (opened.format, opened.header, opened.header_row) == ("xlsx", list(HEADER), 1)
        assert [k for k, _ in opened.rows()] == [2]
    finally:
        opened.close()
    opened = sources.open_source(ple_path, "ple", known=known)
    assert (opened.format, opened.ple_book, opened.fixed_date_format) == ("ple", "ventas", "DD/MM/YYYY")
    assert [k for k, _ in opened.rows()] == [1]
