"""`cuentas serve api`: the HTTP API for other programs (cuentas_cli/api/)."""

from __future__ import annotations

from typing import Annotated

import typer

from cuentas_cli.commands.common import runtime
from cuentas_cli.i18n import _
from cuentas_cli.render import info

app = typer.Typer(help="Serve cuentas to other programs.\n\nExample: cuentas serve api --port 8000",
                  no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Serve cuentas to other programs: api (REST with JWT, OpenAPI at /docs)."""


@app.command()
def api(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default; put a reverse "
                                      "proxy with TLS in front for other machines).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
) -> None:
    """Serve the REST API (OpenAPI at /docs) until stopped: JWT login at POST /auth/token, service
    tokens as Bearer tokens, the same permissions and JSON as the command line.

    Example: cuentas serve api --port 8000
    Example: curl -d username=ana -d password=... http://127.0.0.1:8000/auth/token
    """
    import uvicorn

    from cuentas_cli.api import security
    from cuentas_cli.api.server import create_app

    rt = runtime()
    rt.set_company(None)
    rt.check_schema()  # a database that is not there or behind is said now, not at the first request
    security.signing_key()
    info(_("serving the cuentas API on http://{host}:{port} (OpenAPI at /docs); Ctrl-C stops it")
         .format(host=host, port=port))
    uvicorn.run(create_app(db_url=rt.firm_url, today=None), host=host, port=port, log_level="warning")
