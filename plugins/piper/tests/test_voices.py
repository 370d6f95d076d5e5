"""Voices on random test models: speakers, languages, the hub layout, bad input, scheduling."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from auralis_piper.engine import PiperEngine
from auralis_piper.hub import voice_path
from vits_model import build_voice

from auralis_core import TTS, TTSRequest
from auralis_core.errors import (
    CheckpointNotFoundError,
    EngineLoadError,
    InvalidRequestError,
    UnsupportedLanguageError,
    VoiceNotFoundError,
)

TEXT = "Hello there. This is a test."


@pytest.fixture(scope="module")
def folder_tts(voices_dir):
    with TTS(PiperEngine.from_pretrained(voices_dir, include_bundled=False)) as tts:
        yield tts


def test_multi_speaker_voice_lists_its_speakers(multi_voice):
    engine = PiperEngine.from_pretrained(multi_voice, include_bundled=False)
    caps = engine.get_capabilities()
    assert caps.voices == (
        "en_GB-testvoice-medium", "en_GB-testvoice-medium:alice", "en_GB-testvoice-medium:bob", "en_GB-testvoice-medium:carol",
    )
    assert caps.default_voice == "en_GB-testvoice-medium" and caps.sample_rate == 16000
    assert engine.has_voice("testvoice:carol") and not engine.has_voice("testvoice:dave")
    asyncio.run(engine.shutdown())


def test_speakers_by_name_option_and_id_agree_and_differ(folder_tts):
    by_name = folder_tts.generate_speech(TEXT, voice="en_GB-testvoice-medium:bob", seed=5).samples
    by_short = folder_tts.generate_speech(TEXT, voice="testvoice:bob", seed=5).samples
    by_option = folder_tts.generate_speech(TEXT, voice="testvoice", options={"speaker": "bob"}, seed=5).samples
    by_id = folder_tts.generate_speech(TEXT, voice="testvoice", options={"speaker": 1}, seed=5).samples
    alice = folder_tts.generate_speech(TEXT, voice="testvoice:alice", seed=5).samples
    assert np.array_equal(by_name, by_short) and np.array_equal(by_name, by_option) and np.array_equal(by_name, by_id)
    assert not np.array_equal(by_name[: len(alice)], alice[: len(by_name)])


def test_unknown_speaker_is_a_clear_error(folder_tts):
    with pytest.raises(VoiceNotFoundError, match="'testvoice:dave'.*en_GB-testvoice-medium:alice"):
        folder_tts.generate_speech(TEXT, voice="testvoice:dave")
    with pytest.raises(InvalidRequestError, match="no speaker 'dave'; its speakers: alice, bob, carol") as info:
        folder_tts.generate_speech(TEXT, voice="testvoice", options={"speaker": "dave"})
    assert info.value.param == "speaker"
    with pytest.raises(InvalidRequestError, match="has a single speaker"):
        folder_tts.generate_speech(TEXT, voice="testde", options={"speaker": "bob"})


def test_language_picks_the_voice(folder_tts):
    caps = folder_tts.capabilities
    assert set(caps.languages) == {"en-gb", "en", "de-de", "de"}
    assert caps.voice_languages == {"en_GB-testvoice-medium": ("en-gb", "en"), "de_DE-testde-low": ("de-de", "de")}
    german = folder_tts.generate_speech("Guten Tag.", language="de", seed=1)
    assert german.metadata["voice"] == "de_DE-testde-low"
    same = folder_tts.generate_speech("Guten Tag.", voice="testde", seed=1)
    british = folder_tts.generate_speech("Guten Tag.", language="en-gb", seed=1)
    assert np.array_equal(german.samples, same.samples)
    assert not np.array_equal(german.samples[: len(british)], british.samples[: len(german)])


def test_unsupported_language_and_mismatched_voice(folder_tts):
    with pytest.raises(UnsupportedLanguageError, match="language 'fr' is not supported by engine 'piper'; supported: de, de-de, en, en-gb"):
        folder_tts.generate_speech(TEXT, language="fr")
    with pytest.raises(InvalidRequestError, match="voice 'de_DE-testde-low' speaks de-de, not 'en'; voices for 'en': en_GB-testvoice-medium") as info:
        folder_tts.generate_speech(TEXT, voice="testde", language="en")
    assert info.value.param == "language"


def test_unknown_or_invalid_options(folder_tts):
    with pytest.raises(InvalidRequestError, match="unknown option 'temperature'.*noise_scale, noise_w, length_scale, speaker"):
        folder_tts.generate_speech(TEXT, options={"temperature": 0.5})
    with pytest.raises(InvalidRequestError, match="length_scale"):
        folder_tts.generate_speech(TEXT, options={"length_scale": 0})


def test_options_change_the_audio(folder_tts):
    base = folder_tts.generate_speech(TEXT, voice="testvoice", seed=2)
    slow = folder_tts.generate_speech(TEXT, voice="testvoice", seed=2, options={"length_scale": 2.0})
    calm = folder_tts.generate_speech(TEXT, voice="testvoice", seed=2, options={"noise_scale": 0.0, "noise_w": 0.0})
    assert slow.duration == pytest.approx(2 * base.duration, rel=0.1)
    assert not np.array_equal(base.samples[: len(calm)], calm.samples[: len(base)])


# --- where voices come from ---------------------------------------------------------------------
def _hub_layout(root: Path, voices_dir: Path, with_index: bool = True) -> Path:
    """A local copy of the rhasspy/piper-voices layout holding the two test voices."""
    index = {}
    for model in voices_dir.rglob("*.onnx"):
        key = model.name.removesuffix(".onnx")
        relative = voice_path(key)
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(model, target)
        shutil.copy(model.with_name(model.name + ".json"), target.with_name(target.name + ".json"))
        index[key] = {"key": key, "files": {relative: {}, relative + ".json": {}}}
    if with_index:
        (root / "voices.json").write_text(json.dumps(index))
    return root


def test_hub_layout_from_a_local_copy(tmp_path, voices_dir):
    repo = _hub_layout(tmp_path / "piper-voices", voices_dir)
    assert (repo / "de/de_DE/testde/low/de_DE-testde-low.onnx").is_file()
    with TTS(PiperEngine.from_pretrained(repo, voices=["de_DE-testde-low", "en_GB-testvoice-medium"])) as tts:
        assert tts.capabilities.default_voice == "de_DE-testde-low"
        assert {"de_DE-testde-low", "en_GB-testvoice-medium:bob", "joe"} <= set(tts.list_voices())
        assert tts.generate_speech("Hallo Welt.", seed=1).duration > 0.1
    with pytest.raises(VoiceNotFoundError, match="'en_US-nobody-medium'.*de_DE-testde-low"):
        PiperEngine.from_pretrained(repo, voices="en_US-nobody-medium")


def test_hub_layout_through_huggingface_hub_cache(tmp_path, voices_dir):
    """The real huggingface_hub download path, served from a cache laid out as the hub leaves it."""
    snapshot = tmp_path / "cache" / "models--rhasspy--piper-voices" / "snapshots" / ("a" * 40)
    _hub_layout(snapshot, voices_dir)
    (tmp_path / "cache" / "models--rhasspy--piper-voices" / "refs").mkdir()
    (tmp_path / "cache" / "models--rhasspy--piper-voices" / "refs" / "main").write_text("a" * 40)
    engine = PiperEngine.from_pretrained(
        "rhasspy/piper-voices", voices=["en_GB-testvoice-medium"], cache_dir=tmp_path / "cache",
        local_files_only=True, include_bundled=False,
    )
    assert engine.get_capabilities().default_voice == "en_GB-testvoice-medium"
    assert str(engine.catalog.first().model).startswith(str(snapshot))
    asyncio.run(engine.shutdown())


def test_hub_offline_is_one_clear_error(tmp_path):
    with pytest.raises(EngineLoadError, match="cannot fetch voice 'en_US-lessac-medium' from the hub repo 'rhasspy/piper-voices'") as info:
        PiperEngine.from_pretrained(
            "rhasspy/piper-voices", voices=["en_US-lessac-medium"], cache_dir=tmp_path / "empty", local_files_only=True
        )
    assert "offline" in str(info.value) and "local folder of voices" in str(info.value)


def test_missing_voice_files(tmp_path, multi_voice):
    with pytest.raises(CheckpointNotFoundError, match="no such checkpoint"):
        PiperEngine.from_pretrained(tmp_path / "nothing.onnx")
    lonely = tmp_path / "lonely" / "en_US-lonely-low.onnx"
    lonely.parent.mkdir()
    shutil.copy(multi_voice, lonely)
    with pytest.raises(EngineLoadError, match=r"config .*en_US-lonely-low.onnx.json is missing"):
        PiperEngine.from_pretrained(lonely)
    (tmp_path / "empty").mkdir()
    with pytest.raises(EngineLoadError, match="no Piper voices"):
        PiperEngine.from_pretrained(tmp_path / "empty")


def test_corrupt_onnx(tmp_path, multi_voice):
    broken = tmp_path / "en_GB-broken-medium.onnx"
    broken.write_bytes(multi_voice.read_bytes()[:5000])  # truncated download
    shutil.copy(multi_voice.with_name(multi_voice.name + ".json"), broken.with_name(broken.name + ".json"))
    with pytest.raises(EngineLoadError, match="en_GB-broken-medium.onnx is not a valid ONNX model"):
        PiperEngine.from_pretrained(broken)
    garbage = tmp_path / "en_GB-garbage-medium.onnx"
    garbage.write_bytes(b"\x00not a model\xff" * 100)
    shutil.copy(broken.with_name(broken.name + ".json"), garbage.with_name(garbage.name + ".json"))
    with pytest.raises(EngineLoadError, match="garbage-medium.onnx"):
        PiperEngine.from_pretrained(garbage)
    config = broken.with_name(broken.name + ".json")
    config.write_text("{not json")
    with pytest.raises(EngineLoadError, match="cannot read Piper voice config"):
        PiperEngine.from_pretrained(broken)


def test_onnx_that_is_not_a_piper_voice(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "en_US-other-low.onnx"
    onnx.save(helper.make_model(graph), str(path))
    build_voice(tmp_path / "cfg", "en_US-other-low")
    shutil.copy(tmp_path / "cfg" / "en_US-other-low.onnx.json", path.with_name(path.name + ".json"))
    with pytest.raises(EngineLoadError, match=r"not a Piper voice: inputs \['x'\] lack \['input', 'input_lengths', 'scales'\]"):
        PiperEngine.from_pretrained(path)


def test_claims_onnx_paths_only(tmp_path, multi_voice, voices_dir):
    assert PiperEngine.claims_path(multi_voice) and PiperEngine.claims_path(voices_dir)
    assert not PiperEngine.claims_path(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    assert not PiperEngine.claims_path(tmp_path / "config.json")


# --- scheduling ---------------------------------------------------------------------------------
async def test_new_requests_first_sentence_overtakes_look_ahead(multi_voice):
    """One worker; request A queues 8 sentences at once (the scheduler's look-ahead), then request
    B arrives. B's first sentence runs as soon as A's running sentence ends."""
    engine = PiperEngine.from_pretrained(multi_voice, include_bundled=False, pool_size=1)
    finished: list[str] = []
    try:
        a = await engine.get_generation_context(TTSRequest(" ".join(f"Sentence number {i} of the first request." for i in range(8)), seed=1))
        b = await engine.get_generation_context(TTSRequest("First sentence of the second. Second sentence of the second.", seed=1))

        async def run(name: str, ctx, item) -> None:
            async for _ in engine.process_tokens_to_speech(item, ctx):
                pass
            finished.append(f"{name}{item.index}")

        assert len(a.segments) == 8 and len(b.segments) == 2
        tasks = [asyncio.create_task(run("A", a, item)) for item in a.segments]
        while engine._workers.queued == len(a.segments):  # A's first sentence has started
            await asyncio.sleep(0.001)
        tasks.append(asyncio.create_task(run("B", b, b.segments[0])))
        await asyncio.gather(*tasks)
    finally:
        await engine.shutdown()
    assert finished.index("B0") <= 1, finished
    assert finished[:1] == ["A0"] and finished[-1] == "A7"


async def test_cancelled_request_drops_its_queued_sentences(multi_voice):
    engine = PiperEngine.from_pretrained(multi_voice, include_bundled=False, pool_size=1)
    try:
        ctx = await engine.get_generation_context(TTSRequest(" ".join(f"Sentence {i} is here." for i in range(6)), seed=1))

        async def drain(item) -> None:
            async for _ in engine.process_tokens_to_speech(item, ctx):
                pass

        tasks = [asyncio.create_task(drain(item)) for item in ctx.segments]
        await asyncio.sleep(0.01)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert engine._workers.queued == 0
        after = await engine.get_generation_context(TTSRequest("Still works.", seed=1))
        chunks = [c async for c in engine.process_tokens_to_speech(after.segments[0], after)]
        assert chunks and chunks[0].duration > 0
    finally:
        await engine.shutdown()


def test_from_pretrained_routes_piper_layouts_to_piper(tmp_path, multi_voice, voices_dir):
    """No engine named: a .onnx file or a folder of them is claimed by piper (claims_path), the
    rhasspy/piper-voices id by its model_ids."""
    with TTS.from_pretrained(str(multi_voice)) as one:
        assert one.engine_name == "piper" and one.capabilities.default_voice == "en_GB-testvoice-medium"
    with TTS.from_pretrained(str(voices_dir), include_bundled=False) as folder:
        assert folder.engine_name == "piper" and len(folder.engine.catalog) == 2
    snapshot = tmp_path / "cache" / "models--rhasspy--piper-voices" / "snapshots" / ("b" * 40)
    _hub_layout(snapshot, voices_dir)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("b" * 40)
    with TTS.from_pretrained(
        "rhasspy/piper-voices", voices=["de_DE-testde-low"], cache_dir=tmp_path / "cache", local_files_only=True
    ) as hub:
        assert hub.engine_name == "piper" and hub.capabilities.default_voice == "de_DE-testde-low"


def test_rewritten_model_is_cached(tmp_path, rewrite_cache, monkeypatch):
    from auralis_piper import graph
    from auralis_piper.graph import prepare_model, rewrite_model

    model = build_voice(tmp_path / "a", "en_US-cachetest-low")
    fresh = rewrite_model(model)
    first = prepare_model(model)
    cached = sorted(rewrite_cache.glob("en_US-cachetest-low-*.onnx"))
    assert len(cached) == 1 and cached[0].read_bytes() == fresh.model and first.model == str(cached[0])
    monkeypatch.setattr(graph, "rewrite_model", lambda path: pytest.fail(f"{path} was rewritten again"))
    again = prepare_model(model)  # from the cache now
    assert again == first and again.noise_inputs == ("auralis_noise_0", "auralis_noise_1") and again.has_sid
    copy = tmp_path / "b" / model.name  # another file: its own entry
    copy.parent.mkdir()
    shutil.copy(model, copy)
    monkeypatch.undo()
    prepare_model(copy)
    assert len(list(rewrite_cache.glob("en_US-cachetest-low-*.onnx"))) == 2


def test_unknown_default_voice(multi_voice):
    with pytest.raises(VoiceNotFoundError, match="unknown voice 'nobody'"):
        PiperEngine.from_pretrained(multi_voice, default_voice="nobody")


async def test_single_thread_sessions_only_for_work_that_repays_them(multi_voice):
    engine = PiperEngine.from_pretrained(multi_voice, include_bundled=False, pool_size=2)

    async def speak(text: str) -> None:
        ctx = await engine.get_generation_context(TTSRequest(text, seed=1))
        await asyncio.gather(*[_drain(engine, item, ctx) for item in ctx.segments])

    try:
        pool = engine._synths["en_GB-testvoice-medium"].pool
        await speak("One short text. Of three sentences. Done now.")
        assert pool.narrow_count == 0 and not pool.wanted  # a one-shot text: the wide session only
        await asyncio.gather(*[speak(f"Request {i} has. Four sentences. To say. Right now.") for i in range(2)])
        assert pool.wanted
        assert await asyncio.to_thread(lambda: wait_until(lambda: pool.narrow_count >= 1))
    finally:
        await engine.shutdown()


async def _drain(engine, item, ctx) -> None:
    async for _ in engine.process_tokens_to_speech(item, ctx):
        pass


def wait_until(predicate, timeout: float = 30.0) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.02)
    return predicate()
