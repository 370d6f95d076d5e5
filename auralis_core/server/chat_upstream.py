"""The upstream LLM of voice chat: where a request may go, with which key, and reading its reply.

Security model (docs/server.md, "Voice chat"): the server's ``llm_api_key`` is only ever sent to
the configured ``llm_base_url``. A per-request ``llm_base_url`` is refused unless the operator
listed allowed base URLs (``llm_allowed_urls``); an allowed one must come with the client's own
``llm_api_key`` and never gets the server's. Redirects are not followed (an allowed host could
otherwise bounce the request anywhere). Whatever goes wrong upstream reaches the client as a
short message of ours (502 ``upstream_error`` and friends); the upstream's own body goes to the
server log, truncated, never to the client.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote

import httpx
from pydantic import ValidationError

from ..errors import InvalidRequestError
from .chat_schemas import ChatCompletionChunk
from .errors import APIError

log = logging.getLogger("auralis.server.chat")

_LOGGED_BODY = 500
"""Characters of an upstream error body kept in the server log."""
_MAX_EVENT_BYTES = 1 << 20
"""One SSE line or event larger than this is a fault, not something to buffer without end."""
_DEFAULT_PORTS = {"http": 80, "https": 443}

T = TypeVar("T")


# --- where a request may go -------------------------------------------------------------------
def parse_base_url(text: str, param: str) -> httpx.URL:
    """An absolute http(s) base URL without credentials, query, fragment or dot segments."""
    if not text or len(text) > 2048 or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise InvalidRequestError(f"{param} must be an http(s) URL of at most 2048 characters, without spaces", param)
    try:
        url = httpx.URL(text)
        port = url.port
    except (httpx.InvalidURL, ValueError) as exc:
        raise InvalidRequestError(f"{param} is not a valid URL: {exc}", param) from None
    if url.scheme not in _DEFAULT_PORTS or not url.raw_host:
        raise InvalidRequestError(f"{param} must be an absolute http:// or https:// URL", param)
    if port is not None and not 0 < port < 65536:
        raise InvalidRequestError(f"{param} has an invalid port {port}", param)
    if url.userinfo:
        raise InvalidRequestError(f"{param} must not carry credentials; send llm_api_key instead", param)
    if url.query or url.fragment or b"?" in url.raw_path or "\\" in text:
        raise InvalidRequestError(f"{param} must be a base URL without query or fragment", param)
    if any(seg in (".", "..") for seg in unquote(url.path).split("/")):
        raise InvalidRequestError(f"{param} must not contain '.' or '..' path segments", param)
    return url


@dataclass(frozen=True)
class AllowedBase:
    """One entry of the allow-list: same scheme, host and port, and a path at or below its path."""

    scheme: str
    host: bytes
    port: int
    path: str

    @classmethod
    def from_url(cls, url: httpx.URL) -> AllowedBase:
        return cls(url.scheme, url.raw_host.lower(), url.port or _DEFAULT_PORTS[url.scheme], url.path.rstrip("/"))

    def admits(self, url: httpx.URL) -> bool:
        other = AllowedBase.from_url(url)
        if (other.scheme, other.host, other.port) != (self.scheme, self.host, self.port):
            return False
        return other.path == self.path or other.path.startswith(self.path + "/")


@dataclass(frozen=True)
class UpstreamTarget:
    """Where one chat request goes and what it sends."""

    url: httpx.URL
    headers: dict[str, str]
    configured: bool  # True: the server's --llm-url; False: the client's llm_base_url


def _endpoint(base: httpx.URL) -> httpx.URL:
    return base.copy_with(path=base.path.rstrip("/") + "/chat/completions")


def resolve_target(configured_url: str | None, configured_key: str | None, allowed: list[str],
                   base_url: str | None, api_key: str | None) -> UpstreamTarget:
    """Apply the security model above to one request's ``llm_base_url`` / ``llm_api_key``."""
    headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
    if base_url is None:
        if not configured_url:
            raise APIError(400, "no upstream LLM configured: start the server with --llm-url",
                           param="llm_base_url", code="llm_not_configured")
        key = api_key or configured_key
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return UpstreamTarget(_endpoint(httpx.URL(configured_url)), headers, configured=True)
    url = parse_base_url(base_url, "llm_base_url")
    if not allowed:
        raise APIError(400, "this server does not accept llm_base_url (the operator fixes the upstream with --llm-url)",
                       param="llm_base_url", code="llm_override_disabled")
    if not any(AllowedBase.from_url(httpx.URL(entry)).admits(url) for entry in allowed):
        raise APIError(400, "llm_base_url is not on this server's allow-list (--llm-allow-url)",
                       param="llm_base_url", code="llm_base_url_not_allowed")
    if not api_key:
        raise APIError(400, "a request that sets llm_base_url must bring its own llm_api_key",
                       param="llm_api_key", code="missing_required_parameter")
    headers["Authorization"] = f"Bearer {api_key}"
    return UpstreamTarget(_endpoint(url), headers, configured=False)


