"""A local HTTP server that answers like the lookup providers (apis.net.pe v2, decolecta), for
tests: real sockets on 127.0.0.1, scripted statuses, delays and malformed bodies."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "tok-de-prueba"


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes sent as is
    delay: float = 0.0


def apisnet_ruc(ruc: str, name: str = "EMPRESA DE PRUEBA S.A.C.", estado: str = "ACTIVO", condicion: str = "HABIDO",
                direccion: str = "AV. PRUEBA NRO. 1", retention: bool = False, good: bool = False) -> dict:
    return {
        "razonSocial": name, "tipoDocumento": "6", "numeroDocumento": ruc, "estado": estado, "condicion": condicion,
        "direccion": direccion, "ubigeo": "150101", "distrito": "LIMA", "provincia": "LIMA", "departamento": "LIMA",
        "EsAgenteRetencion": retention, "EsBuenContribuyente": good,
    }


class FakeProvider:
    """Routes: (path, numero-or-date) -> scripted replies (consumed in order), then a
    permanent reply, then 404. Requests are recorded."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self._queued: dict[tuple[str, str], deque[Reply]] = defaultdict(deque)
        self._permanent: dict[tuple[str, str], Reply] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- scripting ---
    def answer(self, path: str, key: str, body: Any = None, *, status: int = 200, delay: float = 0.0,
               times: int | None = None) -> None:
        reply = Reply(status, body, delay)
        with self._lock:
            if times is None:
                self._permanent[(path, key)] = reply
            else:
                self._queued[(path, key)].extend([reply] * times)

    def ruc(self, ruc: str, **fields: Any) -> dict:
        body = apisnet_ruc(ruc, **fields)
        self.answer("/v2/sunat/ruc", ruc, body)
        return body

    def count(self, key: str | None = None) -> int:
        with self._lock:
            return sum(1 for _, k, _ in self.requests if key is None or k == key)

    def _reply_for(self, path: str, key: str) -> Reply:
        with self._lock:
            queue = self._queued.get((path, key))
            if queue:
                return queue.popleft()
            return self._permanent.get((path, key)) or Reply(404, {"message": "no encontrado"})

    # --- serving ---
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeProvider":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                key = (query.get("numero") or query.get("date") or query.get("fecha") or [""])[0]
                auth = self.headers.get("Authorization")
                with fake._lock:
                    fake.requests.append((parts.path, key, auth))
                if auth != f"Bearer {fake.token}":
                    reply = Reply(401, {"message": "token invalido"})
                else:
                    reply = fake._reply_for(parts.path, key)
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                if isinstance(body, (dict, list)):
                    data = json.dumps(body).encode()
                elif isinstance(body, str):
                    data = body.encode()
                else:
                    data = body or b""
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up (timeout tests) is not an error here

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def env(self, *, provider: str = "apisnet", timeout_s: str = "0.5") -> dict[str, str]:
        """Environment that points cuentas at this server (the token goes to the keyring separately)."""
        return {"CUENTAS_LOOKUP_PROVIDER": provider, "CUENTAS_LOOKUP_BASE_URL": self.url,
                "CUENTAS_LOOKUP_TIMEOUT_S": timeout_s}


# --- the fixture (import it into a test module to use it) ----------------------------------------

import pytest  # noqa: E402


@pytest.fixture
def provider_server(monkeypatch):
    """A FakeProvider on 127.0.0.1, with cuentas pointed at it: lookup.provider=apisnet, its
    base URL, a 0.5 s timeout, the token in the (in-memory) keyring and a near-zero backoff."""
    from cuentas_cli.integrations import keyring_store, lookup

    monkeypatch.setattr(lookup.http, "BACKOFF_S", 0.001)
    fake = FakeProvider().start()
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    keyring_store.set_secret("lookup-token", TOKEN)
    yield fake
    fake.stop()
