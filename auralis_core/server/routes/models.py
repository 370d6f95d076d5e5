"""``GET /v1/models`` in OpenAI's list shape: the engine name plus the served aliases."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ..auth import require_api_key
from ..errors import ERROR_RESPONSES, APIError
from ..schemas import ModelCard, ModelList
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
