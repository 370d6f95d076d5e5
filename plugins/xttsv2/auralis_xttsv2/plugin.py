"""Entry point of the ``auralis-xttsv2`` plugin. Imports nothing heavy: the engine loads lazily."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from auralis_core import hookimpl
from auralis_core.engine.base import EngineCapabilities

XTTS_LANGUAGES = (
    "en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja", "hi",
)

CAPABILITIES = EngineCapabilities(
    name="xttsv2",
    languages=XTTS_LANGUAGES,
    sample_rate=24000,
    voice_cloning=True,
    streaming=True,
    auto_language=True,
    model_types=("xtts",),
    model_ids=("coqui/XTTS-v2", "AstraMindAI/xttsv2"),
    preferred_concurrency=None,  # batches every segment in flight: more concurrency, fuller batches
    deterministic=True,  # seeded rows draw from their own generator, alone or batched
    description="Coqui XTTS-v2: multilingual voice cloning (17 languages), 24 kHz",
)


@hookimpl
def register_engines(register: Callable[..., Any]) -> None:
    register("xttsv2", "auralis_xttsv2.engine:XTTSv2Engine", capabilities=CAPABILITIES)


@hookimpl
def register_commands(cli: Any) -> None:
    from .cli import xttsv2_group

    cli.add_command(xttsv2_group)