# --- faults -----------------------------------------------------------------------------------
def upstream_error(message: str, status: int = 502, code: str = "upstream_error",
                   headers: dict[str, str] | None = None) -> APIError:
    return APIError(status, message, type="server_error" if status >= 500 else "invalid_request_error",
                    code=code, headers=headers)


def _status_error(status: int) -> APIError:
    """Our answer to an upstream HTTP error; the upstream's body is not part of it."""
    if status in (401, 403, 407):
        # not 401: the client's key to *this* server was fine, and openai clients would say so
        return upstream_error(f"the upstream LLM refused this server's credentials (HTTP {status})",
                              code="upstream_auth_failed")
    if status == 429:
        return upstream_error("the upstream LLM is busy (HTTP 429); retry shortly", status=503,
                              code="upstream_busy", headers={"Retry-After": "1"})
    if 400 <= status < 500:
        return upstream_error(f"the upstream LLM rejected the request (HTTP {status}); the server log has its answer",
                              status=400)
    return upstream_error(f"the upstream LLM answered HTTP {status}")


def transport_error(exc: BaseException, started: bool) -> APIError:
    """An httpx/OS failure while talking to the upstream, as the client should see it."""
    if isinstance(exc, httpx.PoolTimeout):
        return upstream_error("every connection to the upstream LLM is busy; retry shortly", status=503, code="upstream_busy",
                              headers={"Retry-After": "1"})
    if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
        return upstream_error(f"the upstream LLM sent nothing for too long ({type(exc).__name__})")
    if not started and isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, OSError)):
        return upstream_error(f"cannot reach the upstream LLM: {type(exc).__name__}", code="upstream_unreachable")
    return upstream_error(f"the connection to the upstream LLM failed: {type(exc).__name__}")


def _log_body(target: UpstreamTarget, status: int, body: bytes) -> None:
    text = body.decode("utf-8", errors="replace")
    shown = text[:_LOGGED_BODY] + ("…" if len(text) > _LOGGED_BODY else "")
    log.warning("upstream %s answered %d: %s", target.url, status, shown)


