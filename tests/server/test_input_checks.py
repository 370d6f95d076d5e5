"""Text and field checks at the HTTP boundary, and backpressure from a client that reads slowly."""

from __future__ import annotations

import json

import httpx
import pytest
from livesrv import LiveServer, assert_error, wait_for
from slow_client import slow_pcm_read

from auralis_core.server import ServerConfig, create_app

SPEECH = {"model": "tts-1", "voice": "alloy", "input": "Hello there.", "response_format": "wav"}


@pytest.mark.parametrize(
    ("change", "param", "needle"),
    [
        ({"input": "Hello \ud800 world"}, "input", "lone surrogate (U+D800) at position 6"),
        ({"input": "Hello \x00 world"}, "input", "NUL character at position 6"),
        ({"input": "..."}, "input", "nothing to speak"),
        ({"input": "?! … -- * * *"}, "input", "nothing to speak"),
        ({"input": "Hello \ud800 world", "stream_format": "sse"}, "input", "lone surrogate"),
        ({"speed": True}, "speed", "valid number"),
        ({"speed": "1.5"}, "speed", "valid number"),
        ({"native_sample_rate": 1}, "native_sample_rate", "valid boolean"),
        ({"normalize": "yes"}, "normalize", "valid boolean"),
    ],
)
def test_bad_input_is_a_400_naming_it(espeak_server, change, param, needle):
    # json.dumps escapes a lone surrogate as \ud800, as any JSON client may send it
    body = json.dumps({**SPEECH, **change}).encode()
    response = httpx.post(espeak_server.url + "/v1/audio/speech", content=body, headers={"content-type": "application/json"})
    assert needle in assert_error(response, 400, param)["message"]


def test_valid_numbers_still_pass(espeak_server):
    response = httpx.post(espeak_server.url + "/v1/audio/speech", json={**SPEECH, "speed": 2}, timeout=60)
    assert response.status_code == 200 and response.content[:4] == b"RIFF"


@pytest.mark.parametrize("body", [b"{not json", b'{"model": "tts-1", "input": "hi",', b'{"a": 1} trailing'])
def test_malformed_json_has_no_offset_as_param(espeak_server, body):
    response = httpx.post(espeak_server.url + "/v1/audio/speech", content=body, headers={"content-type": "application/json"})
    error = assert_error(response, 400, code="invalid_json")
    assert error["param"] is None
    assert error["message"].startswith("The request body is not valid JSON")


def test_chat_stream_flag_is_strict(espeak_server):
    body = {"model": "x", "messages": [{"role": "user", "content": "hi"}], "stream": 0}
    assert_error(httpx.post(espeak_server.url + "/v1/chat/completions", json=body), 400, "stream")


@pytest.mark.parametrize("bound", [2.0, None])
def test_a_slow_reader_bounds_what_the_server_buffers(bound):
    """A client reading ~10 KB/s (0.2x real time for 24 kHz PCM) of a ~4 minute utterance."""
    from auralis_core import TTS

    tts = TTS.from_pretrained("espeak", max_concurrency=2, max_buffered_seconds=bound)
    text = " ".join(f"This is sentence number {i}, spoken to a client that reads slowly." for i in range(60))
    peak = 0.0

    def probe() -> None:
        nonlocal peak
        peak = max(peak, tts.scheduler.buffered_seconds)

    try:
        with LiveServer(create_app(ServerConfig(engine="espeak"), tts=tts)) as server:
            got = slow_pcm_read(server.url, {**SPEECH, "input": text}, 6.0, probe)
            assert got > 0
            # the disconnect frees everything: no request, segment or buffered audio remains
            assert wait_for(lambda: tts.scheduler.active_requests == 0 and tts.scheduler.in_flight == 0, 10)
            assert tts.scheduler.buffered_seconds == 0 and tts.metrics.in_flight == 0
    finally:
        tts.shutdown()
    if bound is None:
        assert peak > 60, peak  # what the bound prevents: the whole utterance waits in memory
    else:
        # the bound plus one sentence (an eSpeak chunk, ~4 s) per phase-2 slot that raced it
        assert peak <= bound + 2 * 4.5, peak
