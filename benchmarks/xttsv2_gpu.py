"""XTTS-v2 on one GPU, end to end (text pipeline, GPT, latents, HiFi-GAN): the vLLM backend against
the torch backend and Coqui's own ``Xtts.inference``, with the same real-size random weights (see
`xttsv2_generation.py`; Coqui runs in its own environment through `xttsv2_coqui.py`).

Every segment generates exactly ``--codes`` audio codes (random weights never stop on purpose), so
"x rt" (audio seconds per wall second) compares like with like. Scenarios per backend:

  first audio, 1 stream      median over 5 streamed one-sentence requests, one at a time
  first audio, 32 streams    p50 / p95 over 32 streamed requests sent at once
  N concurrent               N one-sentence requests at once (not streamed): throughput
  book                       one request of >= --book-chars characters, end to end

Requests are unseeded (as a server gets them). Peak GPU memory is the device-wide use (this process
and vLLM's engine process), sampled every 50 ms: "peak" is minus what was in use before the engine
was built, "peak total" is everything (nothing else runs on the GPU).

Where the time goes, per scenario: the wall time of the batched latents pass and of HiFi-GAN
(their GPU work included: results come back to the CPU), building prompt embeddings, the moment
vLLM finished its last sequence ("codes done"), this process's CPU time, and the engine loop's
lag (a 5 ms timer's overshoot: how busy the event loop that runs every request is). The vLLM
backend also runs "GPT alone": the same prompts straight into vLLM, no latents or audio, which
bounds what the whole path can reach.

Usage: python benchmarks/xttsv2_gpu.py [--backends vllm32,vllm,torch,coqui] [--codes 200]
       [--concurrency 1,16,64,256,512] [--torch-max-concurrency 64] [--book-chars 100000]
       [--torch-book-chars 10000] [--dtype bfloat16] [--vllm-memory BYTES|FRACTION]
       [--first-chunk-tokens 8] [--coqui-site DIR] [--out results.json]

``vllm32`` is the vLLM backend at its recommended 32-stream setting (``max_batch_size=32``,
``--vllm32-memory``): first audio and throughput at 32, and its GPU memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Self

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from xttsv2_generation import DEFAULT_VOCAB, PARAGRAPH, SENTENCES, Scenario, build_engine, random_model  # noqa: E402

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

    def stop(self) -> tuple[float, float]:
        """(peak minus the baseline, peak in total) in GB."""
        self._stop.set()
        self._thread.join()
        return round((self.peak - self.baseline) / 1e9, 2), round(self.peak / 1e9, 2)


@dataclass
class Breakdown:
    """Where one scenario's wall time went (seconds unless named otherwise)."""

    codes_done_s: float | None  # vLLM finished its last sequence (None: torch backend)
    latents_s: float  # batched second GPT pass (vLLM backend)
    latents_batches: int
    hifigan_s: float
    hifigan_batches: int
    hifigan_windows: int
    prefix_s: float  # prompt embeddings (vLLM backend)
    cpu_s: float  # this process, all threads
    loop_lag_mean_ms: float
    loop_lag_max_ms: float
    first_window_ms: dict[str, float] | None = None  # streamed, vLLM: medians of prompt / codes / latents ready


