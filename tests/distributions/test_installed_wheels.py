"""The built wheels installed into an empty venv, used from a directory outside the source tree.

Editable installs hide packaging bugs (a data file left out of a wheel, a dependency only the
developer's venv has); these run the user-facing commands against real installed distributions.
Marked ``packaging``.
"""

from __future__ import annotations

import io
import json
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf
from distkit import REPO

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]

XTTS_FIXTURE = REPO / "plugins" / "xttsv2" / "tests" / "fixtures" / "xtts_small"


def _engine_names(fresh_venv) -> list[str]:
    listing = json.loads(fresh_venv.auralis("engines", "--json").stdout)
    assert listing["failed_plugins"] == []
    return [row["name"] for row in listing["engines"]]


def test_code_comes_from_the_venv_not_the_source_tree(fresh_venv, distributions):
    packages = [p for d in distributions for p in d.packages]
    script = (
        "import json, sys, importlib\n"
        f"mods = {{n: importlib.import_module(n).__file__ for n in {packages!r}}}\n"
        "print(json.dumps({'mods': mods, 'path': sys.path}))\n"
    )
    report = json.loads(fresh_venv.run(fresh_venv.python, "-c", script).stdout)
    site = str(fresh_venv.venv)
    for name, path in report["mods"].items():
        assert path.startswith(site) and "site-packages" in path, (name, path)
    assert not [p for p in report["path"] if p and Path(p).resolve().is_relative_to(REPO)], report["path"]


def test_engines_lists_every_installed_engine(fresh_venv, distributions):
    names = _engine_names(fresh_venv)
    for dist in distributions:
        if not dist.is_core:
            engine = dist.name.removeprefix("auralis-")
            assert engine in names, f"{dist.name} installed but engine {engine!r} not listed: {names}"
    table = fresh_venv.auralis("engines").stdout
    assert table.startswith("NAME") and "espeak" in table


def test_version_lists_core_and_every_engine(fresh_venv, distributions, core):
    out = fresh_venv.auralis("--version").stdout
    assert out.splitlines()[0].startswith(f"auralis-core {core.source_version} (Python 3.")
    for dist in distributions:
        if not dist.is_core:
            assert f"{dist.name} {dist.source_version}" in out, out


def _speech(path: Path) -> np.ndarray:
    samples, rate = sf.read(path, dtype="float32")
    assert rate >= 16000
    assert np.sqrt(np.mean(samples**2)) > 0.01, "silence"
    return samples


def test_speak_with_the_default_engine(fresh_venv):
    text = "Installed from the wheels, speaking from a clean environment."
    out = fresh_venv.cwd / "default.wav"
    result = fresh_venv.auralis("speak", text, "-o", out)
    assert "wrote" in result.stderr
    samples, rate = sf.read(out, dtype="float32")
    assert len(text) / 25 < len(samples) / rate < len(text) / 6
    _speech(out)


def test_speak_with_espeak_uses_its_bundled_data(fresh_venv):
    """eSpeak's phoneme tables and voices come from the espeakng-loader wheel: German must work."""
    out = fresh_venv.cwd / "de.flac"
    fresh_venv.auralis("speak", "Guten Tag, wie geht es Ihnen?", "--engine", "espeak", "--voice", "de", "-o", out)
    _speech(out)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_the_openai_client(fresh_venv):
    port = _free_port()
    voices = fresh_venv.root / "voices"
    server = fresh_venv.popen(fresh_venv.venv / "bin" / "auralis", "serve", "--port", str(port),  # the default engine
                              "--voices-dir", voices, "--log-level", "warning")
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, server.communicate()[0]
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server not ready in 90 s"
            time.sleep(0.2)
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0, timeout=60)
        assert "tts-1" in {m.id for m in client.models.list()}
        speech = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello from the wheel.",
                                            response_format="wav")
        samples, rate = sf.read(io.BytesIO(speech.content), dtype="float32")
        assert rate > 0 and len(samples) / rate > 0.5 and np.sqrt(np.mean(samples**2)) > 0.01
        with pytest.raises(openai.BadRequestError) as bad:
            client.audio.speech.create(model="tts-1", voice="alloy", input="x", response_format="nope")  # type: ignore[arg-type]
        assert bad.value.body["param"] == "response_format"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            output = server.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            server.kill()
            output = server.communicate()[0]
    assert server.returncode == 0, output


def test_xttsv2_loads_the_fixture_checkpoint(fresh_venv):
    """The committed small Coqui-layout checkpoint (copied out of the tree) loads and speaks."""
    checkpoint = fresh_venv.root / "xtts_small"
    if not checkpoint.exists():
        shutil.copytree(XTTS_FIXTURE, checkpoint)
    out = fresh_venv.cwd / "xtts.wav"
    script = (
        "import sys, torch\n"
        "from auralis_core import TTS\n"
        "torch.manual_seed(0)\n"
        "with TTS.from_pretrained(sys.argv[1], device='cpu') as tts:\n"
        "    assert tts.engine_name == 'xttsv2', tts.engine_name\n"
        "    print(','.join(tts.list_voices()))\n"
        "    out = tts.generate_speech('the quick brown fox, then more.', voice='Ana Florence', language='en',\n"
        "                              do_sample=False, repetition_penalty=10.0)\n"
        "    out.save(sys.argv[2])\n"
    )
    result = fresh_venv.run(fresh_venv.python, "-c", script, checkpoint, out)
    assert "Ana Florence" in result.stdout
    samples, rate = sf.read(out, dtype="float32")
    assert rate == 24000 and len(samples) > 2400 and np.all(np.isfinite(samples))
