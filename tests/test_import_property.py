"""Property: whatever a malformed row holds, the importer ends with a clean result or a domain
error, and never leaves a partial import behind."""

from __future__ import annotations

import io
import sys
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from cuentas_cli.db.engine import open_session
from cuentas_cli.errors import CuentasError
from cuentas_cli.admin import auth
from cuentas_cli.imports import context, pipeline
from tests.conftest import fuzz_examples

HEADER = ["tipo", "ruc", "razon_social", "tipo_comprobante", "serie", "numero", "fecha_emision", "fecha_vencimiento",
          "moneda", "tipo_cambio", "base_imponible", "igv", "total"]
VALID = ["cxc", "20131312955", "SUNAT", "01", "F001", "1", "2026-05-01", "2026-06-01", "PEN", "", "100.00", "18.00", "118.00"]

nasty = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "-", "=1+1", "1,5", "1.234", "NaN", "inf", "-0.00", "1e9", "99999999999999999999",
                     "31/02/2026", "2026-02-30", "03/04/2026", "00/00/0000", "45000", "0", "USD", "XXX", "07", "99",
                     "E001", "F0011", "20123456789", "46027897", "S/ -5", "(10.00)", "\x00", "\ufeff", "ñ", "\r\n"]),
)


@st.composite
def files(draw):
    n = draw(st.integers(min_value=1, max_value=6))
    lines = []
    for i in range(n):
        row = list(VALID)
        row[5] = str(i + 1)
        for _ in range(draw(st.integers(min_value=0, max_value=3))):
            row[draw(st.integers(0, len(row) - 1))] = draw(nasty)
        if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:
            row = row[: draw(st.integers(0, len(row)))]  # a short row
        lines.append(row)
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    return delimiter, lines


def _invoices(url: str) -> int:
    with open_session(url) as s:
        return s.execute(text("SELECT COUNT(*) FROM invoice")).scalar_one()


@pytest.mark.slow
@settings(max_examples=fuzz_examples(60), suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=files(), partial=st.booleans())
def test_malformed_rows_never_crash_and_never_half_import(company, tmp_path, data, partial):
    import csv

    delimiter, lines = data
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(HEADER)
    writer.writerows(lines)
    path = tmp_path / "fuzz.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8", "surrogatepass"))
    errors = tmp_path / "errors.csv"
    before = _invoices(company.url)
    options = context.Options(partial=partial, errors_path=errors if partial else None)
    outcome = None
    try:
        with open_session(company.url, write=True) as s:
            actor, _ = auth.resolve_token(s, company.tokens["contador"])
            outcome = pipeline.import_file(session=s, actor=actor, path=path, options=options,
                                           today=date(2026, 6, 15))
    except CuentasError:
        outcome = None  # a domain error: the transaction rolled back
    after = _invoices(company.url)
    if outcome is None:
        assert after == before, "a failed import left rows behind"
    else:
        assert after == before + outcome.new
        assert outcome.new + outcome.skipped + outcome.rejected + outcome.anulados == outcome.rows
        if not partial:
            assert outcome.rejected == 0
    sys.stdout.flush()
