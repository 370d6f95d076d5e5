"""``auralis serve --ray`` as a user runs it: a local cluster of its own, 2 eSpeak replicas, and
SIGTERM while a slow client is mid-stream: the stream completes, the process exits 0, and no Ray
process is left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("ray.serve")

pytestmark = [pytest.mark.ray, pytest.mark.timeout(240)]

TEXT = "This sentence keeps the proxy busy while a slow client reads it back. " * 30


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc, so no extra dependency)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="process checks read /proc")
def test_sigterm_drains_a_slow_stream_and_leaves_no_ray_process(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    auralis = str(Path(sys.executable).with_name("auralis"))
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    with open(tmp_path / "serve.err", "w") as err:
        proc = subprocess.Popen(
            [auralis, "serve", "--ray", "--engine", "espeak", "--replicas", "2", "--cpus-per-replica", "0.5",
             "--ray-num-cpus", "2", "--port", str(port), "--graceful-timeout", "30", "--log-level", "warning"],
            stdout=subprocess.PIPE, stderr=err, text=True, env=env, start_new_session=True,
        )
    try:
        ready = proc.stdout.readline()
        assert "ready on" in ready, (tmp_path / "serve.err").read_text()[-3000:]
        url = f"http://127.0.0.1:{port}/v1/audio/speech"
        body = {"model": "tts-1", "input": TEXT, "voice": "alloy", "response_format": "pcm"}
        expected = len(httpx.post(url, json=body, timeout=60).content)
        ray_processes = descendants(proc.pid)
        assert len(ray_processes) >= 4  # gcs, raylet, controller, proxy, replicas, ...
        got = 0
        with httpx.stream("POST", url, json=body, timeout=60) as response:
            assert response.status_code == 200
            chunks = response.iter_raw(32768)
            got += len(next(chunks))
            proc.send_signal(signal.SIGTERM)  # while the rest is still to be read
            signalled = time.monotonic()
            for chunk in chunks:  # about 1.5 MB/s: slower than eSpeak computes it
                got += len(chunk)
                time.sleep(0.02)
        read_for = time.monotonic() - signalled
        assert abs(got - expected) < 0.01 * expected, (got, expected)
        assert read_for > 1.0  # the drain really waited for this client
        assert proc.wait(60) == 0
        assert "stopped" in proc.stdout.read()
        deadline = time.monotonic() + 20
        while any(alive(p) for p in ray_processes) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in ray_processes if alive(p)], "Ray processes left behind"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
