"""``POST /v1/chat/completions``: voice chat (the relay and speech live in `ServingChat`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ..auth import require_api_key
from ..chat_schemas import CHAT_RESPONSES
from ..errors import ERROR_RESPONSES
from ..schemas import ChatRequest, ErrorResponse

router = APIRouter(dependencies=[Depends(require_api_key)], responses=ERROR_RESPONSES, tags=["chat"])


_UPSTREAM_FAILED = {"model": ErrorResponse, "description": "The upstream LLM failed: unreachable, refused, malformed or silent"}


@router.post("/v1/chat/completions", response_model=None, responses={**CHAT_RESPONSES, 502: _UPSTREAM_FAILED})
async def chat_completions(body: ChatRequest, request: Request) -> Response:
    """Relay to the upstream LLM and speak its reply as it streams (docs/server.md, "Voice chat")."""
    return await request.app.state.chat.create(body, request)
