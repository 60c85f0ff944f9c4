"""The two doors of `GET /events` (api/events.py): a WebSocket, and Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

from cuentas_cli.api.events import Waiter, since
from cuentas_cli.errors import CuentasError, NotLoggedIn

WAIT_SECONDS = 1.0


def _company(request: Any) -> str | None:
    return request.headers.get("x-cuentas-company") or request.query_params.get("company") or None


def _batch(request: Any, last: int, base_runtime: Callable, identify: Callable, bearer_of: Callable) -> list[dict]:
    """The events after `last` for the subscriber, whose token and read permission are checked again."""
    from cuentas_cli.admin.auth import require

    rt = identify(base_runtime(request, _company(request)), bearer_of(request))
    with rt.connection() as conn:
        require(rt.actor(conn), "read")
        return since(conn, last)


def _subscribe(request: Any, base_runtime: Callable, identify: Callable, bearer_of: Callable) -> Waiter:
    from cuentas_cli.admin.auth import require

    rt = identify(base_runtime(request, _company(request)), bearer_of(request))
    waiter = Waiter(rt.url)
    with rt.connection() as conn:
        require(rt.actor(conn), "read")
        waiter.open(conn)
    return waiter


async def serve_socket(websocket: Any, base_runtime: Callable, identify: Callable, bearer_of: Callable) -> None:
    await websocket.accept()
    try:
        waiter = await asyncio.to_thread(_subscribe, websocket, base_runtime, identify, bearer_of)
    except CuentasError as exc:
        await websocket.send_json({"error": {"code": "unauthorized" if isinstance(exc, NotLoggedIn) else "forbidden",
                                             "message": exc.message}})
        await websocket.close(code=4401 if isinstance(exc, NotLoggedIn) else 4403)
        return
    last = waiter._seen
    receiver = asyncio.ensure_future(websocket.receive())
    try:
        while True:
            waiting = asyncio.ensure_future(asyncio.to_thread(waiter.wait, WAIT_SECONDS))
            done, _pending = await asyncio.wait({waiting, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                if receiver.result().get("type") == "websocket.disconnect":
                    return
                receiver = asyncio.ensure_future(websocket.receive())  # what a client sends is ignored
                continue
            try:
                batch = await asyncio.to_thread(_batch, websocket, last, base_runtime, identify, bearer_of)
            except CuentasError as exc:  # the session ended, the user was disabled
                await websocket.send_json({"error": {"code": "unauthorized", "message": exc.message}})
                await websocket.close(code=4401)
                return
            for event in batch:
                await websocket.send_json(event)
                last = event["id"]
    finally:
        receiver.cancel()
        await asyncio.to_thread(waiter.close)


def sse(rt: Any, request: Any, base_runtime: Callable, identify: Callable, bearer_of: Callable) -> Iterator[str]:
    """text/event-stream: `id`, `event` (the type) and `data` (the event's JSON) per event, a comment
    line as keep-alive; an `error` event ends the stream when the token stops being valid. The
    subscription is checked here, before the response starts (a refusal is a plain 401/403)."""
    waiter = _subscribe(request, base_runtime, identify, bearer_of)
    return _sse_lines(waiter, request, base_runtime, identify, bearer_of)


def _sse_lines(waiter: Waiter, request: Any, base_runtime: Callable, identify: Callable, bearer_of: Callable
               ) -> Iterator[str]:
    last = waiter._seen
    try:
        yield ": connected\n\n"
        while True:
            waiter.wait(WAIT_SECONDS)
            try:
                batch = _batch(request, last, base_runtime, identify, bearer_of)
            except CuentasError as exc:
                yield f"event: error\ndata: {json.dumps({'error': {'message': exc.message}})}\n\n"
                return
            for event in batch:
                yield f"id: {event['id']}\nevent: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"
                last = event["id"]
            if not batch:
                yield ": keep-alive\n\n"
    finally:
        waiter.close()
