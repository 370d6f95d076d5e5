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
