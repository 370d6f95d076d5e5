"""XTTS-v2 end to end at the real model size with random weights, on CPU or GPU.

The model is built from the default `XTTSConfig` (GPT: 30 layers, width 1024, 16 heads, 1026 audio
tokens, 6681 text tokens; the full HiFi-GAN), so every step costs what it costs with the released
checkpoint; nothing is downloaded. Random weights never say "stop" on purpose, so the benchmark
fixes the generation length: every segment produces exactly ``--codes`` audio codes
(``options={"max_new_tokens": N, "ignore_stop": True}``), i.e. ``N * 1024 / 22050`` s of audio.

Requests go through the public path: `TTS` facade -> scheduler -> `XTTSv2Engine` (text pipeline,
torch backend with continuous batching, HiFi-GAN / streaming decoder). Scenarios:

  paragraph        one request, one long paragraph (its sentences share decode steps)
  N concurrent     N one-sentence requests at once (--requests, default 8)
  N sequential     the same N requests one after another (batch 1: how the reference runs)
  stream 1         one streamed sentence: time to first audio
  stream paragraph the paragraph streamed: time to first audio of a long text
  stream N         N streamed sentences at once: time to first audio under load

Usage: python benchmarks/xttsv2_generation.py [--codes 60] [--requests 8] [--device cpu|cuda]
       [--dtype float32|float16|bfloat16] [--threads N] [--out results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

import torch

from auralis_core import TTS, TTSOutput
from auralis_xttsv2.checkpoint import LoadedCheckpoint, Speaker
from auralis_xttsv2.engine import XTTSv2Engine
from auralis_xttsv2.model.config import XTTSConfig
from auralis_xttsv2.model.xtts import XTTSModel

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VOCAB = ROOT / "plugins/xttsv2/tests/fixtures/xtts_small/vocab.json"
PARAGRAPH = (
    "The lighthouse keeper climbed the stairs every evening at dusk. "
    "He trimmed the wick, polished the great lens, and wrote the weather in his log. "
    "Ships passed far out on the water, their lights small and patient. "
    "Some nights the fog rolled in so thick that the beam seemed to stop an arm's length away. "
    "Then he wound the horn and listened to it call across the rocks. "
    "In the morning the sea was always calm again, as if nothing had happened."
)
SENTENCES = [
    "Good morning, and welcome aboard.",
    "Please keep your seatbelt fastened.",
    "The weather in the capital is mild today.",
    "Our next stop is the central station.",
    "Thank you for calling, how can I help?",
    "The meeting has been moved to Thursday.",
    "Remember to water the plants on the balcony.",
    "This concludes the evening news.",
]


def random_model() -> tuple[XTTSModel, Speaker]:
    """The benchmark's real-size model (float32, on the CPU) and voice, the same on every call."""
    torch.manual_seed(0)
    config = XTTSConfig()
    model = XTTSModel(config).eval()
    gen = torch.Generator().manual_seed(1)
    speaker = Speaker(
        torch.randn(1, config.gpt.num_cond_latents, config.gpt.hidden_size, generator=gen),
        torch.nn.functional.normalize(torch.randn(1, 512, 1, generator=gen), dim=1),
    )
    return model, speaker


def build_engine(vocab: Path, max_batch_size: int, chunk_tokens: int, device: str, dtype: torch.dtype,
                 **engine_kwargs: object) -> XTTSv2Engine:
    model, speaker = random_model()
    if dtype != torch.float32:
        model.cast(dtype)  # on the CPU first: no float32 copy is left in the GPU allocator's cache
    model.to(device)
    ckpt = LoadedCheckpoint(model, model.config, vocab, layout="random", source=Path("<random weights>"),
                            speakers={"bench": speaker})
    return XTTSv2Engine(ckpt, max_batch_size=max_batch_size, stream_chunk_tokens=chunk_tokens, **engine_kwargs)


