"""Fixtures for the browser tests: real ``auralis serve`` processes on loopback, Debian's headless
Chromium driven by Playwright, and one screenshot per test under ``test-artifacts/playground/``.

Chromium comes from Debian (``apt-get install chromium``; scripts/test.sh installs it), never from
``playwright install``. Without it these tests skip, unless ``AURALIS_REQUIRE_BROWSER=1`` (set by
scripts/test.sh once it has installed the browser), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("AURALIS_TEST_ARTIFACTS", REPO / "test-artifacts")) / "playground"
CHROMIUM = os.environ.get("AURALIS_CHROMIUM", "/usr/bin/chromium")
API_KEY = "playground-test-key"
TONE_SERVE = [sys.executable, str(Path(__file__).with_name("serve_tone.py")), "serve", "--engine", "tone"]


def _require(what: str) -> None:
    if os.environ.get("AURALIS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required but {what}")
    pytest.skip(what)


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    api_key: str | None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(argv: list[str], api_key: str | None, log: Path) -> Iterator[Server]:
    """Run ``argv`` (an `auralis serve` command line, host and port added) until /health/ready is 200."""
    port = _free_port()
    args = [*argv, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    if api_key:
        args += ["--api-key", api_key]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
        server = Server(f"http://127.0.0.1:{port}", process, api_key)
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    pytest.fail(f"auralis serve exited with {process.returncode}: {log.read_text()[-2000:]}")
                try:
                    if httpx.get(server.url + "/health/ready", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"auralis serve not ready after 60 s: {log.read_text()[-2000:]}")
                time.sleep(0.1)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def espeak_serve(tmp_path_factory) -> Iterator[Server]:
    """`auralis serve --engine espeak` behind an API key, with a small input limit to hit."""
    auralis = Path(sys.executable).with_name("auralis")
    argv = [str(auralis) if auralis.exists() else sys.executable, *([] if auralis.exists() else ["-m", "auralis_core.cli.main"])]
    with serving([*argv, "serve", "--engine", "espeak", "--max-input-chars", "200"], API_KEY,
                 tmp_path_factory.mktemp("espeak") / "server.log") as server:
        yield server


@pytest.fixture(scope="module")
def tone_serve(tmp_path_factory) -> Iterator[Server]:
    """`auralis serve` with the tone test engine, which clones voices."""
    base = tmp_path_factory.mktemp("tone")
    with serving([*TONE_SERVE, "--voices-dir", str(base / "voices")], None, base / "server.log") as server:
        yield server


@pytest.fixture
def serve_tone(tmp_path) -> Callable[..., AbstractContextManager[Server]]:
    """`with serve_tone("--no-playground") as server:` — a tone-engine `auralis serve` with extra flags."""
    return lambda *flags, api_key=None: serving([*TONE_SERVE, *flags], api_key, tmp_path / "server.log")


# module scope: Playwright's sync API keeps an event loop running on this thread while it is open,
# which would break later tests (elsewhere in the suite) that call asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        _require(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--autoplay-policy=no-user-gesture-required", "--use-fake-ui-for-media-stream",
                  "--use-fake-device-for-media-stream", "--no-sandbox", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request) -> Iterator[object]:
    """A fresh page (own local storage) that fails the test on any JS error, and a screenshot after it."""
    context = browser.new_context(viewport={"width": 1100, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # the browser logs refused requests (401s the tests provoke) as errors; anything else counts,
    # a Content-Security-Policy violation in particular
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    outside: list[str] = []

    def only_loopback(route):  # offline: the page may load nothing from anywhere but its server
        if not route.request.url.startswith(("http://127.0.0.1", "blob:", "data:")):
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", only_loopback)
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        context.close()
        assert not errors, f"JavaScript errors on the page: {errors}"
        assert not outside, f"the page tried to load from outside the server: {outside}"
