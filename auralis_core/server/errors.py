"""Every failure leaves the server as OpenAI's error JSON with the status code clients expect.

``{"error": {"message": ..., "type": ..., "param": ..., "code": ...}}``. Typed Auralis errors map
to 4xx; anything else is a 500 whose body never carries a traceback (it is logged instead).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import (
    AudioDecodeError,
    CapabilityError,
    EngineNotFoundError,
    GenerationTimeoutError,
    InvalidRequestError,
    UnsupportedLanguageError,
    VoiceExistsError,
    VoiceNotFoundError,
)
from ..log_context import request_id_var

log = logging.getLogger("auralis.server")


class APIError(Exception):
    """An error with an HTTP status, rendered in OpenAI's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def to_api_error(exc: BaseException) -> APIError:
    """Map an exception raised while serving a request to the error the client should see."""
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, VoiceExistsError):
        return APIError(409, str(exc), param="name", code="voice_exists")
    if isinstance(exc, VoiceNotFoundError):
        return APIError(404, str(exc), param="voice", code="voice_not_found")
    if isinstance(exc, EngineNotFoundError):
        return APIError(404, str(exc), param="model", code="model_not_found")
    if isinstance(exc, UnsupportedLanguageError):
        return APIError(400, str(exc), param="language", code="unsupported_language")
    if isinstance(exc, AudioDecodeError):
        return APIError(400, str(exc), param=exc.param, code="invalid_audio")
    if isinstance(exc, CapabilityError):
        return APIError(400, str(exc), code="unsupported_capability")
    if isinstance(exc, InvalidRequestError):
        return APIError(400, str(exc), param=_SERVER_PARAMS.get(exc.param, exc.param), code="invalid_value")
    if isinstance(exc, GenerationTimeoutError):
        return APIError(504, str(exc), type="server_error", code="timeout")
    log.error("internal error while serving a request", exc_info=exc)
    return APIError(500, f"internal server error; see the server log for request {request_id_var.get()}",
                    type="server_error", code="internal_error")


_SERVER_PARAMS = {"text": "input"}
"""Core request fields under the name the HTTP API gives them."""


def _loc_to_param(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    # pydantic adds the union member it tried ("str", "VoiceObject") to the location; drop it
    parts = [p for p in parts if not p[:1].isupper() and p not in ("str", "function-after[str]")]
    return ".".join(parts) or None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(_: Request, exc: APIError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        param = _loc_to_param(tuple(first.get("loc", ())))
        kind = first.get("type", "invalid_value")
        if kind == "json_invalid":  # its location is a character offset, not a field
            at = f" at character {param}" if param else ""
            message = f"The request body is not valid JSON: {first.get('ctx', {}).get('error', 'invalid')}{at}"
            param, code = None, "invalid_json"
        elif kind == "extra_forbidden":
            message = f"Unrecognized request argument supplied: {param}"
            code = "unknown_parameter"
        else:
            message = f"Invalid value for '{param}': {first.get('msg', 'invalid')}" if param else str(first.get("msg", "invalid request"))
            code = "missing_required_parameter" if kind == "missing" else "invalid_value"
        return APIError(400, message, param=param, code=code).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "invalid_api_key"}
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        err = APIError(exc.status_code, str(exc.detail), type=kind, code=codes.get(exc.status_code))
        err.headers = dict(exc.headers or {})
        return err.response()

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return to_api_error(exc).response()


def _error_responses() -> dict[int | str, dict[str, Any]]:
    from .schemas import ErrorResponse

    described = {
        400: "Invalid request",
        401: "Missing or wrong API key",
        404: "Unknown model or voice",
        413: "Input or upload too large",
        429: "Server busy; retry after the Retry-After header",
        500: "Server fault (no details leaked)",
        503: "Model still loading",
        504: "Generation timed out",
    }
    return {code: {"model": ErrorResponse, "description": text} for code, text in described.items()}


ERROR_RESPONSES = _error_responses()
