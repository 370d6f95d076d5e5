"""Pitch-preserving speed change (FFmpeg atempo) on real speech."""

from __future__ import annotations

import numpy as np
import pytest
from audio_metrics import median_f0
from hypothesis import example, given, settings
from hypothesis import strategies as st

from auralis_core import InvalidRequestError, TTSOutput


@pytest.fixture(scope="module")
def speech_f0(speech) -> float:
    f0 = median_f0(speech.samples, speech.sample_rate)
    assert 80 < f0 < 200  # eSpeak's default en-us voice
    return f0


@pytest.mark.parametrize("factor", [0.5, 1.5, 2.0])
def test_duration_scales_and_pitch_stays(speech, speech_f0, factor):
    fast = speech.change_speed(factor)
    assert fast.sample_rate == speech.sample_rate
    assert abs(fast.duration - speech.duration / factor) <= 0.02 * speech.duration / factor
    assert abs(median_f0(fast.samples, fast.sample_rate) / speech_f0 - 1) <= 0.05


@pytest.mark.parametrize("factor", [0.25, 0.3, 0.75, 1.1, 3.0, 4.0])
def test_whole_range(speech, factor):
    out = speech.change_speed(factor)
    assert len(out) == round(len(speech) / factor)  # exact: chunks streamed through it add up
    assert np.isfinite(out.samples).all() and np.abs(out.samples).max() > 0.1


def test_slow_extremes_keep_pitch(speech, speech_f0):
    assert abs(median_f0(speech.change_speed(0.25).samples, speech.sample_rate) / speech_f0 - 1) <= 0.05


def test_identity_and_metadata(speech):
    same = speech.change_speed(1.0)
    np.testing.assert_array_equal(same.samples, speech.samples)
    tagged = TTSOutput(speech.samples, speech.sample_rate, request_id="r1", segment_index=3, metadata={"k": 1})
    out = tagged.change_speed(2.0)
    assert (out.request_id, out.segment_index, out.metadata) == ("r1", 3, {"k": 1})


@pytest.mark.parametrize("factor", [0.0, 0.2, 4.5, -1.0, float("nan"), float("inf"), "2", True])
def test_out_of_range_is_refused(speech, factor):
    with pytest.raises(InvalidRequestError, match="speed") as info:
        speech.change_speed(factor)
    assert info.value.param == "speed"


@settings(max_examples=20, deadline=None)
@given(n=st.integers(0, 3000), factor=st.floats(0.25, 4.0))
@example(n=1, factor=4.0)  # rounds to zero samples
@example(n=319, factor=0.25)  # just under the 20 ms atempo minimum at 16 kHz
@example(n=320, factor=4.0)
def test_short_chunks_any_factor(n, factor):
    """The scheduler stretches engine chunks one by one: any length works and scales exactly."""
    x = np.sin(np.arange(n) * 0.05).astype(np.float32) * 0.5
    out = TTSOutput(x, 16000).change_speed(factor)
    assert len(out) == (round(n / factor) if factor != 1.0 else n)
    assert np.isfinite(out.samples).all()
