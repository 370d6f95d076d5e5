"""Shared fixtures of the XTTS-v2 plugin tests: the small Coqui reference checkpoint and its outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = FIXTURES / "xtts_small"


@pytest.fixture(scope="session")
def small_dir() -> Path:
    return SMALL


@pytest.fixture(scope="session")
def reference() -> dict[str, np.ndarray]:
    with np.load(SMALL / "reference.npz") as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="session")
def ref_audio():
    import soundfile as sf
    import torch

    data, sr = sf.read(str(FIXTURES / "ref.wav"), dtype="float32")
    assert sr == 22050
    return torch.from_numpy(data)[None]


@pytest.fixture(scope="session")
def small_ckpt(small_dir):
    from auralis_xttsv2.checkpoint import load_checkpoint

    return load_checkpoint(small_dir)


@pytest.fixture
def collect():
    """``await collect(backend, request)`` -> (codes, hidden states [n, D], stopped) of one sequence."""
    import torch

    async def run(backend, request):
        codes, states, stopped = [], [], False
        async for chunk in backend.generate(request):
            codes += chunk.codes.tolist()
            states.append(chunk.hidden_states)
            stopped = chunk.stopped
        return codes, torch.cat(states), stopped

    return run
