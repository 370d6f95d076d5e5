"""Generation backends: the GPT's autoregressive loop behind one interface (torch or vLLM).

`VLLMBackend` lives in ``backend.vllm_backend`` and is imported only when selected (it needs vLLM).
"""

from .base import GenerationBackend, GenerationRequest, TokenChunk
from .select import BACKENDS, resolve_backend
from .torch_backend import TorchBackend

__all__ = ["BACKENDS", "GenerationBackend", "GenerationRequest", "TokenChunk", "TorchBackend", "resolve_backend"]
