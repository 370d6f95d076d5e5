"""/v1/audio/speech against a real uvicorn + eSpeak server, driven by the official openai client."""

from __future__ import annotations

import base64
import json
import time

import httpx
import numpy as np
import openai
import pytest
from audio_utils import decode_any, duration, same_voice

TEXT = "The quick brown fox jumps over the lazy dog. It was a bright and sunny morning."
LONG_TEXT = " ".join(f"This is sentence number {i}, spoken by the server while it streams." for i in range(40))

FORMATS = [
    pytest.param("mp3", "audio/mpeg"),
    pytest.param("opus", "audio/ogg"),
    pytest.param("aac", "audio/aac"),
    pytest.param("flac", "audio/flac"),
    pytest.param("wav", "audio/wav"),
    pytest.param("pcm", "audio/pcm"),
]


@pytest.fixture(scope="module")
def client(espeak_server) -> openai.OpenAI:
    return openai.OpenAI(base_url=espeak_server.url + "/v1", api_key="unused", max_retries=0)


@pytest.fixture(scope="module")
def reference_seconds(client) -> float:
    """Duration of TEXT as wav, the yardstick for the other formats."""
    return duration(client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="wav").content, "wav")


@pytest.mark.parametrize(("fmt", "content_type"), FORMATS)
def test_all_formats_sync_client(client, reference_seconds, fmt, content_type):
    response = client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format=fmt)
    assert response.response.headers["content-type"].startswith(content_type)
    samples, sr = decode_any(response.content, fmt)
    # OpenAI's rate for every format by default; Opus decoders always output 48 kHz (RFC 7845:
    # the Ogg header's input rate is informational, FFmpeg ignores it)
    assert sr == (48000 if fmt == "opus" else 24000)
    seconds = len(samples) / sr
    assert 2.0 < seconds < 12.0
    assert abs(seconds - reference_seconds) < 0.25  # same speech whatever the container (codec padding aside)
    assert np.abs(samples).max() > 0.05  # not silence


@pytest.mark.parametrize(("fmt", "content_type"), FORMATS)
async def test_all_formats_async_client(espeak_server, reference_seconds, fmt, content_type):
    async with openai.AsyncOpenAI(base_url=espeak_server.url + "/v1", api_key="unused", max_retries=0) as aclient:
        response = await aclient.audio.speech.create(model="gpt-4o-mini-tts", voice="nova", input=TEXT, response_format=fmt)
        assert response.response.headers["content-type"].startswith(content_type)
        assert abs(duration(response.content, fmt) - reference_seconds) < 0.6  # other voice variant


def test_pcm_is_raw_24k_16bit_mono(client):
    """pcm: no header at all, 24 kHz 16-bit LE mono, resampled from eSpeak's 22050 Hz."""
    pcm = client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="pcm").content
    wav = client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="wav").content
    assert not pcm.startswith(b"RIFF")
    # the wav header says 24 kHz mono 16-bit; pcm is the same stream without it
    assert wav[:4] == b"RIFF" and int.from_bytes(wav[24:28], "little") == 24000 and wav[22] == 1 and wav[34] == 16
    assert abs((len(wav) - 44) - len(pcm)) < 0.01 * len(pcm)  # eSpeak's output varies by a few samples
    native = client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="pcm",
                                        extra_body={"native_sample_rate": True}).content
    assert abs(len(pcm) / len(native) - 24000 / 22050) < 0.01


def test_streaming_first_bytes_before_generation_ends(client):
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=LONG_TEXT, response_format="pcm"
    ) as response:
        start = time.perf_counter()
        first_at = None
        total = 0
        pieces = 0
        for piece in response.iter_bytes():
            if first_at is None:
                first_at = time.perf_counter() - start
            total += len(piece)
            pieces += 1
        elapsed = time.perf_counter() - start
    assert pieces > 5  # many chunks, not one buffered body
    assert response.headers.get("transfer-encoding") == "chunked"
    assert first_at is not None and first_at < elapsed / 4, (first_at, elapsed)
    assert total / 2 / 24000 > 60  # about 40 sentences of speech


