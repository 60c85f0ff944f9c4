"""`cuentas bank import`: statements in each preset's layout (CSV and XLSX, title rows above the
header, newest or oldest first), a generic and a mapped layout; overlapping downloads add
nothing; the running balance is checked and a gap reported; bad files change nothing."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from tests.dbstate import snapshot as _snapshot

TODAY = date(2026, 6, 15)


def snapshot(url: str) -> dict:
    return {k: v for k, v in _snapshot(url).items() if k != "api_token"}


@pytest.fixture
def accounts(company):
    for args in (("soles", "--bank", "BCP", "--currency", "PEN", "--number", "193-1"),
                 ("detracciones", "--bank", "BN", "--currency", "PEN", "--number", "00-012-345678", "--detracciones")):
        assert company.run("bank", "accounts", "add", *args).exit_code == 0
    return company


def movements(n: int, seed: int = 7) -> list[tuple[date, int, str, str]]:
    """(date, signed céntimos, description, operation) of a month, oldest first."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        day = date(2026, 5, 1) + timedelta(days=k * 30 // n)
        cents = rng.choice([1, -1]) * rng.randint(100, 5_000_000)
        words = "TRANSF DE ACME SAC F001-%d" % (100 + k) if cents > 0 else "PAGO PROV %d" % k
        out.append((day, cents, words, f"{10000 + k}"))
    return out


def money(cents: int, *, comma: bool = False, absolute: bool = False) -> str:
    value = abs(cents) if absolute else cents
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 100)
    text = f"{whole:,}.{frac:02d}"
    if comma:
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return sign + text


LAYOUTS = {
    "bcp": (["Fecha", "Fecha valuta", "Descripción operación", "Monto", "Saldo", "Operación - Número"],
            lambda d, c, t, o, b: [f"{d:%d/%m/%Y}", f"{d:%d/%m/%Y}", t, money(c), money(b), o]),
    "bbva": (["F. Operación", "F. Valor", "Código", "Nº. Doc.", "Concepto", "Importe", "Oficina"],
             lambda d, c, t, o, b: [f"{d:%d/%m/%Y}", f"{d:%d/%m/%Y}", "001", o, t, money(c, comma=True), "0100"]),
    "interbank": (["Fecha de operación", "Fecha de proceso", "Nro. de operación", "Movimiento", "Descripción", "Canal",
                   "Cargo", "Abono", "Saldo contable"],
                  lambda d, c, t, o, b: [f"{d:%d/%m/%Y}", f"{d:%d/%m/%Y}", o, "TRANSFERENCIA", t, "BPI",
                                         money(c, absolute=True) if c < 0 else "", money(c) if c > 0 else "", money(b)]),
    "scotiabank": (["Fecha", "Referencia", "Descripción", "Cargo", "Abono", "Saldo"],
                   lambda d, c, t, o, b: [f"{d:%d/%m/%Y}", o, t, money(-c) if c < 0 else "", money(c) if c > 0 else "",
                                          money(b)]),
}


def write_statement(tmp_path, name: str, header: list[str], rows: list[list[str]], *, suffix: str,
                    title: bool = True) -> "object":
    path = tmp_path / f"{name}.{suffix}"
    lines = ([["Movimientos de la cuenta"], [f"Del 01/05/2026 al 31/05/2026"], []] if title else []) + [header, *rows]
    if suffix == "csv":
        import csv

        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, delimiter=";").writerows(lines)
    else:
        import xlsxwriter

        wb = xlsxwriter.Workbook(str(path))
        ws = wb.add_worksheet("Movimientos")
        for r, line in enumerate(lines):
            ws.write_row(r, 0, line)
        wb.close()
    return path


def stored_lines(company) -> list[tuple]:
    from sqlalchemy import text

    from cuentas_cli.db.engine import open_session

    with open_session(company.url) as s:
        return [tuple(r) for r in s.execute(text(
            "SELECT line_date, amount_cents, operation, balance_cents FROM bank_line ORDER BY line_date, id"))]


@pytest.mark.parametrize("layout,suffix", [("bcp", "csv"), ("bbva", "xlsx"), ("interbank", "xlsx"),
                                           ("scotiabank", "csv")])
def test_each_preset_is_recognised_and_an_overlapping_download_adds_nothing(accounts, tmp_path, layout, suffix):
    header, render = LAYOUTS[layout]
    moves = movements(40)
    balance, rows = 1_000_000, []
    for d, c, t, o in moves:
        balance += c
        rows.append(render(d, c, t, o, balance))
    newest_first = layout in ("bcp", "interbank")  # some banks list the latest movement first
    first = write_statement(tmp_path, f"{layout}-1", header, (rows[:30][::-1] if newest_first else rows[:30]),
                            suffix=suffix)
    result = accounts.run("bank", "import", str(first), "--account", "soles", "--json", role="contador")
    assert result.exit_code == 0, result.output
    summary = result.json()
    assert (summary["layout"], summary["new"], summary["skipped"], summary["balance_gaps"]) == (layout, 30, 0, [])
    # the next download overlaps the first by ten movements
    second = write_statement(tmp_path, f"{layout}-2", header, rows[20:], suffix=suffix)
    again = accounts.run("bank", "import", str(second), "--account", "soles", "--json", role="contador")
    assert again.exit_code == 0 and (again.json()["new"], again.json()["skipped"]) == (10, 10)
    got = stored_lines(accounts)
    assert sorted((str(d), c, o) for d, c, o, _b in got) == sorted((str(d), c, o) for d, c, _t, o in moves)


