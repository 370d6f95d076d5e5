"""The vLLM backend's parts that need no vLLM: the second latents pass, batched HiFi-GAN, the
micro-batcher, the prompt/sampling mapping, positions and the exported model directory."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from safetensors.torch import load_file

from auralis_xttsv2.backend import GenerationRequest, TorchBackend
from auralis_xttsv2.backend.latents import LatentsJob, LatentsPass
from auralis_xttsv2.backend.prompts import HostPrompts
from auralis_xttsv2.batching import MicroBatcher
from auralis_xttsv2.model.config import XTTSGPTConfig
from auralis_xttsv2.model.sampling import SamplerBatch, SamplingParams
from auralis_xttsv2.streaming import StreamingDecoder, vocode
from auralis_xttsv2.vllm.export import Geometry, export_for_vllm
from auralis_xttsv2.vllm.model_names import CONV1D_SUFFIXES, vllm_param_name
from auralis_xttsv2.vllm.penalty import PENALTY_ARG, PLACEHOLDER, SeenIdsPenalty, penalty_of
from auralis_xttsv2.vllm.positions import mel_position, prompt_positions
from auralis_xttsv2.vllm.requests import embeds_prompt, prompt_ids, sampling_kwargs

GREEDY = SamplingParams.greedy(repetition_penalty=10.0)


async def test_second_pass_latents_equal_the_decode_loop_batched_and_windowed(small_ckpt, reference, collect):
    """Latents of the batched second pass == hidden states the torch loop collected, for a batch of
    different prompt and code lengths (left padding) and for streamed windows."""
    model = small_ckpt.model
    cond = torch.from_numpy(reference["cond_default"])
    tokens = torch.from_numpy(reference["text_tokens"][0])
    backend = TorchBackend(model, max_batch_size=4)
    try:
        requests = [GenerationRequest(cond, tokens[: 5 + 6 * i], GREEDY, max_new_tokens=12 + 5 * i) for i in range(3)]
        runs = [(c, s) for c, s, _ in await asyncio.gather(*[collect(backend, r) for r in requests])]
    finally:
        await backend.shutdown()
    with ThreadPoolExecutor(1) as pool:
        latents = LatentsPass(model.gpt, pool)
        prefixes = [model.gpt.embed_prefix(cond, r.text_tokens[None])[0] for r in requests]
        jobs = [LatentsJob(p, tuple(codes), 0) for p, (codes, _) in zip(prefixes, runs)]
        got = await asyncio.gather(*[latents.submit(j) for j in jobs])
        assert latents.batcher.largest == 3  # one padded forward for all three
        for (codes, states), lat in zip(runs, got):
            assert lat.shape == states.shape
            assert torch.max(torch.abs(lat - states)) < 1e-4
        codes, states = runs[2]
        windows = [await latents.submit(LatentsJob(prefixes[2], tuple(codes[:end]), start))
                   for start, end in ((0, 5), (5, 11), (11, len(codes)))]
        assert torch.max(torch.abs(torch.cat(windows) - states)) < 1e-4


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_host_prompts_equal_the_gpts_own(small_ckpt, reference, dtype):
    """The prompt vLLM gets, built from host copies of the tables, is `embed_prefix`'s bit for bit;
    too long a text is refused as `embed_prefix` refuses it."""
    import copy

    gpt = copy.deepcopy(small_ckpt.model.gpt).to(dtype)
    prompts = HostPrompts(gpt)
    cond = torch.from_numpy(reference["cond_default"])  # float32, cast like embed_prefix casts it
    for tokens in (torch.from_numpy(reference["text_tokens"][0]), torch.tensor([5]), torch.tensor([], dtype=torch.long)):
        with torch.inference_mode():
            expected = gpt.embed_prefix(cond, tokens[None])[0]
        got = prompts.build(cond, tokens)
        assert got.dtype == dtype and got.device.type == "cpu" and got.is_contiguous()
        assert torch.equal(got, expected)
        assert torch.equal(prompts.build(cond[0], tokens), expected)  # latents without the batch axis
    too_long = torch.ones(gpt.config.max_text_positions, dtype=torch.long)
    with pytest.raises(ValueError, match="exceed"):
        prompts.build(cond, too_long)
    vocab = gpt.config.number_text_tokens  # the appended start-audio row must not pass for a token
    for bad in ([1, vocab], [-1, 2]):
        with pytest.raises(ValueError, match="text token ids"):
            prompts.build(cond, torch.tensor(bad))


async def test_batched_vocoder_equals_one_by_one(small_ckpt, reference):
    model = small_ckpt.model
    spk = torch.from_numpy(reference["spk_default"])
    lat = torch.from_numpy(reference["latents_greedy"][0])
    windows = []
    for i in range(3):  # three streams with different latents, equal window lengths
        decoder = StreamingDecoder(model, spk, chunk_codes=4)
        windows.append((decoder, decoder.plan(lat[:8] * (1 + 0.1 * i), final=True)))
    together = vocode(model, [w for _, w in windows])
    for (_, window), wav in zip(windows, together):
        alone = vocode(model, [window])[0]
        assert torch.allclose(wav, alone, atol=1e-5)
    with pytest.raises(ValueError, match="one length"):
        vocode(model, [windows[0][1], StreamingDecoder(model, spk).plan(lat[:5], final=True)])
    # a frame budget splits the batch into calls (at least one window each); the audio is the same
    length = windows[0][1].length
    for budget in (1, length, 2 * length + 1):
        split = vocode(model, [w for _, w in windows], max_frames=budget)
        assert len(split) == 3
        for a, b in zip(split, together):
            assert torch.allclose(a, b, atol=1e-5)


async def test_micro_batcher_groups_by_key_isolates_failures_and_cancels():
    calls: list[list[int]] = []

    def run(jobs: list[int]) -> list[int]:
        calls.append(list(jobs))
        if -1 in jobs:
            raise RuntimeError("bad job")
        return [j * 10 for j in jobs]

    with ThreadPoolExecutor(1) as pool:
        b: MicroBatcher[int, int] = MicroBatcher(run, pool, key=lambda j: j % 2, max_batch=3)
        out = await asyncio.gather(*[b.submit(j) for j in range(7)])
        assert out == [j * 10 for j in range(7)]
        assert b.jobs == 7 and b.batches == len(calls) and b.busy_s > 0  # the profile's counters
        assert all(len({j % 2 for j in c}) == 1 and len(c) <= 3 for c in calls)
        with pytest.raises(RuntimeError, match="bad job"):
            await asyncio.gather(b.submit(-1), b.submit(-3))
        assert await b.submit(4) == 40  # the batcher survives a failed batch
        task = asyncio.ensure_future(b.submit(8))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await b.submit(6) == 60
        assert not b._pending


def test_prompt_ids_are_the_references():
    assert prompt_ids(5, 1024) == [1, 1, 1, 1, 1024]
    p = embeds_prompt(torch.zeros(4, 8), 1024)
    assert p["prompt_token_ids"] == [1, 1, 1, 1024] and p["prompt_is_token_ids"] == [False] * 4
    assert p["prompt_embeds"].shape == (4, 8)


def test_sampling_mapping_one_to_one():
    cfg = XTTSGPTConfig()
    sampled = sampling_kwargs(SamplingParams(True, 0.7, 40, 0.8, 5.0), cfg, 100, 7, False).kwargs
    assert sampled == {"max_tokens": 100, "stop_token_ids": [1025], "extra_args": {PENALTY_ARG: 5.0}, "detokenize": False,
                       "skip_special_tokens": False, "temperature": 0.7, "top_k": 40, "top_p": 0.8, "seed": 7}
    greedy = sampling_kwargs(GREEDY, cfg, 50, None, True).kwargs
    assert greedy["temperature"] == 0.0 and greedy["min_tokens"] == 50 and "top_k" not in greedy
    assert sampling_kwargs(SamplingParams(True, 1.0, None, 1.0, 1.0), cfg, 5, 1, False).kwargs["top_k"] == 0


def test_positions_stay_non_negative_and_count_from_the_start_token():
    geo = Geometry.of(XTTSGPTConfig())
    assert geo.max_prompt == 32 + 404 + 1 and geo.max_model_len == geo.max_prompt + 602
    for p in (1, 40, geo.max_prompt):
        positions, delta = prompt_positions(geo.position_base, p)
        assert delta >= 1 and set(positions) == {geo.position_base}
        # vLLM: decode token i (over prompt + output) sits at delta + i; code t is token P + t
        assert [mel_position(delta + p + t, geo.position_base) for t in range(3)] == [1, 2, 3]
        assert mel_position(positions[0], geo.position_base) == 0
    with pytest.raises(ValueError, match="exceeds the position base"):
        prompt_positions(geo.position_base, geo.max_prompt + 1)


def test_export_writes_the_checkpoint_names_vllm_loads(small_ckpt, tmp_path):
    model = small_ckpt.model
    export_for_vllm(model, tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    gpt = model.config.gpt
    assert cfg["architectures"] == ["XttsGPT"] and cfg["vocab_size"] == 1026 and cfg["n_layer"] == gpt.layers
    assert sum(cfg["rope_parameters"]["mrope_section"]) == gpt.head_dim // 2
    tensors = load_file(str(tmp_path / "model.safetensors"))
    state = model.state_dict()
    assert "gpt.gpt.h.0.attn.c_attn.weight" in tensors and "gpt.mel_head.bias" in tensors
    assert not any(k.startswith(("gpt.text_", "gpt.conditioning", "hifigan")) for k in tensors)
    for name, t in tensors.items():
        assert torch.equal(t, state[name])
    targets = {vllm_param_name(n) for n in tensors}
    per_layer = {"ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
                 "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
                 "mlp.c_proj.weight", "mlp.c_proj.bias"}
    expected = {f"model.h.{i}.{p}" for i in range(gpt.layers) for p in per_layer} | {
        "model.ln_f.weight", "model.ln_f.bias", "model.mel_embedding.weight", "model.mel_pos_embedding.weight",
        "model.final_norm.weight", "model.final_norm.bias", "mel_head.weight", "mel_head.bias"}
    assert targets == expected
    # Conv1D weights are [in, out] in the checkpoint (the vLLM model transposes them)
    w = tensors["gpt.gpt.h.0.mlp.c_fc.weight"]
    assert w.shape == (gpt.hidden_size, 4 * gpt.hidden_size)
    assert "gpt.gpt.h.0.mlp.c_fc.weight".endswith(CONV1D_SUFFIXES)


def _penalised_by_hand(logits: torch.Tensor, requests: dict[int, tuple[float, list[int], list[int]]]) -> torch.Tensor:
    """HF's rule applied id by id: the independent reference for `SeenIdsPenalty`."""
    out = logits.clone()
    for row, (penalty, prompt, outputs) in requests.items():
        for token in set(prompt) | {t for t in outputs if t != PLACEHOLDER}:
            score = float(logits[row, token])
            out[row, token] = score * penalty if score < 0 else score / penalty
    return out


