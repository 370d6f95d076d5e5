"""`PiperOptions`: the per-request knobs of a Piper voice."""

from __future__ import annotations

from pydantic import Field

from auralis_core.options import EngineOptions


class PiperOptions(EngineOptions):
    """Piper's synthesis settings. ``None`` means the voice's own default (its ``.onnx.json``
    ``inference`` section: 0.667 / 0.8 / 1.0 for most voices)."""

    noise_scale: float | None = Field(None, ge=0.0, le=2.0, description="variation of the voice (prior noise)")
    noise_w: float | None = Field(None, ge=0.0, le=2.0, description="variation of phoneme durations (rhythm)")
    length_scale: float | None = Field(
        None, gt=0.0, le=4.0, description="phoneme length (> 1 slower); combines with the request's speed"
    )
    speaker: str | int | None = Field(None, description="speaker of a multi-speaker voice, by name or id")