def test_a_gap_in_the_running_balance_is_reported(accounts, tmp_path):
    header, render = LAYOUTS["bcp"]
    moves = movements(10)
    balance, rows = 0, []
    for k, (d, c, t, o) in enumerate(moves):
        balance += c
        if k == 6:
            continue  # the bank's download lost this movement: the next balance does not follow
        rows.append(render(d, c, t, o, balance))
    path = write_statement(tmp_path, "hueco", header, rows, suffix="csv")
    result = accounts.run("bank", "import", str(path), "--account", "soles", "--json")
    assert result.exit_code == 0, result.output
    [gap] = result.json()["balance_gaps"]
    assert gap["difference"] == money(moves[6][1]).replace(",", "")
    assert "running balance: row" in result.stderr and "a movement is missing" in result.stderr


def test_a_generic_layout_and_a_mapping(accounts, tmp_path):
    generic = tmp_path / "generico.csv"
    generic.write_text("Date,Description,Debit,Credit,Balance\n2026-06-01,DEPOSITO CLIENTE,,500.00,500.00\n"
                       "2026-06-02,ITF,0.05,,499.95\n", encoding="utf-8")
    result = accounts.run("bank", "import", str(generic), "--account", "soles", "--json")
    assert result.exit_code == 0, result.output
    assert result.json()["layout"] == "generic" and result.json()["new"] == 2
    odd = tmp_path / "raro.csv"
    odd.write_text("Dia;Glosa del banco;Valor;Doc\n01/06/2026;DEP EFECTIVO;1.234,50;A-1\n02/06/2026;CHQ 77;-34,50;A-2\n",
                   encoding="utf-8")
    mapping = tmp_path / "raro.toml"
    mapping.write_text('[columns]\ndate = "Dia"\ndescription = "Glosa del banco"\namount = "Valor"\n'
                       'operation = "Doc"\n[options]\ndate_format = "DD/MM/YYYY"\ndecimal = "comma"\n', encoding="utf-8")
    mapped = accounts.run("bank", "import", str(odd), "--account", "soles", "--mapping", str(mapping), "--json")
    assert mapped.exit_code == 0, mapped.output
    assert (mapped.json()["new"], mapped.json()["credits"], mapped.json()["debits"]) == (2, "1234.50", "34.50")


def test_the_detracciones_account_keeps_the_depositors_ruc(accounts, tmp_path):
    path = tmp_path / "bn.csv"
    path.write_text("Fecha;Nro. Operación;Descripción;RUC depositante;Importe\n"
                    "10/06/2026;778;DEPOSITO DETRACCION;20131312955;141,60\n", encoding="utf-8")
    result = accounts.run("bank", "import", str(path), "--account", "detracciones", "--json")
    assert result.exit_code == 0, result.output
    assert result.json()["layout"] == "bn-detracciones"
    from sqlalchemy import text

    from cuentas_cli.db.engine import open_session

    with open_session(accounts.url) as s:
        [(description, cents)] = s.execute(text("SELECT description, amount_cents FROM bank_line")).all()
    assert description == "DEPOSITO DETRACCION 20131312955" and cents == 14160


@pytest.mark.parametrize("content,message", [
    ("Fecha;Descripción;Monto\n01/06/2026;X;abc\n", "is not"),
    ("Fecha;Descripción;Monto\n31/02/2026;X;10,00\n", "is not a valid date"),
    ("Fecha;Descripción;Monto\n01/07/2026;X;10,00\n", "is after today"),
    ("Fecha;Descripción;Monto\n01/06/2026;X;0,00\n", "a movement of 0.00"),
    ("Fecha;Glosa;Valor\n01/06/2026;X;10,00\n", "missing column(s)"),
])
def test_a_bad_statement_stores_nothing(accounts, tmp_path, content, message):
    path = tmp_path / "malo.csv"
    path.write_text(content, encoding="utf-8")
    before = snapshot(accounts.url)
    result = accounts.run("bank", "import", str(path), "--account", "soles", "--date-format", "DD/MM/YYYY")
    assert result.exit_code == 3, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert snapshot(accounts.url) == before


def test_unknown_account_dry_run_and_permissions(accounts, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("Fecha;Descripción;Monto\n01/06/2026;X;10,00\n", encoding="utf-8")
    before = snapshot(accounts.url)
    missing = accounts.run("bank", "import", str(path), "--account", "nada")
    assert missing.exit_code == 4 and "no bank account named 'nada'" in missing.stderr
    dry = accounts.run("bank", "import", str(path), "--account", "soles", "--dry-run", "--date-format", "DD/MM/YYYY")
    assert dry.exit_code == 0 and "would store 1 movements" in dry.stderr
    denied = accounts.run("bank", "import", str(path), "--account", "soles", role="gerente")
    assert denied.exit_code == 5 and "invoices.operate" in denied.stderr
    assert snapshot(accounts.url) == before
    unknown = accounts.run("bank", "import", str(path), "--account", "soles", "--preset", "banco-x")
    assert unknown.exit_code == 2 and "--preset 'banco-x'" in unknown.stderr
