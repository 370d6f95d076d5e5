"""`create_app`: the FastAPI application factory (routes, errors, auth, CORS, access log, lifespan)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .access_log import AccessLogMiddleware
from .auth import APIKeyMiddleware
from .chat_schemas import add_stream_schemas
from .config import ServerConfig
from .errors import install_error_handlers
from .limits import BodyLimitMiddleware
from .routes import capabilities, chat, health, models, playground, speech, voices
from .runtime import ServerRuntime
from .serving_chat import ServingChat

if TYPE_CHECKING:
    from ..tts import TTS

log = logging.getLogger("auralis.server")


def create_app(config: ServerConfig | None = None, tts: TTS | None = None) -> FastAPI:
    """Build the app. With ``tts`` the given instance is served (and not shut down by the app);
    otherwise the model named by ``config`` loads in the background after startup, and
    ``/health/ready`` says 503 until it is ready."""
    config = config or ServerConfig()
    runtime = ServerRuntime(config, tts)
    serving_chat = ServingChat(runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loader = asyncio.create_task(runtime.load()) if runtime.tts is None else None
        try:
            yield
        finally:
            runtime.stopping = True
            if loader is not None and not loader.done():
                await asyncio.gather(loader, return_exceptions=True)
            await serving_chat.aclose()
            await runtime.close()

    from .. import __version__

    app = FastAPI(
        title="Auralis",
        version=__version__,
        description="OpenAI-compatible text-to-speech server (see docs/server.md).",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.chat = serving_chat
    app.state.started_at = int(time.time())
    install_error_handlers(app)
    for module in (speech, voices, models, capabilities, chat, health):
        app.include_router(module.router)
    if config.playground:
        app.include_router(playground.router)
    # added innermost first: access log -> CORS -> API key -> body limit -> routes. The key is
    # checked before any byte of the body is read; CORS preflights (no key) are answered above it.
    app.add_middleware(BodyLimitMiddleware, config=config)
    app.add_middleware(APIKeyMiddleware, config=config)
    if config.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-Id", "X-Sample-Rate", "Retry-After"],
        )
    app.add_middleware(AccessLogMiddleware)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema with its 422 validation answers replaced by our 400 (what we send)."""
    if app.openapi_schema:
        return app.openapi_schema
    from .speech_events import event_components

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {})
    for name, definition in event_components().items():
        components.setdefault("schemas", {}).setdefault(name, definition)
    if app.state.runtime.config.api_key:
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"bearer": []}]
        for path in ("/health", "/health/ready"):
            for operation in schema["paths"].get(path, {}).values():
                operation["security"] = []
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    for name in ("HTTPValidationError", "ValidationError"):
        schema.get("components", {}).get("schemas", {}).pop(name, None)
    add_stream_schemas(schema)
    app.openapi_schema = schema
    return schema
