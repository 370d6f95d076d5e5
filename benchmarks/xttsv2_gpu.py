"""XTTS-v2 on one GPU, end to end (text pipeline, GPT, latents, HiFi-GAN): the vLLM backend against
the torch backend and Coqui's own ``Xtts.inference``, with the same real-size random weights (see
`xttsv2_generation.py`; Coqui runs in its own environment through `xttsv2_coqui.py`).

Every segment generates exactly ``--codes`` audio codes (random weights never stop on purpose), so
"x rt" (audio seconds per wall second) compares like with like. Scenarios per backend:

  first audio, 1 stream      median over 5 streamed one-sentence requests, one at a time
  first audio, 32 streams    p50 / p95 over 32 streamed requests sent at once (--streams32-repeats bursts)
  N concurrent               N one-sentence requests at once (not streamed): throughput
  book                       one request of >= --book-chars characters, end to end

Requests are unseeded (as a server gets them). Peak GPU memory is the device-wide use (this process
and vLLM's engine process), sampled every 50 ms: "peak" is minus what was in use before the engine
was built, "peak total" is everything (nothing else runs on the GPU).

Where the time goes, per scenario: the wall time of the batched latents pass (since its rows stay
on the GPU: launching its kernels; the GPU work ends inside the next HiFi-GAN call) and of HiFi-GAN
(GPU work included: the audio comes back to the CPU), building prompt embeddings, the moment vLLM
finished its last sequence ("codes done"), this process's CPU time, the engine loop's lag (a 5 ms
timer's overshoot: how busy the event loop that runs every request is) and garbage collection
("gc full/max ms": full collections, the longest pause, which stops every thread). The vLLM
backend also runs "GPT alone": the same prompts straight into vLLM, no latents or audio, which
bounds what the whole path can reach.

Usage: python benchmarks/xttsv2_gpu.py [--backends vllm32,vllm,torch,coqui] [--codes 200]
       [--concurrency 1,16,64,256,512] [--torch-max-concurrency 64] [--book-chars 100000]
       [--torch-book-chars 10000] [--dtype bfloat16] [--vllm-memory BYTES|FRACTION]
       [--first-chunk-tokens 8] [--vllm-engines 1] [--vocoder-max-frames 8192] [--profile-engine]
       [--vllm32-vocoder-max-frames 4096] [--allocator expandable_segments:True]
       [--coqui-site DIR] [--switch-ms 5,0.5] [--out results.json]

``--profile-engine`` samples the Python stacks of vLLM's engine-core processes and of this one
(`auralis_xttsv2.vllm.profiling`) during "32 streams", the top concurrency level and "GPT alone",
and prints each process's busiest threads by share of samples per function. "vocoder alone" times
HiFi-GAN on 64 full segments, with cuDNN's heuristics and with ``cudnn.benchmark``.

``vllm32`` is the vLLM backend at its recommended 32-stream setting (``max_batch_size=32``,
``--vllm32-memory``, ``--vllm32-vocoder-max-frames``, one engine): first audio and throughput at
32, and its GPU memory. ``--allocator`` (default ``expandable_segments:True``, part of the
recommended setting) is PyTorch's CUDA allocator setting for the whole run. A label
ending in ``-eN`` (``vllm-e2``) runs N vLLM engines (otherwise ``--vllm-engines``); one ending in
``-aN`` (``vllm-a64``) decodes non-streamed audio ahead, in windows of N codes while the GPT still
generates (``decode_ahead_tokens``); it leaves out what its plain twin already measures (streamed
first audio, GPT alone, vocoder alone). A label ending in ``-sMS`` (``vllm-s0.5``, last) sets the
GIL switch interval of vLLM's own processes (engine core) to MS milliseconds
(``AURALIS_VLLM_SWITCH_MS``, `auralis_xttsv2.vllm.switching`).

``--switch-ms 5,0.5`` runs every scenario once per GIL switch interval (``sys.setswitchinterval``),
in turn on the same engine, rows marked ``@5ms`` / ``@0.5ms``: an A/B of the GIL convoy that
``benchmarks/gil_convoy.py`` measures on the CPU, without a second engine start. A scenario that
fails is recorded with its error and the run goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Self

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from xttsv2_generation import DEFAULT_VOCAB, PARAGRAPH, SENTENCES, Scenario, build_engine, random_model  # noqa: E402

from auralis_core import TTS  # noqa: E402

CODES_PER_SECOND = 22050 / 1024


class GpuBusy:
    """NVML's utilisation: the share of the last sample period in which any kernel ran on the GPU
    (all processes). Through ``libnvidia-ml`` with ctypes: no extra package on the GPU machine."""

    class _Rates(ctypes.Structure):
        _fields_ = [("gpu", ctypes.c_uint), ("memory", ctypes.c_uint)]

    def __init__(self) -> None:
        self._lib = None
        try:
            lib = ctypes.CDLL("libnvidia-ml.so.1")
            handle = ctypes.c_void_p()
            if lib.nvmlInit_v2() == 0 and lib.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(handle)) == 0:
                self._lib, self._handle = lib, handle
        except OSError:
            pass

    def percent(self) -> int | None:
        if self._lib is None:
            return None
        rates = self._Rates()
        if self._lib.nvmlDeviceGetUtilizationRates(self._handle, ctypes.byref(rates)) != 0:
            return None
        return int(rates.gpu)


class GpuMemory:
    """Device-wide memory in use (all processes), sampled on a thread (zeros without CUDA), and the
    GPU's busy share beside it (`GpuBusy`; `busy_since` averages it over a scenario)."""

    def __init__(self) -> None:
        self.baseline = self.peak = self._used()
        self.busy = GpuBusy()
        self.busy_samples: list[tuple[float, int]] = []
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
            busy = self.busy.percent()
            if busy is not None:
                self.busy_samples.append((time.perf_counter(), busy))

    def busy_since(self, start: float) -> float | None:
        """Mean GPU busy percent since ``start`` (perf_counter), None without NVML."""
        values = [b for t, b in self.busy_samples if t >= start]
        return round(statistics.mean(values), 1) if values else None

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
    first_window_ms: dict[str, float | None] | None = None  # streamed, vLLM: medians of each FirstWindow stage
    gc_full: int = 0  # full (generation 2) collections in this process
    gc_max_ms: float = 0.0  # the longest collection: it stops every thread, the event loop included
    gpu_busy_pct: float | None = None  # NVML: share of the time a kernel ran (both processes)


