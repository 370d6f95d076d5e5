"""Real speech for the audio tests: eSpeak NG output (the embedded engine), made once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.append(str(Path(__file__).parent))  # audio_metrics

from audio_metrics import SPEECH_TEXT, babble_noise  # noqa: E402

from auralis_core import TTSOutput  # noqa: E402


@pytest.fixture(scope="session")
def espeak_tts():
    from auralis_core import TTS

    tts = TTS.from_pretrained(engine="espeak")
    yield tts
    tts.shutdown()


@pytest.fixture(scope="session")
def speech(espeak_tts) -> TTSOutput:
    """About 8 s of English speech at eSpeak's 22050 Hz."""
    out = espeak_tts.generate_speech(SPEECH_TEXT, voice="en-us")
    assert out.sample_rate == 22050 and out.duration > 6
    return out


@pytest.fixture(scope="session")
def babble(espeak_tts, speech) -> np.ndarray:
    """Six other eSpeak talkers, each at unit RMS, looped to the length of ``speech``, summed."""
    return babble_noise(espeak_tts, len(speech))
