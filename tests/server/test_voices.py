"""Voice listing, upload (cloning with the tone engine), persistence across restarts, deletion."""

from __future__ import annotations

import io

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf
from audio_utils import decode_any
from livesrv import LiveServer, assert_error

from auralis_core.server import ServerConfig, create_app

SENTENCE = "Hello there, this sentence is long enough to measure its pitch well."


def tone_wav(freq: float, seconds: float = 1.0, sr: int = 8000) -> bytes:
    t = np.arange(int(sr * seconds)) / sr
    buffer = io.BytesIO()
    sf.write(buffer, 0.5 * np.sin(2 * np.pi * freq * t), sr, format="WAV")
    return buffer.getvalue()


def dominant_freq(samples: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum) * sr / len(samples))


def test_espeak_lists_voices_and_refuses_cloning(espeak_server):
    voices = httpx.get(espeak_server.url + "/v1/audio/voices").json()
    by_id = {v["id"]: v for v in voices["data"]}
    assert by_id["en-us"]["type"] == "builtin" and by_id["alloy"]["type"] == "alias"
    assert by_id["alloy"]["alias_of"] == "en-us" and voices["object"] == "list"
    assert_error(httpx.get(espeak_server.url + "/v1/audio/voices", params={"model": "nope"}), 404, "model")
    response = httpx.post(espeak_server.url + "/v1/audio/voices", data={"name": "me"},
                          files={"audio_sample": ("a.wav", tone_wav(300), "audio/wav")})
    assert_error(response, 400, code="voice_cloning_unsupported")


def test_upload_use_persist_delete(tone_engine_registered, tmp_path):
    from auralis_core import TTS

    voices_dir = tmp_path / "voices"
    config = ServerConfig(max_upload_bytes=64 * 1024, voice_aliases={"alloy": "high"})
    tts = TTS.from_pretrained("tone", voices_dir=voices_dir)
    try:
        with LiveServer(create_app(config, tts=tts)) as server:
            client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
            # the official client's upload: one audio_sample (+ consent, which we store)
            voice = client.audio.voices.create(name="deep", audio_sample=("ref.wav", tone_wav(300.0), "audio/wav"), consent="cons_1")
            assert voice.id == "deep" and voice.object == "audio.voice" and voice.type == "audio_sample"
            # several clips at once through plain multipart
            multi = httpx.post(server.url + "/v1/audio/voices", data={"name": "bright"},
                               files=[("files", ("a.wav", tone_wav(600.0), "audio/wav")),
                                      ("files", ("b.wav", tone_wav(600.0, 0.5), "audio/wav"))])
            assert multi.status_code == 201, multi.text
            # the cloned voice is used by name and by {"id": ...}
            for voice_ref, expected in (("deep", 300.0), ({"id": "bright"}, 600.0)):
                audio = client.audio.speech.create(model="tone", voice=voice_ref, input=SENTENCE, response_format="wav",
                                                   extra_body={"native_sample_rate": True}).content
                samples, sr = decode_any(audio, "wav")
                assert sr == 8000 and abs(dominant_freq(samples, sr) - expected) < 15
            # OpenAI voice names map to configured engine voices
            alloy = decode_any(client.audio.speech.create(model="tts-1", voice="alloy", input=SENTENCE, response_format="wav",
                                                          extra_body={"native_sample_rate": True}).content, "wav")
            assert abs(dominant_freq(*alloy) - 400.0) < 15
            # listing shows it; errors
            ids = {v["id"]: v["type"] for v in httpx.get(server.url + "/v1/audio/voices").json()["data"]}
            assert ids["deep"] == "audio_sample" and ids["low"] == "builtin"
            dup = httpx.post(server.url + "/v1/audio/voices", data={"name": "deep"}, files={"audio_sample": ("a.wav", tone_wav(300), "audio/wav")})
            assert_error(dup, 409, "name", "voice_exists")
            for bad in ("../etc", "a/b", ".hidden", "x" * 80):
                r = httpx.post(server.url + "/v1/audio/voices", data={"name": bad}, files={"audio_sample": ("a.wav", tone_wav(300), "audio/wav")})
                assert_error(r, 400, "name")
            garbage = httpx.post(server.url + "/v1/audio/voices", data={"name": "junk"}, files={"audio_sample": ("a.wav", b"not audio" * 100, "audio/wav")})
            assert_error(garbage, 400, "audio_sample", "invalid_audio")
            big = httpx.post(server.url + "/v1/audio/voices", data={"name": "big"}, files={"audio_sample": ("a.wav", tone_wav(300, 10.0), "audio/wav")})
            assert_error(big, 413, code="upload_too_large")
            none = httpx.post(server.url + "/v1/audio/voices", data={"name": "none"})
            assert_error(none, 400, "audio_sample")
            assert_error(httpx.delete(server.url + "/v1/audio/voices/low"), 400, "name")
            assert_error(httpx.delete(server.url + "/v1/audio/voices/ghost"), 404, "name")
        assert (voices_dir / "tone" / "deep.safetensors").is_file()
    finally:
        tts.shutdown()

    # a new process (new TTS, same directory) still knows the voices; then delete through the client
    tts2 = TTS.from_pretrained("tone", voices_dir=voices_dir)
    try:
        with LiveServer(create_app(config, tts=tts2)) as server:
            client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0)
            audio = client.audio.speech.create(model="tone", voice="deep", input=SENTENCE, response_format="wav",
                                               extra_body={"native_sample_rate": True}).content
            assert abs(dominant_freq(*decode_any(audio, "wav")) - 300.0) < 15
            deleted = client.audio.voices.delete("deep")
            assert deleted.deleted and deleted.id == "deep"
            with pytest.raises(openai.NotFoundError):
                client.audio.speech.create(model="tone", voice="deep", input="Gone.", response_format="wav")
        assert not (voices_dir / "tone" / "deep.safetensors").exists()
    finally:
        tts2.shutdown()


