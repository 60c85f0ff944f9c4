"""The HTTP API (cuentas_cli/api/) through httpx against the ASGI app, on both backends: JWT login
with the CLI's lockout, refresh rotation, logout, forged/expired/revoked tokens, service tokens,
the permission matrix on every endpoint, errors with the CLI's meanings, and a real uvicorn
server started by `cuentas serve api` on a loopback port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

from datetime import date

import jwt
import pytest

from cuentas_cli.db.engine import open_session
from tests.conftest import PASSWORD
from tests.factories import make_invoice, make_party, valid_ruc

USERS = {"administrador": "admin", "contador": "contador", "gerente": "gerente"}


@pytest.fixture
def api(company):
    from fastapi.testclient import TestClient

    from cuentas_cli.api import security
    from cuentas_cli.api.server import create_app

    security.forget_key()
    with open_session(company.url, write=True) as s:
        client = make_party(s, ruc="20131312955", name="SUNAT", email="pagos@sunat.example")
        make_party(s, kind="supplier", ruc="20100113610", name="PROVEEDOR S.A.C.")
        invoice = make_invoice(s, client, serie="F001", numero=1, total="1180.00")
        company.invoice_id = invoice.id  # type: ignore[attr-defined]
    with TestClient(create_app()) as http:
        http.company = company  # type: ignore[attr-defined]
        yield http
    security.forget_key()


def login(http, role: str = "administrador") -> dict:  # noqa: ANN001
    got = http.post("/auth/token", data={"username": USERS[role], "password": PASSWORD})
    assert got.status_code == 200, got.text
    return got.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_login_refresh_rotation_and_logout(api):
    pair = login(api)
    assert pair["token_type"] == "bearer" and pair["access_token"] and pair["refresh_token"]
    me = api.get("/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200 and me.json()["username"] == "admin" and me.json()["role"] == "administrador"
    # refresh: a new pair; the old refresh token (and the old session's access token) stop working
    new = api.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert new.status_code == 200, new.text
    again = api.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert again.status_code == 401 and again.json()["error"]["code"] == "unauthorized"
    assert api.get("/me", headers=bearer(pair["access_token"])).status_code == 401
    assert api.get("/me", headers=bearer(new.json()["access_token"])).status_code == 200
    # an access token is not a refresh token, nor the other way round
    assert api.post("/auth/refresh", json={"refresh_token": new.json()["access_token"]}).status_code == 401
    assert api.get("/me", headers=bearer(new.json()["refresh_token"])).status_code == 401
    # logout ends the session: its access and refresh tokens both
    assert api.post("/auth/logout", headers=bearer(new.json()["access_token"])).status_code == 204
    assert api.get("/me", headers=bearer(new.json()["access_token"])).status_code == 401
    assert api.post("/auth/refresh", json={"refresh_token": new.json()["refresh_token"]}).status_code == 401


def test_bad_passwords_lock_the_account_as_the_cli_does(api):
    for _ in range(5):
        wrong = api.post("/auth/token", data={"username": "gerente", "password": "no-es-la-clave"})
        assert wrong.status_code == 403 and wrong.json()["error"]["message"] == "wrong user name or password"
    locked = api.post("/auth/token", data={"username": "gerente", "password": PASSWORD})
    assert locked.status_code == 403 and "locked" in locked.json()["error"]["message"]
    result = api.company.run("login", "gerente", "--password-stdin", role=None, input=PASSWORD + "\n")
    assert result.exit_code == 5 and "locked" in result.stderr  # the same lock for the command line
    assert api.post("/auth/token", data={"username": "nadie", "password": PASSWORD}).status_code == 403


def test_forged_expired_revoked_and_disabled_tokens_are_refused(api):
    from cuentas_cli.api import security

    pair = login(api, "contador")
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    forged = jwt.encode({**claims, "sub": "admin"}, "otra-clave", algorithm="HS256")
    expired = jwt.encode({**claims, "exp": int(time.time()) - 5}, security.signing_key(), algorithm="HS256")
    tampered = pair["access_token"][:-2] + ("AA" if not pair["access_token"].endswith("AA") else "BB")
    for token in (forged, expired, tampered, "basura", ""):
        got = api.get("/me", headers=bearer(token))
        assert got.status_code == 401, (token, got.text)
        assert set(got.json()) == {"error"} and got.headers["www-authenticate"] == "Bearer"
    assert api.get("/me").status_code == 401
    assert "expired" in api.get("/me", headers=bearer(expired)).json()["error"]["message"]
    # a user disabled with the CLI is shut out at once, whatever their tokens say
    assert api.get("/me", headers=bearer(pair["access_token"])).status_code == 200
    assert api.company.run("users", "disable", "contador").exit_code == 0
    assert api.get("/me", headers=bearer(pair["access_token"])).status_code == 401
    assert api.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401
    # service tokens are Bearer tokens as they are; a revoked one is not
    service = api.company.tokens["gerente"]
    assert api.get("/me", headers=bearer(service)).json()["username"] == "gerente"
    assert api.company.run("tokens", "revoke", "test-gerente").exit_code == 0
    assert api.get("/me", headers=bearer(service)).status_code == 401


def test_every_endpoint_as_every_role(api):
    """The permission matrix of the CLI, endpoint by endpoint; a refusal is 403 and changes nothing."""
    from tests.dbstate import snapshot

    inv = api.company.invoice_id
    cases = [  # (method, path, body, who may)
        ("get", "/me", None, {"contador", "gerente", "administrador"}),
        ("get", "/clients", None, {"contador", "gerente", "administrador"}),
        ("get", "/clients/20131312955", None, {"contador", "gerente", "administrador"}),
        ("get", "/suppliers", None, {"contador", "gerente", "administrador"}),
        ("get", "/suppliers/20100113610", None, {"contador", "gerente", "administrador"}),
        ("get", "/invoices?kind=cxc&limit=10", None, {"contador", "gerente", "administrador"}),
        ("get", f"/invoices/{inv}", None, {"contador", "gerente", "administrador"}),
        ("post", f"/invoices/{inv}/payments", {"amount": "10.00"}, {"contador", "administrador"}),
        ("post", "/clients", {"doc": "{ruc}", "name": "NUEVO {n}", "lookup": False}, {"contador", "administrador"}),
        ("post", "/suppliers", {"doc": "{ruc}", "name": "NUEVO {n}", "lookup": False}, {"contador", "administrador"}),
        ("patch", "/clients/20131312955", {"phone": "01-{n}"}, {"contador", "administrador"}),
        ("delete", "/clients/{party}", None, {"administrador"}),
        ("get", "/clients/lookup/20131312955", None, {"contador", "gerente", "administrador"}),
        ("get", f"/invoices/{inv}/payments", None, {"contador", "gerente", "administrador"}),
        ("post", "/invoices", {"kind": "cxc", "party": "20131312955", "serie": "F002", "numero": "{n}",
                               "issued": "2026-06-01", "due": "2026-07-01", "total": "118.00"},
         {"contador", "administrador"}),
        ("post", "/invoices/{new}/status", {"status": "ANULADA"}, {"contador", "administrador"}),
        ("delete", "/invoices/{new}", None, {"administrador"}),
        ("get", "/dashboard/summary", None, {"contador", "gerente", "administrador"}),
        ("get", "/dashboard/metrics?as_of=2026-06-15", None, {"gerente", "administrador"}),
        ("get", "/dashboard/aging?by_party=true", None, {"gerente", "administrador"}),
        ("get", "/dashboard/cashflow?weeks=4", None, {"gerente", "administrador"}),
        ("get", "/dashboard/top?n=5", None, {"gerente", "administrador"}),
        ("post", "/imports", "file", {"contador", "administrador"}),
        ("get", "/exports/invoices.csv?kind=cxc", None, {"gerente", "administrador"}),
    ]
    csv = ("tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total\n"
           "cxc,20131312955,SUNAT,F080,{n},2026-05-01,2026-06-01,118.00\n")
    counter = iter(range(1, 1000))
    with open_session(api.company.url, write=True) as s:  # one invoice per role for status and delete
        client = make_party(s, ruc="20100070970", name="OTRO CLIENTE")
        spare = {role: make_invoice(s, client, serie="F003", numero=n + 1).id for n, role in enumerate(USERS)}
        idle = {role: make_party(s, ruc=valid_ruc(990_000 + n)).doc_number for n, role in enumerate(USERS)}
    tokens = {role: login(api, role)["access_token"] for role in USERS}
    for method, path, body, allowed in cases:
        for role, token in tokens.items():
            before = snapshot(api.company.url)
            n = next(counter)
            where = path.replace("{new}", str(spare[role])).replace("{party}", idle[role])
            if body == "file":
                extra = {"files": {"file": ("lote.csv", csv.format(n=n).encode(), "text/csv")}}
            elif body:
                extra = {"json": {k: (v.format(n=n, ruc=valid_ruc(970_000 + n)) if isinstance(v, str) else v)
                                  for k, v in body.items()}}
            else:
                extra = {}
            got = getattr(api, method)(where, headers=bearer(token), **extra)
            if role in allowed:
                assert got.status_code in (200, 201), (path, role, got.text)
            else:
                assert got.status_code == 403, (path, role, got.text)
                assert got.json()["error"]["code"] == "forbidden" and role in got.json()["error"]["message"]
                after = snapshot(api.company.url)
                assert {k: v for k, v in after.items() if k != "api_token"} == \
                    {k: v for k, v in before.items() if k != "api_token"}, (path, role)
        nobody = getattr(api, method)(path.replace("{new}", str(spare["administrador"])).replace("{party}", "1"), **extra)
        assert nobody.status_code == 401, (path, nobody.text)


def test_json_is_the_clis_and_errors_have_its_meanings(api):
    token = bearer(login(api)["access_token"])
    inv = api.company.invoice_id
    shown = api.get(f"/invoices/{inv}", headers=token).json()
    cli = api.company.run("invoices", "show", str(inv), "--format", "json").json()
    assert shown == cli and shown["total"] == "1180.00" and shown["balance"] == "1180.00"
    paid = api.post(f"/invoices/{inv}/payments", headers=token, json={"amount": "180.00", "date": "2026-06-10"})
    assert paid.status_code == 201 and paid.json()["invoice"]["balance"] == "1000.00", paid.text
    assert api.get("/invoices/999999", headers=token).status_code == 404
    too_much = api.post(f"/invoices/{inv}/payments", headers=token, json={"amount": "5000.00"})
    assert too_much.status_code == 422 and "balance" in too_much.json()["error"]["message"]
    assert api.get("/invoices?status=NADA", headers=token).status_code == 400
    for bad in (api.get("/invoices?limit=0", headers=token), api.get("/nada", headers=token),
                api.post(f"/invoices/{inv}/payments", headers=token, json={"monto": "1.00"})):
        assert bad.status_code in (400, 404) and set(bad.json()) == {"error"}, bad.text
    listed = api.get("/invoices?limit=1", headers=token).json()
    assert len(listed) == 1 and listed == api.company.run("invoices", "list", "--limit", "1", "--format", "json").json()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cuentas_serve_api_answers_on_a_loopback_port(company, server, tmp_path):
    """The real server: `cuentas serve api` as a process (uvicorn), asked with httpx over TCP."""
    import contextlib
    import io
    import re
    from pathlib import Path

    import httpx

    assert "/auth/token" in httpx.get(f"{server}/openapi.json").json()["paths"]
    pair = httpx.post(f"{server}/auth/token", data={"username": "admin", "password": PASSWORD}).json()
    me = httpx.get(f"{server}/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200 and me.json()["username"] == "admin"
    # the README's Python example, as written but for the port, the user and the password
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## HTTP API for other programs", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    example = (example.replace("http://127.0.0.1:8000", server).replace('"ana"', '"admin"')
               .replace("clave-de-ana-2026", PASSWORD))
    with open_session(company.url, write=True) as s:
        make_invoice(s, make_party(s, ruc="20131312955", name="SUNAT"), serie="F009", numero=9, total="118.00",
                     issued=date(2026, 4, 1), due=date(2026, 5, 1))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, "README.md", "exec"), {})  # noqa: S102 - the README's own example
    assert "F009-9 SUNAT 118.00" in printed.getvalue()
    # without a keyring the signing key is a 0600 file in the data dir
    key = tmp_path / "server-home" / "api-signing.key"
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"


def test_pages_neither_repeat_nor_skip_while_invoices_are_added(api):
    from datetime import timedelta

    with open_session(api.company.url, write=True) as s:
        party = make_party(s, ruc="20100047218", name="CLIENTE PAGINADO")
        for n in range(30):
            make_invoice(s, party, serie="F500", numero=n + 1, due=date(2026, 6, 1) + timedelta(days=n % 9))
    token = bearer(login(api, "gerente")["access_token"])
    everything = {r["id"] for r in api.get("/invoices?limit=1000", headers=token).json()}
    seen: list[int] = []
    cursor, added = None, 0
    while True:
        got = api.get("/invoices", params={"limit": 7, **({"cursor": cursor} if cursor else {})}, headers=token)
        assert got.status_code == 200, got.text
        seen += [r["id"] for r in got.json()]
        cursor = got.headers.get("x-next-cursor")
        if cursor is None:
            break
        with open_session(api.company.url, write=True) as s:  # others keep adding invoices meanwhile
            from tests.factories import valid_ruc

            other = make_party(s, ruc=valid_ruc(880_000 + added), name=f"NUEVO {added}")
            make_invoice(s, other, serie="F600", numero=added + 1, issued=date(2026, 4, 1),
                         due=date(2026, 5, 1) + timedelta(days=added * 5))
            added += 1
    assert len(seen) == len(set(seen)), "a page repeated an invoice"
    assert everything <= set(seen), "a page skipped an invoice that was there from the start"
    assert added >= 4
    assert api.get("/invoices?cursor=nada", headers=token).status_code == 400


def test_imports_upload_through_the_clis_pipeline_and_hostile_files_are_refused(api, tmp_path):
    from tests.dbstate import snapshot
    from tests.test_hostile import ZIP_BOMBS
    from tests.test_hostile_files import tiny_workbook

    token = bearer(login(api, "contador")["access_token"])
    good = ("tipo,ruc,razon_social,serie,numero,fecha_emision,fecha_vencimiento,total\n"
            "cxc,20131312955,SUNAT,F070,1,2026-05-01,2026-06-01,1.180,00\n")
    # a Spanish-Excel amount in a CSV column: the CLI's own decimal evidence applies (one row, quoted)
    good = good.replace("1.180,00", '"1.180,00"')
    done = api.post("/imports", headers=token, files={"file": ("../../etc/ventas.csv", good.encode(), "text/csv")})
    assert done.status_code == 201, done.text
    assert done.json()["new"] == 1 and done.json()["committed"] is True and done.json()["file"] == "ventas.csv"
    shown = api.get("/invoices", params={"party": "20131312955"}, headers=token).json()
    assert [r["total"] for r in shown if r["serie"] == "F070"] == ["1180.00"]
    # the same file again: skipped, as `cuentas import` would
    again = api.post("/imports", headers=token, files={"file": ("ventas.csv", good.encode(), "text/csv")})
    assert again.status_code == 201 and again.json()["new"] == 0 and again.json()["skipped"] == 1
    # rows in error: 422, the first rows named, nothing written
    bad = good.replace("2026-06-01", "2026-02-30").replace("F070", "F071")
    before = snapshot(api.company.url)
    refused = api.post("/imports", headers=token, files={"file": ("malas.csv", bad.encode(), "text/csv")})
    assert refused.status_code == 422 and refused.json()["error"]["rows"], refused.text
    # hostile workbooks: a far cell, zip bombs; each refused with a message, nothing written
    hostile = [tiny_workbook(tmp_path / "lejos.xlsx", "XFD1048576")]
    hostile += [ZIP_BOMBS[case](tmp_path / f"{case}.xlsx") for case in sorted(ZIP_BOMBS)]
    for path in hostile:
        got = api.post("/imports", headers=token, files={"file": (path.name, path.read_bytes(), "application/zip")})
        assert got.status_code == 422, (path.name, got.text)
        assert set(got.json()) == {"error"} and "Traceback" not in got.text
    empty = api.post("/imports", headers=token, files={"file": ("vacio.csv", b"", "text/csv")})
    assert empty.status_code == 400
    assert snapshot(api.company.url) == before
    # a gerente may not import
    gerente = bearer(login(api, "gerente")["access_token"])
    denied = api.post("/imports", headers=gerente, files={"file": ("ventas.csv", good.encode(), "text/csv")})
    assert denied.status_code == 403


@pytest.fixture
def server(company, tmp_path):
    """`cuentas serve api` as its own process on a loopback port; yields its base URL."""
    import httpx

    port = _free_port()
    env = {**os.environ, "CUENTAS_DATABASE_URL": company.url, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
           "CUENTAS_HOME": str(tmp_path / "server-home")}
    proc = subprocess.Popen([sys.executable, "-m", "cuentas_cli", "serve", "api", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            proc.kill()
            pytest.fail(f"the server did not start: {proc.communicate()[1].decode()[-500:]}")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _cli_process(company, *args: str, role: str) -> subprocess.CompletedProcess:  # noqa: ANN001
    env = {**os.environ, "CUENTAS_DATABASE_URL": company.url, "CUENTAS_TOKEN": company.tokens[role]}
    return subprocess.run([sys.executable, "-m", "cuentas_cli", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_a_gerente_subscribed_over_websocket_gets_a_payment_made_by_the_cli_in_another_process(company, server):
    import httpx
    from websockets.sync.client import connect

    with open_session(company.url, write=True) as s:
        client = make_party(s, ruc="20131312955", name="SUNAT")
        invoice = make_invoice(s, client, serie="F001", numero=5).id
        other = make_invoice(s, client, serie="F001", numero=6).id
    pair = httpx.post(f"{server}/auth/token", data={"username": "gerente", "password": PASSWORD}).json()
    url = server.replace("http://", "ws://") + "/events"
    with connect(url, additional_headers=bearer(pair["access_token"]), open_timeout=10) as ws:
        time.sleep(0.5)  # subscribed: what happens from now on is sent
        paid = _cli_process(company, "invoices", "pay", str(invoice), "100.00", role="contador")
        assert paid.returncode == 0, paid.stderr
        event = json.loads(ws.recv(timeout=20))
        assert event["type"] == "invoice.paid" and event["entity_id"] == str(invoice) and event["user"] == "contador"
        assert event["data"]["amount"] == "100.00" and event["data"]["paid"] == "100.00"
        # a status change by an administrador's process follows the same way
        changed = _cli_process(company, "invoices", "set-status", str(other), "ANULADA", role="administrador")
        assert changed.returncode == 0, changed.stderr
        event = json.loads(ws.recv(timeout=20))
        assert event["type"] == "invoice.status_changed" and event["entity_id"] == str(other)
        # the session ends (logout): the next batch is refused and the socket closed, not sent
        assert httpx.post(f"{server}/auth/logout", headers=bearer(pair["access_token"])).status_code == 204
        assert _cli_process(company, "invoices", "pay", str(invoice), "2.00", role="contador").returncode == 0
        ended = json.loads(ws.recv(timeout=20))
        assert ended["error"]["code"] == "unauthorized", ended
    pair = httpx.post(f"{server}/auth/token", data={"username": "gerente", "password": PASSWORD}).json()
    # nobody: the socket is closed with the reason, no event is sent
    with connect(url, open_timeout=10) as ws:
        refused = json.loads(ws.recv(timeout=10))
        assert refused["error"]["code"] == "unauthorized"
    # Server-Sent Events: the same events as text/event-stream
    with httpx.stream("GET", f"{server}/events", headers=bearer(pair["access_token"]), timeout=30) as stream:
        lines = stream.iter_lines()
        assert next(lines) == ": connected"
        paid_again = _cli_process(company, "invoices", "pay", str(invoice), "1.00", role="contador")
        assert paid_again.returncode == 0, paid_again.stderr
        for line in lines:
            if line.startswith("event: "):
                assert line == "event: invoice.paid"
                break
        data = json.loads(next(lines).removeprefix("data: "))
        assert data["entity_id"] == str(invoice) and data["data"]["amount"] == "1.00"


def test_exports_download_the_clis_files(api):
    token = bearer(login(api, "gerente")["access_token"])
    csv = api.get("/exports/invoices.csv", headers=token)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "F001" in csv.text and "1180.00" in csv.text
    xlsx = api.get("/exports/invoices.xlsx?overdue=false", headers=token)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    pdf = api.get("/exports/invoices.pdf?max_rows=10", headers=token)
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    as_json = api.get("/exports/invoices.json", headers=token).json()
    cli = api.company.run("export", "--format", "json").json()
    assert as_json == cli
    assert api.get("/exports/invoices.exe", headers=token).status_code == 400


def test_client_pages_neither_repeat_nor_skip_while_clients_are_added(api):
    with open_session(api.company.url, write=True) as s:
        for n in range(23):
            make_party(s, ruc=valid_ruc(950_000 + n), name=f"CLIENTE {n % 5} S.A.C.")  # names repeat: the id decides
    token = bearer(login(api, "contador")["access_token"])
    everything = {r["doc_number"] for r in api.get("/clients?limit=1000", headers=token).json()}
    seen, cursor, added = [], None, 0
    while True:
        got = api.get("/clients", params={"limit": 4, **({"cursor": cursor} if cursor else {})}, headers=token)
        assert got.status_code == 200, got.text
        seen += [r["doc_number"] for r in got.json()]
        cursor = got.headers.get("x-next-cursor")
        if cursor is None:
            break
        with open_session(api.company.url, write=True) as s:
            make_party(s, ruc=valid_ruc(960_000 + added), name=f"CLIENTE {added % 7} NUEVO")
        added += 1
    assert len(seen) == len(set(seen)) and everything <= set(seen) and added >= 5
    assert api.get("/clients?cursor=%%%", headers=token).status_code == 400