class Profile:
    """Counters of one engine around one scenario, and a lag probe on the engine's event loop."""

    def __init__(self, tts: TTS) -> None:
        self.tts = tts
        self.engine = tts.engine
        self.backend = self.engine.backend
        self._stop = threading.Event()
        self._lags: list[float] = []

    def _counters(self) -> tuple[float, int, float, int, int, float]:
        latents = getattr(self.backend, "latents", None)
        stats = getattr(self.backend, "stats", None)
        voc = self.engine.vocoder
        return (latents.batcher.busy_s if latents else 0.0, latents.batcher.batches if latents else 0,
                voc.busy_s, voc.batches, voc.jobs, stats.prefix_s if stats else 0.0)

    async def _probe(self) -> None:
        while not self._stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.005)
            self._lags.append(time.perf_counter() - t - 0.005)

    def __enter__(self) -> Self:
        self.start = time.perf_counter()
        self.cpu = time.process_time()
        self.before = self._counters()
        stats = getattr(self.backend, "stats", None)
        self._windows = len(stats.first_window) if stats else 0
        self._task = self.tts._loop.submit(self._probe())  # the loop every request runs on
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._task.result(5)
        after = self._counters()
        d = [a - b for a, b in zip(after, self.before)]
        stats = getattr(self.backend, "stats", None)
        lags = self._lags or [0.0]
        windows = stats.first_window[self._windows:] if stats else []
        first = None if not windows else {
            name: round(1000 * statistics.median(w[i] for w in windows), 1)
            for i, name in enumerate(("prompt", "codes", "latents"))}
        self.result = Breakdown(
            codes_done_s=round(stats.last_codes_at - self.start, 3) if stats and stats.last_codes_at > self.start else None,
            latents_s=round(d[0], 3), latents_batches=int(d[1]), hifigan_s=round(d[2], 3), hifigan_batches=int(d[3]),
            hifigan_windows=int(d[4]), prefix_s=round(d[5], 3), cpu_s=round(time.process_time() - self.cpu, 2),
            loop_lag_mean_ms=round(1000 * statistics.mean(lags), 2), loop_lag_max_ms=round(1000 * max(lags), 1),
            first_window_ms=first,
        )


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
    with Profile(bench.tts) as prof:
        start = time.perf_counter()
        results = await asyncio.gather(*[bench.one(t, stream) for t in texts])
        wall = time.perf_counter() - start
    audio = sum(r[0] for r in results)
    firsts = [r[1] for r in results]
    return {"requests": len(texts), "audio_s": round(audio, 1), "wall_s": round(wall, 3),
            "x_realtime": round(audio / wall, 1), "rtf": round(wall / audio, 5),
            "first_audio_p50_s": round(pct(firsts, 50), 3), "first_audio_p95_s": round(pct(firsts, 95), 3),
            "breakdown": asdict(prof.result)}


async def gpt_alone(tts: TTS, texts: list[str], codes: int) -> dict:
    """The same prompts straight into vLLM (no latents pass, no HiFi-GAN, no scheduler): the GPT's
    own rate on this machine, which bounds the end-to-end rate."""
    from auralis_xttsv2.backend import GenerationRequest
    from auralis_xttsv2.vllm.requests import embeds_prompt, sampling_kwargs

    engine = tts.engine
    backend = engine.backend
    cfg = engine.config.gpt
    params = engine.config.sampling_defaults()
    cond = engine.speakers["bench"].gpt_cond_latents
    prompts = [backend._prefix(GenerationRequest(cond, torch.tensor(seg.token_ids), params))
               for t in texts for seg in engine.text.prepare(t, "en")]
    mapping = sampling_kwargs(params, cfg, codes, None, True)

    async def one(prefix: torch.Tensor) -> int:
        last = None
        prompt = embeds_prompt(prefix, cfg.start_audio_token)
        async for out in backend.engine.generate(prompt, mapping.build(stream=False), uuid.uuid4().hex):
            last = out
        return len(last.outputs[0].token_ids)

    async def run() -> tuple[int, float]:
        start = time.perf_counter()
        n = sum(await asyncio.gather(*[one(p) for p in prompts]))
        return n, time.perf_counter() - start

    n, wall = await tts._loop.run_async(run())  # AsyncLLM lives on the engine loop
    audio = n / CODES_PER_SECOND
    return {"requests": len(prompts), "audio_s": round(audio, 1), "wall_s": round(wall, 3),
            "x_realtime": round(audio / wall, 1), "rtf": round(wall / audio, 5), "codes_per_s": round(n / wall),
            "first_audio_p50_s": "", "first_audio_p95_s": ""}


