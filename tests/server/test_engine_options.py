"""Engine options over HTTP: the engines route publishes their JSON Schema, `--option` sets
server-wide defaults (checked at start-up), a request's own options win."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import httpx
import openai
import pytest
from audio_utils import same_voice
from livesrv import LiveServer, wait_for

from auralis_core.server import ServerConfig, create_app


def test_engines_route_describes_the_loaded_engine(espeak_server):
    engines = httpx.get(espeak_server.url + "/v1/engines").json()
    assert engines["object"] == "list" and [e["name"] for e in engines["data"]] == ["espeak"]
    espeak = httpx.get(espeak_server.url + "/v1/engines/espeak").json()
    pitch = espeak["options_schema"]["properties"]["pitch"]
    assert (pitch["minimum"], pitch["maximum"], pitch["default"]) == (0, 100, 50)
    assert espeak["options_schema"]["additionalProperties"] is False
    assert espeak["default_options"] == {"pitch": 50}
    assert espeak["voice_aliases"]["nova"] == "en-us+f2"
    missing = httpx.get(espeak_server.url + "/v1/engines/xttsv2")
    assert missing.status_code == 404 and missing.json()["error"]["param"] == "name"


def test_server_default_options_and_request_precedence():
    app = create_app(ServerConfig(engine="espeak", options={"pitch": 90}))
    with LiveServer(app) as server:
        assert wait_for(lambda: httpx.get(server.url + "/health/ready").status_code == 200, 60)
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="none")
        base = dict(model="tts-1", voice="alloy", input="Default options.", response_format="wav")
        server_default = client.audio.speech.create(**base).content
        explicit = client.audio.speech.create(**base, extra_body={"pitch": 90}).content
        own = client.audio.speech.create(**base, extra_body={"pitch": 50}).content
        assert same_voice(server_default, explicit) and not same_voice(own, server_default)
        assert httpx.get(server.url + "/v1/engines/espeak").json()["default_options"] == {"pitch": 50}


def test_bad_server_options_fail_at_start_up():
    app = create_app(ServerConfig(engine="espeak", options={"tempo": 2}))
    with LiveServer(app) as server:
        assert wait_for(lambda: httpx.get(server.url + "/health").json().get("status") == "failed", 60)
        detail = httpx.get(server.url + "/health").json()["detail"]
        assert "unknown option 'tempo'" in detail and "valid options: pitch" in detail


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_flags_come_from_server_config():
    """Every ServerConfig field has a flag (`--retry-after-seconds` included), and `--option`
    reaches requests in a real `auralis serve` process."""
    from auralis_core.cli.config_flags import flag_name

    help_text = subprocess.run([sys.executable, "-m", "auralis_core.cli.main", "serve", "--help"],
                               capture_output=True, text=True, timeout=60).stdout
    for name, info in ServerConfig.model_fields.items():
        assert flag_name(name, info) in help_text, name
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "auralis_core.cli.main", "serve", "--engine", "espeak", "--port", str(port),
         "--option", "pitch=80", "--retry-after-seconds", "7", "--log-level", "warning"],
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            try:
                return httpx.get(url + "/health/ready").status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_for(ready, 60)
        client = openai.OpenAI(base_url=url + "/v1", api_key="none")
        base = dict(model="tts-1", voice="alloy", input="Flags.", response_format="wav")
        default, explicit = (client.audio.speech.create(**base, extra_body=body).content for body in ({}, {"pitch": 80}))
        assert same_voice(default, explicit)
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.parametrize(("args", "needle"), [
    (["--option", "pitch"], "expected KEY=VALUE"),
    (["--port", "70000"], "--port"),
    (["--retry-after-seconds", "0"], "--retry-after-seconds"),
])
def test_bad_serve_flags_are_usage_errors(args, needle):
    result = subprocess.run([sys.executable, "-m", "auralis_core.cli.main", "serve", *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and needle in result.stderr, result.stderr