# --- the reply --------------------------------------------------------------------------------
class Deadline:
    """The total time the upstream may take (``--request-timeout``); None = no bound."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._end = None if seconds is None else time.monotonic() + seconds

    async def run(self, awaitable: Awaitable[T]) -> T:
        if self._end is None:
            return await awaitable
        remaining = self._end - time.monotonic()
        try:
            if remaining <= 0:
                raise asyncio.TimeoutError
            return await asyncio.wait_for(awaitable, remaining)
        except asyncio.TimeoutError:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise APIError(504, f"the upstream LLM did not finish within the {self.seconds:g} s request timeout",
                           type="server_error", code="timeout") from None


@dataclass(frozen=True)
class UpstreamEvent:
    """One ``data:`` event of the upstream stream: the JSON as sent (relayed unchanged) and its
    typed reading (used for our own logic)."""

    raw: dict[str, Any]
    chunk: ChatCompletionChunk


class UpstreamReply:
    """An open streaming reply. ``events()`` yields typed events and raises an `APIError` for
    every fault: a non-SSE or non-JSON line, a wrong shape, an in-band error, a cut connection, a
    stream that ends without ``[DONE]``. Silence is bounded by the client's read timeout, the
    whole reply by the `Deadline`."""

    def __init__(self, target: UpstreamTarget, response: httpx.Response, deadline: Deadline) -> None:
        self.target = target
        self.response = response
        self.deadline = deadline
        self.started = False  # True once a byte of the body was read

    @classmethod
    async def open(cls, client: httpx.AsyncClient, target: UpstreamTarget, body: bytes, deadline: Deadline) -> UpstreamReply:
        request = client.build_request("POST", target.url, content=body, headers=target.headers)
        try:
            response = await deadline.run(client.send(request, stream=True))
        except (httpx.HTTPError, OSError) as exc:
            raise transport_error(exc, started=False) from exc
        reply = cls(target, response, deadline)
        try:
            await reply._check_status()
        except BaseException:
            await reply.aclose()
            raise
        return reply

    async def _check_status(self) -> None:
        status = self.response.status_code
        if status != 200:
            try:
                body = await self.deadline.run(self._read_some(4 * _LOGGED_BODY))
            except (httpx.HTTPError, OSError, APIError):
                body = b""
            _log_body(self.target, status, body)
            raise _status_error(status)
        kind = self.response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "text/event-stream":
            log.warning("upstream %s answered 200 with content-type %r instead of an event stream", self.target.url, kind)
            raise upstream_error(f"the upstream LLM did not stream (content-type {kind or 'missing'!r})")

    async def _read_some(self, limit: int) -> bytes:
        out = b""
        async for piece in self.response.aiter_raw():
            out += piece
            if len(out) >= limit:
                break
        return out

    async def aclose(self) -> None:
        await self.response.aclose()

    async def events(self) -> AsyncIterator[UpstreamEvent]:
        lines = self._lines()
        data: list[str] = []
        size = 0
        while True:
            line = await self.deadline.run(self._next_line(lines))
            if line is None:
                if "\n".join(data).strip() == "[DONE]":  # last event without its blank line
                    return
                raise upstream_error("the upstream LLM stream ended without [DONE] (the reply may be cut short)")
            if line == "":
                if not data:
                    continue
                payload, data, size = "\n".join(data), [], 0
                if payload.strip() == "[DONE]":
                    await self.deadline.run(self._drain(lines))
                    return
                yield self._parse(payload)
                continue
            if line.startswith(":"):
                continue  # comment: keep-alive
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                size += len(value)
                if size > _MAX_EVENT_BYTES:
                    raise upstream_error("the upstream LLM sent an event larger than 1 MiB")
                data.append(value)
            elif field not in ("event", "id", "retry"):
                log.warning("upstream %s sent a line that is not server-sent events: %.200r", self.target.url, line)
                raise upstream_error("the upstream LLM sent a line that is not a server-sent event")

    async def _drain(self, lines: AsyncIterator[str]) -> None:
        """Read what follows ``[DONE]`` (normally just the end of the body), so that the connection
        goes back to the pool for the next request; a long tail is cut and the connection closed."""
        try:
            for _ in range(64):
                await lines.__anext__()
        except StopAsyncIteration:
            pass
        except (httpx.HTTPError, OSError, APIError) as exc:  # the reply itself is complete
            log.debug("upstream %s: after [DONE]: %s", self.target.url, exc)

    async def _next_line(self, lines: AsyncIterator[str]) -> str | None:
        try:
            return await lines.__anext__()
        except StopAsyncIteration:
            return None
        except (httpx.HTTPError, OSError) as exc:
            raise transport_error(exc, started=True) from exc

    async def _lines(self) -> AsyncIterator[str]:
        """Lines of the body (``\\n``, ``\\r\\n`` or ``\\r``), strict UTF-8, each at most 1 MiB."""
        decoder = codecs.getincrementaldecoder("utf-8")()
        buffer = ""
        async for piece in self.response.aiter_raw():
            self.started = True
            try:
                buffer += decoder.decode(piece)
            except UnicodeDecodeError:
                raise upstream_error("the upstream LLM sent bytes that are not UTF-8") from None
            held = "\r" if buffer.endswith("\r") else ""  # may be the first half of a \r\n
            *complete, buffer = buffer[: len(buffer) - len(held)].replace("\r\n", "\n").replace("\r", "\n").split("\n")
            buffer += held
            for line in complete:
                yield line
            if len(buffer) > _MAX_EVENT_BYTES:
                raise upstream_error("the upstream LLM sent a line longer than 1 MiB")
        if buffer.rstrip("\r"):
            yield buffer.rstrip("\r")

    def _parse(self, payload: str) -> UpstreamEvent:
        try:
            raw = json.loads(payload)
        except ValueError:
            log.warning("upstream %s sent data that is not JSON: %.200r", self.target.url, payload)
            raise upstream_error("the upstream LLM sent an event that is not JSON") from None
        if isinstance(raw, dict) and raw.get("error") is not None:
            log.warning("upstream %s reported an error in its stream: %.500s", self.target.url, payload)
            raise upstream_error("the upstream LLM reported an error in its stream; the server log has it")
        try:
            chunk = ChatCompletionChunk.model_validate(raw)
        except ValidationError as exc:
            log.warning("upstream %s sent a chunk of the wrong shape (%s): %.200r", self.target.url,
                        exc.errors()[0].get("msg"), payload)
            raise upstream_error("the upstream LLM sent a chunk that is not a chat.completion.chunk") from None
        return UpstreamEvent(raw, chunk)
