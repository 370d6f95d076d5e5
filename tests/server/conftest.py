from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))  # helpers (livesrv, audio_utils)

from livesrv import LiveServer, wait_for  # noqa: E402

from auralis_core.server import ServerConfig, create_app  # noqa: E402


@pytest.fixture(scope="session")
def espeak_server() -> Iterator[LiveServer]:
    """One eSpeak server for the read-only tests (model loads in the background like production)."""
    import httpx

    app = create_app(ServerConfig(engine="espeak", max_concurrency=2, max_queue=64))
    with LiveServer(app) as server:
        assert wait_for(lambda: httpx.get(server.url + "/health/ready").status_code == 200, 60)
        yield server


@pytest.fixture
def tone_tts(tone_engine_registered, tmp_path):
    from auralis_core import TTS

    tts = TTS.from_pretrained("tone", voices_dir=tmp_path / "voices")
    yield tts
    tts.shutdown()
