"""Time to first audio of a new request that arrives behind a long one (eSpeak, in process).

A long request (many sentences) is streaming; once its first chunk is out, its look-ahead is in
flight and a short request arrives. Its time to first audio is compared with the same request's
on an idle engine. Two scheduler settings run on the same machine in the same process:

* ``fifo``: ``max_concurrency=8`` -- the scheduler hands eight segments to eSpeak's one worker
  thread, whose FIFO queue then holds the long request's look-ahead ahead of the newcomer (the
  behaviour before engines could declare a preferred concurrency);
* ``preferred``: the default, ``capabilities.preferred_concurrency`` (1 for eSpeak), so waiting
  segments stay in the scheduler's priority queue, where a new request's first segment goes first.

Target: loaded / idle <= 1.5 for ``preferred``. Prints a table, writes JSON.

    python benchmarks/first_audio_under_load.py [--repeats 7] [--out results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from auralis_core import TTS, TTSRequest

ROOT = Path(__file__).resolve().parents[1]
LONG = " ".join(f"This is sentence number {i} of a long chapter that keeps the engine busy for a while." for i in range(40))
SHORT = "Hello there, a new listener has arrived. How are you today?"
TARGET_RATIO = 1.5


@dataclass
class Row:
    setting: str
    max_concurrency: int
    idle_ms: float
    loaded_ms: float
    loaded_max_ms: float
    ratio: float


async def first_audio(tts: TTS, text: str) -> float:
    """Seconds from submitting ``text`` to its first audio chunk."""
    started = time.perf_counter()
    stream = tts.stream_async(TTSRequest(text, voice="en-us"))
    try:
        await stream.__anext__()
        return time.perf_counter() - started
    finally:
        await stream.aclose()


async def behind_long(tts: TTS) -> float:
    """First audio of SHORT while LONG streams (its consumer reads everything as it comes)."""
    first_chunk = asyncio.Event()

    async def long_consumer() -> None:
        async for _ in tts.stream_async(TTSRequest(LONG, voice="en-us")):
            first_chunk.set()

    task = asyncio.create_task(long_consumer())
    try:
        await first_chunk.wait()
        await asyncio.sleep(0.05)  # its look-ahead is queued now
        return await first_audio(tts, SHORT)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def measure(setting: str, concurrency: int | None, repeats: int) -> Row:
    tts = TTS.from_pretrained("espeak", max_concurrency=concurrency)
    try:
        await first_audio(tts, SHORT)  # warm-up
        idle = [await first_audio(tts, SHORT) for _ in range(repeats)]
        loaded = [await behind_long(tts) for _ in range(repeats)]
    finally:
        await tts.shutdown_async()
    idle_ms, loaded_ms = statistics.median(idle) * 1000, statistics.median(loaded) * 1000
    return Row(setting, tts.scheduler.max_concurrency, round(idle_ms, 1), round(loaded_ms, 1),
               round(max(loaded) * 1000, 1), round(loaded_ms / idle_ms, 2))


async def main_async(repeats: int) -> list[Row]:
    return [await measure("fifo", 8, repeats), await measure("preferred", None, repeats)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/first_audio_under_load.json")
    args = parser.parse_args()
    rows = asyncio.run(main_async(args.repeats))
    header = f"{'setting':<10} {'concurrency':>11} {'idle ms':>9} {'loaded ms':>10} {'loaded max':>11} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r.setting:<10} {r.max_concurrency:>11} {r.idle_ms:>9} {r.loaded_ms:>10} {r.loaded_max_ms:>11} {r.ratio:>6}")
    preferred = next(r for r in rows if r.setting == "preferred")
    verdict = "meets" if preferred.ratio <= TARGET_RATIO else "MISSES"
    print(f"preferred: loaded/idle {preferred.ratio} {verdict} the <= {TARGET_RATIO} target")
    result = {
        "benchmark": "first_audio_under_load", "engine": "espeak", "repeats": args.repeats,
        "cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
        "target_ratio": TARGET_RATIO, "meets_target": preferred.ratio <= TARGET_RATIO,
        "rows": [asdict(r) for r in rows],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
