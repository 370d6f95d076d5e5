"""The conformance kit against the engine, on a small random multi-speaker voice (fast to load)."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

from auralis_piper.engine import PiperEngine
from vits_model import build_voice

from auralis_core.testing import EngineConformanceSuite


@lru_cache(maxsize=1)
def _voice() -> Path:
    return build_voice(Path(tempfile.mkdtemp(prefix="auralis-piper-conformance-")))


def _engine() -> PiperEngine:
    return PiperEngine.from_pretrained(_voice(), include_bundled=False)


class TestPiperConformance(EngineConformanceSuite):
    engine_factory = staticmethod(_engine)
    deterministic = True  # noise comes from the request's seed (see auralis_piper.graph)