class EngineProfiler:
    """Switches on the stack sampler that vLLM's processes (and ours) run when ``AURALIS_VLLM_PROFILE``
    is set (`auralis_xttsv2.vllm.profiling`), around one scenario, and summarises what it counted."""

    def __init__(self, directory: Path, prefix: str) -> None:
        self.directory = directory  # one per run: this process's sampler watches the first it was given
        self.prefix = prefix

    def start(self, label: str) -> None:
        label = f"{self.prefix}_{label}"
        for old in self.directory.glob(f"{label}.*.json"):
            old.unlink()
        (self.directory / "on").write_text(label)

    def stop(self, label: str, top: int = 14) -> dict:
        """Per process: the share of samples in each function (inclusive) for its busiest threads."""
        label = f"{self.prefix}_{label}"
        (self.directory / "on").unlink(missing_ok=True)
        deadline = time.monotonic() + 5
        files: list[Path] = []
        while time.monotonic() < deadline:  # every sampler writes within ~50 ms of the marker going
            time.sleep(0.3)
            now = sorted(self.directory.glob(f"{label}.*.json"))
            if now and now == files:
                break
            files = now
        out = {}
        for f in files:
            report = json.loads(f.read_text())
            kind = "this process" if report["pid"] == os.getpid() else f"vLLM engine core {report['pid']}"
            threads = {}
            for name, t in report["threads"].items():
                n = t["samples"] or 1
                threads[name] = {"samples": t["samples"],
                                 "inclusive_pct": {k: round(100 * v / n, 1) for k, v in list(t["inclusive"].items())[:top]},
                                 "self_pct": {k: round(100 * v / n, 1) for k, v in list(t["self"].items())[:top]}}
            out[kind] = threads
        return out


