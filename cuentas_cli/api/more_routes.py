"""The API's writes on invoices and its reports beyond the summary: each one subject call, as the
command of the same name makes it (invoices add/set-status/delete/payments, dashboard aging/
cashflow/top)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Optional

from fastapi import FastAPI, Query
from pydantic import BaseModel, Field

from cuentas_cli.api.deps import Identified, _json


class InvoiceIn(BaseModel):
    """`cuentas invoices add`'s options; amounts as text (no float touches money)."""

    kind: str
    party: str
    serie: str
    numero: str
    issued: date
    total: Optional[str] = None
    due: Optional[date] = None
    base: Optional[str] = None
    igv: Optional[str] = None
    currency: str = "PEN"
    rate: Optional[str] = None
    doc_type: str = "01"
    description: Optional[str] = None
    detraccion: Optional[str] = None
    retencion: Optional[bool] = None
    references: Optional[str] = None
    cuotas: list[str] = Field(default_factory=list, description="DATE:AMOUNT, one per cuota")
    contado: bool = False


class StatusIn(BaseModel):
    status: str
    paid_on: Optional[date] = Field(default=None, alias="date")
    method: str = "transferencia"
    reference: Optional[str] = None


class PartyIn(BaseModel):
    """`cuentas clients add`: the document (doc_type guessed from its length when not given)."""

    doc: str
    doc_type: Optional[str] = None
    name: Optional[str] = None
    email: Optional[str] = None
    phone: Optional[str] = None
    address: Optional[str] = None
    lookup: bool = True


class PartyEdit(BaseModel):
    name: Optional[str] = None
    email: Optional[str] = None
    phone: Optional[str] = None
    address: Optional[str] = None
    retention_agent: Optional[bool] = None


def add_party_routes(app: FastAPI, path: str, kind: str) -> None:
    @app.post(f"/{path}", tags=["parties"], status_code=201, name=f"add_{path}")
    def add_party(rt: Identified, body: PartyIn) -> Any:
        """Add one, looked up at the provider unless lookup is false (validation.strict applies)."""
        from cuentas_cli.errors import UsageError
        from cuentas_cli.i18n import _
        from cuentas_cli.parties.adding import add_with_lookup
        from cuentas_cli.parties.records import row_of
        from cuentas_cli.rules.identity import guess_doc_type

        code = body.doc_type or guess_doc_type(body.doc)
        if code is None:
            raise UsageError(_("--doc: give --doc-type too (0 other, 1 DNI, 4 carné de extranjería, 6 RUC, 7 "
                               "pasaporte, A diplomatic)"))
        result = add_with_lookup(rt, kind=kind, doc_type=code, doc_number=body.doc, name=body.name, email=body.email,
                                 phone=body.phone, address=body.address, lookup=body.lookup)
        return {"party": _json(row_of(result.party)), "warnings": list(result.warnings),
                "verified_by": result.verified_by}

    @app.patch(f"/{path}/{{doc}}", tags=["parties"], name=f"edit_{path}")
    def edit_party(rt: Identified, doc: str, body: PartyEdit) -> Any:
        from cuentas_cli.parties import service as parties
        from cuentas_cli.parties.records import row_of

        with rt.session(write=True) as session:
            party, changed = parties.edit_party(session=session, actor=rt.actor(session), kind=kind, ref=doc,
                                                name=body.name, email=body.email, phone=body.phone,
                                                address=body.address, retention_agent=body.retention_agent)
            return {"party": _json(row_of(party)), "changed": changed}

    @app.delete(f"/{path}/{{doc}}", tags=["parties"], name=f"delete_{path}")
    def delete_party(rt: Identified, doc: str) -> Any:
        """Delete one that has no invoices (administrador)."""
        from cuentas_cli.parties import service as parties

        with rt.session(write=True) as session:
            return _json(parties.delete_party(session=session, actor=rt.actor(session), kind=kind, ref=doc))

    @app.get(f"/{path}/lookup/{{doc}}", tags=["parties"], name=f"lookup_{path}")
    def lookup(rt: Identified, doc: str, doc_type: Optional[str] = None) -> Any:
        """Ask the lookup provider about a RUC or DNI; nothing is stored (502 when it fails)."""
        from cuentas_cli.parties import lookup as party_lookup

        with rt.session() as session:
            return _json(party_lookup.lookup_document(session=session, actor=rt.actor(session), config=rt.config,
                                                      doc=doc, doc_type=doc_type))


