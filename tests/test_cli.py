"""The `auralis` command, run as a real subprocess against the embedded eSpeak engine."""

from __future__ import annotations

import subprocess
import sys

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
    result = run("speak", "-o", str(wav), "--voice", "en-gb", "--speed", "1.5", input="And from standard input.")
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
        (["speak", "hi", "--voice", "no-such-voice"], "unknown voice 'no-such-voice'"),
        (["speak", "hi", "--language", "xx-nope"], "language 'xx-nope' is not supported by engine 'espeak'"),
        (["speak", "hi", "--speed", "-1"], "speed must be in [0.25, 4.0]"),
        (["speak", "   "], "text is empty"),
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


def test_no_text_is_a_usage_error():
    result = subprocess.run([*AURALIS, "speak"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    # stdin is not a TTY but empty: that is "text is empty"
    assert result.returncode != 0 and "text" in result.stderr
