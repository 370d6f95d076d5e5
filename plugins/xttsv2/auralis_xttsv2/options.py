"""`XTTSOptions`: the request options XTTS-v2 understands, with their ranges.

The class defaults are Coqui's published inference settings; a loaded engine's defaults come from
its checkpoint's ``config.json`` (`XTTSv2Engine.default_options`), so a request that sets nothing
samples exactly as the checkpoint's authors configured it.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from auralis_core import EngineOptions


class XTTSOptions(EngineOptions):
    # sampling (the GPT's audio-code decoding)
    do_sample: bool = Field(True, description="sample (true) or take the most likely code (false, greedy)")
    temperature: float = Field(0.75, gt=0, le=5, description="softmax temperature when sampling")
    top_k: int = Field(50, ge=0, le=100_000, description="keep the k most likely codes when sampling; 0 turns it off")
    top_p: float = Field(0.85, gt=0, le=1, description="nucleus sampling: keep codes up to this probability mass")
    repetition_penalty: float = Field(10.0, gt=0, le=100, description="divides the scores of codes already generated")
    length_penalty: float = Field(1.0, ge=-10, le=10, description="beam search only; accepted for parity, no effect")
    # conditioning (voice cloning from reference audio)
    max_ref_length: float = Field(30, gt=0, le=600, description="seconds read from each reference clip")
    gpt_cond_len: float = Field(30, gt=0, le=600, description="seconds of reference audio for the GPT conditioning")
    gpt_cond_chunk_len: float = Field(4, gt=0, le=600, description="chunk length (s) the conditioning averages over")
    # generation length
    max_new_tokens: int | None = Field(None, ge=1, description="cap on audio codes per segment (default: the model's)")
    ignore_stop: bool = Field(False, description="generate exactly max_new_tokens codes (benchmarks)")

    @model_validator(mode="after")
    def _consistent(self) -> XTTSOptions:
        if self.gpt_cond_chunk_len > self.gpt_cond_len:
            raise ValueError("gpt_cond_chunk_len must not exceed gpt_cond_len")
        if self.ignore_stop and self.max_new_tokens is None:
            raise ValueError("ignore_stop needs max_new_tokens (the fixed length)")
        return self
