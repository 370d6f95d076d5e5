"""Peak live activation memory of one batched HiFi-GAN call, counted on the meta device (shapes
only: runs anywhere in a second, no GPU). It bounds what the engine process adds under load when
the vocoder decodes many windows at once (cuDNN workspace and allocator caching come on top).

Usage: python benchmarks/xttsv2_hifigan_memory.py [--dtype bfloat16]
"""

from __future__ import annotations

import argparse
import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from auralis_xttsv2.model.config import HifiganConfig
from auralis_xttsv2.model.hifigan import HifiganGenerator

CASES = [(32, 870), (32, 200), (8, 870), (1, 870)]  # (windows, frames): 870 frames = 200 codes = 9.3 s


class LiveBytes(TorchDispatchMode):
    """Bytes of every tensor an op returns, released when its storage is freed; keeps the peak."""

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor):
                n = t.untyped_storage().nbytes()
                self.live += n
                self.peak = max(self.peak, self.live)
                weakref.finalize(t.untyped_storage(), self._free, n)
        return out

    def _free(self, n: int) -> None:
        self.live -= n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dtype", default="bfloat16", choices=["float32", "float16", "bfloat16"])
    dtype = getattr(torch, ap.parse_args().dtype)
    config = HifiganConfig()
    gen = HifiganGenerator(config).to(dtype).to("meta")
    hop = 1
    for u in config.upsample_rates:
        hop *= u
    print(f"{'windows':>7} {'frames':>6} {'audio s':>8} {'peak GB':>8}")
    for windows, frames in CASES:
        x = torch.empty(windows, config.decoder_input_dim, frames, device="meta", dtype=dtype)
        g = torch.empty(windows, config.d_vector_dim, 1, device="meta", dtype=dtype)
        counter = LiveBytes()
        with torch.inference_mode(), counter:
            gen(x, g)
        audio = windows * frames * hop / config.output_sample_rate
        print(f"{windows:>7} {frames:>6} {audio:>8.0f} {counter.peak / 1e9:>8.2f}")


if __name__ == "__main__":
    main()
