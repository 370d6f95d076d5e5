"""The web playground: one static page (HTML, CSS, ES modules) shipped inside the package.

No build step and no CDN: the files under ``auralis_core/server/playground/`` are served as they
are, so the page works on a machine with no internet. The page itself is public (a browser cannot
send a bearer header when it navigates); every API call it makes sends the key typed into it.
"""

from __future__ import annotations

import asyncio
from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import Response

from ..errors import APIError

router = APIRouter(include_in_schema=False)

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}

# Everything the page loads comes from this server; blob: is the audio it made (playback, download).
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'")


@cache
def _assets() -> dict[str, bytes]:
    """Name -> bytes of every playground file, read once (the page is a few tens of kB)."""
    root = files("auralis_core.server") / "playground"
    return {item.name: item.read_bytes() for item in root.iterdir()
            if item.is_file() and any(item.name.endswith(ext) for ext in _TYPES)}


async def _serve(name: str) -> Response:
    assets = await asyncio.to_thread(_assets)  # file reads stay off the event loop (first call only)
    if name not in assets:
        raise APIError(404, f"no playground file {name!r}", code="not_found")
    content_type = _TYPES[name[name.rindex("."):]]
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if name.endswith(".html"):
        headers["Content-Security-Policy"] = _CSP
    return Response(assets[name], media_type=content_type, headers=headers)


@router.get("/")
async def index() -> Response:
    return await _serve("index.html")


@router.get("/playground")
async def playground() -> Response:
    return await _serve("index.html")


@router.get("/playground/{name}")
async def asset(name: str) -> Response:
    return await _serve(name)
