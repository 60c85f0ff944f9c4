"""Retención IGV (peru-reference.md): a client flagged as retention agent withholds 3% of a
total above S/ 700 where no detracción applies. `invoices add` records it for such a client
unless told --no-retencion; --retencion for a client not flagged is kept with a warning; the
flag is set by hand with `clients edit --retention-agent/--no-retention-agent`."""

from __future__ import annotations

import json

from sqlmodel import select

from cuentas_cli.db.engine import open_session
from cuentas_cli.db.models import AuditLog, Invoice
from tests.factories import make_party

AGENT = "20131312955"
PLAIN = "20512333797"
SUPPLIER_AGENT = "20100070970"


def _books(company) -> None:
    with open_session(company.url, write=True) as s:
        make_party(s, ruc=AGENT, name="AGENTE RETENEDOR S.A.")
        make_party(s, ruc=PLAIN, name="CLIENTE COMUN S.A.C.")
        make_party(s, kind="supplier", ruc=SUPPLIER_AGENT, name="PROVEEDOR AGENTE S.A.", is_retention_agent=True)


def _add(company, *extra, party=AGENT, kind="cxc", numero="1", total="1180.00"):
    return company.run("invoices", "add", "--kind", kind, "--party", party, "--serie", "F001", "--numero", numero,
                       "--issued", "2026-06-01", "--due", "2026-07-01", "--total", total, *extra, "-f", "json",
                       role="contador")


def _said(result) -> str:
    return " ".join(result.stderr.split())


def _retencion(company, invoice_id: int) -> str:
    return company.run("invoices", "show", str(invoice_id), "-f", "json").json()["retencion"]


def test_flag_is_set_by_hand_shown_and_audited(company):
    _books(company)
    assert company.run("clients", "show", AGENT, "-f", "json").json()["is_retention_agent"] is False
    edited = company.run("clients", "edit", AGENT, "--retention-agent", role="contador")
    assert edited.exit_code == 0, edited.output
    assert "is_retention_agent" in edited.stderr
    assert company.run("clients", "show", AGENT, "-f", "json").json()["is_retention_agent"] is True
    assert "is_retention_agent" in company.run("clients", "show", AGENT).stdout  # the table shows it too
    with open_session(company.url) as s:
        entry = s.exec(select(AuditLog).where(AuditLog.action == "party.edit")).all()[-1]
    assert json.loads(entry.before)["is_retention_agent"] is False
    assert json.loads(entry.after)["is_retention_agent"] is True
    # the gerente may not change parties
    denied = company.run("clients", "edit", AGENT, "--no-retention-agent", role="gerente")
    assert denied.exit_code == 5
    assert company.run("clients", "edit", AGENT, "--no-retention-agent", role="contador").exit_code == 0
    assert company.run("clients", "show", AGENT, "-f", "json").json()["is_retention_agent"] is False


def test_agent_client_gets_the_retencion_with_a_note(company):
    _books(company)
    company.run("clients", "edit", AGENT, "--retention-agent")
    result = _add(company)
    assert result.exit_code == 0, result.output
    assert "retention agent" in _said(result) and "35.40" in _said(result) and "--no-retencion" in _said(result)
    shown = company.run("invoices", "show", str(result.json()["id"]), "-f", "json").json()
    assert (shown["retencion"], shown["paid_directly_expected"]) == ("35.40", "1144.60")


def test_no_retencion_opts_out(company):
    _books(company)
    company.run("clients", "edit", AGENT, "--retention-agent")
    result = _add(company, "--no-retencion")
    assert result.exit_code == 0, result.output
    assert "retention agent" not in result.stderr
    assert _retencion(company, result.json()["id"]) == "0.00"


def test_not_proposed_at_or_below_the_threshold_nor_with_detraccion(company):
    _books(company)
    company.run("clients", "edit", AGENT, "--retention-agent")
    small = _add(company, numero="2", total="700.00")
    assert small.exit_code == 0, small.output
    assert "retention agent" not in small.stderr
    assert _retencion(company, small.json()["id"]) == "0.00"
    spot = _add(company, "--detraccion", "12", numero="3")
    assert spot.exit_code == 0, spot.output
    assert "retention agent" not in spot.stderr
    shown = company.run("invoices", "show", str(spot.json()["id"]), "-f", "json").json()
    assert (shown["retencion"], shown["detraccion"]) == ("0.00", "141.60")
    # a credit note of the agent's invoice carries no retención of its own
    note = company.run("invoices", "add", "--kind", "cxc", "--party", AGENT, "--doc-type", "07", "--serie", "F001",
                       "--numero", "9", "--issued", "2026-06-05", "--total", "118.00", "--references", "F001-3",
                       "-f", "json", role="contador")
    assert note.exit_code == 0, note.output
    assert "retention agent" not in note.stderr


def test_retencion_on_a_client_not_flagged_warns(company):
    _books(company)
    result = _add(company, "--retencion", party=PLAIN)
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "not flagged as a retention agent" in _said(result)
    assert f"clients edit {PLAIN} --retention-agent" in _said(result)
    assert _retencion(company, result.json()["id"]) == "35.40"
    # without --retencion nothing is withheld and nothing is said
    plain = _add(company, party=PLAIN, numero="2")
    assert plain.exit_code == 0 and "retenc" not in plain.stderr.lower()
    assert _retencion(company, plain.json()["id"]) == "0.00"


def test_payable_follows_only_what_is_asked(company):
    """A supplier's agent flag says it withholds from its own suppliers, not from us."""
    _books(company)
    result = _add(company, kind="cxp", party=SUPPLIER_AGENT)
    assert result.exit_code == 0, result.output
    assert "retention agent" not in result.stderr
    with open_session(company.url) as s:
        assert s.get(Invoice, result.json()["id"]).retencion_cents == 0
    asked = _add(company, "--retencion", kind="cxp", party=SUPPLIER_AGENT, numero="2")
    assert asked.exit_code == 0 and "warning" not in asked.stderr
    assert _retencion(company, asked.json()["id"]) == "35.40"