MEDIA = {"csv": "text/csv", "json": "application/json", "pdf": "application/pdf",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def add_routes(app: FastAPI) -> None:
    for path, kind in (("clients", "client"), ("suppliers", "supplier")):
        add_party_routes(app, path, kind)

    @app.get("/exports/invoices.{fmt}", tags=["exports"])
    def export(rt: Identified, fmt: str, kind: Optional[str] = None, status: Optional[str] = None,
               party: Optional[str] = None, overdue: bool = False, currency: Optional[str] = None,
               max_rows: Annotated[Optional[int], Query(ge=0)] = None) -> Any:
        """The invoices as a file download (`cuentas export`): xlsx with charts, csv, json, or pdf
        (a report: at most max_rows listed, 5,000 by default, 0 for all)."""
        import shutil
        import tempfile
        from pathlib import Path

        from fastapi.responses import FileResponse
        from starlette.background import BackgroundTask

        from cuentas_cli import outputs
        from cuentas_cli.admin import settings as settings_service
        from cuentas_cli.errors import UsageError
        from cuentas_cli.exports import exporter
        from cuentas_cli.i18n import _
        from cuentas_cli.ledger.listing import InvoiceFilter

        if fmt not in MEDIA:
            raise UsageError(_("--format {fmt!r}: use csv or json (stdout), or xlsx/pdf with --output").format(fmt=fmt))
        exporter.check_max_rows(fmt, max_rows)
        folder = Path(tempfile.mkdtemp(prefix="cuentas-export-"))
        try:
            path = folder / f"facturas.{fmt}"
            target = outputs.check(path, option="--output", database_url=rt.url)
            filters = InvoiceFilter(kind=kind, status=status, party=party, overdue=overdue, currency=currency)
            with rt.session() as session:
                exporter.export(session=session, actor=rt.actor(session), filters=filters, today=rt.today, fmt=fmt,
                                output=target, company=str(settings_service.get(session, rt.config, "company.name") or ""),
                                buckets=list(settings_service.get(session, rt.config, "aging.buckets")),
                                mode=0o600, max_rows=max_rows)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return FileResponse(path, media_type=MEDIA[fmt], filename=path.name,
                            background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))

    @app.post("/invoices", tags=["invoices"], status_code=201)
    def add_invoice(rt: Identified, body: InvoiceIn) -> Any:
        """Add an invoice or a credit/debit note (`cuentas invoices add`); the warnings it gives come back."""
        from cuentas_cli.errors import UsageError
        from cuentas_cli.i18n import _
        from cuentas_cli.ledger import invoices

        if body.total is None and (body.base is None or body.igv is None):
            raise UsageError(_("give --total (or both --base and --igv)"))
        notes: list[str] = []
        with rt.session(write=True) as session:
            row = invoices.add_invoice(
                session=session, actor=rt.actor(session), today=rt.today, kind=body.kind, party=body.party,
                serie=body.serie, numero=body.numero, issued=body.issued, due=body.due, total=body.total,
                base=body.base, igv=body.igv, currency=body.currency, rate=body.rate, doc_type=body.doc_type,
                description=body.description, detraccion=body.detraccion, retencion=body.retencion,
                references=body.references, notes=notes, cuotas=body.cuotas, contado=body.contado)
        return {"invoice": _json(row), "warnings": notes}

    @app.post("/invoices/{ref}/status", tags=["invoices"])
    def set_status(rt: Identified, ref: str, body: StatusIn) -> Any:
        """PAGADA (records a payment of the balance), ANULADA, or back from ANULADA (administrador)."""
        from cuentas_cli.ledger import status_changes

        with rt.session(write=True) as session:
            change = status_changes.set_status(session=session, actor=rt.actor(session), today=rt.today, ref=ref,
                                               status=body.status, paid_on=body.paid_on, method=body.method,
                                               reference=body.reference)
        return {"before": change.before, "after": change.after, "payment_id": change.payment_id,
                "invoice": _json(change.row)}

    @app.delete("/invoices/{ref}", tags=["invoices"])
    def delete_invoice(rt: Identified, ref: str, with_payments: bool = False) -> Any:
        """Delete an invoice (administrador); refused while it has payments unless with_payments."""
        from cuentas_cli.ledger import invoices

        with rt.session(write=True) as session:
            return _json(invoices.delete_invoice(session=session, actor=rt.actor(session), today=rt.today, ref=ref,
                                                 with_payments=with_payments))

    @app.get("/invoices/{ref}/payments", tags=["invoices"])
    def list_payments(rt: Identified, ref: str) -> Any:
        from cuentas_cli.ledger import payments

        with rt.connection() as conn:
            return _json(payments.list_payments(session=conn, actor=rt.actor(conn), ref=ref))

    @app.get("/dashboard/aging", tags=["dashboard"])
    def aging(rt: Identified, as_of: Optional[date] = None, kind: Optional[str] = None, by_party: bool = False,
              currency: Optional[str] = None) -> Any:
        """Aging by due date (`cuentas dashboard aging`), buckets from the setting aging.buckets."""
        from cuentas_cli.admin import settings
        from cuentas_cli.reports import aging as aging_report

        with rt.session() as session:
            report = aging_report.aging(session, rt.actor(session), kind=kind, as_of=as_of or rt.today,
                                        buckets=settings.get(session, rt.config, "aging.buckets"), by_party=by_party,
                                        currency=currency)
            return _json(report.records())

    @app.get("/dashboard/cashflow", tags=["dashboard"])
    def cashflow(rt: Identified, as_of: Optional[date] = None,
                 weeks: Annotated[Optional[int], Query(ge=1, le=104)] = None,
                 months: Annotated[Optional[int], Query(ge=1, le=36)] = None) -> Any:
        """The expected cash flow by week or month (`cuentas dashboard cashflow`)."""
        from cuentas_cli.reports import cashflow as flow

        with rt.session() as session:
            return _json(flow.cashflow(session, rt.actor(session), as_of=as_of or rt.today, weeks=weeks,
                                       months=months).records())

    @app.get("/dashboard/top", tags=["dashboard"])
    def top(rt: Identified, as_of: Optional[date] = None, n: Annotated[int, Query(ge=1, le=1000)] = 10,
            currency: Optional[str] = None) -> Any:
        """The largest debtors and creditors by overdue amount (`cuentas dashboard top`)."""
        from cuentas_cli.reports import top as top_report

        with rt.session() as session:
            return _json(top_report.top(session, rt.actor(session), as_of=as_of or rt.today, n=n, currency=currency))
