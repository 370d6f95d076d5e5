"""The playground's HTTP side: page and assets (public, CSP, package data), ``ServerConfig.playground``
and ``GET /v1/audio/capabilities`` that the page is built from. The page itself runs in
tests/playground, the `--no-playground` flag too (on a real `auralis serve`)."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
from livesrv import LiveServer, assert_error

from auralis_core.server import ServerConfig, create_app

REPO = Path(__file__).resolve().parents[2]
PLAYGROUND = REPO / "auralis_core" / "server" / "playground"


def test_page_and_assets_are_public_the_api_is_not(tone_tts):
    with LiveServer(create_app(ServerConfig(api_key="k", max_input_chars=300), tts=tone_tts)) as server:
        for path in ("/", "/playground"):
            page = httpx.get(server.url + path)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert '<select id="voice"' in page.text
            assert "default-src 'self'" in page.headers["content-security-policy"]
        # every file the page references is served, with a type browsers accept for it
        refs = re.findall(r'(?:src|href)="(playground/[^"]+)"', page.text)
        imports = re.findall(r'from "\./([^"]+)"', (PLAYGROUND / "app.js").read_text())
        assert refs and imports
        for ref in refs + [f"playground/{name}" for name in imports]:
            asset = httpx.get(f"{server.url}/{ref}")
            assert asset.status_code == 200, ref
            expected = "text/javascript" if ref.endswith(".js") else "text/css"
            assert asset.headers["content-type"].startswith(expected)
        assert_error(httpx.get(server.url + "/playground/nope.js"), 404)
        assert_error(httpx.get(server.url + "/playground/..%2Fapp.py"), 404)
        assert_error(httpx.get(server.url + "/v1/audio/capabilities"), 401)
        caps = httpx.get(server.url + "/v1/audio/capabilities", headers={"Authorization": "Bearer k"}).json()
    assert caps["engine"] == "tone" and caps["voice_cloning"] is True and caps["streaming"] is True
    assert caps["models"][0] == "tone" and "tts-1" in caps["models"]
    assert caps["languages"] == ["en", "de"] and caps["default_voice"] == "low"
    assert caps["max_input_chars"] == 300 and caps["speed"] == {"min": 0.25, "max": 4.0}
    assert caps["response_formats"] == ["mp3", "opus", "aac", "flac", "wav", "pcm"]


def test_wheel_ships_the_page(tmp_path):
    """The page is package data: a wheel built from this tree carries every file of it."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(REPO)], check=True, capture_output=True, timeout=180)
    (wheel,) = tmp_path.glob("auralis_core-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for file in PLAYGROUND.iterdir():
        assert f"auralis_core/server/playground/{file.name}" in names