@dataclass
class Probes:
    """What measures a scenario beyond its own counters: GPU memory and busy share, and the engine
    stack sampler when ``--profile-engine`` is on (a scenario with a label is sampled)."""

    memory: GpuMemory | None = None
    profiler: EngineProfiler | None = None


def print_profile(profile: dict, threads: int = 2, top: int = 10) -> None:
    for process, report in profile.items():
        for name, t in list(report.items())[:threads]:
            items = ", ".join(f"{k.rsplit('/', 1)[-1]} {v}%" for k, v in list(t["inclusive_pct"].items())[:top])
            print(f"    [{process} / {name}, {t['samples']} samples] {items}", flush=True)


class Profile:
    """Counters of one engine around one scenario, and a lag probe on the engine's event loop."""

    def __init__(self, tts: TTS, probes: Probes | None = None, label: str | None = None) -> None:
        self.tts = tts
        self.probes = probes or Probes()
        self.label = label
        self.engine = tts.engine
        self.backend = self.engine.backend
        self._stop = threading.Event()
        self._lags: list[float] = []
        self._gc_started = 0.0
        self._gc: list[tuple[int, float]] = []  # (generation, seconds) per collection

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self._gc.append((info["generation"], time.perf_counter() - self._gc_started))

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
        if self.probes.profiler and self.label:
            self.probes.profiler.start(self.label)
        self.start = time.perf_counter()
        self.start_monotonic = time.monotonic()  # the backend's clock
        self.cpu = time.process_time()
        self.before = self._counters()
        stats = getattr(self.backend, "stats", None)
        self._windows = len(stats.first_window) if stats else 0
        self._task = self.tts._loop.submit(self._probe())  # the loop every request runs on
        gc.callbacks.append(self._on_gc)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._on_gc)
        self._stop.set()
        self._task.result(5)
        self.engine_profile = (self.probes.profiler.stop(self.label)
                               if self.probes.profiler and self.label else None)
        after = self._counters()
        d = [a - b for a, b in zip(after, self.before)]
        stats = getattr(self.backend, "stats", None)
        lags = self._lags or [0.0]
        windows = stats.first_window[self._windows:] if stats else []
        first = None if not windows else {f.name: _median_ms([getattr(w, f.name) for w in windows])
                                           for f in fields(windows[0])}
        self.result = Breakdown(
            codes_done_s=(round(stats.last_codes_at - self.start_monotonic, 3)
                          if stats and stats.last_codes_at > self.start_monotonic else None),
            latents_s=round(d[0], 3), latents_batches=int(d[1]), hifigan_s=round(d[2], 3), hifigan_batches=int(d[3]),
            hifigan_windows=int(d[4]), prefix_s=round(d[5], 3), cpu_s=round(time.process_time() - self.cpu, 2),
            loop_lag_mean_ms=round(1000 * statistics.mean(lags), 2), loop_lag_max_ms=round(1000 * max(lags), 1),
            first_window_ms=first,
            gc_full=sum(1 for g, _ in self._gc if g == 2),
            gc_max_ms=round(1000 * max((t for _, t in self._gc), default=0.0), 1),
            gpu_busy_pct=self.probes.memory.busy_since(self.start) if self.probes.memory else None,
        )


def _median_ms(values: list[float]) -> float | None:
    """Median in ms of the known values (vLLM's engine-core stages are NaN without its stats)."""
    known = [v for v in values if v == v]
    return round(1000 * statistics.median(known), 1) if known else None


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


