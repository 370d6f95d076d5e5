"""Entry point of ``auralis-espeak``: registers the engine without importing it."""

from __future__ import annotations

from typing import Any, Callable

from auralis_core import hookimpl


def _capabilities() -> Any:
    from .voices import capabilities

    return capabilities()


@hookimpl
def register_engines(register: Callable[..., Any]) -> None:
    register("espeak", "auralis_espeak.engine:ESpeakEngine", capabilities=_capabilities)
