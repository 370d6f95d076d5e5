"""The OpenAI-compatible server with Piper: real uvicorn on loopback, the official openai client."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest
from auralis_piper.engine import PiperEngine

from auralis_core import TTS, TTSOutput
from auralis_core.server import ServerConfig, create_app
from auralis_core.server.config import OPENAI_VOICES

sys.path.append(str(Path(__file__).resolve().parents[3] / "tests" / "server"))  # livesrv; appended: never shadows a conftest
from livesrv import LiveServer, wait_for


@contextmanager
def _serve(app) -> Iterator[LiveServer]:
    """A real uvicorn on loopback (the core tests' helper), once the engine has loaded."""
    with LiveServer(app) as server:
        assert wait_for(lambda: httpx.get(server.url + "/health/ready").status_code == 200, 120)
        yield server


@pytest.fixture(scope="module")
def piper_server() -> Iterator[LiveServer]:
    with _serve(create_app(ServerConfig())) as served:  # no engine named: piper is the default
        yield served


def test_default_server_engine_is_piper_and_openai_names_speak_as_joe(piper_server):
    models = httpx.get(piper_server.url + "/v1/models").json()
    assert "piper" in [m["id"] for m in models["data"]]
    listed = {v["id"]: v for v in httpx.get(piper_server.url + "/v1/audio/voices").json()["data"]}
    assert {name: listed[name]["alias_of"] for name in OPENAI_VOICES} == {name: "joe" for name in OPENAI_VOICES}
    client = openai.OpenAI(base_url=piper_server.url + "/v1", api_key="unused", max_retries=0)
    joe = client.audio.speech.create(model="tts-1", voice="joe", input="Hello there.", response_format="wav",
                                     extra_body={"seed": 3}).read()
    for name in OPENAI_VOICES:
        audio = client.audio.speech.create(model="tts-1", voice=name, input="Hello there.", response_format="wav",
                                           extra_body={"seed": 3}).read()
        assert audio == joe, name


def test_server_options_and_their_errors(piper_server):
    body = {"model": "piper", "voice": "alloy", "input": "Hello there.", "response_format": "wav", "seed": 1}
    base = httpx.post(piper_server.url + "/v1/audio/speech", json=body, timeout=60)
    slow = httpx.post(piper_server.url + "/v1/audio/speech", json={**body, "options": {"length_scale": 2.0}}, timeout=60)
    assert base.status_code == slow.status_code == 200
    assert TTSOutput.from_bytes(slow.content).duration > 1.6 * TTSOutput.from_bytes(base.content).duration
    bad = httpx.post(piper_server.url + "/v1/audio/speech", json={**body, "options": {"speaker": "bob"}}, timeout=60)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "speaker"
    assert "single speaker" in bad.json()["error"]["message"]


def test_openai_names_spread_over_loaded_voices(voices_dir):
    engine = PiperEngine.from_pretrained(voices_dir)
    aliases = dict(engine.get_capabilities().voice_aliases)
    english = ["en_GB-testvoice-medium:alice", "en_GB-testvoice-medium:bob", "en_GB-testvoice-medium:carol", "joe"]
    assert [aliases[name] for name in OPENAI_VOICES] == [english[i % 4] for i in range(13)]
    with TTS(engine) as tts, _serve(create_app(ServerConfig(), tts=tts)) as served:
        client = openai.OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0)
        alloy = client.audio.speech.create(model="tts-1", voice="alloy", input="Hi there.", response_format="pcm",
                                           extra_body={"seed": 2}).read()
        alice = client.audio.speech.create(model="tts-1", voice="en_GB-testvoice-medium:alice", input="Hi there.",
                                           response_format="pcm", extra_body={"seed": 2}).read()
        ash = client.audio.speech.create(model="tts-1", voice="ash", input="Hi there.", response_format="pcm",
                                         extra_body={"seed": 2}).read()
    assert alloy == alice
    assert not np.array_equal(np.frombuffer(alloy, np.int16)[:1000], np.frombuffer(ash, np.int16)[:1000])
