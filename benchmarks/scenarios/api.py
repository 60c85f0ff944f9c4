"""The HTTP API under load (issue 24): `cuentas serve api` (one uvicorn process) on the demo
company, CLIENTS concurrent clients on loopback for SECONDS, each alternating `GET /invoices?limit=50`
and `GET /invoices/{id}` with a service token. Reported: p50 and p99 per request kind and the
error count, which must be 0. Baseline, the same run and load: `GET /health`, which the same
server answers without the database or a token (routing, JSON, HTTP), so the ratio is what the
ledger adds. Target: p99 at most 10x the floor's and within 2 s (with 50 clients on two cores the
wait is mostly the queue: latency is the clients over the throughput). SQLite, and PostgreSQL when given.
CUENTAS_BENCH_API_SECONDS shortens the run (default 30).
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import time

from benchmarks.harness import PYTHON, Result, postgres_database

CLIENTS = 50
SECONDS = float(os.environ.get("CUENTAS_BENCH_API_SECONDS", "30"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _load(base: str, token: str, paths: list[str], seconds: float) -> tuple[dict[str, list[float]], int]:
    import httpx

    latencies: dict[str, list[float]] = {p.split("?")[0].rstrip("0123456789"): [] for p in paths}
    errors = 0
    warm = time.monotonic() + 1.0  # the first second opens the connections: not measured
    deadline = warm + seconds
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)

    async def client(n: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits,
                                     timeout=30) as http:
            i = n
            while time.monotonic() < deadline:
                path = paths[i % len(paths)]
                i += 1
                start = time.perf_counter()
                try:
                    got = await http.get(path)
                    if got.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                if time.monotonic() > warm:
                    latencies[path.split("?")[0].rstrip("0123456789")].append(time.perf_counter() - start)

    await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    return latencies, errors


def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 100 else max(values)


def _measure(label: str, url: str, token: str, invoice_id: int, home) -> list[Result]:  # noqa: ANN001
    import httpx

    port = _free_port()
    env = {**os.environ, "CUENTAS_DATABASE_URL": url, "CUENTAS_HOME": str(home),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    proc = subprocess.Popen([PYTHON, "-m", "cuentas_cli", "serve", "api", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"the API server did not start: {proc.stderr.read().decode()[-400:]}")
        floor, floor_errors = asyncio.run(_load(base, token, ["/health"], min(10.0, SECONDS / 3)))
        ours, errors = asyncio.run(_load(base, token, ["/invoices?limit=50", f"/invoices/{invoice_id}"], SECONDS))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if errors or floor_errors:
        raise RuntimeError(f"API load test on {label}: {errors} errors ({floor_errors} on the floor)")
    floor_p99 = _pct(floor["/health"], 99)
    results = []
    for name, values in ours.items():
        p50, p99 = statistics.median(values), _pct(values, 99)
        results.append(Result(f"API {CLIENTS} clients {SECONDS:.0f} s, GET {name}{'{id}' if name.endswith('/') else ''} p99, "
                              f"{label}", p99, floor_p99, 10.0, 0, limit_s=2.0,
                              note=f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, {len(values):,} requests, 0 errors; "
                                   f"floor GET /health p99 {floor_p99 * 1000:.0f} ms"))
    return results


def run(ctx) -> list[Result]:  # noqa: ANN001
    from sqlalchemy import text

    from cuentas_cli.db.engine import dispose_engines, get_engine
    from cuentas_cli.ops import demo
    from cuentas_cli.rules.urls import normalise_url

    results: list[Result] = []
    built = demo.create_demo(folder=ctx.workdir / "api-demo")

    def service_token(url: str) -> tuple[str, int]:
        made = subprocess.run([PYTHON, "-m", "cuentas_cli", "tokens", "create", f"api-load-{os.getpid()}"],
                              env={**os.environ, "CUENTAS_DATABASE_URL": url, "CUENTAS_TOKEN": built.token},
                              capture_output=True, text=True, check=True).stdout.strip()
        with get_engine(url).connect() as conn:
            invoice = conn.execute(text("SELECT min(id) FROM invoice")).scalar_one()
        return made, invoice

    if ctx.sqlite:
        token, invoice = service_token(built.url)
        results += _measure("SQLite", built.url, token, invoice, ctx.workdir / "api-home-sqlite")
    dispose_engines()
    if ctx.postgres_url:
        with postgres_database(ctx.postgres_url, "api") as server_url:
            url = normalise_url(server_url)
            pg = demo.fill_company(url=url, examples=built.examples, today=built.today)
            built_pg_token = pg.token
            made = subprocess.run([PYTHON, "-m", "cuentas_cli", "tokens", "create", f"api-load-{os.getpid()}"],
                                  env={**os.environ, "CUENTAS_DATABASE_URL": url, "CUENTAS_TOKEN": built_pg_token},
                                  capture_output=True, text=True, check=True).stdout.strip()
            with get_engine(url).connect() as conn:
                invoice = conn.execute(text("SELECT min(id) FROM invoice")).scalar_one()
            results += _measure("PostgreSQL", url, made, invoice, ctx.workdir / "api-home-pg")
            dispose_engines()
    return results
