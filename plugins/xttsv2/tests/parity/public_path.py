"""Our side of the parity check: speak every case through the public API (`TTS.from_pretrained` ->
scheduler -> `XTTSv2Engine` -> backend -> HiFi-GAN) and compare with Coqui's recorded output."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from auralis_core import TTS, AudioPreprocessingConfig, TTSOutput, TTSRequest
from cases import CASES, REF_WAV, Case


def request_for(case: Case) -> TTSRequest:
    """The request a user writes for this case; the ``defaults`` mode sets nothing but the seed."""
    params = dict(case.params)
    seed = params.pop("seed", None)
    kwargs = {} if case.mode == "defaults" else {**params, **CASES["conditioning"]}
    return TTSRequest(text=case.text, speaker_files=[str(REF_WAV)], language=case.language, seed=seed,
                      audio_config=AudioPreprocessingConfig.disabled(), **kwargs)


@dataclass
class Spoken:
    wav: np.ndarray
    codes: np.ndarray  # every segment's codes, concatenated (stop tokens included)
    segment_lengths: list[int]


def spoken(out: TTSOutput) -> Spoken:
    parts = out.metadata["parts"]
    codes = [np.asarray(p["audio_codes"], dtype=np.int64) for p in parts]
    return Spoken(out.samples, np.concatenate(codes), [len(c) for c in codes])


def load(ckpt: Path, max_batch_size: int = 16) -> TTS:
    return TTS.from_pretrained(str(ckpt), engine="xttsv2", device="cpu", max_batch_size=max_batch_size)


def speak_alone(tts: TTS, cases: list[Case]) -> dict[str, Spoken]:
    return {c.key: spoken(tts.generate_speech(request_for(c))) for c in cases}


def speak_batched(tts: TTS, cases: list[Case]) -> dict[str, Spoken]:
    """All cases at once: their segments share decode steps in the backend."""

    async def run() -> list[TTSOutput]:
        return await asyncio.gather(*(tts.generate_speech_async(request_for(c)) for c in cases))

    return {c.key: spoken(o) for c, o in zip(cases, asyncio.run(run()))}


@dataclass
class Comparison:
    key: str
    codes_equal: bool
    codes_agree: int  # leading codes that agree
    n_codes: int
    ref_codes: int
    max_abs_error: float | None  # None when the lengths differ


def compare(key: str, ours: Spoken, ref: dict[str, np.ndarray], stride: int | None = None) -> Comparison:
    """``ref`` holds Coqui's ``<key>/codes`` and ``<key>/wav`` (full) or ``<key>/wav_strided`` (every
    ``stride``-th sample, the committed fixture)."""
    ref_codes = ref[f"{key}/codes"].astype(np.int64)
    n = min(len(ref_codes), len(ours.codes))
    mismatch = np.nonzero(ref_codes[:n] != ours.codes[:n])[0]
    agree = int(mismatch[0]) if len(mismatch) else n
    if stride is None:
        ref_wav, wav = ref[f"{key}/wav"], ours.wav
    else:
        ref_wav, wav = ref[f"{key}/wav_strided"], ours.wav[::stride]
        if len(ours.wav) != int(ref[f"{key}/wav_len"]):
            wav = wav[:0]
    err = float(np.max(np.abs(wav - ref_wav))) if len(wav) == len(ref_wav) and len(wav) else None
    equal = bool(len(ref_codes) == len(ours.codes) and agree == n)
    return Comparison(key, equal, agree, len(ours.codes), len(ref_codes), err)
