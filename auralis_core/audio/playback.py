"""Playback through the optional ``sounddevice`` extra, or an inline player in Jupyter."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import AuralisError, MissingDependencyError


def play(samples: np.ndarray, sample_rate: int, blocking: bool = True) -> None:
    try:
        import sounddevice as sd
    except ImportError as exc:
        raise MissingDependencyError("audio playback", "sounddevice", "auralis-core[play]") from exc
    except OSError as exc:  # PortAudio library missing
        raise AuralisError(f"audio playback is unavailable: {exc}") from exc
    try:
        sd.play(samples, sample_rate)
        if blocking:
            sd.wait()
    except Exception as exc:  # no output device, PortAudio errors
        raise AuralisError(f"audio playback failed (is there an output device?): {exc}") from exc


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython  # type: ignore[import-not-found]
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def preview(samples: np.ndarray, sample_rate: int) -> Any:
    if _in_notebook():
        from IPython.display import Audio, display  # type: ignore[import-not-found]

        player = Audio(samples, rate=sample_rate)
        display(player)
        return player
    play(samples, sample_rate)
    return None
