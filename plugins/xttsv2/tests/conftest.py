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


TEXT_VOCAB = Path(__file__).parent / "text" / "fixtures" / "text_vocab.json"


@pytest.fixture(scope="session")
def random_ckpt_dir(tmp_path_factory) -> Path:
    """A small random checkpoint in Coqui's layout, written by `auralis_xttsv2.checkpoint.random`."""
    from auralis_xttsv2.checkpoint.random import RandomCheckpointSpec, write_random_checkpoint

    spec = RandomCheckpointSpec(seed=3, layers=2, width=64, heads=4, max_audio_tokens=40, max_text_tokens=100,
                                hifigan_channels=16, speaker_filters=(4, 8, 8, 16), speaker_layers=(1, 1, 1, 1))
    out = tmp_path_factory.mktemp("random_ckpt")
    write_random_checkpoint(spec, out, TEXT_VOCAB)
    return out


@pytest.fixture
def collect():
    """``await collect(backend, request, delay=0)`` -> (codes, hidden states [n, D], stopped) of one sequence."""
    import torch

    async def run(backend, request, delay: float = 0.0):
        import asyncio

        await asyncio.sleep(delay)  # lets callers stagger arrivals
        codes, states, stopped = [], [], False
        async for chunk in backend.generate(request):
            codes += chunk.codes.tolist()
            states.append(chunk.hidden_states)
            stopped = chunk.stopped
        return codes, torch.cat(states), stopped

    return run
