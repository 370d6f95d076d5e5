"""Auralis: a plugin-based, multi-model text-to-speech framework.

Public names are imported lazily so that ``import auralis_core`` (and ``auralis engines``) stay
fast and never import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "TTS": "auralis_core.tts",
    "TTSRequest": "auralis_core.request",
    "TTSOutput": "auralis_core.output",
    "AudioPreprocessingConfig": "auralis_core.preprocessing",
    "BaseAsyncTTSEngine": "auralis_core.engine.base",
    "ConditioningConfig": "auralis_core.engine.base",
    "EngineCapabilities": "auralis_core.engine.base",
    "GenerationContext": "auralis_core.engine.base",
    "SegmentWorkItem": "auralis_core.engine.base",
    "EngineOptions": "auralis_core.options",
    "TwoPhaseScheduler": "auralis_core.scheduler",
    "VoiceProfile": "auralis_core.voices",
    "MetricsTracker": "auralis_core.metrics",
    "RequestMetrics": "auralis_core.metrics",
    "hookimpl": "auralis_core.registry.hookspecs",
    "register_engine": "auralis_core.registry.registry",
    "list_engines": "auralis_core.registry.registry",
    "get_engine": "auralis_core.registry.registry",
    "setup_logging": "auralis_core.logging_setup",
    "AuralisError": "auralis_core.errors",
    "InvalidRequestError": "auralis_core.errors",
    "UnsupportedLanguageError": "auralis_core.errors",
    "AudioDecodeError": "auralis_core.errors",
    "EngineNotFoundError": "auralis_core.errors",
    "EngineLoadError": "auralis_core.errors",
    "VoiceNotFoundError": "auralis_core.errors",
    "CapabilityError": "auralis_core.errors",
    "GenerationError": "auralis_core.errors",
    "GenerationTimeoutError": "auralis_core.errors",
    "MissingDependencyError": "auralis_core.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'auralis_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from .engine.base import (
        BaseAsyncTTSEngine,
        ConditioningConfig,
        EngineCapabilities,
        GenerationContext,
        SegmentWorkItem,
    )
    from .errors import (
        AudioDecodeError,
        AuralisError,
        CapabilityError,
        EngineLoadError,
        EngineNotFoundError,
        GenerationError,
        GenerationTimeoutError,
        InvalidRequestError,
        MissingDependencyError,
        UnsupportedLanguageError,
        VoiceNotFoundError,
    )
    from .logging_setup import setup_logging
    from .metrics import MetricsTracker, RequestMetrics
    from .options import EngineOptions
    from .output import TTSOutput
    from .preprocessing import AudioPreprocessingConfig
    from .registry.hookspecs import hookimpl
    from .registry.registry import get_engine, list_engines, register_engine
    from .request import TTSRequest
    from .scheduler import TwoPhaseScheduler
    from .tts import TTS
    from .voices import VoiceProfile
