"""Shape rules of comprobantes and amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cuentas_cli.errors import ValidationError
from cuentas_cli.ledger import documents as d


@pytest.mark.parametrize(
    "text,cents",
    [("1,234.50", 123450), ("S/ 1,234.50", 123450), ("US$ 99.00", 9900), ("0.10", 10), ("1180", 118000),
     ("1,180,000", 118000000), ("1,5", 150), (Decimal("12.3"), 1230)],
)
def test_parse_amount(text, cents):
    assert d.parse_amount(text) == cents


def test_parse_amount_negative_only_when_allowed():
    assert d.parse_amount("-35.40", allow_negative=True) == -3540
    with pytest.raises(ValidationError, match="greater than zero"):
        d.parse_amount("-35.40")


@pytest.mark.parametrize("text", ["1.234", "1,180", "abc", "NaN", "", "12.345"])
def test_parse_amount_refuses(text):
    with pytest.raises(ValidationError):
        d.parse_amount(text)


def test_split_total_derives_igv_at_18_percent():
    assert d.split_total(total=118000, base=None, igv=None) == (100000, 18000, 118000)
    assert d.split_total(total=None, base=100000, igv=18000) == (100000, 18000, 118000)
    with pytest.raises(ValidationError, match="is not base"):
        d.split_total(total=118000, base=100000, igv=17000)


@pytest.mark.parametrize("doc,serie", [("01", "F001"), ("01", "E001"), ("03", "B001"), ("03", "EB01"), ("01", "0001"), ("07", "F001")])
def test_serie_shapes(doc, serie):
    assert d.check_serie(doc, serie) == serie


@pytest.mark.parametrize("doc,serie", [("01", "B001"), ("03", "F001"), ("01", "F01"), ("01", "X001")])
def test_serie_refused(doc, serie):
    with pytest.raises(ValidationError, match="does not fit"):
        d.check_serie(doc, serie)


def test_numero_and_document():
    assert d.split_document("F001-00000123") == ("F001", 123)
    with pytest.raises(ValidationError):
        d.check_numero("0")
    with pytest.raises(ValidationError):
        d.check_numero("100000000")


def test_detraccion_example_from_reference():
    assert d.percentage_cents(118000, 1200) == 14160
    assert d.percentage_cents(118000, 300) == 3540
