"""`XTTSv2Engine` end to end on the small Coqui-format checkpoint: through TTS, the scheduler, the CLI."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from auralis_core import (
    TTS,
    AudioDecodeError,
    InvalidRequestError,
    TTSOutput,
    TTSRequest,
    UnsupportedLanguageError,
    VoiceNotFoundError,
)
from auralis_core.testing import EngineConformanceSuite
from auralis_core.voices import VoiceProfile
from auralis_xttsv2.engine import XTTSv2Engine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SMALL = FIXTURES / "xtts_small"
GREEDY = {"do_sample": False, "repetition_penalty": 10.0}
REF_WAV = FIXTURES / "ref.wav"


@pytest.fixture(scope="module")
def tts():
    # small stream windows: the tiny model says stop after ~20 codes
    instance = TTS(XTTSv2Engine.from_pretrained(str(SMALL), device="cpu", stream_chunk_tokens=6), max_concurrency=4)
    yield instance
    instance.shutdown()


def test_loads_by_engine_name():
    with TTS.from_pretrained(str(SMALL), engine="xttsv2", device="cpu") as tts:
        assert tts.engine_name == "xttsv2"
        assert tts.list_voices() == ["Ana Florence", "Claribel Dervla"]
        assert tts.capabilities.sample_rate == 24000 and tts.capabilities.voice_cloning


def test_engine_detected_from_checkpoint_config():
    # Coqui's config.json says ``"model": "xtts"`` (no ``model_type``); the registry maps it to xttsv2
    with TTS.from_pretrained(str(SMALL), device="cpu") as tts:
        assert tts.engine_name == "xttsv2"


def test_builtin_speaker_generation(tts):
    out = tts.generate_speech("the quick brown fox, then more.", voice="Ana Florence", language="en", **GREEDY)
    assert out.sample_rate == 24000 and out.duration > 0.1
    assert np.all(np.isfinite(out.samples))


def test_cloning_is_cached_and_streaming_matches(tts):
    engine: XTTSv2Engine = tts.engine
    request = dict(speaker_files=[REF_WAV], language="en", **GREEDY)
    whole = tts.generate_speech("the quick brown fox, then more.", **request)
    hits = engine.conditioning.hits
    chunks = list(tts.stream("the quick brown fox, then more.", stream=True, **request))
    assert engine.conditioning.hits == hits + 1  # the reference was not encoded again
    assert len(chunks) > len(engine.text.prepare("the quick brown fox, then more.", "en"))  # windows, not sentences
    streamed = TTSOutput.combine_outputs(chunks)
    assert streamed.samples.shape == whole.samples.shape
    assert np.max(np.abs(streamed.samples - whole.samples)) <= 1e-4


def test_registered_voice_roundtrip(tts, tmp_path):
    profile = tts.register_voice("narrator", [REF_WAV])
    path = profile.save(tmp_path / "narrator.safetensors")
    direct = tts.generate_speech("then more.", speaker_files=[REF_WAV], language="en", **GREEDY)
    by_name = tts.generate_speech("then more.", voice="narrator", language="en", **GREEDY)
    assert np.max(np.abs(direct.samples - by_name.samples)) <= 1e-4
    tts.delete_voice("narrator")
    tts.load_voice(path, name="loaded")
    again = tts.generate_speech("then more.", voice="loaded", language="en", **GREEDY)
    assert np.max(np.abs(again.samples - by_name.samples)) <= 1e-4
    assert VoiceProfile.load(path).engine == "xttsv2"


async def test_concurrent_requests_match_sequential(tts):
    texts = ["the quick brown fox.", "then more.", "a fox, a dog, the end.", "in the end."]
    sequential = [await tts.generate_speech_async(t, voice="Claribel Dervla", language="en", **GREEDY) for t in texts]
    concurrent = await asyncio.gather(
        *[tts.generate_speech_async(t, voice="Claribel Dervla", language="en", **GREEDY) for t in texts]
    )
    for a, b in zip(sequential, concurrent):
        assert a.samples.shape == b.samples.shape and np.max(np.abs(a.samples - b.samples)) <= 1e-4


def test_long_text_is_split_not_rejected(tts):
    text = "the quick brown fox jumps over the lazy dog. " * 12
    context = asyncio.run(tts.engine.get_generation_context(
        TTSRequest(text, language="en", voice="Ana Florence").resolved_for(tts.engine)))
    assert len(context.segments) > 3
    limit = tts.engine.config.gpt.max_text_tokens
    assert all(len(s.payload) <= limit for s in context.segments)


def test_bad_input(tts, tmp_path):
    with pytest.raises(UnsupportedLanguageError):
        tts.generate_speech("hello", language="xx", voice="Ana Florence")
    with pytest.raises(VoiceNotFoundError, match="Ana Florence"):
        tts.generate_speech("hello", language="en", voice="nobody")
    silent = TTSOutput(np.zeros(22050 * 2), 22050).save(tmp_path / "silent.wav")
    with pytest.raises(AudioDecodeError, match="silent"):
        tts.generate_speech("hello", language="en", speaker_files=[silent])
    t = np.arange(int(22050 * 0.3)) / 22050
    short = TTSOutput(0.5 * np.sin(2 * np.pi * 150 * t), 22050).save(tmp_path / "short.wav")
    with pytest.raises(InvalidRequestError, match="too short"):
        tts.generate_speech("hello", language="en", speaker_files=[short])


def test_cli_speak_with_xtts(tmp_path):
    out = tmp_path / "xtts.wav"
    result = subprocess.run(
        [sys.executable, "-m", "auralis_core.cli.main", "speak", "the quick brown fox.", "--engine", "xttsv2",
         "--model", str(SMALL), "--speaker", str(REF_WAV), "--language", "en", "-o", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert TTSOutput.from_file(out).sample_rate == 24000


class TestXTTSConformance(EngineConformanceSuite):
    engine_factory = staticmethod(lambda: XTTSv2Engine.from_pretrained(str(SMALL), device="cpu"))
    sample_text = "the quick brown fox. then more."
    request_kwargs = {"language": "en"}
    reference_audio = REF_WAV


@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing"])
def test_corrupt_checkpoint_is_a_load_error(tmp_path, damage):
    import shutil

    from auralis_core import EngineLoadError

    broken = tmp_path / "ckpt"
    shutil.copytree(SMALL, broken)
    weights = broken / "model.pth"
    if damage == "garbage":
        weights.write_bytes(b"not a checkpoint at all" * 100)
    elif damage == "truncated":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    else:
        weights.unlink()
    with pytest.raises(EngineLoadError, match="model.pth"):
        XTTSv2Engine.from_pretrained(str(broken), device="cpu")
    with pytest.raises(EngineLoadError):
        TTS.from_pretrained(str(broken), engine="xttsv2", device="cpu")


async def test_no_voice_without_builtin_speakers(tts):
    """A checkpoint without speakers_xtts.pth has no default voice: XTTS must be told whose voice."""
    import dataclasses

    engine = XTTSv2Engine(dataclasses.replace(tts.engine.checkpoint, speakers={}))
    try:
        assert engine.get_capabilities().voices == () and engine.get_capabilities().default_voice is None
        with pytest.raises(InvalidRequestError, match="speaker_files"):
            await engine.get_generation_context(TTSRequest("hello there.", language="en").resolved_for(engine))
        context = await engine.get_generation_context(
            TTSRequest("hello there.", language="en", speaker_files=[REF_WAV]).resolved_for(engine))
        assert context.segments and context.conditioning.gpt_cond_latents.shape[1] == 32
    finally:
        await engine.shutdown()


@pytest.mark.parametrize(
    ("options", "param"),
    [({"max_new_tokens": 0}, "max_new_tokens"), ({"max_new_tokens": "5"}, "max_new_tokens"),
     ({"ignore_stop": 1}, "ignore_stop"), ({"ignore_stop": True}, "options"), ({"temperature": 0}, "temperature"),
     ({"top_p": 1.5}, "top_p"), ({"gpt_cond_len": 3, "gpt_cond_chunk_len": 6}, "options"), ({"bogus": 1}, "bogus")],
)
def test_bad_generation_options(tts, options, param):
    with pytest.raises(InvalidRequestError) as info:
        tts.generate_speech("hello.", language="en", voice="Ana Florence", options=options)
    assert info.value.param == param


def test_nothing_to_speak(tts):
    with pytest.raises(InvalidRequestError) as info:
        tts.generate_speech("\"", language="en", voice="Ana Florence")
    assert info.value.param == "text"


def test_fixed_length_and_speed(tts):
    """``ignore_stop`` + ``max_new_tokens`` fix the code count; speed shortens the audio natively."""
    kw = dict(language="en", voice="Ana Florence", options={"max_new_tokens": 40, "ignore_stop": True}, **GREEDY)
    normal = tts.generate_speech("the end.", **kw)
    fast = tts.generate_speech("the end.", speed=2.0, **kw)
    assert normal.duration == pytest.approx(40 * 1024 / 22050, rel=0.02)
    assert fast.duration == pytest.approx(normal.duration / 2, rel=0.05)


def test_several_references_combine(tts, tmp_path):
    """Two references give conditioning different from either one alone (speaker embeddings are
    averaged, GPT latents come from the clips joined), and the result is cached as a set."""
    ref = TTSOutput.from_file(REF_WAV)
    other = TTSOutput(np.roll(ref.samples, len(ref.samples) // 3) * 0.8, ref.sample_rate).save(tmp_path / "other.wav")
    engine: XTTSv2Engine = tts.engine

    def cond(files):
        return asyncio.run(engine.get_generation_context(
            TTSRequest("hi.", language="en", speaker_files=files).resolved_for(engine))).conditioning

    one, two, both = cond([REF_WAV]), cond([other]), cond([REF_WAV, other])
    expected_spk = (one.speaker_embedding + two.speaker_embedding) / 2
    assert np.allclose(both.speaker_embedding.numpy(), expected_spk.numpy(), atol=1e-5)
    assert not np.allclose(both.gpt_cond_latents.numpy(), one.gpt_cond_latents.numpy(), atol=1e-4)
    hits = engine.conditioning.hits
    cond([REF_WAV, other])
    assert engine.conditioning.hits == hits + 1



def test_small_first_stream_window(tts):
    """``stream_first_chunk_tokens``: the first audio comes after that many codes, the rest after
    ``stream_chunk_tokens``; the streamed audio still equals the whole decode."""
    request = dict(voice="Ana Florence", language="en", options={"max_new_tokens": 40, "ignore_stop": True}, **GREEDY)
    whole = tts.generate_speech("then more.", **request)
    with TTS(XTTSv2Engine.from_pretrained(str(SMALL), device="cpu", stream_chunk_tokens=10,
                                          stream_first_chunk_tokens=5)) as early:
        chunks = list(early.stream("then more.", stream=True, **request))
    assert [c.metadata["codes"] for c in chunks] == [5, 10, 10, 10, 5]
    streamed = TTSOutput.combine_outputs(chunks)
    assert streamed.samples.shape == whole.samples.shape
    assert np.max(np.abs(streamed.samples - whole.samples)) <= 1e-4
    with pytest.raises(InvalidRequestError, match="stream_first_chunk_tokens must be >= 1"):
        XTTSv2Engine.from_pretrained(str(SMALL), device="cpu", stream_first_chunk_tokens=0)
    with pytest.raises(InvalidRequestError, match="vocoder_max_frames must be >= 1") as e:
        XTTSv2Engine.from_pretrained(str(SMALL), device="cpu", vocoder_max_frames=0)
    assert e.value.param == "vocoder_max_frames"


def test_decode_ahead(tts):
    """``decode_ahead_tokens``: a non-streamed segment's audio is decoded in windows while codes
    still come, handed out whole at the end, and equals the one-window decode."""
    request = dict(voice="Ana Florence", language="en", options={"max_new_tokens": 40, "ignore_stop": True}, **GREEDY)
    texts = ["then more.", "and the rest."]  # two segments
    whole = tts.generate_speech(texts, **request)
    with TTS(XTTSv2Engine.from_pretrained(str(SMALL), device="cpu", decode_ahead_tokens=12)) as ahead:
        vocoder = ahead.engine.vocoder
        before = vocoder.jobs
        out = ahead.generate_speech(texts, **request)
        windows = vocoder.jobs - before
    assert windows == 2 * 4  # per segment: codes 12, 24, 36, then the last 4
    assert [p["codes"] for p in out.metadata["parts"]] == [40, 40]  # one output per segment, as without
    assert out.samples.shape == whole.samples.shape
    assert np.max(np.abs(out.samples - whole.samples)) <= 1e-4
    with pytest.raises(InvalidRequestError, match="decode_ahead_tokens must be >= 0") as e:
        XTTSv2Engine.from_pretrained(str(SMALL), device="cpu", decode_ahead_tokens=-1)
    assert e.value.param == "decode_ahead_tokens"
