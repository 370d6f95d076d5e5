"""Parity with Coqui's ``Xtts`` through the public path, in all 17 languages, on three random
checkpoints, greedy, seeded sampling and the checkpoint's own defaults (see docs/xttsv2-parity.md).

Every case of a checkpoint is spoken at once, so the comparison also proves that batching does not
change what a request gets: Coqui's numbers come from one request at a time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cases import CASES, FIXTURES, iter_cases  # noqa: E402
from make_checkpoints import build  # noqa: E402
from public_path import compare, load, speak_batched  # noqa: E402

TOLERANCE = 1e-4


@pytest.fixture(scope="module", params=sorted(CASES["checkpoints"]))
def checkpoint(request, tmp_path_factory):
    name = request.param
    expected = json.loads((FIXTURES / f"{name}.json").read_text())
    out = tmp_path_factory.mktemp("parity")
    digest = build(name, CASES["checkpoints"][name]["spec"], out)
    return name, digest, expected, out / name


def test_public_path_matches_coqui(checkpoint):
    name, digest, expected, path = checkpoint
    assert digest == expected["digest"], (
        f"the random checkpoint {name} no longer builds bit-identically (model init or perturbation changed): "
        "rerun the three steps in docs/xttsv2-parity.md to regenerate the fixtures"
    )
    with np.load(FIXTURES / f"{name}.npz") as z:
        ref = {k: z[k] for k in z.files}
    cases = list(iter_cases())
    tts = load(path)
    try:
        spoken = speak_batched(tts, cases)
    finally:
        tts.shutdown()
    results = [compare(c.key, spoken[c.key], ref, stride=CASES["stride"]) for c in cases]
    bad = [r for r in results if not r.codes_equal or r.max_abs_error is None or r.max_abs_error > TOLERANCE]
    assert not bad, f"{len(bad)} of {len(results)} cases differ from Coqui, e.g. {bad[:3]}"
    assert {c.language for c in cases} == set(CASES["texts"]) and len(CASES["texts"]) == 17
