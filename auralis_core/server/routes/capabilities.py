"""``GET /v1/audio/capabilities``: the loaded engine's abilities and this server's limits in one answer."""

from __future__ import annotations

from typing import get_args

from fastapi import APIRouter, Depends, Request

from ..auth import require_api_key
from ..errors import ERROR_RESPONSES
from ..schemas import AudioCapabilities, ResponseFormat, SpeechRequest, SpeedRange
from ..synthesis import served_models

router = APIRouter(dependencies=[Depends(require_api_key)], responses=ERROR_RESPONSES, tags=["audio"])


def _speed_range() -> SpeedRange:
    """The bounds `SpeechRequest.speed` validates with (one source, so the UI never drifts from it)."""
    bounds = {type(m).__name__: m for m in SpeechRequest.model_fields["speed"].metadata}
    return SpeedRange(min=bounds["Ge"].ge, max=bounds["Le"].le)


@router.get("/v1/audio/capabilities", response_model=AudioCapabilities)
async def capabilities(request: Request) -> AudioCapabilities:
    runtime = request.app.state.runtime
    tts = runtime.ready_tts()
    caps = tts.capabilities
    return AudioCapabilities(
        engine=tts.engine_name,
        models=served_models(tts, runtime.config),
        languages=list(caps.languages),
        auto_language=caps.auto_language,
        default_voice=caps.default_voice,
        voice_cloning=caps.voice_cloning,
        streaming=caps.streaming,
        sample_rate=caps.sample_rate,
        response_formats=list(get_args(ResponseFormat)),
        speed=_speed_range(),
        max_input_chars=runtime.config.max_input_chars,
        max_upload_bytes=runtime.config.max_upload_bytes,
    )
