"""The voice store shared by replicas: directories, fsspec's local and memory filesystems.

Two `VoiceStore`s (or two `TTS`s) on one location stand for two replicas; threads and forked
processes race on one name to show that exactly one creation wins.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from toy_engine import dominant_freq, tone_wav

from auralis_core.errors import VoiceExistsError, VoiceNotFoundError
from auralis_core.voice_storage import (
    DirectoryStorage,
    FsspecStorage,
    is_url,
    open_storage,
)
from auralis_core.voices import VoiceProfile, VoiceStore


@pytest.fixture(params=["directory", "file-url", "memory-url"])
def location(request, tmp_path) -> Iterator[str]:
    if request.param == "directory":
        yield str(tmp_path / "voices")
    elif request.param == "file-url":
        yield (tmp_path / "voices").as_uri()
    else:
        import fsspec

        root = f"auralis-{uuid.uuid4().hex}"
        yield f"memory://{root}"
        memory = fsspec.filesystem("memory")
        if memory.exists(f"/{root}"):
            memory.rm(f"/{root}", recursive=True)


def profile(name: str, value: float, engine: str = "tone") -> VoiceProfile:
    return VoiceProfile(name, engine, {"base": np.array([value], dtype=np.float32)}, {"by": str(value)})




def test_location_kinds(tmp_path):
    assert is_url("s3://bucket/voices") and is_url("memory://x") and is_url("file:///srv/v")
    assert not is_url(str(tmp_path)) and not is_url("./voices") and not is_url("C:\\voices")
    assert isinstance(open_storage(tmp_path, "tone"), DirectoryStorage)
    assert isinstance(open_storage("memory://v", "tone"), FsspecStorage)
    assert open_storage("memory://v/", "tone").location == "memory://v/tone"


def test_a_voice_added_through_one_replica_is_seen_by_the_other(location):
    a, b = VoiceStore("tone", location), VoiceStore("tone", location)
    assert b.names() == [] and "deep" not in b
    a.add(profile("deep", 300.0))
    assert "deep" in b and b.names() == ["deep"]
    assert float(b.get("deep").tensors["base"][0]) == 300.0 and b.get("deep").metadata == {"by": "300.0"}
    VoiceStore("xttsv2", location).add(profile("other", 1.0, engine="xttsv2"))
    assert b.names() == ["deep"]  # each engine has its own folder


def test_a_changed_voice_invalidates_the_other_replicas_cache(location):
    a, b = VoiceStore("tone", location), VoiceStore("tone", location)
    a.add(profile("v", 300.0))
    first = b.get("v")
    assert b.get("v") is first  # unchanged file: the parsed profile is reused
    a.add(profile("v", 640.0))  # replaced elsewhere
    assert float(b.get("v").tensors["base"][0]) == 640.0
    a.remove("v")
    assert "v" not in b and b.names() == []
    with pytest.raises(VoiceNotFoundError):
        b.get("v")
    with pytest.raises(VoiceNotFoundError):
        b.remove("v")


def test_concurrent_creations_of_one_name_have_exactly_one_winner(location):
    stores = [VoiceStore("tone", location) for _ in range(2)]
    start = threading.Barrier(12)
    winners: list[float] = []
    losers: list[float] = []

    def create(i: int) -> None:
        start.wait()
        try:
            stores[i % 2].create(profile("race", float(i)))
            winners.append(float(i))
        except VoiceExistsError:
            losers.append(float(i))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and len(losers) == 11
    for store in stores:
        assert float(store.get("race").tensors["base"][0]) == winners[0]  # the winner's bytes, nobody else's
    with pytest.raises(VoiceExistsError):
        stores[0].create(profile("race", 99.0))


def test_writes_are_atomic_for_concurrent_readers(location):
    """A reader polling while a writer replaces the voice only ever sees whole files."""
    writer, reader = VoiceStore("tone", location), VoiceStore("tone", location)
    big = {"base": np.zeros(1, np.float32), "pad": np.random.default_rng(0).standard_normal(200_000).astype(np.float32)}
    writer.add(VoiceProfile("v", "tone", dict(big, base=np.array([0.0], np.float32))))
    stop = threading.Event()
    seen: set[float] = set()
    errors: list[BaseException] = []

    def poll() -> None:
        while not stop.is_set():
            try:
                data, _ = reader.storage.read("v")
                seen.add(float(VoiceProfile.from_bytes(data, "v").tensors["base"][0]))
            except FileNotFoundError:
                errors.append(AssertionError("the voice vanished during a replace"))
            except Exception as exc:  # noqa: BLE001 - a torn file fails to parse, however it fails
                errors.append(exc)

    thread = threading.Thread(target=poll)
    thread.start()
    written = 0
    while written < 300 and (written < 30 or len(seen) < 3):  # until the reader saw several versions
        written += 1
        writer.add(VoiceProfile("v", "tone", dict(big, base=np.array([float(written)], np.float32))))
    stop.set()
    thread.join()
    assert not errors, errors[:3]
    assert seen <= {float(i) for i in range(written + 1)} and len(seen) > 1
    if not location.startswith("memory://"):
        assert sorted(p.name for p in Path(location.removeprefix("file://")).rglob("*")) == ["tone", "v.safetensors"]


def _create_in_child(location: str, value: float, barrier, results) -> None:
    barrier.wait()
    try:
        VoiceStore("tone", location).create(profile("proc", value))
        results.put(value)
    except VoiceExistsError:
        results.put(None)


@pytest.mark.parametrize("kind", ["directory", "file-url"])
def test_exactly_one_winner_across_processes(kind, tmp_path):
    location = str(tmp_path / "v") if kind == "directory" else (tmp_path / "v").as_uri()
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_create_in_child, args=(location, float(i), barrier, results)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    outcomes = [results.get(timeout=5) for _ in procs]
    winners = [v for v in outcomes if v is not None]
    assert len(winners) == 1, outcomes
    assert float(VoiceStore("tone", location).get("proc").tensors["base"][0]) == winners[0]


def test_tts_instances_share_cloned_voices(tone_engine_registered, location):
    """Through the TTS API: a voice cloned by one instance speaks through the other; replacing
    it changes what the other one says (the conditioning cache follows the file)."""
    from auralis_core import TTS

    one, two = TTS.from_pretrained("tone", voices_dir=location), TTS.from_pretrained("tone", voices_dir=location)
    try:
        one.register_voice("shared", [tone_wav(300.0)])
        out = two.generate_speech("Hi there, one sentence.", voice="shared")
        assert abs(dominant_freq(out.samples, out.sample_rate) - 300.0) < 15
        with pytest.raises(VoiceExistsError):  # create = a new name only, across instances too
            asyncio.run(two.create_voice_async("shared", [tone_wav(500.0)]))
        one.delete_voice("shared")
        two.register_voice("shared", [tone_wav(700.0)])
        out = one.generate_speech("Hi there, one sentence.", voice="shared")
        assert abs(dominant_freq(out.samples, out.sample_rate) - 700.0) < 15
    finally:
        one.shutdown()
        two.shutdown()
