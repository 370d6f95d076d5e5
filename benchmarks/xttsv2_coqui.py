"""Coqui's own ``Xtts.inference`` on the GPU benchmark's checkpoint: the reference side of
`xttsv2_gpu.py`. Runs in the Coqui environment only (coqui-tts 0.28 with transformers < 5), as a
subprocess that `xttsv2_gpu.py --coqui-site DIR` starts; it imports nothing from Auralis.

The checkpoint directory holds what `xttsv2_gpu.py` wrote from the same random weights the Auralis
backends run: Coqui's layout (``config.json``, ``model.pth``, ``vocab.json``), the voice
(``voice.pt``: GPT conditioning latents and speaker embedding) and ``texts.json``. Coqui serves one
sentence at a time, batch 1, so one sequential rate describes every concurrency level. The book
excerpt arrives cut into the segments Auralis speaks (Coqui's own splitter needs spaCy, which is
not carried); ``Xtts.inference`` speaks them one after another, as ``enable_text_splitting`` would. Every sentence generates exactly ``--codes``
codes (``min_new_tokens = max_new_tokens``: random weights never stop on purpose), as on our side.

Usage (inside the Coqui environment): python benchmarks/xttsv2_coqui.py CKPT_DIR --out coqui.json
       [--device cuda] [--codes 200] [--requests 6] [--chunk-tokens 24]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from importlib.metadata import version
from pathlib import Path

import torch

OUTPUT_RATE = 24000


def load(ckpt: Path, device: str):
    """Coqui's ``Xtts`` with the checkpoint loaded strictly (weight norm under Coqui's own names)."""
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts

    ours = json.loads((ckpt / "config.json").read_text())
    config = XttsConfig()
    for k, v in ours["model_args"].items():
        setattr(config.model_args, k, v)
    for k in ("temperature", "length_penalty", "repetition_penalty", "top_k", "top_p", "languages"):
        setattr(config, k, ours[k])
    model = Xtts(config)
    model.tokenizer = VoiceBpeTokenizer(vocab_file=str(ckpt / "vocab.json"))
    model.init_models()
    load_weights(model, ckpt / "model.pth")
    model.to(device)
    return model, config


def load_weights(model, path: Path) -> None:
    """A Coqui-layout ``model.pth`` into Coqui's ``Xtts``, strictly (weight norm under Coqui's own
    names), then Coqui's inference wrapper. Shared with the parity fixtures' script."""
    sd = torch.load(path, map_location="cpu", weights_only=True)["model"]
    sd = {k.replace(".weight_g", ".parametrizations.weight.original0").replace(
        ".weight_v", ".parametrizations.weight.original1"): v for k, v in sd.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    # the inference wrapper and the tied wte alias are built after loading, as in Xtts.load_checkpoint
    missing = [k for k in missing if not k.startswith("gpt.gpt_inference.") and k != "gpt.gpt.wte.weight"
               and ".torch_spec." not in k and not k.startswith(("dvae.", "torch_mel_spectrogram"))]
    if missing or unexpected:
        raise SystemExit(f"checkpoint does not fit Coqui's Xtts: missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.gpt.init_gpt_for_inference(kv_cache=True)
    model.eval()  # Xtts.eval returns None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ckpt", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--codes", type=int, default=200)
    ap.add_argument("--requests", type=int, default=6)
    ap.add_argument("--chunk-tokens", type=int, default=24)
    args = ap.parse_args()
    t0 = time.perf_counter()
    model, config = load(args.ckpt, args.device)
    voice = torch.load(args.ckpt / "voice.pt", weights_only=True)
    lat, spk = voice["gpt_cond_latent"].to(args.device), voice["speaker_embedding"].to(args.device)
    texts = json.loads((args.ckpt / "texts.json").read_text())
    sampling = {"temperature": config.temperature, "length_penalty": config.length_penalty,
                "repetition_penalty": config.repetition_penalty, "top_k": config.top_k, "top_p": config.top_p}
    fixed = {"min_new_tokens": args.codes, "max_new_tokens": args.codes}
    startup = time.perf_counter() - t0

    def speak(text: str) -> tuple[float, float]:
        start = time.perf_counter()
        out = model.inference(text, "en", lat, spk, **sampling, **fixed)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return len(out["wav"]) / OUTPUT_RATE, time.perf_counter() - start

    def first_audio(text: str) -> float:
        start = time.perf_counter()
        stream = model.inference_stream(text, "en", lat, spk, stream_chunk_size=args.chunk_tokens, **sampling, **fixed)
        next(iter(stream))
        elapsed = time.perf_counter() - start
        stream.close()
        return elapsed

    def row(results: list[tuple[float, float]], wall: float, **extra: object) -> dict:
        audio = sum(a for a, _ in results)
        return {"requests": len(results), "audio_s": round(audio, 1), "wall_s": round(wall, 3),
                "x_realtime": round(audio / wall, 2), "rtf": round(wall / audio, 5), **extra}

    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    speak(texts["sentences"][0])  # warm-up
    rows: dict[str, dict] = {}
    firsts = [first_audio(t) for t in texts["sentences"][:3]]
    rows["first audio, 1 stream"] = {"requests": 3, "first_audio_p50_s": round(statistics.median(firsts), 3),
                                     "first_audio_max_s": round(max(firsts), 3)}
    start = time.perf_counter()
    seq = [speak(t) for t in texts["sentences"][: args.requests]]
    rows[f"{args.requests} sequential, batch 1"] = row(seq, time.perf_counter() - start)
    segments = texts["book_segments"]
    start = time.perf_counter()
    book = [speak(t) for t in segments]
    rows["book excerpt"] = row(book, time.perf_counter() - start, chars=sum(len(t) for t in segments),
                               segments=len(segments))
    result = {
        "system": "coqui-tts Xtts.inference", "coqui_tts": version("coqui-tts"), "transformers": version("transformers"),
        "torch": torch.__version__, "dtype": str(next(model.gpt.parameters()).dtype), "startup_s": round(startup, 1),
        "peak_gpu_gb": round(torch.cuda.max_memory_allocated() / 1e9, 2) if args.device.startswith("cuda") else 0.0,
        "scenarios": rows,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
