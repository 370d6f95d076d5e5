"""Running mono float32 audio through a chain of FFmpeg audio filters (libavfilter via PyAV)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

_BLOCK = 8192  # samples pushed into the graph at a time


def run_filters(samples: np.ndarray, sample_rate: int, chain: Sequence[tuple[str, str]]) -> np.ndarray:
    """``samples`` through FFmpeg filters ``chain`` = [(name, "opt=value:..."), ...], flushed at the end."""
    import av
    from av.filter import Graph

    from .ffmpeg import make_frame

    samples = np.ascontiguousarray(samples, dtype=np.float32)
    time_base = Fraction(1, sample_rate)
    graph = Graph()
    nodes = [graph.add_abuffer(sample_rate=sample_rate, format="flt", layout="mono", time_base=time_base)]
    nodes += [graph.add(name, args) for name, args in chain]
    nodes.append(graph.add("abuffersink"))
    graph.link_nodes(*nodes).configure()

    out: list[np.ndarray] = []

    def pull() -> None:
        while True:
            try:
                out.append(graph.pull().to_ndarray().reshape(-1))
            except (av.BlockingIOError, av.EOFError):
                return

    for start in range(0, len(samples), _BLOCK):
        graph.push(make_frame(samples[start : start + _BLOCK], "flt", 1, sample_rate, start))
        pull()
    graph.push(None)  # end of stream: filters with look-ahead hand over what they hold
    pull()
    return np.concatenate(out).astype(np.float32, copy=False) if out else np.zeros(0, dtype=np.float32)
