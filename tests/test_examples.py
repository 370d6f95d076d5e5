"""Every example under examples/ runs as documented (those needing a live server start one)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from auralis_core import TTSOutput

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize(
    ("script", "outputs"),
    [
        ("python_api.py", ["python_api.wav", "python_api.flac"]),
        ("async_streaming.py", ["async_stream.wav", "text_stream.wav"]),
    ],
)
def test_example_runs(script, outputs, tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLES / script), str(tmp_path)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    for name in outputs:
        assert TTSOutput.from_file(tmp_path / name).duration > 1.0


def test_ebook_example(tmp_path):
    out = tmp_path / "book.flac"
    result = subprocess.run([sys.executable, str(EXAMPLES / "ebook.py"), "-o", str(out)], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert TTSOutput.from_file(out).duration > 20


def test_every_example_is_run_by_a_test():
    """A new example must come with its run here (or in the test file named for it below)."""
    covered = {"python_api.py", "async_streaming.py", "ebook.py", "server_client.py", "gradio_ui.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == covered
    tests = Path(__file__).parent
    assert "server_client.py" in (tests / "server" / "test_example_client.py").read_text()
    assert "gradio_ui.py" in (tests / "test_gradio_example.py").read_text()
