"""Checkpoint loading (Coqui, AstraMindAI and our safetensors layouts) and conversion."""

from .convert import convert
from .layouts import astramind_to_ours, detect_layout, normalize_coqui_keys, ours_to_astramind
from .loader import LoadedCheckpoint, Speaker, load_checkpoint, resolve_dtype

__all__ = [
    "LoadedCheckpoint", "Speaker", "astramind_to_ours", "convert", "detect_layout", "load_checkpoint",
    "normalize_coqui_keys", "ours_to_astramind", "resolve_dtype",
]
