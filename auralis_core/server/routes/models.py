"""``GET /v1/models`` in OpenAI's list shape (the engine name plus the served aliases), and
``GET /v1/engines``: the served engine with its voices, limits and options JSON Schema."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ...engine.describe import EngineDescription, describe_engine
from ..auth import require_api_key
from ..errors import ERROR_RESPONSES, APIError
from ..schemas import EngineList, ModelCard, ModelList
from ..synthesis import served_models

router = APIRouter(dependencies=[Depends(require_api_key)], responses=ERROR_RESPONSES, tags=["models"])


def _cards(request: Request) -> list[ModelCard]:
    runtime = request.app.state.runtime
    tts = runtime.ready_tts()
    created = request.app.state.started_at
    return [ModelCard(id=m, created=created, owned_by="auralis") for m in served_models(tts, runtime.config)]


@router.get("/v1/models", response_model=ModelList)
async def list_models(request: Request) -> ModelList:
    return ModelList(data=_cards(request))


@router.get("/v1/models/{model}", response_model=ModelCard)
async def get_model(request: Request, model: str) -> ModelCard:
    for card in _cards(request):
        if card.id == model:
            return card
    raise APIError(404, f"The model '{model}' does not exist", param="model", code="model_not_found")


def _engine(request: Request) -> EngineDescription:
    tts = request.app.state.runtime.ready_tts()
    return describe_engine(tts.engine, tts.engine_name)


@router.get("/v1/engines", response_model=EngineList, tags=["engines"])
async def list_engines(request: Request) -> EngineList:
    """The engine this server runs (one per process), as loaded: checkpoint voices and defaults."""
    return EngineList(data=[_engine(request)])


@router.get("/v1/engines/{name}", response_model=EngineDescription, tags=["engines"])
async def get_engine(request: Request, name: str) -> EngineDescription:
    description = _engine(request)
    if name != description.name:
        raise APIError(404, f"engine {name!r} is not served here; this server runs {description.name!r}",
                       param="name", code="engine_not_found")
    return description
