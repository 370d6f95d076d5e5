"""XTTS-v2 model components with Coqui-checkpoint-compatible parameter names."""

from .config import HifiganConfig, XTTSConfig, XTTSGPTConfig
from .gpt import KVCache, XTTSGPT
from .sampling import SamplingParams
from .xtts import GenerationOutput, XTTSModel

__all__ = [
    "GenerationOutput", "HifiganConfig", "KVCache", "SamplingParams", "XTTSConfig", "XTTSGPT", "XTTSGPTConfig",
    "XTTSModel",
]
