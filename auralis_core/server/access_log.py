"""Request ids and the structured access log (one JSON line per request), plus per-route counters.

Every request gets an id: the client's ``X-Request-Id`` when it is safe to echo (at most 64
characters of ``A-Z a-z 0-9 . _ : -``), otherwise a fresh one. It is returned as
``X-Request-Id``, bound to the logging context (so engine log lines carry it), stored in
``request.state.request_id`` (routes make it the ``TTSRequest``'s id, hence metrics exemplars),
and written to the access log.

A pure ASGI middleware rather than ``BaseHTTPMiddleware``: the latter buffers streaming bodies
and swallows client disconnects, which would break streaming and cancellation.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..log_context import request_id_var

log = logging.getLogger("auralis.server.access")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_from(headers: Headers) -> str:
    """The client's id if it is safe to log and echo, else a new one."""
    given = headers.get("x-request-id")
    if given is not None and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex[:16]


@dataclass
class _Exchange:
    """What the access log line says about one request."""

    status: int = 500
    bytes: int = 0
    first_byte: float | None = None
    complete: bool = False  # the last body message went out
    disconnected: bool = False  # the client left before that

    def outcome(self, failed: bool) -> str:
        if self.complete:
            return "complete"
        if self.disconnected:
            return "disconnect"
        return "error" if failed else "incomplete"


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = request_id_from(Headers(scope=scope))
        scope.setdefault("state", {})["request_id"] = request_id
        exchange = _Exchange()

        async def watching_receive() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect" and not exchange.complete:
                exchange.disconnected = True
            return message

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                message["headers"] = list(message.get("headers", [])) + [(b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                if body and exchange.first_byte is None:
                    exchange.first_byte = time.perf_counter() - started
                exchange.bytes += len(body)
            try:
                await send(message)
            except OSError:
                exchange.disconnected = True
                raise
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                exchange.complete = True

        failed = False
        token = request_id_var.set(request_id)
        try:
            await self.app(scope, watching_receive, send_wrapper)
        except BaseException:
            failed = True
            raise
        finally:
            request_id_var.reset(token)
            self._record(scope, request_id, exchange, failed, started)

    @staticmethod
    def _record(scope: Scope, request_id: str, exchange: _Exchange, failed: bool, started: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
        if runtime is not None:
            runtime.metrics.record_request(scope["method"], route, exchange.status)
        client = scope.get("client")
        log.info(json.dumps({
            "event": "access",
            "request_id": request_id,
            "method": scope["method"][:16],
            "path": scope["path"][:512],
            "route": route,
            "status": exchange.status,
            "outcome": exchange.outcome(failed),
            "bytes": exchange.bytes,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "first_byte_ms": None if exchange.first_byte is None else round(exchange.first_byte * 1000, 2),
            "client": f"{client[0]}:{client[1]}" if client else None,
        }))
