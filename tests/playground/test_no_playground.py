"""`auralis serve --no-playground`: no page, and (behind a key) nothing public where it was."""

from __future__ import annotations

import httpx


def test_no_playground_flag(serve_tone):
    with serve_tone("--no-playground", api_key="k") as server:
        for path in ("/", "/playground", "/playground/app.js"):
            assert httpx.get(server.url + path).status_code == 401  # not public any more
            assert httpx.get(server.url + path, headers=server.headers()).status_code == 404
        assert httpx.get(server.url + "/v1/audio/capabilities", headers=server.headers()).status_code == 200
