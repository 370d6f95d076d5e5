"""Load test of the OpenAI-compatible server: N concurrent streaming clients, some leave early.

Measures throughput (audio seconds per wall second), time to first audio (p50/p95), errors, and
checks that in-flight work returns to zero afterwards (disconnects cancel their generation).
Starts an eSpeak server on loopback unless --url is given. Prints a table, writes JSON.

    python benchmarks/server_load.py --clients 16 --requests 64 --disconnect 0.25
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import re
import statistics
import sys
import time
from pathlib import Path

import httpx

TEXT = ("Streaming speech keeps listeners engaged. Each sentence is synthesised while the previous "
        "one plays. The server cancels work for clients that hang up. ") * 3


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def _gauge(metrics: str, name: str) -> float:
    total = 0.0
    for match in re.finditer(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", metrics, re.M):
        total += float(match.group(1))
    return total


async def one(client: httpx.AsyncClient, url: str, leave_early: bool, fmt: str) -> dict:
    body = {"model": "tts-1", "voice": "alloy", "input": TEXT, "response_format": fmt}
    started = time.perf_counter()
    first = None
    pieces: list[bytes] = []
    try:
        async with client.stream("POST", url + "/v1/audio/speech", json=body) as response:
            if response.status_code != 200:
                await response.aread()
                return {"status": response.status_code, "error": response.text[:200]}
            async for piece in response.aiter_bytes():
                if first is None:
                    first = time.perf_counter() - started
                pieces.append(piece)
                if leave_early:
                    break  # closing the stream mid-body = client disconnect
    except httpx.HTTPError as exc:
        return {"status": 0, "error": f"{type(exc).__name__}: {exc}"}
    return {"status": 200, "ttfa": first, "wall": time.perf_counter() - started, "body": b"".join(pieces),
            "left_early": leave_early}


def _audio_seconds(body: bytes, fmt: str) -> float:
    """Duration of one response body (decoded, except raw pcm: 24 kHz 16-bit mono)."""
    if fmt == "pcm":
        return len(body) / (24000 * 2)
    from auralis_core import TTSOutput

    return TTSOutput.from_bytes(body).duration


async def run(url: str, clients: int, requests: int, disconnect: float, fmt: str, seed: int) -> dict:
    rng = random.Random(seed)
    plan = [rng.random() < disconnect for _ in range(requests)]
    queue: asyncio.Queue[bool] = asyncio.Queue()
    for leave in plan:
        queue.put_nowait(leave)
    results: list[dict] = []
    limits = httpx.Limits(max_connections=clients * 2)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        async def worker() -> None:
            while not queue.empty():
                results.append(await one(client, url, queue.get_nowait(), fmt))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - started
        deadline = time.monotonic() + 10
        while True:  # in-flight must drain to zero once every client is done
            metrics = (await client.get(url + "/metrics")).text
            in_flight = _gauge(metrics, "auralis_in_flight_requests") + _gauge(metrics, "auralis_requests_active")
            if in_flight == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
    complete = [r for r in results if r["status"] == 200 and not r["left_early"]]
    early = [r for r in results if r["status"] == 200 and r["left_early"]]
    errors = [r for r in results if r["status"] != 200]
    audio_seconds = sum(_audio_seconds(r["body"], fmt) for r in complete)
    ttfa = [r["ttfa"] for r in results if r.get("ttfa") is not None]
    return {
        "clients": clients,
        "requests": requests,
        "format": fmt,
        "completed": len(complete),
        "disconnected_early": len(early),
        "errors": len(errors),
        "error_samples": [e["error"] for e in errors[:3]],
        "wall_seconds": round(wall, 3),
        "audio_seconds": round(audio_seconds, 2),
        "throughput_audio_s_per_s": round(audio_seconds / wall, 2),
        "requests_per_second": round(len(results) / wall, 2),
        "ttfa_p50_ms": None if not ttfa else round(_pct(ttfa, 0.5) * 1000, 1),
        "ttfa_p95_ms": None if not ttfa else round(_pct(ttfa, 0.95) * 1000, 1),
        "ttfa_mean_ms": None if not ttfa else round(statistics.mean(ttfa) * 1000, 1),
        "in_flight_after": in_flight,
        "server_cancelled_total": sum(float(v) for v in re.findall(r'^auralis_engine_requests_total{[^}]*status="cancelled"} ([0-9.]+)$', metrics, re.M)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="server to load (default: start an eSpeak server on loopback)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--disconnect", type=float, default=0.25, help="fraction of clients that leave after the first bytes")
    parser.add_argument("--format", default="pcm", choices=["pcm", "wav", "mp3", "opus", "aac", "flac"])
    parser.add_argument("--max-concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "server_load.json")
    args = parser.parse_args()

    server = None
    url = args.url
    if url is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))
        from livesrv import LiveServer

        from auralis_core.server import ServerConfig, create_app

        config = ServerConfig(engine="espeak", max_concurrency=args.max_concurrency, max_queue=args.clients * 2)
        server = LiveServer(create_app(config)).start()
        url = server.url
        deadline = time.monotonic() + 60
        while httpx.get(url + "/health/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
    try:
        result = asyncio.run(run(url, args.clients, args.requests, args.disconnect, args.format, args.seed))
    finally:
        if server is not None:
            server.stop()
    result["machine"] = {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
                         "cores": __import__("os").cpu_count()}
    rows = [("clients", result["clients"]), ("requests", result["requests"]), ("completed", result["completed"]),
            ("disconnected early (deliberate)", result["disconnected_early"]), ("errors", result["errors"]),
            ("wall s", result["wall_seconds"]), ("audio s (completed)", result["audio_seconds"]),
            ("throughput audio s / s", result["throughput_audio_s_per_s"]), ("requests / s", result["requests_per_second"]),
            ("TTFA p50 ms", result["ttfa_p50_ms"]), ("TTFA p95 ms", result["ttfa_p95_ms"]),
            ("in-flight after", result["in_flight_after"]), ("server cancelled total", result["server_cancelled_total"])]
    width = max(len(k) for k, _ in rows)
    print(f"{'metric':<{width}}  value")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")
    if result["errors"] or result["in_flight_after"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