async def measure(args: argparse.Namespace, label: str) -> dict:
    dtype = getattr(torch, args.dtype)
    backend = "vllm" if label.startswith("vllm") else label
    small = label == "vllm32"  # the recommended 32-stream setting: its memory is the point
    levels = [32] if small else [c for c in args.concurrency if backend != "torch" or c <= args.torch_max_concurrency]
    batch = 32 if small else max(levels + [32])
    torch.cuda.empty_cache() if torch.cuda.is_available() else None
    memory = GpuMemory()
    t0 = time.perf_counter()
    kwargs: dict = {"backend": backend, "stream_first_chunk_tokens": args.first_chunk_tokens}
    if backend == "vllm":
        kwargs["vllm_memory"] = args.vllm32_memory if small else args.vllm_memory
    engine = build_engine(args.vocab, batch, args.chunk_tokens, args.device, dtype, **kwargs)
    startup = time.perf_counter() - t0
    loaded_gb = memory.now_gb()
    tts = TTS(engine, max_concurrency=batch)
    bench = Scenario(tts, args.codes, seed=None)
    rows: dict[str, dict] = {}
    table = []

    def show(name: str, r: dict) -> None:
        rows[name] = r
        b = r.get("breakdown")
        extra = "" if not b else (f"  codes done {b['codes_done_s']} latents {b['latents_s']}/{b['latents_batches']} "
                                  f"hifigan {b['hifigan_s']}/{b['hifigan_batches']} prefix {b['prefix_s']} "
                                  f"cpu {b['cpu_s']} lag {b['loop_lag_mean_ms']}/{b['loop_lag_max_ms']} ms"
                                  + (f" first window {b['first_window_ms']}" if b.get("first_window_ms") else ""))
        table.append(f"{label:<6} {name:<26} {r['requests']:>5} {r['audio_s']:>9} {r['wall_s']:>8} {r['x_realtime']:>8} "
                     f"{r['first_audio_p50_s']:>7} {r['first_audio_p95_s']:>7}{extra}")
        print(table[-1], flush=True)

    try:
        await run_requests(bench, SENTENCES * 2, stream=False)  # warm-up: kernels, graphs, allocator
        await run_requests(bench, SENTENCES[:2], stream=True)
        await run_requests(bench, (SENTENCES * 4)[:32], stream=True)
        if not small:
            firsts = []
            for i in range(5):
                r = await run_requests(bench, [SENTENCES[i]], stream=True)
                firsts.append(r["first_audio_p50_s"])
            r["first_audio_p50_s"], r["first_audio_p95_s"] = round(statistics.median(firsts), 3), round(max(firsts), 3)
            show("first audio, 1 stream", r)
        show("first audio, 32 streams", await run_requests(bench, (SENTENCES * 4)[:32], stream=True))
        for n in levels:
            texts = (SENTENCES * (n // len(SENTENCES) + 1))[:n]
            show(f"{n} concurrent", await run_requests(bench, texts, stream=False))
            if backend == "vllm" and n == max(levels) and not small:
                # the bound (GPT alone), audio decoded in windows while codes are still coming
                # (streamed), and the cost of per-request seeds in vLLM's sampler
                show(f"{n} GPT alone", await gpt_alone(tts, texts, args.codes))
                show(f"{n} streamed", await run_requests(bench, texts, stream=True))
                show(f"{n} seeded", await run_requests(Scenario(tts, args.codes, seed=0), texts, stream=False))
        chars = 0 if small else args.book_chars if backend != "torch" else args.torch_book_chars
        if chars:
            text = book_text(chars)
            r = await run_requests(bench, [text], stream=False)
            r["chars"] = len(text)
            show(f"book, {len(text)} chars", r)
    finally:
        await tts.shutdown_async()
    peak, peak_total = memory.stop()
    return {"backend": label, "startup_s": round(startup, 1), "gpu_gb_after_load": loaded_gb,
            "peak_gpu_gb": peak, "peak_gpu_total_gb": peak_total, "max_batch_size": batch,
            "vllm_memory": kwargs.get("vllm_memory"), "first_chunk_tokens": args.first_chunk_tokens,
            "scenarios": rows, "table": table}


def coqui(args: argparse.Namespace) -> dict:
    """Coqui's ``Xtts.inference`` on the same weights, in its own environment (a subprocess)."""
    model, speaker = random_model()
    with tempfile.TemporaryDirectory(prefix="auralis-coqui-") as tmp:
        ckpt = Path(tmp)
        from auralis_xttsv2.checkpoint.random import coqui_config_json, padded_vocab
        from auralis_xttsv2.text import TextPipeline, XTTSTokenizer

        torch.save({"model": model.state_dict()}, ckpt / "model.pth")
        (ckpt / "config.json").write_text(json.dumps(coqui_config_json(model.config)))
        # Coqui sizes its text embedding from the vocabulary: pad it to the model's (ids unchanged)
        padded_vocab(args.vocab, ckpt / "vocab.json", model.config.gpt.number_text_tokens)
        torch.save({"gpt_cond_latent": speaker.gpt_cond_latent, "speaker_embedding": speaker.speaker_embedding},
                   ckpt / "voice.pt")
        segments = [seg.text for seg in TextPipeline(XTTSTokenizer(args.vocab), model.config.gpt.max_text_tokens)
                    .prepare(book_text(args.coqui_book_chars), "en")]
        (ckpt / "texts.json").write_text(json.dumps({"sentences": SENTENCES, "book_segments": segments}))
        del model
        out = ckpt / "coqui.json"
        env = dict(os.environ, PYTHONPATH=str(args.coqui_site))
        cmd = [sys.executable, str(Path(__file__).with_name("xttsv2_coqui.py")), str(ckpt), "--out", str(out),
               "--device", args.device, "--codes", str(args.codes), "--requests", str(args.coqui_requests),
               "--chunk-tokens", str(args.chunk_tokens)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-6000:], sep="\n", file=sys.stderr)
            return {"backend": "coqui", "error": proc.stderr[-2000:]}
        result = json.loads(out.read_text())
    result["backend"] = "coqui"
    result["table"] = []
    for name, r in result["scenarios"].items():
        result["table"].append(f"{'coqui':<6} {name:<26} {r['requests']:>5} {r.get('audio_s', ''):>9} {r.get('wall_s', ''):>8} "
                               f"{r.get('x_realtime', ''):>8} {r.get('first_audio_p50_s', ''):>7} {r.get('first_audio_max_s', ''):>7}")
        print(result["table"][-1], flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="vllm32,vllm,torch,coqui",
                        help="vllm32, vllm, torch, coqui (needs --coqui-site), in any order")
    parser.add_argument("--codes", type=int, default=200, help="audio codes per segment (46.4 ms each)")
    parser.add_argument("--concurrency", default="1,16,64,256,512")
    parser.add_argument("--torch-max-concurrency", type=int, default=64, help="torch backend: skip larger levels")
    parser.add_argument("--book-chars", type=int, default=100_000)
    parser.add_argument("--torch-book-chars", type=int, default=10_000)
    parser.add_argument("--dtype", default="bfloat16", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--chunk-tokens", type=int, default=24)
    parser.add_argument("--first-chunk-tokens", type=int, default=8, help="codes in the first streamed window")
    parser.add_argument("--vllm-memory", type=float, default=None,
                        help="vLLM KV pool: a fraction of the GPU (<= 1) or bytes (> 1); default: fits every sequence")
    parser.add_argument("--vllm32-memory", type=float, default=1.5e9, help="KV pool of the 32-stream setting")
    parser.add_argument("--coqui-site", type=Path, default=None,
                        help="a --target dir with coqui-tts 0.28 and transformers < 5: also run Coqui")
    parser.add_argument("--coqui-requests", type=int, default=6, help="Coqui: sequential one-sentence requests")
    parser.add_argument("--coqui-book-chars", type=int, default=2000, help="Coqui: book excerpt (sequential)")
    parser.add_argument("--device", default="cuda", help="cpu: a smoke run of the script itself")
    parser.add_argument("--vocab", type=Path, default=DEFAULT_VOCAB)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/xttsv2_gpu.json"))
    args = parser.parse_args()
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    if args.vllm_memory is not None and args.vllm_memory > 1:
        args.vllm_memory = int(args.vllm_memory)
    if args.vllm32_memory > 1:
        args.vllm32_memory = int(args.vllm32_memory)
    result = {
        "machine": {"gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else "none", "python": platform.python_version(), "torch": torch.__version__,
                    "date": time.strftime("%Y-%m-%d")},
        "model": {"weights": "random, real size (XTTSConfig defaults)", "dtype": args.dtype, "codes_per_segment": args.codes,
                  "audio_s_per_segment": round(args.codes / CODES_PER_SECOND, 2)},
        "backends": {},
    }
    print(f"{'backend':<6} {'scenario':<26} {'reqs':>5} {'audio s':>9} {'wall s':>8} {'x rt':>8} {'TTFA p50':>7} {'p95':>7}")
    labels = [b for b in args.backends.split(",") if b != "coqui" or args.coqui_site]
    for label in labels:
        result["backends"][label] = coqui(args) if label == "coqui" else asyncio.run(measure(args, label))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")  # partial results survive a later failure
    print()
    for b in result["backends"].values():
        if "error" in b:
            print(f"{b['backend']}: failed")
            continue
        print(f"{b['backend']}: start {b['startup_s']} s, GPU {b.get('gpu_gb_after_load')} GB after load, "
              f"peak {b['peak_gpu_gb']} GB, peak total {b.get('peak_gpu_total_gb')} GB (batch {b.get('max_batch_size', 1)})")
        print("\n".join(b["table"]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