async def run_requests(bench: Scenario, texts: list[str], stream: bool, probes: Probes | None = None,
                       label: str | None = None) -> dict:
    """``label``: sample the engine's stacks during this scenario (with ``--profile-engine``)."""
    with Profile(bench.tts, probes, label) as prof:
        start = time.perf_counter()
        results = await asyncio.gather(*[bench.one(t, stream) for t in texts])
        wall = time.perf_counter() - start
    audio = sum(r[0] for r in results)
    firsts = [r[1] for r in results]
    return {"requests": len(texts), "audio_s": round(audio, 1), "wall_s": round(wall, 3),
            "x_realtime": round(audio / wall, 1), "rtf": round(wall / audio, 5),
            "first_audio_p50_s": round(pct(firsts, 50), 3), "first_audio_p95_s": round(pct(firsts, 95), 3),
            "breakdown": asdict(prof.result), **({"engine_profile": prof.engine_profile} if prof.engine_profile else {})}


async def gpt_alone(tts: TTS, texts: list[str], codes: int, probes: Probes | None = None) -> dict:
    """The same prompts straight into vLLM (no latents pass, no HiFi-GAN, no scheduler): the GPT's
    own rate on this machine, which bounds the end-to-end rate."""
    from auralis_xttsv2.model.sampling import SamplingParams
    from auralis_xttsv2.vllm.requests import embeds_prompt, sampling_kwargs

    engine = tts.engine
    backend = engine.backend
    cfg = engine.config.gpt
    params = SamplingParams.from_options(engine.default_options())
    cond = engine.speakers["bench"].gpt_cond_latents
    prompts = [backend.host_prompts.build(cond, torch.tensor(seg.token_ids))  # the backend's own prompts
               for t in texts for seg in engine.text.prepare(t, "en")]
    mapping = sampling_kwargs(params, cfg, codes, None, True)

    async def one(i: int, prefix: torch.Tensor) -> int:
        last = None
        prompt = embeds_prompt(prefix, cfg.start_audio_token)
        engine = backend.engines[i % len(backend.engines)]  # as the backend spreads them
        async for out in engine.generate(prompt, mapping.build(stream=False), uuid.uuid4().hex):
            last = out
        return len(last.outputs[0].token_ids)

    async def run() -> tuple[int, float]:
        start = time.perf_counter()
        n = sum(await asyncio.gather(*[one(i, p) for i, p in enumerate(prompts)]))
        return n, time.perf_counter() - start

    with Profile(tts, probes, f"gpt_alone_{len(prompts)}") as prof:
        n, wall = await tts._loop.run_async(run())  # AsyncLLM lives on the engine loop
    audio = n / CODES_PER_SECOND
    return {"requests": len(prompts), "audio_s": round(audio, 1), "wall_s": round(wall, 3),
            "x_realtime": round(audio / wall, 1), "rtf": round(wall / audio, 5), "codes_per_s": round(n / wall),
            "first_audio_p50_s": "", "first_audio_p95_s": "", "breakdown": asdict(prof.result),
            **({"engine_profile": prof.engine_profile} if prof.engine_profile else {})}


