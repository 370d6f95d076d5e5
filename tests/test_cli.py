"""The `auralis` command, run as a real subprocess against the embedded eSpeak engine."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from auralis_core import TTSOutput

AURALIS = [sys.executable, "-m", "auralis_core.cli.main"]


def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AURALIS, *args], capture_output=True, text=True, input=input, timeout=120)


def test_speak_writes_plausible_speech(tmp_path):
    text = "Hello! This is Auralis, speaking from your own machine."
    out = tmp_path / "hello.wav"
    result = run("speak", text, "-o", str(out))
    assert result.returncode == 0, result.stderr
    audio = TTSOutput.from_file(out)
    assert audio.get_info()["rms"] > 0.01
    # ~10-20 characters per second of speech
    assert len(text) / 25 < audio.duration < len(text) / 6


def test_speak_from_stdin_and_file_and_format(tmp_path):
    text_file = tmp_path / "in.txt"
    text_file.write_text("Reading from a file works.", encoding="utf-8")
    flac = tmp_path / "a.flac"
    assert run("speak", "-f", str(text_file), "-o", str(flac)).returncode == 0
    assert flac.read_bytes()[:4] == b"fLaC"
    wav = tmp_path / "b.wav"
    result = run("speak", "--engine", "espeak", "-o", str(wav), "--voice", "en-gb", "--speed", "1.5", input="And from standard input.")
    assert result.returncode == 0, result.stderr
    assert TTSOutput.from_file(wav).duration > 0.5


def test_progress_on_long_input(tmp_path):
    text = "This is a fairly long sentence for the progress display. " * 6
    result = run("speak", text, "-o", str(tmp_path / "long.wav"))
    assert result.returncode == 0, result.stderr
    assert "segment" in result.stderr and "s of audio" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["speak", "hi", "--engine", "nope"], "unknown engine 'nope'; installed engines:"),
        (["speak", "hi", "--engine", "espeak", "--voice", "no-such-voice"], "unknown voice 'no-such-voice'"),
        (["speak", "hi", "--engine", "espeak", "--language", "xx-nope"], "language 'xx-nope' is not supported by engine 'espeak'"),
        (["speak", "hi", "--speed", "-1"], "speed must be in [0.25, 4.0]"),
        (["speak", "   "], "text is empty"),
        (["speak", "hi", "--speed", "nan"], "speed must be in [0.25, 4.0], got nan"),
        (["speak", "...", "--engine", "espeak"], "nothing to speak"),
        (["speak", "hi", "--engine", "espeak", "--option", "bogus=1"], "unknown option 'bogus' for engine 'espeak'; valid options: pitch"),
        (["speak", "hi", "--engine", "espeak", "--option", "pitch=500"], "invalid option 'pitch' for engine 'espeak'"),
        (["speak", "hi", "--engine", "espeak", "--engine-arg", "bogus=1"], "engine 'espeak' does not take the keyword argument 'bogus'"),
    ],
)
def test_errors_are_one_clear_line(args, needle, tmp_path):
    result = run(*args, "-o", str(tmp_path / "x.wav")) if args[0] == "speak" else run(*args)
    assert result.returncode != 0
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_non_audio_speaker_file(tmp_path):
    bogus = tmp_path / "voice.wav"
    bogus.write_bytes(b"definitely not audio" * 10)
    result = run("speak", "hi", "--speaker", str(bogus), "-o", str(tmp_path / "x.wav"))
    assert result.returncode != 0
    assert "is not a readable audio file" in result.stderr and "Traceback" not in result.stderr


def test_debug_shows_traceback(tmp_path):
    result = run("--debug", "speak", "hi", "--engine", "nope", "-o", str(tmp_path / "x.wav"))
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_engines_and_voices():
    engines = run("engines")
    assert engines.returncode == 0
    row = next(line for line in engines.stdout.splitlines() if line.startswith("espeak"))
    assert "auralis-espeak" in row and "streaming" in row
    voices = run("voices", "--engine", "espeak")
    assert voices.returncode == 0 and len(voices.stdout.splitlines()) > 20


def test_version_lists_core_and_each_engine_distribution():
    from importlib.metadata import entry_points

    import auralis_core

    result = run("--version")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"auralis-core {auralis_core.__version__} (Python {sys.version.split()[0]})"
    installed = {ep.name: ep.dist for ep in entry_points(group="auralis.engines")}
    assert "espeak" in installed
    for name, dist in installed.items():
        assert any(line.split() == [name, dist.metadata["Name"], dist.version] for line in lines[2:]), (name, lines)


def test_speak_option_changes_the_voice(tmp_path):
    plain, high = tmp_path / "plain.wav", tmp_path / "high.wav"
    assert run("speak", "Pitch test.", "--engine", "espeak", "-o", str(plain)).returncode == 0
    result = run("speak", "Pitch test.", "--engine", "espeak", "-o", str(high), "--option", "pitch=95")
    assert result.returncode == 0, result.stderr
    assert not np.array_equal(TTSOutput.from_file(plain).samples, TTSOutput.from_file(high).samples)


def test_engines_json_describes_voices_limits_and_options():
    result = run("engines", "--json")
    assert result.returncode == 0, result.stderr
    engines = {e["name"]: e for e in json.loads(result.stdout)["engines"]}
    espeak = engines["espeak"]
    assert espeak["default_voice"] == "en-us" and "en-gb" in espeak["voices"]
    assert espeak["voice_aliases"]["alloy"] == "en-us" and espeak["voice_languages"]["de"] == ["de"]
    assert espeak["sample_rate"] == 22050
    assert espeak["limits"] == {"max_reference_files": None, "max_reference_seconds": None, "preferred_concurrency": 1}
    assert espeak["options_schema"]["properties"]["pitch"]["maximum"] == 100
    assert espeak["default_options"] == {"pitch": 50}
    assert espeak["deterministic"] is False and espeak["error"] is None


def test_no_text_is_a_usage_error():
    result = subprocess.run([*AURALIS, "speak"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    # stdin is not a TTY but empty: that is "text is empty"
    assert result.returncode != 0 and "text" in result.stderr


def test_non_utf8_stdin_is_one_clear_line(tmp_path):
    result = subprocess.run([*AURALIS, "speak", "-o", str(tmp_path / "x.wav")], input=b"caf\xe9 au lait",
                            capture_output=True, timeout=120)
    stderr = result.stderr.decode()
    assert result.returncode != 0
    assert "standard input is not UTF-8 text (byte 0xe9 at offset 3)" in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr


def test_nul_in_text_is_named(tmp_path):
    result = run("speak", "-o", str(tmp_path / "x.wav"), input="Hello \x00 world")
    assert result.returncode != 0
    assert "text contains a NUL character at position 6" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_closed_pipe_is_a_quiet_exit():
    """`auralis voices | head -1`: the reader is gone before the output is written."""
    proc = subprocess.Popen([*AURALIS, "voices"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=120)
    assert stderr.decode().strip() == ""
    assert proc.returncode != 0


BIG_TEXT = " ".join(f"This is sentence number {i} of a long book read aloud." for i in range(400))


def _interrupt(args: list[str]) -> tuple[int, str, float]:
    """Run ``auralis`` until it reports progress, press Ctrl-C; (exit status, stderr, seconds to exit)."""
    proc = subprocess.Popen(
        [*AURALIS, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background runner may ignore it
    )
    seen = ""
    while "s of audio" not in seen:
        piece = proc.stderr.read(1)
        assert piece, f"auralis ended before it made progress: {seen}"
        seen += piece
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, rest = proc.communicate(timeout=60)
    return proc.returncode, rest, time.monotonic() - started


XTTS_SMALL = Path(__file__).parents[1] / "plugins/xttsv2/tests/fixtures/xtts_small"


@pytest.mark.parametrize("engine", ["espeak", "xttsv2"])
def test_ctrl_c_is_one_line_and_exit_130(tmp_path, engine):
    text_file = tmp_path / "big.txt"
    text_file.write_text(BIG_TEXT, encoding="utf-8")
    args = ["speak", "--file", str(text_file), "-o", str(tmp_path / "out.wav")]
    if engine == "xttsv2":
        if importlib.util.find_spec("auralis_xttsv2") is None or not XTTS_SMALL.is_dir():
            pytest.skip("auralis-xttsv2 and its test checkpoint are not installed")
        args += ["--engine", "xttsv2", "--model", str(XTTS_SMALL), "--language", "en"]
    status, stderr, seconds = _interrupt(args)
    lines = [line for line in stderr.replace("\r", "\n").splitlines() if line.strip() and "s of audio" not in line]
    assert status == 130
    assert lines == ["auralis: interrupted"], stderr
    assert seconds < 5, f"took {seconds:.1f} s to exit after Ctrl-C"
    assert not (tmp_path / "out.wav").exists()


def test_original_server_command_maps_onto_serve():
    """`auralis.openai` with the original flags serves the OpenAI API (eSpeak here: no XTTS weights
    in CI); with no --model it means the original default, XTTS-v2 from AstraMindAI."""
    import shutil
    import socket

    import httpx
    import openai

    from auralis_core.cli.openai_compat import parse
    from auralis_core.tts import resolve_engine_name

    config, level = parse([])
    assert (config.model, config.engine_args, config.max_concurrency, level) == (
        "AstraMindAI/xttsv2", {"gpt_model": "AstraMindAI/xtts2-gpt"}, 8, "warn")
    assert resolve_engine_name(config.model, None) == ("xttsv2", "AstraMindAI/xttsv2")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = shutil.which("auralis.openai", path=str(Path(sys.executable).parent))
    assert script, "the auralis.openai console script is installed with auralis-core"
    proc = subprocess.Popen([script, "--host", "127.0.0.1", "--port", str(port), "--model", "espeak",
                             "--max_concurrency", "2", "--vllm_logging_level", "err"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        client = openai.OpenAI(base_url=url + "/v1", api_key="none")
        audio = client.audio.speech.create(model="tts-1", voice="alloy", input="Old flags.", response_format="wav")
        assert audio.content[:4] == b"RIFF"
        assert httpx.get(url + "/v1/engines").json()["data"][0]["name"] == "espeak"
    finally:
        proc.terminate()
        proc.wait(30)
