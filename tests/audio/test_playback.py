"""Playback: with no ``sounddevice`` extra installed, a clear message (not a bare ImportError)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from auralis_core import TTSOutput
from auralis_core.errors import AuralisError, MissingDependencyError

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sounddevice") is not None, reason="sounddevice is installed here"
)


def _clip() -> TTSOutput:
    return TTSOutput(np.zeros(2400, dtype=np.float32), 24000)


def test_play_without_the_extra_names_it():
    with pytest.raises(MissingDependencyError) as info:
        _clip().play()
    message = str(info.value)
    assert "sounddevice" in message and "auralis-core[play]" in message
    assert isinstance(info.value, AuralisError) and isinstance(info.value, ImportError)


def test_preview_outside_jupyter_plays_and_says_the_same():
    with pytest.raises(MissingDependencyError, match=r"auralis-core\[play\]"):
        _clip().preview()
