"""XTTS voices: GPT conditioning latents + speaker embedding, computed once per reference set."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from auralis_core import TTSOutput
from auralis_core.errors import InvalidRequestError
from auralis_core.voices import VoiceProfile

from .model.xtts import GPT_SAMPLE_RATE, XTTSModel

ENGINE_NAME = "xttsv2"


@dataclass
class XTTSConditioning:
    gpt_cond_latents: torch.Tensor  # [1, 32, D]
    speaker_embedding: torch.Tensor  # [1, 512, 1]

    def to_profile(self, name: str, **metadata: str) -> VoiceProfile:
        return VoiceProfile(
            name,
            ENGINE_NAME,
            {
                "gpt_cond_latent": self.gpt_cond_latents.float().cpu().numpy(),
                "speaker_embedding": self.speaker_embedding.float().cpu().numpy(),
            },
            dict(metadata),
        )

    @classmethod
    def from_profile(cls, profile: VoiceProfile, hidden_size: int) -> XTTSConditioning:
        if profile.engine != ENGINE_NAME:
            raise InvalidRequestError(f"voice {profile.name!r} belongs to engine {profile.engine!r}, not {ENGINE_NAME!r}", "voice")
        try:
            latents = torch.from_numpy(np.asarray(profile.tensors["gpt_cond_latent"])).float()
            speaker = torch.from_numpy(np.asarray(profile.tensors["speaker_embedding"])).float()
        except KeyError as exc:
            raise InvalidRequestError(f"voice {profile.name!r} lacks tensor {exc}", "voice") from exc
        latents = latents.reshape(1, -1, latents.shape[-1])
        if latents.shape[-1] != hidden_size:
            raise InvalidRequestError(
                f"voice {profile.name!r} was made for a model of width {latents.shape[-1]}, this one is {hidden_size}", "voice"
            )
        return cls(latents, speaker.reshape(1, -1, 1))


class ConditioningCache:
    """LRU of conditioning by the content of the (already cleaned) references and the settings."""

    def __init__(self, model: XTTSModel, size: int = 64) -> None:
        self.model = model
        self.size = size
        self._items: OrderedDict[str, XTTSConditioning] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def compute(
        self, references: Sequence[TTSOutput], gpt_cond_len: float, gpt_cond_chunk_len: float, max_ref_length: float
    ) -> XTTSConditioning:
        """Blocking (run it in a thread): the encoders' forward passes."""
        if not references:
            raise InvalidRequestError("no reference audio given", "speaker_files")
        digest = hashlib.sha256()
        for ref in references:
            if ref.sample_rate != GPT_SAMPLE_RATE:
                ref = ref.resample(GPT_SAMPLE_RATE)
            digest.update(ref.samples.tobytes())
        digest.update(repr((gpt_cond_len, gpt_cond_chunk_len, max_ref_length)).encode())
        key = digest.hexdigest()
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        clips = [torch.from_numpy(np.clip(r.resample(GPT_SAMPLE_RATE).samples, -1, 1)) for r in references]
        latents, speaker = self.model.get_conditioning_latents(
            clips, gpt_cond_len=gpt_cond_len, gpt_cond_chunk_len=gpt_cond_chunk_len, max_ref_length=max_ref_length,
            sound_norm_refs=self.model.config.sound_norm_refs,  # the checkpoint's choice, as Coqui's clone_voice
        )
        result = XTTSConditioning(latents.float().cpu(), speaker.float().cpu())
        with self._lock:
            self._items[key] = result
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return result
