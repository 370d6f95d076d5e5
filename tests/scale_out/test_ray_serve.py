"""Auralis on a real local Ray cluster (no mocks): 2 replicas behind Serve's HTTP proxy.

One cluster for the module (Ray takes a while to start on a small machine); the tests redeploy
the application they need: eSpeak for load and error parity, the tone engine (which clones
voices and can be slowed down) for the shared voice store and the replica kill.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.serve")

from livesrv import LiveServer
from toy_engine import dominant_freq, tone_wav

from auralis_core import TTS, register_engine
from auralis_core.server import ServerConfig, create_app

pytestmark = [pytest.mark.ray, pytest.mark.timeout(240)]

TEXTS = (
    "Hello.",
    "A second request, a little longer than the first one.",
    "The third text has two sentences. Its audio is the longest of them all by far, surely.",
    "Four.",
)
SLOW = {str(i): 0.25 for i in range(1, 64)}  # tone engine: seconds per chunk of segments 1.. (segment 0 is quick)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """The module's Ray cluster and Serve proxy; `deploy` swaps the application in place."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.current: ServerConfig | None = None

    def deploy(self, config: ServerConfig, setup: Callable[[], None] | None = None) -> None:
        from auralis_core.server.ray_serve import deploy

        config = config.model_copy(update={"port": self.port, "host": "127.0.0.1", "ray": True})
        if config != self.current:
            deploy(config, setup)
            self.current = config

    def replica_states(self) -> dict[str, int]:
        from ray import serve

        return dict(serve.status().applications["auralis"].deployments["Auralis"].replica_states)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    import toy_engine
    from ray import cloudpickle, serve

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING", configure_logging=False)
    cloudpickle.register_pickle_by_value(toy_engine)  # replicas get the test engine's code with the setup hook
    try:
        yield Cluster(free_port())
    finally:
        serve.shutdown()
        ray.shutdown()


def tone_setup() -> Callable[[], None]:
    """Runs in each replica: registers the tone engine (its code travels by value, see `cluster`)."""
    from toy_engine import ToneEngine

    return functools.partial(register_engine, "tone", ToneEngine, capabilities=ToneEngine.capabilities)


def pcm_of(response_body: bytes, sse: bool) -> np.ndarray:
    if sse:
        events = [json.loads(line[5:]) for line in response_body.decode().splitlines() if line.startswith("data:")]
        assert events[-1]["type"] == "speech.audio.done", events[-1]
        response_body = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    return np.frombuffer(response_body, dtype="<i2").astype(np.float32) / 32768.0




def speech(url: str, text: str, *, sse: bool = False, voice: str = "alloy", **headers: str) -> httpx.Response:
    body: dict[str, Any] = {"model": "tts-1", "input": text, "voice": voice, "response_format": "pcm"}
    if sse:
        body["stream_format"] = "sse"
    return httpx.post(url + "/v1/audio/speech", json=body, headers=headers, timeout=120)


# --- eSpeak: load across replicas, and the single server's errors -----------------------------------
ESPEAK = ServerConfig(engine="espeak", replicas=2, cpus_per_replica=0.5, max_concurrency=2, max_queue=64,
                      api_key="k-test", max_input_chars=200)
AUTH = {"Authorization": "Bearer k-test"}


def test_40_concurrent_streams_and_sse_spread_over_both_replicas(cluster):
    cluster.deploy(ESPEAK)
    reference = TTS.from_pretrained("espeak")
    try:  # the single-process answer for each text (the server sends 24 kHz pcm)
        expected = {t: reference.generate_speech(t, voice="en-us").duration for t in TEXTS}
    finally:
        reference.shutdown()
    jobs = [(TEXTS[i % len(TEXTS)], i % 2 == 1) for i in range(40)]
    with ThreadPoolExecutor(40) as pool:
        responses = list(pool.map(lambda job: speech(cluster.url, job[0], sse=job[1], **AUTH), jobs))
    replicas = set()
    for (text, sse), response in zip(jobs, responses):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream" if sse else "audio/pcm")
        assert response.headers.get_list("x-request-id") and len(response.headers.get_list("x-request-id")) == 1
        replicas.add(response.headers["x-auralis-replica"])
        samples = pcm_of(response.content, sse)
        assert abs(len(samples) / 24000 - expected[text]) < 0.05, (text, len(samples) / 24000, expected[text])
        assert np.abs(samples).max() > 0.05
    assert len(replicas) == 2, replicas
    health = httpx.get(cluster.url + "/health/ready").json()
    assert health["status"] == "ok" and cluster.replica_states() == {"RUNNING": 2}


def test_api_key_limits_and_error_json_match_the_single_server(cluster):
    cluster.deploy(ESPEAK)
    cases: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = [
        ("POST", "/v1/audio/speech", {"model": "tts-1", "input": "hi", "voice": "alloy"}, {}),  # no key
        ("POST", "/v1/audio/speech", {"model": "tts-1", "input": "hi", "voice": "alloy"}, {"Authorization": "Bearer no"}),
        ("POST", "/v1/audio/speech", {"model": "nope", "input": "hi", "voice": "alloy"}, AUTH),
        ("POST", "/v1/audio/speech", {"model": "tts-1", "input": "x" * 201, "voice": "alloy"}, AUTH),
        ("POST", "/v1/audio/speech", {"model": "tts-1", "input": "hi", "voice": "no such voice"}, AUTH),
        ("POST", "/v1/audio/speech", {"model": "tts-1", "input": "hi", "voice": "alloy", "speed": 9}, AUTH),
        ("GET", "/v1/models", None, {}),
        ("DELETE", "/v1/audio/voices/en-us", None, AUTH),
    ]
    single = create_app(ESPEAK.model_copy(update={"ray": False, "replicas": None}))
    with LiveServer(single) as server:
        assert _wait(lambda: httpx.get(server.url + "/health/ready").status_code == 200, 60)
        for method, path, body, headers in cases:
            answers = [httpx.request(method, base + path, json=body, headers=headers, timeout=30)
                       for base in (server.url, cluster.url)]
            one, many = answers
            assert many.status_code == one.status_code and many.status_code >= 400, (path, body, many.text)
            assert many.json() == one.json(), (path, body)
            assert many.headers.get("www-authenticate") == one.headers.get("www-authenticate")
            assert "x-auralis-replica" in many.headers


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


