"""Wall time of `auralis engines` and `import auralis_core` (the 'listing is instant' target: < 1 s).

Usage: python benchmarks/cli_startup.py [--repeats N] [--out benchmarks/results/cli_startup.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = {
    "import auralis_core": [sys.executable, "-c", "import auralis_core"],
    "auralis engines": [sys.executable, "-m", "auralis_core.cli.main", "engines"],
    "auralis --help": [sys.executable, "-m", "auralis_core.cli.main", "--help"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cli_startup.json"))
    args = parser.parse_args()
    results = {}
    for name, cmd in CASES.items():
        subprocess.run(cmd, capture_output=True, check=True)  # warm-up
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            times.append(time.perf_counter() - start)
        results[name] = {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}
    print(f"{'command':<24} {'median s':>9} {'min s':>8} {'max s':>8}")
    for name, row in results.items():
        print(f"{name:<24} {row['median_s']:>9.3f} {row['min_s']:>8.3f} {row['max_s']:>8.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"platform": platform.platform(), "python": platform.python_version(), "cpus": __import__("os").cpu_count()}
    args.out.write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
