"""Shell completion of party documents and invoice ids (Typer's mechanism, through the real entry point)."""

from __future__ import annotations

from tests.factories import make_invoice, make_party


def complete(cli, words: str, env=None):  # noqa: ANN001, ANN201
    """What bash would be offered for the last word of `words` (Typer answers and exits)."""
    import contextlib
    import io
    import os

    from cuentas_cli import app

    parts = words.split(" ")
    values = {"_CUENTAS_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1), **(env or {})}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            try:
                code = app.main([])
            except SystemExit as exc:
                code = exc.code or 0
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return code, out.getvalue().split()


def test_documents_and_ids_complete_for_a_logged_in_user(company, cli):
    from cuentas_cli.db.engine import open_session

    with open_session(company.url, write=True) as s:
        client = make_party(s, kind="client", ruc="20999991000", name="CLIENTE UNO")
        make_party(s, kind="client", ruc="20999991018", name="CLIENTE DOS")
        make_party(s, kind="supplier", ruc="20999981004", name="PROVEEDOR UNO")
        invoice = make_invoice(s, client, serie="F001", numero=7)
        invoice_id = invoice.id
    token = {"CUENTAS_TOKEN": company.tokens["gerente"]}
    assert complete(cli, "cuentas clients show 2099999", token) == (0, ["20999991000", "20999991018"])
    assert complete(cli, "cuentas clients show 20999991", token)[1] == ["20999991000", "20999991018"]
    assert complete(cli, "cuentas suppliers show 2099", token)[1] == ["20999981004"]
    assert complete(cli, f"cuentas invoices pay {invoice_id}", token)[1] == [str(invoice_id)]
    # no login: no suggestions, and never an error
    assert complete(cli, "cuentas clients show 2099") == (0, [])


def test_completion_never_raises_without_a_database(cli):
    assert complete(cli, "cuentas clients show 2") == (0, [])
    assert complete(cli, "cuentas invoices show 1") == (0, [])


def test_spanish_names_are_completed_beside_the_english_ones(cli):
    assert complete(cli, "cuentas fac") == (0, ["facturas"])
    assert complete(cli, "cuentas tab")[1] == ["tablero"]
    assert set(complete(cli, "cuentas i")[1]) >= {"invoices", "import", "importar"}
    assert complete(cli, "cuentas facturas pa")[1] == ["pay", "payments", "pagar"]
    assert complete(cli, "cuentas invoices ven")[1] == ["vencidas"]
