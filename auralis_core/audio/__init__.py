"""Audio I/O and DSP used by `TTSOutput` and the reference-audio preprocessing.

Import-light: codec libraries (PyAV, soxr, soundfile, scipy) load on first use. The public names
below are resolved lazily.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "StreamingEncoder": "streaming",
    "encode_stream": "streaming",
    "encode": "codecs",
    "decode": "codecs",
    "decode_file": "codecs",
    "FORMATS": "formats",
    "AudioFormat": "formats",
    "get_format": "formats",
    "format_from_path": "formats",
    "resample": "processing",
    "concatenate": "processing",
    "change_speed": "tempo",
    "preprocess_reference": "enhance",
    "normalize_loudness": "enhance",
    "trim_silence": "enhance",
    "reduce_noise": "denoise",
    "enhance_speech_band": "speech_eq",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