def test_seen_ids_penalty_follows_the_persistent_batch():
    """Random adds, removes, moves and swaps of vLLM's persistent batch, ids appended every step (some
    first as async-scheduling placeholders, replaced a step later), one list shrinking: at every step
    the penalised logits equal HF's rule applied id by id to each row's prompt and outputs."""
    gen = torch.Generator().manual_seed(0)
    rows, vocab = 8, 40
    state = SeenIdsPenalty(rows, vocab, "cpu")
    batch: dict[int, tuple[float, list[int], list[int]]] = {}  # row -> (penalty, prompt ids, live outputs)

    def randint(n: int) -> int:
        return int(torch.randint(n, (1,), generator=gen))

    untracked = 0
    for step in range(200):
        op = randint(6)
        free = [r for r in range(rows) if r not in batch]
        if op <= 1 and free:  # add, sometimes with outputs already (a resumed request) or no penalty
            row = free[randint(len(free))]
            penalty = [None, 1.5, 10.0, 0.5][randint(4)]
            prompt = [1] * randint(5) + [vocab - 2]
            outputs = [randint(vocab) for _ in range(randint(4))]
            state.add(row, penalty, prompt, outputs)
            if penalty is None:
                untracked += 1
            else:
                batch[row] = (penalty, prompt, outputs)
        elif op == 2 and batch:
            row = list(batch)[randint(len(batch))]
            state.remove(row)
            del batch[row]
        elif op == 3 and batch and free:
            src, dst = list(batch)[randint(len(batch))], free[randint(len(free))]
            state.move(src, dst)
            batch[dst] = batch.pop(src)
        elif op == 4 and len(batch) >= 1:
            a = list(batch)[randint(len(batch))]
            b = (a + 1 + randint(rows - 1)) % rows
            state.swap(a, b)
            ea, eb = batch.pop(a, None), batch.pop(b, None)
            if ea is not None:
                batch[b] = ea
            if eb is not None:
                batch[a] = eb
        shrunk = None
        if op == 5 and batch:  # vLLM drops ids it had handed out; that row is not scheduled this step
            shrunk = list(batch)[randint(len(batch))]
            outputs = batch[shrunk][2]
            del outputs[len(outputs) // 2:]
        for row, (_, _, outputs) in batch.items():  # this step's id; a placeholder first, now and then
            if row == shrunk:
                continue
            if outputs and outputs[-1] == PLACEHOLDER:
                outputs[-1] = randint(vocab)
            outputs.append(PLACEHOLDER if randint(3) == 0 else randint(vocab))
        logits = torch.randn(rows, vocab, generator=gen) * 3
        got = state.apply(logits.clone())
        assert torch.equal(got, _penalised_by_hand(logits, batch)), f"step {step}"
        assert state.active == len(batch)
    assert untracked and len(batch)  # the walk exercised both kinds of request


def test_seen_ids_penalty_matches_the_torch_backend_sampler():
    """Both backends penalise with the same numbers: vLLM's processor and the torch `SamplerBatch`."""
    vocab, start = 1026, 1024
    logits = torch.randn(3, vocab, generator=torch.Generator().manual_seed(1)) * 4
    sampler = SamplerBatch(3, vocab, 1025, "cpu")
    state = SeenIdsPenalty(3, vocab, "cpu")
    history = [[5, 9, 5], [], [1023, 0]]
    for row, codes in enumerate(history):
        sampler.assign(row, SamplingParams.greedy(repetition_penalty=10.0), [1, start])
        sampler.seen[row, torch.tensor(codes, dtype=torch.long)] = True
        state.add(row, 10.0, [1] * 7 + [start], list(codes))
    assert torch.equal(state.apply(logits.clone()), sampler.process(logits))


def test_penalty_argument_is_checked():
    assert penalty_of(None) is None and penalty_of({}) is None and penalty_of({PENALTY_ARG: 1.0}) is None
    assert penalty_of({PENALTY_ARG: 10}) == 10.0
    for bad in (0, -2.0, "5", True, float("nan")):
        with pytest.raises(ValueError, match=PENALTY_ARG):
            penalty_of({PENALTY_ARG: bad})
