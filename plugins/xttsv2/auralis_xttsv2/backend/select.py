"""Which generation backend runs: ``"torch"``, ``"vllm"`` or ``"auto"``, decided at load time.

``auto`` takes vLLM when the model sits on a CUDA device and vLLM is installed, torch otherwise, so
the same call works on a laptop and on a GPU server. Asking for vLLM explicitly where it cannot
run is an error that says what is missing, never a silent fallback.
"""

from __future__ import annotations

import importlib.util

import torch

from auralis_core.errors import EngineLoadError, InvalidRequestError, MissingDependencyError

BACKENDS = ("auto", "torch", "vllm")


def vllm_installed() -> bool:
    """True when vLLM is importable (found without importing it: that takes seconds)."""
    return importlib.util.find_spec("vllm") is not None


def resolve_backend(name: str, device: torch.device) -> str:
    """``name`` as given by the user -> the backend that will run (``"torch"`` or ``"vllm"``)."""
    if name not in BACKENDS:
        raise InvalidRequestError(f"unknown XTTS backend {name!r}; choose one of {', '.join(BACKENDS)}", "backend")
    on_cuda = device.type == "cuda"
    if name == "auto":
        return "vllm" if on_cuda and vllm_installed() else "torch"
    if name == "vllm":
        if not vllm_installed():
            raise MissingDependencyError("the XTTS-v2 vLLM backend", "vllm", "auralis-xttsv2[vllm]")
        if not torch.cuda.is_available():
            raise EngineLoadError("the XTTS-v2 vLLM backend needs a CUDA GPU, and none is visible; use backend='torch'")
        if not on_cuda:
            raise EngineLoadError(
                f"the XTTS-v2 vLLM backend needs the model on a CUDA device, not {device}; load with device='cuda'"
            )
    return name
