"""The engine contract every Auralis engine implements."""

from .base import (
    BaseAsyncTTSEngine,
    ConditioningConfig,
    EngineCapabilities,
    GenerationContext,
    SegmentWorkItem,
)

__all__ = [
    "BaseAsyncTTSEngine",
    "ConditioningConfig",
    "EngineCapabilities",
    "GenerationContext",
    "SegmentWorkItem",
]