def test_one_off_cloning_with_base64_reference(tone_engine_registered):
    import base64

    from auralis_core import TTS

    tts = TTS.from_pretrained("tone")
    try:
        with LiveServer(create_app(ServerConfig(), tts=tts)) as server:
            body = {"model": "tone", "voice": "low", "input": SENTENCE, "response_format": "wav", "native_sample_rate": True,
                    "speaker_audio": [base64.b64encode(tone_wav(500.0)).decode()]}
            response = httpx.post(server.url + "/v1/audio/speech", json=body)
            assert response.status_code == 200, response.text
            assert decode_any(response.content, "wav")[0].size > 1000  # the tone engine clones only via voices
            body["speaker_audio"] = [base64.b64encode(b"garbage bytes" * 10).decode()]
            assert_error(httpx.post(server.url + "/v1/audio/speech", json=body), 400)
    finally:
        tts.shutdown()


def test_concurrent_uploads_of_one_name_create_it_once(tone_engine_registered, tmp_path):
    import asyncio

    from auralis_core import TTS

    tts = TTS.from_pretrained("tone", voices_dir=tmp_path / "voices")
    try:
        with LiveServer(create_app(ServerConfig(), tts=tts)) as server:
            clips = [tone_wav(200.0 + 40 * i) for i in range(10)]

            async def upload_all() -> list[httpx.Response]:
                async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                    return await asyncio.gather(*(
                        client.post("/v1/audio/voices", data={"name": "same"}, files={"audio_sample": ("a.wav", clip, "audio/wav")})
                        for clip in clips))

            responses = asyncio.run(upload_all())
            statuses = sorted(r.status_code for r in responses)
            assert statuses == [201] + [409] * 9, statuses
            for r in responses:
                if r.status_code == 409:
                    assert_error(r, 409, "name", "voice_exists")
            # the stored voice is the winner's, not a later writer's
            winner = clips[next(i for i, r in enumerate(responses) if r.status_code == 201)]
            audio = httpx.post(server.url + "/v1/audio/speech", json={"model": "tone", "voice": "same", "input": SENTENCE,
                                                                      "response_format": "wav", "native_sample_rate": True})
            expected = dominant_freq(*decode_any(winner, "wav"))
            assert abs(dominant_freq(*decode_any(audio.content, "wav")) - expected) < 15
    finally:
        tts.shutdown()


def test_voice_names_must_match_whole(tone_engine_registered):
    from auralis_core.errors import InvalidRequestError
    from auralis_core.voices import validate_voice_name

    for bad in ("name\n", "ok\nno", "trail\r\n"):
        with pytest.raises(InvalidRequestError):
            validate_voice_name(bad)
    from auralis_core import TTS

    tts = TTS.from_pretrained("tone")
    try:
        with LiveServer(create_app(ServerConfig(), tts=tts)) as server:
            r = httpx.post(server.url + "/v1/audio/voices", data={"name": "newline\n"},
                           files={"audio_sample": ("a.wav", tone_wav(300), "audio/wav")})
            assert_error(r, 400, "name")
            assert "newline\n" not in tts.voices.names()
    finally:
        tts.shutdown()


def test_aliases_are_checked_listed_and_not_deletable(tone_engine_registered):
    from auralis_core import TTS
    from auralis_core.errors import ConfigurationError

    tts = TTS.from_pretrained("tone")
    try:
        with pytest.raises(ConfigurationError, match="narrator=nobody"):
            create_app(ServerConfig(voice_aliases={"narrator": "nobody"}), tts=tts)
        config = ServerConfig(voice_aliases={"narrator": "high", "alloy": "low"})
        with LiveServer(create_app(config, tts=tts)) as server:
            listed = {v["id"]: v for v in httpx.get(server.url + "/v1/audio/voices").json()["data"]}
            assert listed["narrator"]["type"] == "alias" and listed["narrator"]["alias_of"] == "high"
            assert listed["alloy"]["alias_of"] == "low"
            for name in ("narrator", "alloy"):
                err = assert_error(httpx.delete(server.url + f"/v1/audio/voices/{name}"), 400, "name")
                assert "alias" in err["message"] and "unknown" not in err["message"]
            err = assert_error(httpx.delete(server.url + "/v1/audio/voices/low"), 400, "name")
            assert "built-in" in err["message"]
    finally:
        tts.shutdown()


def test_bad_alias_fails_background_load(tone_engine_registered):
    from livesrv import wait_for

    with LiveServer(create_app(ServerConfig(engine="tone", voice_aliases={"alloy": "nobody"}))) as server:
        assert wait_for(lambda: httpx.get(server.url + "/health").json()["status"] == "failed", 10)
        err = assert_error(httpx.get(server.url + "/health/ready"), 503)
        assert "alloy=nobody" in err["message"]


def test_voices_dir_expands_home(tone_engine_registered, tmp_path, monkeypatch):
    from auralis_core import TTS

    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    assert ServerConfig(voices_dir="~/voices").voices_dir == home / "voices"
    tts = TTS.from_pretrained("tone", voices_dir="~/voices")
    try:
        tts.register_voice("mine", [tone_wav(300.0)])
    finally:
        tts.shutdown()
    assert (home / "voices" / "tone" / "mine.safetensors").is_file()
    assert not (cwd / "~").exists()
