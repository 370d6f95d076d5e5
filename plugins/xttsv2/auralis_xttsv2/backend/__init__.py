"""Generation backends: the GPT's autoregressive loop behind one interface (torch now, vLLM later)."""

from .base import GenerationBackend, GenerationRequest, TokenChunk
from .torch_backend import TorchBackend

__all__ = ["GenerationBackend", "GenerationRequest", "TokenChunk", "TorchBackend"]
