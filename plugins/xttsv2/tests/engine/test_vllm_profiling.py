"""The engine-core stack sampler (`auralis_xttsv2.vllm.profiling`), run in this process: it counts
only while its marker file exists and writes what it saw when the marker goes."""

from __future__ import annotations

import json
import threading
import time

from auralis_xttsv2.vllm import profiling


def _spin_here(stop: threading.Event) -> None:
    while not stop.is_set():
        sum(i * i for i in range(2000))


def test_sampler_counts_only_while_switched_on(tmp_path):
    stop = threading.Event()
    worker = threading.Thread(target=_spin_here, args=(stop,), name="spinner", daemon=True)
    worker.start()
    try:
        profiling.StackSampler(tmp_path, interval=0.002).start()
        time.sleep(0.3)
        assert not list(tmp_path.glob("*.json"))  # nothing is written while off
        (tmp_path / "on").write_text("busy")
        time.sleep(0.5)
        (tmp_path / "on").unlink()
        deadline = time.monotonic() + 5
        while not list(tmp_path.glob("busy.*.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join()
    (report_file,) = tmp_path.glob("busy.*.json")
    report = json.loads(report_file.read_text())
    spinner = report["threads"]["spinner"]
    assert spinner["samples"] > 20
    assert any(k.endswith(":_spin_here") for k in spinner["inclusive"])
    assert spinner["inclusive"][next(k for k in spinner["inclusive"] if k.endswith(":_spin_here"))] == spinner["samples"]
    assert "auralis-stack-sampler" not in report["threads"]  # it never samples itself


def test_start_if_asked_needs_the_environment(monkeypatch, tmp_path):
    monkeypatch.setattr(profiling, "_started", False)
    monkeypatch.delenv(profiling.ENV, raising=False)
    before = threading.active_count()
    profiling.start_if_asked()
    assert threading.active_count() == before and not profiling._started
    monkeypatch.setenv(profiling.ENV, str(tmp_path / "p"))
    profiling.start_if_asked()
    profiling.start_if_asked()  # once per process
    assert profiling._started and (tmp_path / "p").is_dir()
    assert sum(t.name == "auralis-stack-sampler" for t in threading.enumerate()) >= 1