# --- tone engine: shared voices, replica kill ----------------------------------------------------
@pytest.fixture(scope="module")
def tone_app(cluster, tmp_path_factory) -> ServerConfig:
    config = ServerConfig(engine="tone", replicas=2, cpus_per_replica=0.5, max_concurrency=8, max_queue=64,
                          voices_dir=tmp_path_factory.mktemp("shared-voices"), engine_args={"delays": SLOW},
                          graceful_shutdown_timeout=5)
    cluster.deploy(config, tone_setup())
    return config


def upload(url: str, name: str, freq: float) -> httpx.Response:
    return httpx.post(url + "/v1/audio/voices", data={"name": name},
                      files={"audio_sample": ("ref.wav", tone_wav(freq), "audio/wav")}, timeout=60)


def test_a_voice_uploaded_through_one_replica_speaks_through_the_other(cluster, tone_app):
    created = upload(cluster.url, "deep", 300.0)
    assert created.status_code == 201, created.text
    uploader = created.headers["x-auralis-replica"]
    answered: dict[str, float] = {}
    for _ in range(40):
        response = speech(cluster.url, "One short sentence here.", voice="deep")
        assert response.status_code == 200, response.text
        answered[response.headers["x-auralis-replica"]] = dominant_freq(pcm_of(response.content, False), 24000)
        if len(answered) == 2:
            break
    assert set(answered) > {uploader}, answered  # the other replica answered too
    assert all(abs(f - 300.0) < 15 for f in answered.values()), answered
    listed = httpx.get(cluster.url + "/v1/audio/voices").json()["data"]
    assert "deep" in {v["id"] for v in listed}


def test_concurrent_uploads_of_one_name_through_both_replicas_have_one_winner(cluster, tone_app):
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda f: upload(cluster.url, "race", f), [200.0 + 50 * i for i in range(8)]))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 7, [a.text for a in answers]
    assert len({a.headers["x-auralis-replica"] for a in answers}) == 2
    assert all(a.json()["error"]["code"] == "voice_exists" for a in answers if a.status_code == 409)


def test_a_killed_replica_loses_only_its_own_requests(cluster, tone_app):
    """``ray.kill`` one replica while both stream: its requests fail cleanly (the stream breaks
    off, it never ends as if complete), the other replica's finish intact, and once Serve has
    replaced it new requests succeed on both."""
    from auralis_core.server.ray_serve import replica_actor_name

    long_text = " ".join(f"Sentence number {i} is here." for i in range(16))
    reference = _tone_reference(long_text)
    started: dict[int, str] = {}
    results: dict[int, tuple[str, int] | BaseException] = {}
    lock = threading.Lock()

    def stream(i: int) -> None:
        body = {"model": "tts-1", "input": long_text, "voice": "low", "response_format": "pcm"}
        try:
            with httpx.stream("POST", cluster.url + "/v1/audio/speech", json=body, timeout=60) as response:
                with lock:
                    started[i] = response.headers["x-auralis-replica"]
                assert response.status_code == 200
                data = b"".join(response.iter_raw())
            results[i] = (started[i], len(data))
        except Exception as exc:  # noqa: BLE001 - what the client sees of a dead replica is the result
            results[i] = exc

    threads = [threading.Thread(target=stream, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    assert _wait(lambda: len(set(started.values())) == 2 and len(started) == 8, 30), started
    victim = next(iter(started.values()))
    ray.kill(ray.get_actor(replica_actor_name(victim), namespace="serve"))
    for t in threads:
        t.join(60)
    for i, outcome in results.items():
        if started[i] == victim:
            assert isinstance(outcome, httpx.TransportError), outcome  # broken off, never a short "complete" body
        else:
            assert not isinstance(outcome, BaseException), outcome
            assert abs(outcome[1] - reference) < 0.005 * reference, (outcome, reference)  # the whole stream
    assert any(started[i] == victim for i in results) and any(started[i] != victim for i in results)
    # Serve notices the death and starts a replacement; meanwhile the survivor serves
    assert speech(cluster.url, "Still here.", voice="low").status_code == 200
    assert _wait(lambda: cluster.replica_states() == {"RUNNING": 2}, 90), cluster.replica_states()
    seen = set()
    deadline = time.monotonic() + 60  # the proxy learns of the new replica a moment after the controller
    while len(seen) < 2 and time.monotonic() < deadline:
        response = speech(cluster.url, "Back again.", voice="low")
        assert response.status_code == 200, response.text
        seen.add(response.headers["x-auralis-replica"])
        time.sleep(0.1)
    assert victim not in seen and len(seen) == 2, seen


def _tone_reference(text: str) -> int:
    """PCM bytes a single in-process tone TTS produces for ``text`` at the server's 24 kHz."""
    from toy_engine import ToneEngine

    from auralis_core.server.encoding import OPENAI_PCM_RATE

    tts = TTS(ToneEngine(), engine_name="tone")
    try:
        out = tts.generate_speech(text, voice="low")
    finally:
        tts.shutdown()
    return len(out.resample(OPENAI_PCM_RATE).samples) * 2
