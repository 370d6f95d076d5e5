"""Step 1 of the public-path parity check: write the random checkpoints of ``cases.json``.

    .venv/bin/python plugins/xttsv2/tests/parity/make_checkpoints.py --out /tmp/xtts-parity [--real-size]

Each checkpoint is built by `auralis_xttsv2.checkpoint.random` from its spec (sizes + seed) in
Coqui's layout, so the Coqui script can load it; ``checkpoints.json`` lists them with their weight
digests. The CI test rebuilds the committed specs the same way and checks the digest first.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cases import CASES  # noqa: E402

TEXT_VOCAB = HERE.parent / "text" / "fixtures" / "text_vocab.json"


def build(name: str, spec_dict: dict, out: Path, text_tokens: int | None = None) -> str:
    from auralis_xttsv2.checkpoint.random import padded_vocab, spec_from_dict, write_random_checkpoint

    ckpt = out / name
    ckpt.mkdir(parents=True, exist_ok=True)
    vocab = TEXT_VOCAB if text_tokens is None else padded_vocab(TEXT_VOCAB, ckpt / "vocab.json", text_tokens)
    return write_random_checkpoint(spec_from_dict(spec_dict), ckpt, vocab)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--real-size", action="store_true", help="also the real-size checkpoint (1.8 GB)")
    ap.add_argument("--only-real-size", action="store_true", help="the real-size checkpoint alone")
    args = ap.parse_args()
    meta = {}
    for name, entry in ({} if args.only_real_size else CASES["checkpoints"]).items():
        meta[name] = {"spec": entry["spec"], "commit": entry["commit"], "real_size": False,
                      "digest": build(name, entry["spec"], args.out)}
        print(name, meta[name]["digest"], flush=True)
    if args.real_size or args.only_real_size:
        real = CASES["real_size"]
        meta["real_size"] = {"spec": real["spec"], "commit": False, "real_size": True,
                             "digest": build("real_size", real["spec"], args.out, real["text_tokens"])}
        print("real_size", meta["real_size"]["digest"], flush=True)
    (args.out / "checkpoints.json").write_text(json.dumps(meta, indent=2) + "\n")


if __name__ == "__main__":
    main()
