"""Before/after comparison of `xttsv2_generation.py` on a shared machine: paired, interleaved runs.

Two worker processes, one per source tree, each build the benchmark's real-size random engine
once (1 torch thread) and then run the scenarios they are sent. Each scenario runs ``--rounds``
times per tree, alternating which tree goes first, and only one worker computes at a time. So
both trees see the same machine load, drift included, which back-to-back full runs do not (on a
busy 2-core VM the whole-run numbers moved by 2x between runs). Besides wall time it reports each
scenario's process CPU seconds: with one compute thread that is the work done, and it moves far
less than wall time when other jobs share the cores. Each tree uses its own copy of
the benchmark (its `Scenario`, its request options), so trees from before an API change work.

Usage: python benchmarks/xttsv2_before_after.py --before /path/to/old/checkout [--after .]
       [--rounds 2] [--codes 60] [--out benchmarks/results/xttsv2_before_after.json]
Each tree is put on its worker's ``PYTHONPATH`` (core and plugins/xttsv2), ahead of installs.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import inspect
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("paragraph", "8 concurrent", "8 sequential", "stream 1", "stream paragraph", "stream 8 concurrent")


def _worker(tree: Path, codes: int) -> None:
    """Serve scenario names from stdin with the benchmark code of ``tree``; one JSON line each."""
    import torch

    torch.set_num_threads(1)
    spec = importlib.util.spec_from_file_location("xttsv2_generation", tree / "benchmarks/xttsv2_generation.py")
    bench_mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_mod)
    kwargs = {"backend": "torch"} if "engine_kwargs" in inspect.signature(bench_mod.build_engine).parameters else {}
    engine = bench_mod.build_engine(bench_mod.DEFAULT_VOCAB, 8, 24, "cpu", torch.float32, **kwargs)
    tts = bench_mod.TTS(engine, max_concurrency=8)
    bench = bench_mod.Scenario(tts, codes)
    s, para = bench_mod.SENTENCES, bench_mod.PARAGRAPH
    runs = {"paragraph": ([para], False, False), "8 concurrent": (s, True, False), "8 sequential": (s, False, False),
            "stream 1": (s[:1], False, True), "stream paragraph": ([para], False, True),
            "stream 8 concurrent": (s, True, True)}
    loop = asyncio.new_event_loop()
    loop.run_until_complete(bench.run(s, True, False))  # warm-up, as the benchmark itself does
    loop.run_until_complete(bench.run([para], False, True))
    print("ready", flush=True)
    for line in sys.stdin:
        cpu = time.process_time()
        result = loop.run_until_complete(bench.run(*runs[line.strip()]))
        result["cpu_s"] = round(time.process_time() - cpu, 2)
        print(json.dumps(result), flush=True)
    tts.shutdown()


class _Side:
    def __init__(self, tree: Path, codes: int, pythonpath: str | None) -> None:
        env = dict(os.environ)
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", str(tree), "--codes", str(codes)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        if self._read() != "ready":
            raise RuntimeError(f"worker for {tree} did not start")

    def _read(self) -> str:
        out: IO[str] = self.proc.stdout  # type: ignore[assignment]
        return out.readline().strip()

    def run(self, scenario: str) -> dict:
        self.proc.stdin.write(scenario + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return json.loads(self._read())

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=False)
    parser.add_argument("--after", type=Path, default=ROOT)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--codes", type=int, default=60)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/xttsv2_before_after.json")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.codes)
        return
    if args.before is None:
        parser.error("--before is required")
    before = args.before.resolve()
    after = args.after.resolve()
    sides = {name: _Side(tree, args.codes, f"{tree}:{tree / 'plugins/xttsv2'}")
             for name, tree in (("before", before), ("after", after))}
    results: dict[str, dict[str, list[dict]]] = {}
    print(f"{'scenario':<22} {'before s':>9} {'after s':>9} {'after/before':>12} {'CPU s before/after':>20} "
          f"{'ratio':>6} {'first audio before/after s':>28}")
    try:
        for name in SCENARIOS:
            runs: dict[str, list[dict]] = {"before": [], "after": []}
            for i in range(args.rounds):
                for side in ("before", "after") if i % 2 == 0 else ("after", "before"):
                    runs[side].append(sides[side].run(name))
            results[name] = runs
            wall = {k: statistics.median(r["wall_s"] for r in v) for k, v in runs.items()}
            cpu = {k: statistics.median(r["cpu_s"] for r in v) for k, v in runs.items()}
            first = {k: statistics.median(r["first_audio_s_median"] for r in v) for k, v in runs.items()}
            print(f"{name:<22} {wall['before']:>9.1f} {wall['after']:>9.1f} {wall['after'] / wall['before']:>12.2f} "
                  f"{cpu['before']:>10.1f} / {cpu['after']:<7.1f} {cpu['after'] / cpu['before']:>6.2f} "
                  f"{first['before']:>13.2f} / {first['after']:.2f}", flush=True)
    finally:
        for side in sides.values():
            side.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"before": str(before), "after": str(after),
                                    "rounds": args.rounds, "codes": args.codes, "results": results}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