async def test_async_streaming_response(espeak_server):
    async with openai.AsyncOpenAI(base_url=espeak_server.url + "/v1", api_key="unused", max_retries=0) as aclient:
        async with aclient.audio.speech.with_streaming_response.create(
            model="tts-1", voice="alloy", input=LONG_TEXT[:600], response_format="wav"
        ) as response:
            data = b"".join([piece async for piece in response.iter_bytes()])
    assert duration(data, "wav") > 5


@pytest.mark.parametrize("fmt", ["pcm", "wav", "mp3"])
def test_sse_events_reassemble_to_the_same_voice(espeak_server, client, fmt):
    body = {"model": "tts-1", "voice": "alloy", "input": TEXT, "response_format": fmt, "stream_format": "sse"}
    events = []
    with httpx.stream("POST", espeak_server.url + "/v1/audio/speech", json=body, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
    assert [e["type"] for e in events[:-1]] == ["speech.audio.delta"] * (len(events) - 1)
    assert all(set(e) == {"type", "audio"} for e in events[:-1])  # OpenAI's exact keys
    done = events[-1]
    assert done["type"] == "speech.audio.done" and set(done) == {"type", "usage"}
    assert set(done["usage"]) == {"input_tokens", "output_tokens", "total_tokens"}
    audio = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    plain = client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format=fmt).content
    if fmt in ("pcm", "wav"):
        assert abs(len(audio) - len(plain)) < 0.01 * len(plain)
        assert audio[:4] == plain[:4]
    else:
        assert abs(duration(audio, fmt) - duration(plain, fmt)) < 0.1


def test_sse_through_the_openai_client(client):
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=TEXT, response_format="pcm", stream_format="sse"
    ) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data:")]
    assert json.loads(lines[-1][5:])["type"] == "speech.audio.done"


def test_extra_body_parameters_take_effect(client):
    base = dict(model="tts-1", voice="alloy", input=TEXT, response_format="wav")
    default = client.audio.speech.create(**base).content
    # output rate
    _, sr = decode_any(client.audio.speech.create(**base, extra_body={"sample_rate": 16000}).content, "wav")
    assert sr == 16000
    # language picks another eSpeak voice for OpenAI voice names
    german = client.audio.speech.create(**base, extra_body={"language": "de"}).content
    assert german != default
    # a seed is universal (eSpeak is deterministic: same audio)
    seeded = client.audio.speech.create(**base, extra_body={"seed": 3}).content
    assert same_voice(seeded, default)
    # engine options: top level or under "options" (which wins)
    high = client.audio.speech.create(**base, extra_body={"pitch": 90}).content
    assert not same_voice(high, default)
    assert same_voice(client.audio.speech.create(**base, extra_body={"options": {"pitch": 90}}).content, high)
    assert same_voice(client.audio.speech.create(**base, extra_body={"pitch": 10, "options": {"pitch": 90}}).content, high)
    # unknown option, an option of another engine, a bad value -> 400 naming the field
    for body, param in (({"no_such_option": 1}, "no_such_option"), ({"temperature": 0.5}, "temperature"),
                        ({"options": {"bogus": 1}}, "bogus"), ({"pitch": 500}, "pitch"), ({"pitch": "high"}, "pitch")):
        with pytest.raises(openai.BadRequestError) as info:
            client.audio.speech.create(**base, extra_body=body)
        assert info.value.body["param"] == param, body
        assert "valid options: pitch" in info.value.body["message"]


def test_speed_changes_duration(client):
    normal = duration(client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="wav").content, "wav")
    fast = duration(client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="wav", speed=2.0).content, "wav")
    assert 0.35 < fast / normal < 0.7


def test_voices_forms(client):
    """OpenAI names, engine voice names with variants, and the custom-voice object all work."""
    for voice in ("alloy", "marin", "cedar", "en-gb", "en-us+f3", {"id": "de"}):
        content = client.audio.speech.create(model="espeak", voice=voice, input="Hallo, guten Tag.", response_format="wav").content
        assert duration(content, "wav") > 0.5


def test_instructions_accepted(client):
    content = client.audio.speech.create(model="gpt-4o-mini-tts", voice="alloy", input="Hello there.",
                                         instructions="Speak cheerfully.", response_format="wav").content
    assert duration(content, "wav") > 0.3
