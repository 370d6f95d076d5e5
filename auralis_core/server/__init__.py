"""OpenAI-compatible HTTP server for Auralis (FastAPI).

Imported lazily by ``auralis serve`` so that the CLI and ``import auralis_core`` stay fast.
"""

from __future__ import annotations

from .app import create_app
from .config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
