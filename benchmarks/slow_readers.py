"""Memory held for clients that read slowly: the scheduler's backpressure bound, measured.

N clients each ask the eSpeak server (in this process, on loopback) for a long utterance as PCM
and read it at about 0.2x real time through a 4 KB receive buffer for ``--seconds``, then hang
up. Sampled every 50 ms: audio computed but not yet taken (``TwoPhaseScheduler.buffered_seconds``,
all requests together) and the process RSS. Run once with the bound and once without.

    python benchmarks/slow_readers.py --clients 20 --seconds 8
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))

from livesrv import LiveServer, wait_for  # noqa: E402
from slow_client import slow_pcm_read  # noqa: E402

TEXT = " ".join(f"This is sentence number {i}, read to a listener who takes their time." for i in range(55))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(clients: int, seconds: float, bound: float | None, max_concurrency: int) -> dict:
    from auralis_core import TTS
    from auralis_core.server import ServerConfig, create_app

    tts = TTS.from_pretrained("espeak", max_concurrency=max_concurrency, max_buffered_seconds=bound)
    rate = tts.capabilities.sample_rate
    peak_s, peak_rss, done = 0.0, 0.0, threading.Event()
    start_rss = rss_mb()

    def sample() -> None:
        nonlocal peak_s, peak_rss
        while not done.is_set():
            peak_s = max(peak_s, tts.scheduler.buffered_seconds)
            peak_rss = max(peak_rss, rss_mb())
            time.sleep(0.05)

    body = {"model": "tts-1", "voice": "alloy", "input": TEXT}
    try:
        with LiveServer(create_app(ServerConfig(engine="espeak", max_concurrency=max_concurrency,
                                                max_queue=clients * 2), tts=tts)) as server:
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            status = httpx.post(server.url + "/v1/audio/speech", json={**body, "input": "Ready."}, timeout=60)
            assert status.status_code == 200, status.text  # the long requests below read raw bytes
            with ThreadPoolExecutor(clients) as pool:
                read = sum(pool.map(lambda _: slow_pcm_read(server.url, body, seconds), range(clients)))
            settled = wait_for(lambda: tts.scheduler.active_requests == 0, 30)
            done.set()
            sampler.join()
            after = {"active_requests": tts.scheduler.active_requests, "in_flight": tts.metrics.in_flight,
                     "buffered_seconds": tts.scheduler.buffered_seconds, "settled": settled}
    finally:
        tts.shutdown()
    return {
        "max_buffered_seconds": bound, "clients": clients, "read_seconds": seconds,
        "client_bytes_read": read, "client_audio_seconds_read": round(read / 2 / 24000, 1),
        "peak_buffered_audio_seconds": round(peak_s, 1),
        "peak_buffered_mb": round(peak_s * rate * 4 / 2**20, 1),  # float32 samples at the engine rate
        "rss_start_mb": round(start_rss, 1), "rss_peak_mb": round(peak_rss, 1), "after": after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--bound", type=float, default=20.0, help="max_buffered_seconds of the bounded run")
    parser.add_argument("--max-concurrency", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "slow_readers.json")
    args = parser.parse_args()
    runs = [measure(args.clients, args.seconds, bound, args.max_concurrency) for bound in (args.bound, None)]
    result = {"runs": runs, "machine": {"python": platform.python_version(), "cores": os.cpu_count()}}
    print(f"{'bound s':>8} {'peak buffered s':>16} {'peak MB':>8} {'RSS start→peak MB':>20} {'read s':>7}  after")
    for r in runs:
        print(f"{str(r['max_buffered_seconds']):>8} {r['peak_buffered_audio_seconds']:>16} {r['peak_buffered_mb']:>8} "
              f"{r['rss_start_mb']:>9}→{r['rss_peak_mb']:<10} {r['client_audio_seconds_read']:>7}  {r['after']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
