"""Prompt building on the engine's event loop while another thread runs Python: the GIL convoy.

Every torch call lets go of the GIL and must take it back when it returns. While another thread
of the process runs plain Python (phase 1's text preparation, vLLM's output handling), CPython
gives the GIL back to a waiter only at the next switch interval (``sys.getswitchinterval()``,
5 ms by default), so each of the dozen small torch calls of building one XTTS prompt may wait up
to that long. This measures it with the vLLM backend's own `HostPrompts` on real-size XTTS-v2
tables (bfloat16, one GPT layer: the layers play no part), on an asyncio loop with a 5 ms lag
probe, as the engine's loop runs it: bursts of 32 prompts (32 streams arriving at once), while a
second thread prepares sentences through the real `TextPipeline`. Settings: no second thread,
then the second thread at several switch intervals; the second thread's sentences per second
say what a shorter interval costs it.

    python benchmarks/gil_convoy.py [--bursts 20] [--intervals-ms 5,1,0.5] [--out results.json]

Prints a table, writes JSON. On an H100 machine (2026-12-08, vLLM backend, 16 cores) the engine's
counters showed the same build taking 1.8-5.3 ms per prompt and the event loop stalling for up to
0.62 s at 256-512 requests (docs/benchmarks.md, session 8, run 2); whether this convoy is the cause there is what
the GPU benchmark's ``--switch-ms`` measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
VOCAB = ROOT / "plugins/xttsv2/tests/fixtures/xtts_small/vocab.json"
PHASE1_TEXT = "Dr. Smith paid $42.50 on March 3rd, 2024 for 17 items; that is 2.5 per cent more than last year."
PROMPT_TEXT = "The quick brown fox jumps over the lazy dog, and then it runs back home for dinner."


@dataclass
class Row:
    setting: str
    switch_ms: float
    build_p50_ms: float
    build_p95_ms: float
    build_max_ms: float
    burst32_p50_ms: float
    burst32_max_ms: float
    loop_lag_max_ms: float
    phase1_sentences_per_s: float | None


def _parts():
    from auralis_xttsv2.backend.prompts import HostPrompts
    from auralis_xttsv2.model.config import XTTSGPTConfig
    from auralis_xttsv2.model.gpt import XTTSGPT
    from auralis_xttsv2.text import TextPipeline, XTTSTokenizer

    config = XTTSGPTConfig(layers=1)
    with torch.device("cpu"):
        gpt = XTTSGPT(config).to(torch.bfloat16).eval()
    text = TextPipeline(XTTSTokenizer(VOCAB), max_text_tokens=config.max_text_tokens)
    tokens = torch.tensor(text.prepare(PROMPT_TEXT, "en")[0].token_ids)
    cond = torch.randn(1, config.num_cond_latents, config.hidden_size)
    return HostPrompts(gpt), text, cond, tokens


async def _bursts(prompts, cond, tokens, bursts: int) -> tuple[list[float], list[float], list[float]]:
    builds: list[float] = []
    burst_times: list[float] = []
    lags: list[float] = []
    done = False

    async def probe() -> None:
        while not done:
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - t - 0.005)

    task = asyncio.create_task(probe())
    for _ in range(bursts):
        start = time.perf_counter()
        for _ in range(32):  # back to back, as the loop builds the prompts of requests that arrive together
            t = time.perf_counter()
            prompts.build(cond, tokens)
            builds.append(time.perf_counter() - t)
        burst_times.append(time.perf_counter() - start)
        await asyncio.sleep(0.02)
    done = True
    await task
    return builds, burst_times, lags


def measure(setting: str, interval_s: float, contender: bool, parts, bursts: int) -> Row:
    prompts, text, cond, tokens = parts
    stop = threading.Event()
    prepared = 0

    def phase1() -> None:
        nonlocal prepared
        while not stop.is_set():
            text.prepare(PHASE1_TEXT, "en")
            prepared += 1

    before = sys.getswitchinterval()
    sys.setswitchinterval(interval_s)
    worker = threading.Thread(target=phase1, daemon=True)
    try:
        if contender:
            worker.start()
            time.sleep(0.2)
        t0, n0 = time.perf_counter(), prepared
        builds, burst_times, lags = asyncio.run(_bursts(prompts, cond, tokens, bursts))
        rate = (prepared - n0) / (time.perf_counter() - t0) if contender else None
    finally:
        stop.set()
        if contender:
            worker.join()
        sys.setswitchinterval(before)
    builds.sort()

    def ms(x: float) -> float:
        return round(1000 * x, 3)

    return Row(setting, round(1000 * interval_s, 2), ms(statistics.median(builds)),
               ms(builds[int(0.95 * (len(builds) - 1))]), ms(builds[-1]), ms(statistics.median(burst_times)),
               ms(max(burst_times)), ms(max(lags)), None if rate is None else round(rate, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bursts", type=int, default=20, help="bursts of 32 prompts per setting")
    parser.add_argument("--intervals-ms", default="5,1,0.5", help="switch intervals to measure with the second thread")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/gil_convoy.json")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the engine's small host ops: no intra-op pool in the picture
    parts = _parts()
    default = sys.getswitchinterval()
    rows = [measure("alone", default, False, parts, args.bursts)]
    for ms in (float(x) for x in args.intervals_ms.split(",")):
        rows.append(measure("phase 1 in a thread", ms / 1000, True, parts, args.bursts))
    header = (f"{'setting':<20} {'switch ms':>9} {'build p50':>9} {'p95':>8} {'max':>8} "
              f"{'burst32 p50':>11} {'max':>8} {'loop lag max':>12} {'phase 1 /s':>10}")
    print(header)
    print("-" * len(header))
    for r in rows:
        rate = "" if r.phase1_sentences_per_s is None else r.phase1_sentences_per_s
        print(f"{r.setting:<20} {r.switch_ms:>9} {r.build_p50_ms:>9} {r.build_p95_ms:>8} {r.build_max_ms:>8} "
              f"{r.burst32_p50_ms:>11} {r.burst32_max_ms:>8} {r.loop_lag_max_ms:>12} {rate:>10}")
    result = {"benchmark": "gil_convoy", "cpus": os.cpu_count(), "machine": platform.machine(),
              "python": platform.python_version(), "torch": torch.__version__, "bursts": args.bursts,
              "unit": "ms", "rows": [asdict(r) for r in rows]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
