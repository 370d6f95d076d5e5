"""vLLM plugin hook: registers the XTTS GPT with vLLM's ``ModelRegistry``.

Declared as a ``vllm.general_plugins`` entry point, so every vLLM process (engine core, spawned
workers) runs it at start-up; the backend also calls it before it starts its engine. The class is
registered by import path, so registration imports neither torch models nor CUDA.
"""

from __future__ import annotations

from . import ARCHITECTURE


def register() -> None:
    from vllm import ModelRegistry

    from .profiling import start_if_asked
    from .switching import apply_if_asked

    start_if_asked()  # a no-op unless AURALIS_VLLM_PROFILE is set (benchmarks)
    apply_if_asked()  # a no-op unless AURALIS_VLLM_SWITCH_MS is set (benchmarks)
    if ARCHITECTURE not in ModelRegistry.get_supported_archs():
        ModelRegistry.register_model(ARCHITECTURE, "auralis_xttsv2.vllm.model:XttsGPT")
