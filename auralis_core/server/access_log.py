"""Structured access log (one JSON line per request) and per-route request counters.

A pure ASGI middleware rather than ``BaseHTTPMiddleware``: the latter buffers streaming bodies
and swallows client disconnects, which would break streaming and cancellation.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("auralis.server.access")


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex[:16]
        state: dict[str, Any] = {"status": 500, "bytes": 0, "first_byte": None}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                if body and state["first_byte"] is None:
                    state["first_byte"] = time.perf_counter() - started
                state["bytes"] += len(body)
            await send(message)

        outcome = "complete"
        try:
            await self.app(scope, receive, send_wrapper)
        except BaseException:
            outcome = "aborted"
            raise
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
            if runtime is not None:
                runtime.metrics.record_request(scope["method"], route, state["status"])
            client = scope.get("client")
            log.info(json.dumps({
                "event": "access",
                "request_id": request_id,
                "method": scope["method"],
                "path": scope["path"],
                "route": route,
                "status": state["status"],
                "outcome": outcome,
                "bytes": state["bytes"],
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "first_byte_ms": None if state["first_byte"] is None else round(state["first_byte"] * 1000, 2),
                "client": f"{client[0]}:{client[1]}" if client else None,
            }))
