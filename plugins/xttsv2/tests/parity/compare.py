"""Step 3 of the public-path parity check: speak every case through `TTS` and compare with Coqui.

    .venv/bin/python plugins/xttsv2/tests/parity/compare.py /tmp/xtts-parity [--batched] [--json out.json]

Prints one row per language x checkpoint (cases, identical code sequences, max abs waveform error
over the full waveforms) and writes every case's numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cases import iter_cases  # noqa: E402
from public_path import compare, load, speak_alone, speak_batched  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root", type=Path)
    ap.add_argument("names", nargs="*")
    ap.add_argument("--batched", action="store_true", help="speak all cases of a checkpoint at once")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    meta = json.loads((args.root / "checkpoints.json").read_text())
    rows, report = [], {}
    for name, entry in meta.items():
        if args.names and name not in args.names:
            continue
        with np.load(args.root / name / "coqui.npz") as z:
            ref = {k: z[k] for k in z.files}
        cases = list(iter_cases(entry["real_size"]))
        t0 = time.time()
        tts = load(args.root / name)
        try:
            spoken = (speak_batched if args.batched else speak_alone)(tts, cases)
        finally:
            tts.shutdown()
        results = [compare(c.key, spoken[c.key], ref) for c in cases]
        report[name] = [asdict(r) for r in results]
        by_lang = defaultdict(list)
        for r in results:
            by_lang[r.key.split("/")[0]].append(r)
        for lang, rs in by_lang.items():
            errs = [r.max_abs_error for r in rs]
            worst = "length differs" if None in errs else f"{max(errs):.1e}"
            rows.append((lang, name, len(rs), sum(r.codes_equal for r in rs), sum(r.n_codes for r in rs), worst))
        print(f"{name}: {len(cases)} cases in {time.time() - t0:.0f} s", flush=True)
    print(f"\n| language | checkpoint | cases | identical codes | codes | max abs error |\n|---|---|---|---|---|---|")
    for lang, name, n, eq, codes, worst in rows:
        print(f"| {lang} | {name} | {n} | {eq}/{n} | {codes} | {worst} |")
    bad = [r for rs in report.values() for r in rs if not r["codes_equal"]]
    for r in bad:
        print("MISMATCH", r)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
