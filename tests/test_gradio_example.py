"""examples/gradio_ui.py: its Blocks app runs on loopback and answers through `gradio_client`.

The tone test engine is served so the reference upload path (voice cloning) is exercised too: the
streamed audio must carry the reference's pitch. Gradio streams audio as HLS of AAC segments made
by the ``ffmpeg`` program; CI gets it from the imageio-ffmpeg wheel when the system has none.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urljoin

import httpx
import numpy as np
import pytest
import soundfile as sf

from auralis_core.audio.codecs import decode

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gradio_ui.py"
pytest.importorskip("gradio", reason="the Gradio example needs `pip install gradio`")
gradio_client = pytest.importorskip("gradio_client")


def _ffmpeg_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("ffmpeg"):
        return
    if importlib.util.find_spec("imageio_ffmpeg") is None:
        pytest.skip("Gradio's streaming audio needs the ffmpeg program (apt-get install ffmpeg, or pip install imageio-ffmpeg)")
    import imageio_ffmpeg

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ffmpeg").symlink_to(imageio_ffmpeg.get_ffmpeg_exe())
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def _load_example():
    spec = importlib.util.spec_from_file_location("gradio_ui", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hls_audio(playlist_url: str) -> tuple[np.ndarray, int]:
    """Fetch every segment of the HLS playlist Gradio streamed and decode them as one AAC stream."""
    playlist = httpx.get(playlist_url, timeout=30)
    playlist.raise_for_status()
    segments = [line for line in playlist.text.splitlines() if line and not line.startswith("#")]
    assert segments, playlist.text
    data = b"".join(httpx.get(urljoin(playlist_url, s), timeout=30).content for s in segments)
    return decode(data)


def _pitch(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


def test_gradio_example_streams_audio(tone_engine_registered, tmp_path, monkeypatch):
    from auralis_core import TTS

    _ffmpeg_on_path(tmp_path, monkeypatch)
    example = _load_example()
    clip = tmp_path / "ref.wav"
    t = np.arange(8000) / 8000
    sf.write(clip, 0.5 * np.sin(2 * np.pi * 330.0 * t), 8000)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    tts = TTS.from_pretrained("tone", voices_dir=tmp_path / "voices")
    app = example.build_app(tts)
    try:
        app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, show_error=True)
        client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
        text = "A first sentence for the tone engine to speak. And a second one, just as long as that."
        job = client.submit(text, "high", "auto", None, api_name="/speak")
        updates = list(job)  # one update per streamed chunk: the audio arrives while it is made
        assert len(updates) >= 2
        samples, rate = _hls_audio(job.result()["url"])
        assert 0.3 < len(samples) / rate < 3.0 and np.sqrt(np.mean(samples**2)) > 0.05
        assert abs(_pitch(samples, rate) - 400.0) < 20  # the built-in "high" voice

        cloned = client.predict(text, "high", "auto", [gradio_client.handle_file(str(clip))], api_name="/speak")
        samples, rate = _hls_audio(cloned["url"])
        assert abs(_pitch(samples, rate) - 330.0) < 20  # the reference's pitch, not the chosen voice

        with pytest.raises(gradio_client.exceptions.AppError, match="Type something"):
            client.predict("   ", "high", "auto", None, api_name="/speak")
    finally:
        app.close()
        tts.shutdown()

