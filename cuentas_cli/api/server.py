"""The HTTP API (`cuentas serve api`): the ledger over REST for other programs, with JWTs.

A thin layer, as commands/ is for the terminal: each endpoint builds the request's runtime (the
firm's database, the company of the `X-Cuentas-Company` header, the user of the bearer token),
calls the same subject function a command calls, and returns its JSON as `--format json`
prints it (amounts as strings with two decimals, ISO dates). Every permission is the subject's
own check; an error is `{"error": {"code", "message"}}` with the status of its exit code.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Optional

from fastapi import FastAPI, Form, Query, Request, Response, UploadFile, WebSocket
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from cuentas_cli import __version__
from cuentas_cli.api import security
from cuentas_cli.api.deps import Identified, _json, base_runtime, bearer_of, identify
from cuentas_cli.errors import CuentasError, ExitCode, NotLoggedIn, UsageError
from cuentas_cli.i18n import _

# exit code -> HTTP status (shared/docs/cli.md's codes; 5 is 401 when nobody is logged in)
STATUS = {ExitCode.USAGE: 400, ExitCode.VALIDATION: 422, ExitCode.NOT_FOUND: 404, ExitCode.PERMISSION: 403,
          ExitCode.CONFLICT: 409, ExitCode.EXTERNAL: 502}
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
         422: "invalid", 502: "upstream_failed", 500: "internal"}


def error_response(status: int, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": {"code": CODES.get(status, "error"), "message": message}}, status_code=status,
                        headers=headers)


class PaymentIn(BaseModel):
    amount: str  # as text, like the CLI's argument: no float ever touches money
    paid_on: Optional[date] = Field(default=None, alias="date")
    method: str = "transferencia"
    reference: Optional[str] = None


class RefreshIn(BaseModel):
    refresh_token: str


def create_app(*, db_url: str | None = None, today: str | None = None) -> FastAPI:
    """The application over the database `db_url` (else the configured one)."""
    app = FastAPI(title="cuentas", version=__version__,
                  description="Accounts receivable and payable for Peruvian companies: the same ledger, "
                              "permissions and JSON as the cuentas command line.")
    app.state.db_url, app.state.today, app.state.firm_checked = db_url, today, None

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        """For load balancers and monitors: the server answers (no database, no token)."""
        return {"status": "ok", "version": __version__}

    @app.exception_handler(CuentasError)
    def _cuentas_error(_request: Request, exc: CuentasError) -> JSONResponse:
        status = 401 if isinstance(exc, NotLoggedIn) else getattr(exc, "http_status", None) or STATUS.get(exc.exit_code, 500)
        response = error_response(status, exc.message)
        rejected = getattr(exc, "result", None)  # an import's rows in error: the first ones, as the CLI prints them
        if rejected is not None and getattr(rejected, "errors", None):
            import json

            body = json.loads(response.body)
            body["error"]["rows"] = [e.line() for e in rejected.errors]
            response = JSONResponse(body, status_code=status)
        return response

    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    @app.exception_handler(RequestValidationError)
    def _bad_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        """A missing or malformed parameter: the CLI's usage error (exit 2), in the API's error shape."""
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path"))
        return error_response(400, f"{where}: {first.get('msg', 'invalid request')}" if where else
                              str(first.get("msg", "invalid request")))

    @app.exception_handler(HTTPException)
    def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, _("unexpected {name}; the server's log has the details").format(
            name=type(exc).__name__))

    # --- auth ------------------------------------------------------------------------------

    @app.post("/auth/token", tags=["auth"])
    def token(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()]) -> dict[str, str]:
        """OAuth2 password flow: an access and a refresh JWT (the CLI's lockout applies)."""
        from cuentas_cli.admin import settings as settings_service
        from cuentas_cli.admin import users

        rt = base_runtime(request, None)
        rt.set_company(None)
        with rt.session(write=True) as session:
            hours = settings_service.get(session, rt.config, "session.hours")
            result = users.login(session=session, username=username, password=password, hours=hours)
        return security.issue_pair(username=result.username, session_id=result.session_id,
                                   session_expires=_aware(result.expires_at))

    @app.post("/auth/refresh", tags=["auth"])
    def refresh(request: Request, body: RefreshIn) -> dict[str, str]:
        """A new pair for a refresh token, which then stops working (rotation)."""
        from cuentas_cli.admin import auth
        from cuentas_cli.admin import settings as settings_service

        claims = security.decode(body.refresh_token, kind="refresh")
        rt = base_runtime(request, None)
        rt.set_company(None)
        with rt.session(write=True) as session:
            actor, _row = security.session_actor(session, claims["sid"])
            security.revoke_session(session, claims["sid"])
            hours = settings_service.get(session, rt.config, "session.hours")
            _token, row = auth.issue_session_token(session, _UserRef(actor.user_id), hours=hours)
            sid, expires = row.id, row.expires_at
        return security.issue_pair(username=actor.username, session_id=sid, session_expires=_aware(expires))

    @app.post("/auth/logout", tags=["auth"], status_code=204)
    def logout(request: Request) -> None:
        """End the session of this access token: its refresh token stops working too."""
        scheme, _sep, value = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            raise NotLoggedIn(_("no bearer token"))
        claims = security.decode(value.strip(), kind="access")
        rt = base_runtime(request, None)
        rt.set_company(None)
        with rt.firm_connection(write=True) as conn:
            security.session_actor(conn, claims["sid"])
            security.revoke_session(conn, claims["sid"])

    @app.get("/me", tags=["auth"])
    def me(rt: Identified) -> dict[str, Any]:
        with rt.connection() as conn:
            actor = rt.actor(conn)
        return {"username": actor.username, "role": actor.role, "permissions": sorted(actor.permissions),
                "company": rt.company_label()}

    # --- parties -------------------------------------------------------------------------------

    for path, kind in (("clients", "client"), ("suppliers", "supplier")):
        _party_routes(app, path, kind)

    # --- invoices --------------------------------------------------------------------------------

    @app.get("/invoices", tags=["invoices"])
    def list_invoices(rt: Identified, response: Response, kind: Optional[str] = None, status: Optional[str] = None,
                      party: Optional[str] = None, overdue: bool = False, currency: Optional[str] = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                      cursor: Annotated[Optional[str], Query(description="The X-Next-Cursor of the previous page")] = None,
                      ) -> list[Any]:
        """Invoices by due date, with the filters of `cuentas invoices list`, a page at a time: a full
        page's X-Next-Cursor header asks for the next one (pages never repeat or skip an invoice,
        also while others are added)."""
        from cuentas_cli.ledger import listing

        filters = listing.InvoiceFilter(kind=kind, status=status, party=party, overdue=overdue, currency=currency,
                                        limit=limit, after=_parse_cursor(cursor))
        with rt.connection() as conn:
            rows = list(listing.list_invoices(session=conn, actor=rt.actor(conn), today=rt.today, filters=filters))
        if len(rows) == limit:
            response.headers["X-Next-Cursor"] = f"{rows[-1].due_date.isoformat()}_{rows[-1].id}"
        return _json(rows)

    @app.get("/invoices/{ref}", tags=["invoices"])
    def get_invoice(rt: Identified, ref: str) -> Any:
        """One invoice with its notes, cuotas and payments (`cuentas invoices show`)."""
        from cuentas_cli.ledger import listing

        with rt.connection() as conn:
            return _json(listing.show_invoice(session=conn, actor=rt.actor(conn), today=rt.today, ref=ref))

    @app.post("/invoices/{ref}/payments", tags=["invoices"], status_code=201)
    def pay(rt: Identified, ref: str, body: PaymentIn) -> Any:
        """Record a payment (`cuentas invoices pay`); more than the balance is refused."""
        from cuentas_cli.ledger import payments

        with rt.connection(write=True) as conn:
            result = payments.pay(session=conn, actor=rt.actor(conn), today=rt.today, ref=ref, amount=body.amount,
                                  paid_on=body.paid_on, method=body.method, reference=body.reference)
        return {"payment": _json(result.payment), "invoice": _json(result.invoice), "warnings": list(result.warnings)}

    # --- imports -------------------------------------------------------------------------------

    @app.post("/imports", tags=["imports"], status_code=201)
    def import_upload(rt: Identified, file: UploadFile, kind: Optional[str] = None, sheet: Optional[str] = None,
                      on_duplicate: str = "skip", dry_run: bool = False) -> Any:
        """Import a CSV, XLSX, PLE or UBL file (multipart field `file`): the pipeline and limits of
        `cuentas import`, atomic; rows in error are 422 with the first of them, and nothing is written."""
        from cuentas_cli.api import uploads

        with uploads.saved(file) as path:
            return _json(uploads.run_import(rt, path, kind=kind, sheet=sheet, on_duplicate=on_duplicate,
                                            dry_run=dry_run))

    # --- events --------------------------------------------------------------------------------

    @app.websocket("/events")
    async def events_socket(websocket: WebSocket) -> None:
        """Live events as JSON messages (see api/events.py); the token as a Bearer header or ?token=."""
        from cuentas_cli.api import streams

        await streams.serve_socket(websocket, base_runtime, identify, bearer_of)

    @app.get("/events", tags=["events"])
    def events_stream(request: Request, rt: Identified) -> StreamingResponse:
        """The same events as Server-Sent Events (text/event-stream), for simple clients."""
        from cuentas_cli.api import streams

        return StreamingResponse(streams.sse(rt, request, base_runtime, identify, bearer_of),
                                 media_type="text/event-stream")

    from cuentas_cli.api.more_routes import add_routes

    add_routes(app)

    # --- dashboard -------------------------------------------------------------------------------

    @app.get("/dashboard/summary", tags=["dashboard"])
    def summary(rt: Identified, as_of: Optional[date] = None) -> list[Any]:
        """Outstanding and overdue per kind (every role)."""
        from cuentas_cli.reports import metrics

        with rt.connection() as conn:
            return _json(metrics.summary(conn, rt.actor(conn), as_of=as_of or rt.today))

    @app.get("/dashboard/metrics", tags=["dashboard"])
    def dashboard_metrics(rt: Identified, as_of: Optional[date] = None) -> list[Any]:
        """Key figures per kind: DSO/DPO, overdue share, collection effectiveness (gerente, administrador)."""
        from cuentas_cli.reports import metrics

        with rt.session() as session:
            return _json(metrics.metrics(session, rt.actor(session), as_of=as_of or rt.today))

    return app


def _party_routes(app: FastAPI, path: str, kind: str) -> None:
    @app.get(f"/{path}", tags=["parties"], name=f"list_{path}")
    def list_parties(rt: Identified, response: Response, search: Optional[str] = None, estado: Optional[str] = None,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                     cursor: Annotated[Optional[str], Query(description="The X-Next-Cursor of the previous page")] = None,
                     ) -> list[Any]:
        """By name, filtered as `cuentas clients list`, a page at a time (X-Next-Cursor, as /invoices)."""
        from cuentas_cli.ledger import accounts

        with rt.session() as session:
            rows = accounts.list_parties(session=session, actor=rt.actor(session), kind=kind, today=rt.today,
                                         search=search, estado=estado, limit=limit, after=_party_cursor(cursor))
        if len(rows) == limit:
            response.headers["X-Next-Cursor"] = _encode_cursor([rows[-1].name, rows[-1].id])
        return _json(rows)

    @app.get(f"/{path}/{{doc}}", tags=["parties"], name=f"get_{path}")
    def get_party(rt: Identified, doc: str) -> Any:
        from cuentas_cli.ledger import accounts

        with rt.connection() as conn:
            return _json(accounts.show_party(session=conn, actor=rt.actor(conn), kind=kind, ref=doc, today=rt.today))


def _parse_cursor(cursor: str | None) -> tuple[date, int] | None:
    if cursor is None:
        return None
    day, _sep, last = cursor.partition("_")
    try:
        return date.fromisoformat(day), int(last)
    except ValueError:
        raise UsageError(_("cursor {cursor!r} is not one this API gave (X-Next-Cursor)").format(cursor=cursor)) from None


def _encode_cursor(value: Any) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(value, ensure_ascii=False).encode("utf-8")).decode("ascii").rstrip("=")


def _party_cursor(cursor: str | None) -> tuple[str, int] | None:
    if cursor is None:
        return None
    import base64
    import json

    try:
        name, last = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8"))
        return str(name), int(last)
    except (ValueError, TypeError):
        raise UsageError(_("cursor {cursor!r} is not one this API gave (X-Next-Cursor)").format(cursor=cursor)) from None


class _UserRef:
    """What issue_session_token needs of a user: its id."""

    def __init__(self, user_id: int) -> None:
        self.id = user_id


def _aware(value: Any) -> Any:
    from cuentas_cli.admin.auth import _aware as aware

    return aware(value)

