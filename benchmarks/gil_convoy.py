"""Prompt building on the engine's event loop while another thread runs Python: the GIL convoy.

Every dispatched torch call lets go of the GIL and must take it back when it returns. While another
thread of the process runs plain Python (phase 1's text preparation, vLLM's output handling),
CPython gives the GIL back to a waiter only at the next switch interval
(``sys.getswitchinterval()``, 5 ms by default), so each such call of building one XTTS prompt may
lose it and then waits at least that long (several intervals, on a loaded 2-vCPU VM). This measures
it on real-size XTTS-v2 tables (bfloat16, one GPT layer: the layers play no part), on an asyncio
loop as the engine's loop runs it: bursts of 32 prompts (32 streams arriving at once), while a
second thread prepares sentences through the real `TextPipeline`. Settings: no second thread, then
the second thread at several switch intervals; the second thread's sentences per second say what a
shorter interval costs it. Two builders of the same bits (checked first) take turns burst by burst,
in alternating order: the vLLM backend's `HostPrompts.build` (four dispatched ops) and, as the
reference, the GPT's own `embed_prefix` on the same host tables (the straightforward build: a
dozen). Last, which kinds of call let go at all: 4 calls of each beside a thread spinning in
Python. ``--threads 1,0`` repeats every setting with torch's own intra-op pool (0: its default
size, as the engine runs), which separates the pool's part from the GIL's on a many-core host.

    python benchmarks/gil_convoy.py [--bursts 20] [--intervals-ms 5,1,0.5] [--threads 1] [--out results.json]

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
from collections.abc import Callable
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
    builder: str
    threads: int  # torch intra-op threads
    switch_ms: float
    build_p50_ms: float
    build_p95_ms: float
    build_max_ms: float
    burst32_p50_ms: float
    burst32_max_ms: float
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
    return gpt, HostPrompts(gpt), text, cond, tokens


def _embed_prefix(gpt):
    def build(cond, tokens):
        with torch.inference_mode():
            return gpt.embed_prefix(cond, tokens[None])[0]
    return build


# name -> (gpt, HostPrompts) -> build(cond [1, 32, D], tokens [L]); both give the same bits
BUILDERS = {
    "HostPrompts.build": lambda gpt, prompts: prompts.build,
    "embed_prefix (reference)": lambda gpt, prompts: _embed_prefix(gpt),
}


async def _bursts(builds: dict[str, Callable], cond, tokens, bursts: int) -> dict[str, tuple[list[float], list[float]]]:
    """Bursts of 32 builds on a running loop, the builders taking turns burst by burst, so that each
    meets the same contention (on a 2-vCPU VM it comes and goes over seconds)."""
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in builds}
    order = list(builds.items())
    for _ in range(bursts):
        for name, build in order:
            each, whole = times[name]
            start = time.perf_counter()
            for _ in range(32):  # back to back, as the loop builds the prompts of requests that arrive together
                t = time.perf_counter()
                build(cond, tokens)
                each.append(time.perf_counter() - t)
            whole.append(time.perf_counter() - start)  # the loop is blocked for the whole burst
            await asyncio.sleep(0.02)
        order.reverse()  # neither builder always goes first
    return times


def measure(setting: str, interval_s: float, contender: bool, parts, bursts: int) -> list[Row]:
    gpt, prompts, text, cond, tokens = parts
    builds = {name: make(gpt, prompts) for name, make in BUILDERS.items()}
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
        times = asyncio.run(_bursts(builds, cond, tokens, bursts))
        rate = (prepared - n0) / (time.perf_counter() - t0) if contender else None
    finally:
        stop.set()
        if contender:
            worker.join()
        sys.setswitchinterval(before)

    def ms(x: float) -> float:
        return round(1000 * x, 3)

    rows = []
    for name, (each, whole) in times.items():
        each.sort()
        rows.append(Row(setting, name, torch.get_num_threads(), round(1000 * interval_s, 2), ms(statistics.median(each)),
                        ms(each[int(0.95 * (len(each) - 1))]), ms(each[-1]), ms(statistics.median(whole)),
                        ms(max(whole)), None if rate is None else round(rate, 1)))
    return rows


def calls_beside_a_spinner(repeats: int = 10) -> dict[str, float]:
    """Median ms of 4 calls of each kind while another thread spins in Python (default interval):
    which calls let go of the GIL (they pay the wait to get it back) and which keep it."""
    table = torch.zeros(300, 1024, dtype=torch.bfloat16)
    small, ids = torch.zeros(4), torch.tensor([1, 2, 3])
    out = torch.empty(3, 1024, dtype=torch.bfloat16)
    kinds = {
        "slice": lambda: table[2:5],
        "tolist": lambda: ids.tolist(),
        "torch.tensor(list)": lambda: torch.tensor([1, 2, 3]),
        "add_ (4 elements)": lambda: small.add_(0),
        "torch.empty": lambda: torch.empty(3, 1024, dtype=torch.bfloat16),
        "index_select(out=)": lambda: torch.index_select(table, 0, ids, out=out),
        "setitem (copy into a slice)": lambda: out.__setitem__(slice(0, 2), table[:2]),
        "torch.cat": lambda: torch.cat([out, out]),
    }
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    worker = threading.Thread(target=spin, daemon=True)
    worker.start()
    time.sleep(0.1)
    medians = {}
    try:
        for name, call in kinds.items():
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                for _ in range(4):
                    call()
                times.append(time.perf_counter() - t)
                time.sleep(0.003)
            medians[name] = round(1000 * statistics.median(times), 2)
    finally:
        stop.set()
        worker.join()
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bursts", type=int, default=20, help="bursts of 32 prompts per setting")
    parser.add_argument("--intervals-ms", default="5,1,0.5", help="switch intervals to measure with the second thread")
    parser.add_argument("--threads", default="1",
                        help="torch intra-op thread counts to measure each setting at (0: torch's default, "
                             "the engine's own case); 1 keeps the pool out of the picture")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/gil_convoy.json")
    args = parser.parse_args()
    default_threads = torch.get_num_threads()
    thread_counts = [int(x) or default_threads for x in args.threads.split(",")]
    parts = _parts()
    gpt, prompts, _, cond, tokens = parts
    built = [make(gpt, prompts)(cond, tokens) for make in BUILDERS.values()]
    if not all(torch.equal(built[0], other) for other in built[1:]):
        raise SystemExit("the builders disagree: the comparison would be meaningless")
    default = sys.getswitchinterval()
    rows: list[Row] = []
    for threads in thread_counts:  # the pool's size is process-wide: one count at a time
        torch.set_num_threads(threads)
        rows += measure("alone", default, False, parts, args.bursts)
        for ms in (float(x) for x in args.intervals_ms.split(",")):
            rows += measure("phase 1 in a thread", ms / 1000, True, parts, args.bursts)
    torch.set_num_threads(1)
    header = (f"{'builder':<24} {'setting':<20} {'threads':>7} {'switch ms':>9} {'build p50':>9} {'p95':>8} {'max':>8} "
              f"{'burst32 p50':>11} {'max':>8} {'phase 1 /s':>10}")
    print(header)
    print("-" * len(header))
    for r in rows:
        rate = "" if r.phase1_sentences_per_s is None else r.phase1_sentences_per_s
        print(f"{r.builder:<24} {r.setting:<20} {r.threads:>7} {r.switch_ms:>9} {r.build_p50_ms:>9} {r.build_p95_ms:>8} "
              f"{r.build_max_ms:>8} {r.burst32_p50_ms:>11} {r.burst32_max_ms:>8} {rate:>10}")
    calls = calls_beside_a_spinner()
    print("\n4 calls beside a thread spinning in Python, median ms: "
          + ", ".join(f"{name} {ms}" for name, ms in calls.items()))
    result = {"benchmark": "gil_convoy", "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "cpus": os.cpu_count(), "default_threads": default_threads, "machine": platform.machine(),
              "python": platform.python_version(), "torch": torch.__version__, "bursts": args.bursts,
              "unit": "ms", "rows": [asdict(r) for r in rows],
              "four_calls_beside_a_spinner_ms": calls}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