class Scenario:
    """Runs requests through the facade and records audio seconds, wall time, first-audio times."""

    def __init__(self, tts: TTS, codes: int, seed: int | None = 0) -> None:
        self.tts = tts
        self.options = dict(language="en", voice="bench", seed=seed,
                            options={"max_new_tokens": codes, "ignore_stop": True})

    async def one(self, text: str, stream: bool) -> tuple[float, float]:
        """(audio seconds, seconds to first audio) of one request."""
        start = time.perf_counter()
        if not stream:
            out: TTSOutput = await self.tts.generate_speech_async(text, **self.options)
            return out.duration, time.perf_counter() - start
        first, seconds = None, 0.0
        async for chunk in self.tts.stream_async(text, stream=True, **self.options):
            first = first if first is not None else time.perf_counter() - start
            seconds += chunk.duration
        return seconds, first

    async def run(self, texts: list[str], concurrent: bool, stream: bool) -> dict:
        start = time.perf_counter()
        if concurrent:
            results = await asyncio.gather(*[self.one(t, stream) for t in texts])
        else:
            results = [await self.one(t, stream) for t in texts]
        wall = time.perf_counter() - start
        audio = sum(r[0] for r in results)
        firsts = [r[1] for r in results]
        segments = [seg for t in texts for seg in self.tts.engine.text.prepare(t, "en")]
        return {
            "requests": len(texts), "segments": len(segments),
            "text_tokens_per_segment": round(statistics.mean(len(s.token_ids) for s in segments)),
            "audio_s": round(audio, 2), "wall_s": round(wall, 2),
            "rtf": round(wall / audio, 3), "x_realtime": round(audio / wall, 3),
            "first_audio_s_min": round(min(firsts), 2), "first_audio_s_median": round(statistics.median(firsts), 2),
            "first_audio_s_max": round(max(firsts), 2),
        }


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


async def main_async(args: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    dtype = getattr(torch, args.dtype)
    engine = build_engine(args.vocab, args.max_batch_size, args.chunk_tokens, args.device, dtype, backend="torch")
    build_s = time.perf_counter() - t0
    rss_after_load = peak_rss_mb()
    tts = TTS(engine, max_concurrency=args.max_batch_size)
    bench = Scenario(tts, args.codes)
    sentences = (SENTENCES * (args.requests // len(SENTENCES) + 1))[: args.requests]
    n = len(sentences)
    try:
        # warm-up over the measured shapes (kernel choice, allocator, KV cache growth)
        await bench.run(sentences, concurrent=True, stream=False)
        await bench.run([PARAGRAPH], concurrent=False, stream=True)
        paragraph_segments = len(engine.text.prepare(PARAGRAPH, "en"))
        scenarios = {
            f"paragraph ({len(PARAGRAPH)} chars, {paragraph_segments} segments)": ([PARAGRAPH], False, False),
            f"{n} concurrent requests": (sentences, True, False),
            f"{n} sequential requests (batch 1)": (sentences, False, False),
            "stream, 1 request": (sentences[:1], False, True),
            "stream, paragraph": ([PARAGRAPH], False, True),
            f"stream, {n} concurrent requests": (sentences, True, True),
        }
        rows = {}
        header = f"{'scenario':<40} {'reqs':>4} {'audio s':>8} {'wall s':>7} {'RTF':>6} {'TTFA min/med/max s':>20}"
        print(header)
        print("-" * len(header))
        for name, (texts, concurrent, stream) in scenarios.items():
            r = rows[name] = await bench.run(texts, concurrent, stream)
            ttfa = f"{r['first_audio_s_min']}/{r['first_audio_s_median']}/{r['first_audio_s_max']}"
            print(f"{name:<40} {r['requests']:>4} {r['audio_s']:>8} {r['wall_s']:>7} {r['rtf']:>6} {ttfa:>20}", flush=True)
    finally:
        tts.shutdown()
    return {
        "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__},
        "model": {"weights": "random, real size (XTTSConfig defaults)", "dtype": args.dtype, "device": args.device,
                  "build_s": round(build_s, 1), "codes_per_segment": args.codes,
                  "audio_s_per_segment": round(args.codes * 1024 / 22050, 3),
                  "max_batch_size": args.max_batch_size, "stream_chunk_tokens": args.chunk_tokens},
        "results": rows,
        "rss_after_load_mb": round(rss_after_load), "peak_rss_mb": round(peak_rss_mb()),
        "peak_gpu_mb": round(torch.cuda.max_memory_allocated() / 2**20) if args.device.startswith("cuda") else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codes", type=int, default=60, help="audio codes per segment (46.4 ms of audio each)")
    parser.add_argument("--requests", type=int, default=8, help="concurrent requests in the load scenarios")
    parser.add_argument("--max-batch-size", type=int, default=None, help="default: --requests")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--chunk-tokens", type=int, default=24, help="codes per streamed chunk")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--vocab", type=Path, default=DEFAULT_VOCAB, help="tokenizers vocab.json for the text pipeline")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/xttsv2_generation.json")
    args = parser.parse_args()
    args.max_batch_size = args.max_batch_size or args.requests
    if args.threads:
        torch.set_num_threads(args.threads)
    result = asyncio.run(main_async(args))
    print(f"peak RSS {result['peak_rss_mb']} MB (after model build {result['rss_after_load_mb']} MB); "
          f"{result['machine']['cpus']} CPUs: {result['machine']['cpu']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
