from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))  # vits_model; appended, so no other folder's conftest is shadowed

from vits_model import build_voice


@pytest.fixture(scope="session")
def voices_dir(tmp_path_factory) -> Path:
    """A folder of two random test voices: a 3-speaker British English one and a German one."""
    folder = tmp_path_factory.mktemp("voices")
    build_voice(folder / "en", "en_GB-testvoice-medium")
    build_voice(folder / "de", "de_DE-testde-low", speakers=(), language="de_DE", espeak_voice="de", seed=1)
    return folder


@pytest.fixture(scope="session")
def multi_voice(voices_dir) -> Path:
    return voices_dir / "en" / "en_GB-testvoice-medium.onnx"


@pytest.fixture(scope="session", autouse=True)
def rewrite_cache(tmp_path_factory) -> Path:
    """Rewritten models go to a fresh cache, not the user's ~/.cache (see auralis_piper.graph)."""
    import os

    folder = tmp_path_factory.mktemp("cache")
    os.environ["AURALIS_CACHE_DIR"] = str(folder)
    return folder / "piper"