def vocoder_alone(tts: TTS, windows: int, codes: int) -> dict:
    """HiFi-GAN alone on ``windows`` full segments of ``codes`` codes, in the engine's calls of
    ``vocoder_max_frames``, with cuDNN's heuristics and with ``cudnn.benchmark`` (measured choice)."""
    from auralis_xttsv2.streaming import DecodeWindow, StreamingDecoder, vocode

    engine = tts.engine
    model = engine.model
    spk = engine.speakers["bench"].speaker_embedding.to(model.device, model.dtype)
    shape = StreamingDecoder(model, spk)  # the decoder's own frame rate and samples per frame
    frames = round(codes * shape.frames_per_code)
    x = torch.randn(1, model.config.hifigan.decoder_input_dim, frames, device=model.device, dtype=model.dtype)
    batch = [DecodeWindow(x, spk, 0, frames * shape.hop, frames, True) for _ in range(windows)]
    audio = windows * frames * shape.hop / model.config.hifigan.output_sample_rate
    row: dict = {"windows": windows, "frames": frames, "max_frames": engine.vocoder_max_frames, "audio_s": round(audio, 1)}
    for name, bench_mode in (("heuristics", False), ("cudnn_benchmark", True)):
        with torch.backends.cudnn.flags(enabled=True, benchmark=bench_mode):
            vocode(model, batch[:2], engine.vocoder_max_frames)  # warm-up (and the benchmark's search)
            vocode(model, batch, engine.vocoder_max_frames)
            torch.cuda.synchronize()
            start = time.perf_counter()
            vocode(model, batch, engine.vocoder_max_frames)
            wall = time.perf_counter() - start
        row[name] = {"wall_s": round(wall, 3), "x_realtime": round(audio / wall, 1)}
    return row


