"""Request body limits, enforced while the body arrives (never after it has been buffered).

A body announced larger than the limit (``Content-Length``) is refused before it is read; a body
that runs past the limit while streaming (chunked, or a lying ``Content-Length``) is refused the
moment it does, and the app sees a disconnect. Voice uploads (multipart) are bounded by
``max_upload_bytes``, every other body by ``json_body_limit``.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import ServerConfig
from .errors import APIError

UPLOAD_PATHS: frozenset[str] = frozenset({"/v1/audio/voices"})


@dataclass(frozen=True)
class BodyLimit:
    """The limit for one request and how to name it in the 413."""

    max_bytes: int
    code: str
    param: str | None
    what: str

    def error(self) -> APIError:
        return APIError(413, f"{self.what} exceeds the {self.max_bytes} byte limit", param=self.param, code=self.code)


def limit_for(config: ServerConfig, path: str, content_type: str) -> BodyLimit:
    if path in UPLOAD_PATHS and content_type.startswith("multipart/"):
        return BodyLimit(config.multipart_body_limit, "upload_too_large", "audio_sample",
                         "upload (audio clips plus form fields)")
    return BodyLimit(config.json_body_limit, "request_too_large", None, "request body")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = limit_for(self.config, scope["path"], headers.get("content-type", ""))
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit.max_bytes:
            await limit.error().response()(scope, receive, send)
            return
        await _LimitedRequest(self.app, limit).run(scope, receive, send)


class _LimitedRequest:
    """One request whose body is counted as it is received; past the limit we answer 413 ourselves
    (if the app has not started its response) and the app only sees a disconnect from then on."""

    def __init__(self, app: ASGIApp, limit: BodyLimit) -> None:
        self.app = app
        self.limit = limit
        self.received = 0
        self.refused = False
        self.response_started = False

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def limited_receive() -> Message:
            if self.refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit.max_bytes:
                    self.refused = True
                    if not self.response_started:
                        self.response_started = True
                        await self.limit.error().response()(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if self.refused:
                return  # we answered 413 already; whatever the app makes of the disconnect is dropped
            if message["type"] == "http.response.start":
                self.response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not self.refused:
                raise
