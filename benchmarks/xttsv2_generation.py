"""XTTS-v2 generation speed at the real model size with random weights (same compute as the
released checkpoint; the generation length is fixed by ignoring the stop token).

Scenarios, each run through the engine's phase-2 path (torch backend + HiFi-GAN decoder):
  paragraph   one long paragraph: its sentences decoded together (continuous batching)
  concurrent  8 requests of one sentence each, arriving together
  sequential  the same 8 sentences one after another, batch 1 (how the reference runs them)
  streaming   one sentence streamed: time to first audio chunk

Usage: python benchmarks/xttsv2_generation.py [--codes 100] [--device cpu] [--dtype float32] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import time
from pathlib import Path

import torch

from auralis_xttsv2.backend import GenerationRequest, TorchBackend
from auralis_xttsv2.model.config import XTTSConfig
from auralis_xttsv2.model.sampling import SamplingParams
from auralis_xttsv2.model.xtts import XTTSModel
from auralis_xttsv2.streaming import StreamingDecoder

SAMPLING = SamplingParams(do_sample=True, temperature=0.75, top_k=50, top_p=0.85, repetition_penalty=5.0)


def _build(device: str, dtype: torch.dtype) -> XTTSModel:
    torch.manual_seed(0)
    model = XTTSModel(XTTSConfig()).eval().to(device)
    return model.cast(dtype) if dtype != torch.float32 else model


async def _segment(backend, model, cond, spk, tokens, codes, stream_every=0, chunk_codes=24):
    """One segment as the engine runs it; returns (audio seconds, time to first audio)."""
    start = time.perf_counter()
    first = None
    samples = 0
    decoder = StreamingDecoder(model, spk, chunk_codes=chunk_codes)
    request = GenerationRequest(cond, tokens, SAMPLING, max_new_tokens=codes, seed=1, stream_every=stream_every, ignore_stop=True)
    async for chunk in backend.generate(request):
        audio = await asyncio.to_thread(decoder.push, chunk.hidden_states, chunk.finished)
        if audio is not None and audio.numel():
            samples += audio.numel()
            first = first or time.perf_counter() - start
    return samples / 24000, first


async def _scenario(backend, model, segments, codes, concurrent: bool, stream_every=0):
    start = time.perf_counter()
    if concurrent:
        results = await asyncio.gather(*[_segment(backend, model, *s, codes, stream_every) for s in segments])
    else:
        results = [await _segment(backend, model, *s, codes, stream_every) for s in segments]
    wall = time.perf_counter() - start
    audio = sum(r[0] for r in results)
    return {"segments": len(segments), "codes_per_segment": codes, "audio_s": round(audio, 2),
            "wall_s": round(wall, 2), "rtf": round(wall / audio, 3), "x_realtime": round(audio / wall, 2),
            "first_audio_s": round(min(r[1] for r in results), 3)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codes", type=int, default=100, help="codes per sentence (~46 ms of audio each)")
    parser.add_argument("--sentences", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/xttsv2_generation.json"))
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    started = time.perf_counter()
    model = _build(args.device, dtype)
    print(f"model built in {time.perf_counter() - started:.1f} s", flush=True)
    hidden = model.config.gpt.hidden_size
    gen = torch.Generator().manual_seed(0)
    segments = [
        (torch.randn(1, 32, hidden, generator=gen), torch.nn.functional.normalize(torch.randn(1, 512, 1, generator=gen), dim=1),
         torch.randint(1, 6000, (40 + 5 * i,), generator=gen))
        for i in range(args.sentences)
    ]
    backend = TorchBackend(model, max_batch_size=args.sentences)
    try:
        # warm-up over the same shapes (kernel selection, allocator, KV cache growth) so the rows
        # below are steady-state numbers
        await _scenario(backend, model, segments, args.codes, concurrent=True, stream_every=8)
        await _scenario(backend, model, segments, args.codes, concurrent=True)
        print(f"XTTS-v2 real size, random weights, {args.device} {args.dtype}, {os.cpu_count()} CPUs", flush=True)
        print(f"{'scenario':<28} {'segs':>4} {'audio s':>8} {'wall s':>7} {'RTF':>6} {'x rt':>5} {'first audio s':>13}")
        scenarios = {
            "paragraph (batched)": (segments[:6], True, 0),
            f"{args.sentences} concurrent requests": (segments, True, 0),
            f"{args.sentences} sequential, batch 1": (segments, False, 0),
            "streaming, 1 request": (segments[:1], True, 8),
            f"streaming, {args.sentences} concurrent": (segments, True, 8),
        }
        rows = {}
        for name, (segs, concurrent, stream_every) in scenarios.items():
            r = rows[name] = await _scenario(backend, model, segs, args.codes, concurrent, stream_every)
            print(f"{name:<28} {r['segments']:>4} {r['audio_s']:>8} {r['wall_s']:>7} {r['rtf']:>6} {r['x_realtime']:>5} {r['first_audio_s']:>13}", flush=True)
    finally:
        await backend.shutdown()
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_gpu_mb = torch.cuda.max_memory_allocated() / 2**20 if args.device.startswith("cuda") else None
    print(f"peak RSS {peak_rss_mb:.0f} MB" + (f", peak GPU memory {peak_gpu_mb:.0f} MB" if peak_gpu_mb else ""))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
                    "device": args.device, "dtype": args.dtype},
        "results": rows, "peak_rss_mb": round(peak_rss_mb),
        "peak_gpu_mb": None if peak_gpu_mb is None else round(peak_gpu_mb),
    }, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
