"""examples/server_client.py runs as documented (it starts its own server)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from auralis_core import TTSOutput

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "server_client.py"


def test_server_client_example(tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "first audio after" in result.stdout and "sse usage" in result.stdout
    for name in ("server_speech.wav", "server_stream.wav"):
        assert TTSOutput.from_file(tmp_path / name).duration > 1.0
