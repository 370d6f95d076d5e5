"""Liveness (always answers while the process runs), readiness (model loaded) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..auth import require_api_key
from ..errors import APIError
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
    response_class=Response,
    dependencies=[Depends(require_api_key)],
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}},
                                 "application/openmetrics-text": {"schema": {"type": "string"}}}},
               401: {"description": "Missing or wrong API key",
                     "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}},
)
async def metrics(request: Request) -> Response:
    """Prometheus text format 0.0.4, or OpenMetrics (with request-id exemplars) when the scraper's
    ``Accept`` asks for ``application/openmetrics-text``."""
    body, content_type = request.app.state.runtime.metrics.exposition(request.headers.get("accept"))
    return Response(body, media_type=content_type)