async def measure(args: argparse.Namespace, label: str) -> dict:
    dtype = getattr(torch, args.dtype)
    name, _, switch = label.partition("-s")  # "vllm-s0.5": vLLM's processes switch the GIL every 0.5 ms
    name, _, ahead = name.partition("-a")  # "vllm-a64": audio decoded ahead in windows of 64 codes
    name, _, engines = name.partition("-e")  # "vllm-e2": two vLLM engines
    backend = "vllm" if name.startswith("vllm") else name
    small = name == "vllm32"  # the recommended 32-stream setting: its memory is the point
    engines = int(engines) if engines else 1 if small else args.vllm_engines
    levels = [32] if small else [c for c in args.concurrency if backend != "torch" or c <= args.torch_max_concurrency]
    batch = 32 if small else max(levels + [32])
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    memory = GpuMemory()
    profiler = None
    if args.profile_engine and backend == "vllm":
        directory = args.out.parent / "engine_profile"
        directory.mkdir(parents=True, exist_ok=True)
        os.environ["AURALIS_VLLM_PROFILE"] = str(directory)  # read by every vLLM process at start-up
        profiler = EngineProfiler(directory, label)
    if switch:  # read by every vLLM process at start-up (auralis_xttsv2.vllm.switching)
        os.environ["AURALIS_VLLM_SWITCH_MS"] = switch
    probes = Probes(memory, profiler)
    t0 = time.perf_counter()
    kwargs: dict = {"backend": backend, "stream_first_chunk_tokens": args.first_chunk_tokens,
                    "vocoder_max_frames": args.vllm32_vocoder_max_frames if small else args.vocoder_max_frames,
                    "decode_ahead_tokens": int(ahead or 0)}
    if backend == "vllm":
        kwargs["vllm_memory"] = args.vllm32_memory if small else args.vllm_memory
        kwargs["vllm_engines"] = engines
    default_interval = sys.getswitchinterval()
    engine = build_engine(args.vocab, batch, args.chunk_tokens, args.device, dtype, **kwargs)
    sys.setswitchinterval(default_interval)  # the plugin hook ran here too: ``-sMS`` is for vLLM's processes
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
                                  f"cpu {b['cpu_s']} lag {b['loop_lag_mean_ms']}/{b['loop_lag_max_ms']} ms "
                                  f"gc {b['gc_full']}/{b['gc_max_ms']} ms"
                                  + (f" first window {b['first_window_ms']}" if b.get("first_window_ms") else ""))
        if b and b["gpu_busy_pct"] is not None:
            extra += f" gpu busy {b['gpu_busy_pct']}%"
        table.append(f"{label:<6} {name:<26} {r['requests']:>5} {r['audio_s']:>9} {r['wall_s']:>8} {r['x_realtime']:>8} "
                     f"{r['first_audio_p50_s']:>7} {r['first_audio_p95_s']:>7}{extra}")
        print(table[-1], flush=True)
        if r.get("engine_profile"):
            print_profile(r["engine_profile"])

    intervals = args.switch_ms or [None]

    async def scenario(name: str, make: Callable[[], Awaitable[dict]]) -> None:
        """Run (and show) one scenario once per ``--switch-ms`` interval, in turn on this engine; a
        failure is recorded and shown, and the run goes on with the next scenario."""
        for ms in intervals:
            row = name if len(intervals) == 1 else f"{name} @{ms:g}ms"
            if ms is not None:
                sys.setswitchinterval(ms / 1000)
            try:
                show(row, await make())
            except Exception as exc:  # one broken scenario must not cost the rest of a GPU lease
                rows[row] = {"error": f"{type(exc).__name__}: {exc}"}
                print(f"{label:<6} {row}: FAILED {rows[row]['error']}", flush=True)
                traceback.print_exc()

    async def one_stream() -> dict:
        firsts = []
        for i in range(5):
            r = await run_requests(bench, [SENTENCES[i]], stream=True)
            firsts.append(r["first_audio_p50_s"])
        r["first_audio_p50_s"], r["first_audio_p95_s"] = round(statistics.median(firsts), 3), round(max(firsts), 3)
        return r

    try:
        await run_requests(bench, SENTENCES * 2, stream=False)  # warm-up: kernels, graphs, allocator
        await run_requests(bench, SENTENCES[:2], stream=True)
        await run_requests(bench, (SENTENCES * 4)[:32], stream=True)
        if not small and not ahead:  # decoding ahead leaves streamed requests as they are
            await scenario("first audio, 1 stream", one_stream)
        for i in range(0 if ahead else args.streams32_repeats):  # repeated: one burst's p95 is one sample of the machine's noise
            await scenario("first audio, 32 streams" + (f" #{i + 1}" if i else ""),
                           lambda i=i: run_requests(bench, (SENTENCES * 4)[:32], stream=True, probes=probes,
                                                    label=None if i else "streams32"))
        for n in levels:
            texts = (SENTENCES * (n // len(SENTENCES) + 1))[:n]
            top = n == max(levels)
            await scenario(f"{n} concurrent", lambda texts=texts, top=top, n=n: run_requests(
                bench, texts, stream=False, probes=probes, label=f"concurrent{n}" if top else None))
            if backend == "vllm" and top and not small and not ahead:
                # the bound (GPT alone), HiFi-GAN alone, audio decoded in windows while codes are
                # still coming (streamed), and the cost of per-request seeds in vLLM's sampler
                await scenario(f"{n} GPT alone", lambda texts=texts: gpt_alone(tts, texts, args.codes, probes))
                rows["vocoder alone"] = vocoder_alone(tts, windows=64, codes=args.codes)
                print(f"{label:<6} vocoder alone: {rows['vocoder alone']}", flush=True)
                if not args.skip_extras:
                    await scenario(f"{n} streamed", lambda texts=texts: run_requests(bench, texts, stream=True))
                    await scenario(f"{n} seeded", lambda texts=texts: run_requests(
                        Scenario(tts, args.codes, seed=0), texts, stream=False))
        chars = 0 if small else args.book_chars if backend != "torch" else args.torch_book_chars
        if chars:
            text = book_text(chars)

            async def book() -> dict:
                r = await run_requests(bench, [text], stream=False)
                r["chars"] = len(text)
                return r

            await scenario(f"book, {len(text)} chars", book)
    finally:
        sys.setswitchinterval(default_interval)
        torch_peak = ((round(torch.cuda.max_memory_allocated() / 1e9, 2), round(torch.cuda.max_memory_reserved() / 1e9, 2))
                      if torch.cuda.is_available() else (0.0, 0.0))
        await tts.shutdown_async()
        os.environ.pop("AURALIS_VLLM_PROFILE", None)
        os.environ.pop("AURALIS_VLLM_SWITCH_MS", None)
    peak, peak_total = memory.stop()
    return {"backend": label, "startup_s": round(startup, 1), "gpu_gb_after_load": loaded_gb,
            "peak_gpu_gb": peak, "peak_gpu_total_gb": peak_total, "max_batch_size": batch,
            "vllm_engines": kwargs.get("vllm_engines"), "vocoder_max_frames": kwargs["vocoder_max_frames"],
            "decode_ahead_tokens": kwargs["decode_ahead_tokens"], "vllm_switch_ms": float(switch) if switch else None,
            "switch_ms": args.switch_ms,
            "this_process_peak_allocated_gb": torch_peak[0], "this_process_peak_reserved_gb": torch_peak[1],
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
                        help="vllm32, vllm, torch, coqui (needs --coqui-site), in any order; vllm-eN: N engines, "
                             "-aN: decode ahead, -sMS: vLLM's GIL switch interval")
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
    parser.add_argument("--streams32-repeats", type=int, default=3, help="bursts of 32 streams, each reported")
    parser.add_argument("--vllm-engines", type=int, default=1, help="vLLM engines sharing the GPU (not vllm32)")
    parser.add_argument("--vocoder-max-frames", type=int, default=8192, help="HiFi-GAN frames per batched call")
    parser.add_argument("--vllm32-vocoder-max-frames", type=int, default=4096,
                        help="HiFi-GAN frames per batched call in the 32-stream setting")
    parser.add_argument("--allocator", default="expandable_segments:True",
                        help="PYTORCH_CUDA_ALLOC_CONF for this process and vLLM's ('' leaves the environment as it is)")
    parser.add_argument("--switch-ms", type=lambda v: [float(x) for x in v.split(",")], default=None,
                        help="GIL switch intervals (ms, e.g. 5,0.5): every scenario runs once per interval, in turn")
    parser.add_argument("--skip-extras", action="store_true",
                        help="vLLM: leave out the top level's streamed and seeded rows (GPT alone and vocoder alone stay)")
    parser.add_argument("--profile-engine", action="store_true",
                        help="sample the stacks of vLLM's engine processes and this one (32 streams, the top level, GPT alone)")
    parser.add_argument("--coqui-site", type=Path, default=None,
                        help="a --target dir with coqui-tts 0.28 and transformers < 5: also run Coqui")
    parser.add_argument("--coqui-requests", type=int, default=6, help="Coqui: sequential one-sentence requests")
    parser.add_argument("--coqui-book-chars", type=int, default=2000, help="Coqui: book excerpt (sequential)")
    parser.add_argument("--device", default="cuda", help="cpu: a smoke run of the script itself")
    parser.add_argument("--vocab", type=Path, default=DEFAULT_VOCAB)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/xttsv2_gpu.json"))
    args = parser.parse_args()
    if args.allocator:  # read at CUDA's first use, so before anything touches the GPU; vLLM's processes inherit it
        os.environ["PYTORCH_CUDA_ALLOC_CONF"] = args.allocator
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    if args.vllm_memory is not None and args.vllm_memory > 1:
        args.vllm_memory = int(args.vllm_memory)
    if args.vllm32_memory > 1:
        args.vllm32_memory = int(args.vllm32_memory)
    result = {
        "machine": {"gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else "none", "python": platform.python_version(), "torch": torch.__version__,
                    "date": time.strftime("%Y-%m-%d"), "PYTORCH_CUDA_ALLOC_CONF": os.environ.get("PYTORCH_CUDA_ALLOC_CONF")},
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
              f"peak {b['peak_gpu_gb']} GB, peak total {b.get('peak_gpu_total_gb')} GB (batch {b.get('max_batch_size', 1)}, "
              f"engines {b.get('vllm_engines')}); this process: peak allocated {b.get('this_process_peak_allocated_gb')} GB, "
              f"reserved {b.get('this_process_peak_reserved_gb')} GB")
        print("\n".join(b["table"]))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
