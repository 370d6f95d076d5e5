"""Voices: list (per engine), upload reference clips to clone a voice, delete uploaded voices.

Uploaded voices are conditioning computed once by the engine and stored in the voice directory
(``--voices-dir``), so they survive restarts.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile

from ...errors import InvalidRequestError, VoiceExistsError
from ...voices import validate_voice_name
from ..auth import require_api_key
from ..errors import ERROR_RESPONSES, APIError, to_api_error
from ..schemas import ErrorResponse, VoiceDeleted, VoiceInfo, VoiceList
from ..synthesis import check_audio, check_model

if TYPE_CHECKING:
    from ...tts import TTS
    from ..runtime import ServerRuntime

router = APIRouter(dependencies=[Depends(require_api_key)], responses=ERROR_RESPONSES, tags=["voices"])


def _check_name(name: str) -> None:
    try:
        validate_voice_name(name)
    except InvalidRequestError as exc:
        raise APIError(400, str(exc), param="name", code="invalid_value") from exc


def _created_at(profile_meta: dict[str, str]) -> int:
    try:
        return int(float(profile_meta.get("created_at", "0")))
    except ValueError:
        return 0


@router.get("/v1/audio/voices", response_model=VoiceList)
async def list_voices(request: Request, model: Annotated[str | None, Query(max_length=256)] = None) -> VoiceList:
    """Built-in voices of the engine, uploaded voices, and OpenAI's names with what they map to."""
    runtime = request.app.state.runtime
    tts = runtime.ready_tts()
    if model is not None:
        check_model(tts, runtime.config, model)
    engine = tts.engine_name
    data = [VoiceInfo(id=v, name=v, created_at=0, type="builtin", engine=engine) for v in tts.engine.list_voices()]
    uploaded = tts.voices.names()
    for name in uploaded:
        meta = tts.voices.get(name).metadata
        data.append(VoiceInfo(id=name, name=name, created_at=_created_at(meta), type="audio_sample", engine=engine))
    aliases = runtime.config.aliases_for(tts.capabilities)
    for name, target in aliases.items():  # OpenAI's names and every --voice-alias
        if name not in uploaded and not tts.engine.has_voice(name):
            data.append(VoiceInfo(id=name, name=name, created_at=0, type="alias", engine=engine,
                                  alias_of=target or tts.capabilities.default_voice))
    return VoiceList(data=data)


@router.post(
    "/v1/audio/voices",
    response_model=VoiceInfo,
    status_code=201,
    responses={409: {"model": ErrorResponse, "description": "A voice with this name exists"}},
)
async def create_voice(
    request: Request,
    name: Annotated[str, Form(max_length=64)],
    audio_sample: Annotated[list[UploadFile] | None, File(description="reference clip(s), OpenAI's field name")] = None,
    files: Annotated[list[UploadFile] | None, File(description="more reference clips")] = None,
    consent: Annotated[str | None, Form(max_length=256)] = None,
    language: Annotated[str | None, Form(max_length=32)] = None,
) -> VoiceInfo:
    """Clone a voice from one or more reference clips (multipart). Conditioning is computed once."""
    runtime = request.app.state.runtime
    tts = runtime.ready_tts()
    _check_name(name)
    if not tts.capabilities.voice_cloning:
        raise APIError(400, f"engine {tts.engine_name!r} does not clone voices; use one of its built-in voices",
                       param="audio_sample", code="voice_cloning_unsupported")
    uploads = list(audio_sample or []) + list(files or [])
    try:
        if tts.engine.has_voice(name):
            raise VoiceExistsError(name)
        with tts.voices.reserve(name):  # concurrent uploads of one name: one proceeds, the rest get 409
            return await _create(runtime, tts, name, uploads, consent, language)
    except VoiceExistsError as exc:
        raise to_api_error(exc) from exc


async def _create(runtime: ServerRuntime, tts: TTS, name: str, uploads: list[UploadFile], consent: str | None,
                  language: str | None) -> VoiceInfo:
    config = runtime.config
    if not uploads:
        raise APIError(400, "send at least one reference clip as 'audio_sample' or 'files'", param="audio_sample",
                       code="missing_required_parameter")
    clips: list[bytes] = []
    total = 0
    for upload in uploads:
        data = await upload.read(config.max_upload_bytes - total + 1)
        total += len(data)
        if total > config.max_upload_bytes:
            raise APIError(413, f"upload exceeds the {config.max_upload_bytes} byte limit", param="audio_sample",
                           code="upload_too_large")
        if not data:
            raise APIError(400, f"{upload.filename or 'file'} is empty", param="audio_sample", code="invalid_audio")
        check_audio(data, "audio_sample")
        clips.append(data)
    release = runtime.acquire()
    try:
        kwargs = {"language": language} if language else {}
        metadata = {"created_at": str(int(time.time()))} | ({"consent": consent} if consent else {})
        # exclusive: of uploads of one name through several replicas sharing the store, one wins
        profile = await tts.create_voice_async(name, clips, metadata=metadata, **kwargs)
    except (APIError, VoiceExistsError):
        raise
    except Exception as exc:
        raise to_api_error(exc) from exc
    finally:
        release()
    return VoiceInfo(id=name, name=name, created_at=_created_at(profile.metadata), type="audio_sample",
                     engine=tts.engine_name)


@router.delete("/v1/audio/voices/{name}", response_model=VoiceDeleted)
async def delete_voice(request: Request, name: str) -> VoiceDeleted:
    runtime = request.app.state.runtime
    tts = runtime.ready_tts()
    _check_name(name)
    if name not in tts.voices:
        if tts.engine.has_voice(name):
            raise APIError(400, f"{name!r} is a built-in voice of {tts.engine_name!r}; only uploaded voices can be deleted",
                           param="name", code="invalid_value")
        if name in runtime.config.aliases_for(tts.capabilities):
            raise APIError(400, f"{name!r} is a voice alias (set with --voice-alias or OpenAI's default names), not an "
                           "uploaded voice; only uploaded voices can be deleted", param="name", code="invalid_value")
        raise APIError(404, f"unknown voice {name!r}", param="name", code="voice_not_found")
    tts.delete_voice(name)
    return VoiceDeleted(id=name)
