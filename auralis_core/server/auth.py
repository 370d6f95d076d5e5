"""Bearer-token check. With an API key configured, every route except health needs it."""

from __future__ import annotations

import secrets

from fastapi import Request

from .errors import APIError


async def require_api_key(request: Request) -> None:
    """FastAPI dependency; compares in constant time so the key cannot be guessed byte by byte."""
    key: str | None = request.app.state.runtime.config.api_key
    if not key:
        return
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(token.strip().encode(), key.encode()):
        raise APIError(
            401,
            "Incorrect or missing API key: send 'Authorization: Bearer <key>'",
            type="invalid_request_error",
            code="invalid_api_key",
            headers={"WWW-Authenticate": "Bearer"},
        )
