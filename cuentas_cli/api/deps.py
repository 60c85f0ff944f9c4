"""What every endpoint of the HTTP API shares: the request's runtime (its database, company and
user) and the JSON of a subject's answer, as `--format json` prints it."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any, Optional

from fastapi import Depends, Header, Request

from cuentas_cli.api import security
from cuentas_cli.errors import NotLoggedIn
from cuentas_cli.i18n import _

if TYPE_CHECKING:
    from cuentas_cli.runtime import Runtime


def _json(value: Any) -> Any:
    from cuentas_cli.render import as_dict, plain

    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    try:
        return plain(as_dict(value))
    except TypeError:
        return plain(value)


def base_runtime(request: Any, company: str | None) -> "Runtime":
    """A runtime on the application's database (app.state.db_url, else the configured one), as
    of today; the firm's schema is checked once per process (restart the server after `cuentas
    db upgrade`), a company's books on every request. `request` is a Request or a WebSocket."""
    from cuentas_cli import config as config_module
    from cuentas_cli.runtime import Runtime

    state = request.app.state
    base = config_module.load(db_flag=state.db_url, today_flag=state.today)
    if state.firm_checked is None:
        Runtime(base).check_schema()  # the firm database, once: a failure is every request's error
        state.firm_checked = base.database_url
    rt = Runtime(replace(base, token=None, company=company.strip() if company and company.strip() else None,
                         company_source="header" if company else "default", firm_values=None))
    rt._firm_checked = state.firm_checked == base.database_url
    return rt


def bearer_of(request: Any) -> str:
    """The request's bearer token (a WebSocket from a browser may give it as ?token=)."""
    scheme, _sep, token = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return (request.query_params.get("token") or "").strip() if hasattr(request, "query_params") else ""


def identify(rt: "Runtime", token: str) -> "Runtime":
    """Make `rt` act as the user of `token`: an access JWT, a service token or a `cuentas login`
    session; NotLoggedIn (401) for anything else."""
    if not token:
        raise NotLoggedIn(_("no bearer token: POST /auth/token, or a service token"))
    from cuentas_cli.admin import auth

    if token.startswith((auth.SERVICE_PREFIX, auth.SESSION_PREFIX)):  # a service token, or a `cuentas login` session
        with rt.firm_connection() as firm:
            known = auth.token_known(firm, token)
            identity = auth.resolve_token(firm, token) if known else None
        if identity is not None:
            rt.give_identity(*identity)
        elif rt.in_company:  # a service token of the chosen company's own books
            with rt.connection() as conn:
                here, _row = auth.resolve_token(conn, token)
            rt.give_identity(None, here=here)
        else:
            raise NotLoggedIn(_("the session or token is not valid for this database"))
        return rt
    claims = security.decode(token, kind="access")
    with rt.firm_connection() as firm:
        rt.give_identity(*security.session_actor(firm, claims["sid"]))
    return rt


def identified(request: Request, x_cuentas_company: Annotated[Optional[str], Header()] = None) -> "Runtime":
    """The request's runtime, acting as the user of its bearer token (401 without one); the
    X-Cuentas-Company header chooses a company of a firm, as --company does."""
    return identify(base_runtime(request, x_cuentas_company), bearer_of(request))


Identified = Annotated[Any, Depends(identified)]
