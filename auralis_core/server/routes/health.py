"""Liveness (always answers while the process runs), readiness (model loaded) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from ..auth import require_api_key
from ..errors import APIError
from ..metrics import render
from ..schemas import ErrorResponse, Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
async def health(request: Request) -> Health:
    runtime = request.app.state.runtime
    status = "stopping" if runtime.stopping else runtime.status
    engine = runtime.tts.engine_name if runtime.tts is not None else runtime.config.engine
    return Health(status=status, engine=engine, detail=runtime.detail)


@router.get("/health/ready", response_model=Health, responses={503: {"model": ErrorResponse, "description": "Not ready"}})
async def ready(request: Request) -> Health:
    runtime = request.app.state.runtime
    if runtime.stopping:
        raise APIError(503, "the server is shutting down", type="server_error", code="shutting_down")
    tts = runtime.ready_tts()
    return Health(status="ok", engine=tts.engine_name)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    dependencies=[Depends(require_api_key)],
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, 401: {"model": ErrorResponse}},
)
async def metrics(request: Request) -> PlainTextResponse:
    """Prometheus text format (version 0.0.4)."""
    return PlainTextResponse(render(request.app.state.runtime), media_type="text/plain; version=0.0.4; charset=utf-8")
