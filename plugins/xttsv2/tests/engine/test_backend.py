"""The torch generation backend: Coqui parity, batch invariance, seeding, cancellation."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
import torch

from auralis_xttsv2.backend import GenerationRequest, TorchBackend
from auralis_xttsv2.model.sampling import SamplingParams

GREEDY = SamplingParams.greedy(repetition_penalty=10.0)



@pytest.fixture
async def backend(small_ckpt):
    b = TorchBackend(small_ckpt.model, max_batch_size=3)
    yield b
    await b.shutdown()


@pytest.mark.parametrize(
    "name,params,seed",
    [
        ("greedy", GREEDY, None),
        ("greedy_norep", SamplingParams.greedy(repetition_penalty=1.0), None),
        ("sample_a", SamplingParams(do_sample=True, temperature=0.75, top_k=50, top_p=0.85, repetition_penalty=10.0), 1234),
        ("sample_b", SamplingParams(do_sample=True, temperature=1.3, top_k=0, top_p=1.0, repetition_penalty=2.0), 99),
    ],
)
async def test_codes_equal_coquis(backend, reference, name, params, seed, collect):
    request = GenerationRequest(
        torch.from_numpy(reference["cond_default"]), torch.from_numpy(reference["text_tokens"][0]), params, seed=seed
    )
    codes, states, _ = await collect(backend, request)
    assert codes == reference[f"codes_{name}"][0].tolist()
    if name == "greedy":
        assert np.max(np.abs(states.numpy() - reference["latents_greedy"][0])) <= 1e-4


async def test_batch_invariance_with_joins_and_leaves(small_ckpt, reference, backend, collect):
    """Sequences of different lengths, arriving at different times, with more sequences than slots."""
    cond = torch.from_numpy(reference["cond_default"])
    tokens = reference["text_tokens"][0]
    cuts = [len(tokens), 9, 17, 4, 23, 12]
    requests = [
        GenerationRequest(cond, torch.from_numpy(tokens[:n]), GREEDY, max_new_tokens=40, ignore_stop=(i % 2 == 1))
        for i, n in enumerate(cuts)
    ]
    batched = await asyncio.gather(*[collect(backend, r, delay=0.003 * i) for i, r in enumerate(requests)])
    assert backend.max_active == 3  # the bound held and slots were shared
    for request, (codes, states, _) in zip(requests, batched):
        alone = small_ckpt.model.generate(cond, request.text_tokens, GREEDY, max_new_tokens=40) if not request.ignore_stop else None
        solo_backend_codes, solo_states, _ = await collect(backend, request)
        assert codes == solo_backend_codes
        assert torch.max(torch.abs(states - solo_states)) <= 1e-4
        if alone is not None:
            assert codes == alone.codes.tolist()
            assert torch.max(torch.abs(states - alone.hidden_states)) <= 1e-4
        wav_b = small_ckpt.model.decode(states, torch.from_numpy(reference["spk_default"]))
        wav_s = small_ckpt.model.decode(solo_states, torch.from_numpy(reference["spk_default"]))
        assert torch.max(torch.abs(wav_b - wav_s)) <= 1e-4


async def test_seeded_sampling_independent_of_batch(reference, backend, collect):
    cond = torch.from_numpy(reference["cond_default"])
    tokens = torch.from_numpy(reference["text_tokens"][0])
    params = SamplingParams(do_sample=True, temperature=1.0, top_k=50, top_p=0.95, repetition_penalty=2.0)
    target = GenerationRequest(cond, tokens, params, seed=7, max_new_tokens=30)
    invariant = TorchBackend(backend.model, max_batch_size=3, batch_invariant=True)
    try:
        alone, _, _ = await collect(invariant, target)
        others = [GenerationRequest(cond, tokens[: 5 + i], params, seed=100 + i, max_new_tokens=30) for i in range(4)]
        results = await asyncio.gather(*[collect(invariant, r) for r in others], collect(invariant, target, delay=0.002))
        assert results[-1][0] == alone
        different, _, _ = await collect(invariant, GenerationRequest(cond, tokens, params, seed=8, max_new_tokens=30))
        assert different != alone
    finally:
        await invariant.shutdown()


async def test_streaming_chunks_and_limits(reference, backend):
    request = GenerationRequest(
        torch.from_numpy(reference["cond_default"]), torch.from_numpy(reference["text_tokens"][0]), GREEDY,
        max_new_tokens=25, stream_every=10, ignore_stop=True,
    )
    sizes = []
    async for chunk in backend.generate(request):
        sizes.append((chunk.codes.numel(), chunk.finished))
    assert sizes == [(10, False), (10, False), (5, True)]


async def test_cancellation_frees_the_slot(reference, backend):
    request = GenerationRequest(
        torch.from_numpy(reference["cond_default"]), torch.from_numpy(reference["text_tokens"][0]), GREEDY,
        max_new_tokens=500, stream_every=1, ignore_stop=True,
    )
    agen = backend.generate(request)
    await agen.__anext__()
    await agen.aclose()
    for _ in range(100):
        if not backend._active:
            break
        await asyncio.sleep(0.01)
    assert not backend._active


async def test_sequences_share_decode_steps(reference, backend, collect):
    """Continuous batching: 3 sequences of 20 codes take about 20 decode steps, not 60."""
    cond = torch.from_numpy(reference["cond_default"])
    tokens = torch.from_numpy(reference["text_tokens"][0])
    requests = [GenerationRequest(cond, tokens[: 8 + 3 * i], GREEDY, max_new_tokens=20, ignore_stop=True) for i in range(3)]
    before = backend.steps
    results = await asyncio.gather(*[collect(backend, r) for r in requests])
    assert all(len(codes) == 20 for codes, _, _ in results)
    assert backend.steps - before < 30


async def test_shutdown_fails_running_and_waiting_sequences(small_ckpt, reference, collect):
    from auralis_core.errors import GenerationError

    backend = TorchBackend(small_ckpt.model, max_batch_size=1)
    cond = torch.from_numpy(reference["cond_default"])
    tokens = torch.from_numpy(reference["text_tokens"][0])
    long = GenerationRequest(cond, tokens, GREEDY, ignore_stop=True, stream_every=1)  # the model's limit: 57
    started = asyncio.Event()

    async def consume():
        async for _ in backend.generate(long):
            started.set()

    tasks = [asyncio.create_task(consume()) for _ in range(3)]  # one runs, two wait for the slot
    await asyncio.wait_for(started.wait(), timeout=10)
    await backend.shutdown()  # the first still has ~55 steps to go
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=10)
    assert all(isinstance(r, GenerationError) for r in results)
    with pytest.raises(GenerationError, match="shut down"):
        await collect(backend, long)


def _mixed_requests(reference, n: int = 16) -> list[GenerationRequest]:
    """Greedy and seeded-sampling sequences of different prompt lengths, penalties and limits."""
    cond = torch.from_numpy(reference["cond_default"])
    tokens = reference["text_tokens"][0]
    out = []
    for i in range(n):
        text = torch.from_numpy(tokens[: max(3, len(tokens) - 2 * i)])
        if i % 2 == 0:
            params = SamplingParams.greedy(repetition_penalty=(1.0, 2.0, 10.0)[i % 3])
            seed = None
        else:
            params = SamplingParams(do_sample=True, temperature=(0.6, 1.0, 1.4)[i % 3], top_k=(0, 20, 50)[i % 3],
                                    top_p=(1.0, 0.9, 0.7)[i % 3], repetition_penalty=(1.0, 3.0)[i % 2])
            seed = 1000 + i
        out.append(GenerationRequest(cond, text, params, seed=seed, max_new_tokens=12 + 3 * i,
                                     ignore_stop=i % 4 == 3))
    return out


@pytest.mark.parametrize("invariant", [True, False], ids=["batch_invariant", "default"])
async def test_sixteen_mixed_requests_batched_equal_each_alone(small_ckpt, reference, collect, invariant):
    """With ``batch_invariant=True``, codes and hidden states of every request are the same, bit for
    bit, whether it runs alone or shares decode steps with 15 others (joining and leaving as they
    finish). By default the hidden states agree to float rounding (and these codes, far from ties,
    agree exactly)."""
    backend = TorchBackend(small_ckpt.model, max_batch_size=8, batch_invariant=invariant)
    try:
        requests = _mixed_requests(reference)
        alone = [await collect(backend, r) for r in requests]
        assert backend.max_active == 1
        batched = await asyncio.gather(*[collect(backend, r, delay=0.002 * i) for i, r in enumerate(requests)])
        assert backend.max_active == 8
        bit_equal = True
        for (codes_a, states_a, stop_a), (codes_b, states_b, stop_b) in zip(alone, batched):
            assert codes_a == codes_b and stop_a == stop_b
            torch.testing.assert_close(states_a, states_b, atol=1e-4, rtol=0)
            bit_equal &= torch.equal(states_a, states_b)
        assert bit_equal or not invariant
    finally:
        await backend.shutdown()


async def test_model_generate_is_the_backend_alone(small_ckpt, reference, collect):
    """`XTTSModel.generate` and the backend decode through the same code: equal bit for bit."""
    backend = TorchBackend(small_ckpt.model, max_batch_size=4)
    try:
        for request in _mixed_requests(reference, 6):
            generator = torch.Generator().manual_seed(request.seed) if request.seed is not None else None
            if request.ignore_stop:
                continue
            ref = small_ckpt.model.generate(request.cond_latents, request.text_tokens, request.params,
                                            max_new_tokens=request.max_new_tokens, generator=generator)
            codes, states, stopped = await collect(backend, request)
            assert codes == ref.codes.tolist() and stopped == ref.stopped
            assert torch.equal(states, ref.hidden_states)
    finally:
        await backend.shutdown()
