"""XTTS-v2 on one GPU, end to end (text pipeline, GPT, latents, HiFi-GAN): the vLLM backend against
the torch backend, with the same real-size random weights (see `xttsv2_generation.py`).

Every segment generates exactly ``--codes`` audio codes (random weights never stop on purpose), so
"x rt" (audio seconds per wall second) compares like with like. Scenarios per backend:

  first audio, 1 stream      median over 5 streamed one-sentence requests, one at a time
  first audio, 32 streams    p50 / p95 over 32 streamed requests sent at once
  N concurrent               N one-sentence requests at once (not streamed): throughput
  book                       one request of >= --book-chars characters, end to end

Peak GPU memory is the device-wide use (this process and vLLM's engine process), sampled every
50 ms, minus what was in use before the engine was built.

Usage: python benchmarks/xttsv2_gpu.py [--backends vllm,torch] [--codes 200]
       [--concurrency 1,16,64,256,512] [--torch-max-concurrency 64] [--book-chars 100000]
       [--torch-book-chars 10000] [--dtype bfloat16] [--vllm-memory BYTES|FRACTION] [--out results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from xttsv2_generation import DEFAULT_VOCAB, PARAGRAPH, SENTENCES, Scenario, build_engine  # noqa: E402

from auralis_core import TTS  # noqa: E402

CODES_PER_SECOND = 22050 / 1024


class GpuMemory:
    """Device-wide memory in use (all processes), sampled on a thread (zeros without CUDA)."""

    def __init__(self) -> None:
        self.baseline = self.peak = self._used()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def _used() -> int:
        if not torch.cuda.is_available():
            return 0
        free, total = torch.cuda.mem_get_info()
        return total - free

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self._used())

    def now_gb(self) -> float:
        return round((self._used() - self.baseline) / 1e9, 2)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round((self.peak - self.baseline) / 1e9, 2)


def book_text(chars: int) -> str:
    parts: list[str] = []
    n = 0
    i = 0
    while n < chars:
        piece = PARAGRAPH if i % 3 == 0 else " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(4))
        parts.append(piece)
        n += len(piece) + 1
        i += 1
    return " ".join(parts)


def pct(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def run_requests(bench: Scenario, texts: list[str], stream: bool) -> dict:
    start = time.perf_counter()
    results = await asyncio.gather(*[bench.one(t, stream) for t in texts])
    wall = time.perf_counter() - start
    audio = sum(r[0] for r in results)
    firsts = [r[1] for r in results]
    return {"requests": len(texts), "audio_s": round(audio, 1), "wall_s": round(wall, 3),
            "x_realtime": round(audio / wall, 1), "rtf": round(wall / audio, 5),
            "first_audio_p50_s": round(pct(firsts, 50), 3), "first_audio_p95_s": round(pct(firsts, 95), 3)}


async def measure(args: argparse.Namespace, backend: str) -> dict:
    dtype = getattr(torch, args.dtype)
    levels = [c for c in args.concurrency if backend != "torch" or c <= args.torch_max_concurrency]
    batch = max(levels + [32])
    memory = GpuMemory()
    t0 = time.perf_counter()
    kwargs: dict = {"backend": backend}
    if backend == "vllm":
        kwargs["vllm_memory"] = args.vllm_memory
    engine = build_engine(args.vocab, batch, args.chunk_tokens, args.device, dtype, **kwargs)
    startup = time.perf_counter() - t0
    loaded_gb = memory.now_gb()
    tts = TTS(engine, max_concurrency=batch)
    bench = Scenario(tts, args.codes)
    rows: dict[str, dict] = {}
    table = []

    def show(name: str, r: dict) -> None:
        rows[name] = r
        table.append(f"{backend:<6} {name:<26} {r['requests']:>5} {r['audio_s']:>9} {r['wall_s']:>8} {r['x_realtime']:>8} "
                     f"{r['first_audio_p50_s']:>7} {r['first_audio_p95_s']:>7}")
        print(table[-1], flush=True)

    try:
        await run_requests(bench, SENTENCES * 2, stream=False)  # warm-up: kernels, graphs, allocator
        await run_requests(bench, SENTENCES[:2], stream=True)
        firsts = []
        for i in range(5):
            r = await run_requests(bench, [SENTENCES[i]], stream=True)
            firsts.append(r["first_audio_p50_s"])
        r["first_audio_p50_s"], r["first_audio_p95_s"] = round(statistics.median(firsts), 3), round(max(firsts), 3)
        show("first audio, 1 stream", r)
        show("first audio, 32 streams", await run_requests(bench, (SENTENCES * 4)[:32], stream=True))
        for n in levels:
            show(f"{n} concurrent", await run_requests(bench, (SENTENCES * (n // len(SENTENCES) + 1))[:n], stream=False))
        chars = args.book_chars if backend != "torch" else args.torch_book_chars
        if chars:
            text = book_text(chars)
            r = await run_requests(bench, [text], stream=False)
            r["chars"] = len(text)
            show(f"book, {len(text)} chars", r)
    finally:
        await tts.shutdown_async()
    return {"backend": backend, "startup_s": round(startup, 1), "gpu_gb_after_load": loaded_gb,
            "peak_gpu_gb": memory.stop(), "max_batch_size": batch, "scenarios": rows, "table": table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="vllm,torch")
    parser.add_argument("--codes", type=int, default=200, help="audio codes per segment (46.4 ms each)")
    parser.add_argument("--concurrency", default="1,16,64,256,512")
    parser.add_argument("--torch-max-concurrency", type=int, default=64, help="torch backend: skip larger levels")
    parser.add_argument("--book-chars", type=int, default=100_000)
    parser.add_argument("--torch-book-chars", type=int, default=10_000)
    parser.add_argument("--dtype", default="bfloat16", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--chunk-tokens", type=int, default=24)
    parser.add_argument("--vllm-memory", type=float, default=None,
                        help="vLLM KV pool: a fraction of the GPU (<= 1) or bytes (> 1); default: fits every sequence")
    parser.add_argument("--device", default="cuda", help="cpu: a smoke run of the script itself")
    parser.add_argument("--vocab", type=Path, default=DEFAULT_VOCAB)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/xttsv2_gpu.json"))
    args = parser.parse_args()
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    if args.vllm_memory is not None and args.vllm_memory > 1:
        args.vllm_memory = int(args.vllm_memory)
    result = {
        "machine": {"gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else "none", "python": platform.python_version(), "torch": torch.__version__,
                    "date": time.strftime("%Y-%m-%d")},
        "model": {"weights": "random, real size (XTTSConfig defaults)", "dtype": args.dtype, "codes_per_segment": args.codes,
                  "audio_s_per_segment": round(args.codes / CODES_PER_SECOND, 2)},
        "backends": {},
    }
    print(f"{'backend':<6} {'scenario':<26} {'reqs':>5} {'audio s':>9} {'wall s':>8} {'x rt':>8} {'TTFA p50':>7} {'p95':>7}")
    for backend in args.backends.split(","):
        result["backends"][backend] = asyncio.run(measure(args, backend))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")  # partial results survive a later failure
    print()
    for b in result["backends"].values():
        print(f"{b['backend']}: start {b['startup_s']} s, GPU {b['gpu_gb_after_load']} GB after load, "
              f"peak {b['peak_gpu_gb']} GB (batch {b['max_batch_size']})")
        print("\n".join(b["table"]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
