"""The public-path parity cases (``cases.json``), shared by the Coqui script and our side."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CASES: dict[str, Any] = json.loads((HERE / "cases.json").read_text(encoding="utf-8"))
REF_WAV = HERE.parent / "fixtures" / "ref.wav"
FIXTURES = HERE / "fixtures"


@dataclass(frozen=True)
class Case:
    key: str  # "<lang>/<text index>/<mode>"
    language: str
    text: str
    mode: str
    params: dict[str, Any]  # sampling parameters and "seed"; empty but "seed" for "defaults"


def iter_cases(real_size: bool = False) -> Iterator[Case]:
    """Every case in a fixed order; the real-size run takes a subset (see ``cases.json``)."""
    per_lang = CASES["real_size"]["texts_per_language"] if real_size else None
    for lang, texts in CASES["texts"].items():
        for i, text in enumerate(texts[:per_lang]):
            modes = CASES["real_size"]["modes"] if real_size else CASES["modes_per_text"][i]
            for mode in modes:
                yield Case(f"{lang}/{i}/{mode}", lang, text, mode, dict(CASES["modes"][mode]))
    if not real_size:
        long = CASES["long_text"]
        for mode in ("greedy", "sampled"):
            yield Case(f"{long['language']}/long/{mode}", long["language"], long["text"], mode,
                       dict(CASES["modes"][mode]))
