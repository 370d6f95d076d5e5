"""Bearer-token check. With an API key configured, every route except health needs it.

The check is an ASGI middleware, not a route dependency: FastAPI reads (and parses) the whole
body before it runs dependencies, so a dependency would let anyone without the key make the
server buffer any amount of data. The middleware answers 401 before a byte of the body is read.
"""

from __future__ import annotations

import secrets

from fastapi import Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from .config import ServerConfig
from .errors import APIError

PUBLIC_PATHS: frozenset[str] = frozenset({"/health", "/health/ready"})
"""Probes answer without the key (load balancers and orchestrators do not hold it)."""

DOCS_PATHS: frozenset[str] = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
"""Public only with ``ServerConfig.public_docs`` (``--public-docs``)."""

PLAYGROUND_PATHS: frozenset[str] = frozenset({"/", "/playground"})
PLAYGROUND_ASSETS = "/playground/"
"""The playground page and its static files are public (a browser cannot send a bearer header when it
navigates); every API call the page makes sends the key the user typed into it."""


def key_matches(authorization: str, key: str) -> bool:
    """``Authorization: Bearer <key>``, compared in constant time so the key cannot be guessed byte by byte."""
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(token.strip().encode(), key.encode())


def unauthorized() -> APIError:
    return APIError(
        401,
        "Incorrect or missing API key: send 'Authorization: Bearer <key>'",
        type="invalid_request_error",
        code="invalid_api_key",
        headers={"WWW-Authenticate": "Bearer"},
    )


class APIKeyMiddleware:
    """Refuses requests without the configured key before the app (and its body parsing) runs."""

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.key = config.api_key
        self.public = PUBLIC_PATHS | (DOCS_PATHS if config.public_docs else frozenset())
        self.public_prefix: str | None = None
        if config.playground:
            self.public |= PLAYGROUND_PATHS
            self.public_prefix = PLAYGROUND_ASSETS

    def _is_public(self, path: str) -> bool:
        return path in self.public or (self.public_prefix is not None and path.startswith(self.public_prefix))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.key or self._is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        if not key_matches(Headers(scope=scope).get("authorization", ""), self.key):
            await unauthorized().response()(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def require_api_key(request: Request) -> None:
    """Route dependency: the same check again, for routers mounted in an app without the middleware."""
    key: str | None = request.app.state.runtime.config.api_key
    if key and not key_matches(request.headers.get("authorization", ""), key):
        raise unauthorized()
