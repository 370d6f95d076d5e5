"""Throughput of `auralis serve --ray` with 1 and with 2 CPU replicas of a CPU-bound engine.

One local Ray cluster (``--num-cpus``, default: every core, and one CPU reserved per replica,
so Ray gives each replica one intra-op thread). For each replica count the same application is
deployed and driven by ``--clients`` concurrent streaming clients through Serve's proxy. The
replica counts are measured in turns (``--rounds`` times each: 1, 2, 1, 2, ...) so that a
machine whose load drifts affects both alike; each row is the median round. Reported: audio
seconds per wall second, first-byte p50/p95, how requests spread over replicas; then
throughput(2) / throughput(1).

Engines (``--engine``):

* ``xttsv2`` (default): the XTTS-v2 test checkpoint of ``plugins/xttsv2`` on CPU PyTorch, a
  CPU-bound engine (one replica's GPT loop keeps one core busy), native-rate PCM out;
* ``espeak``: eSpeak NG, which makes audio ~400x faster than real time, so that the raw PCM the
  proxy relays (tens of MB/s through one proxy process) is what limits it, not the replicas.

Prints a table, writes JSON.

    python benchmarks/ray_replicas.py
    python benchmarks/ray_replicas.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

SENTENCES = ("Scaling out means more replicas behind one endpoint. Each replica owns its engine and "
             "its share of the processor. The proxy routes every request to a replica with room. ")
TEXTS = {"espeak": SENTENCES * 24, "xttsv2": SENTENCES}
FIXTURE = Path(__file__).resolve().parents[1] / "plugins" / "xttsv2" / "tests" / "fixtures" / "xtts_small"


@dataclass
class Row:
    replicas: int
    requests: int
    wall_s: float
    audio_s: float
    x_rt: float
    first_byte_p50_s: float
    first_byte_p95_s: float
    spread: dict[str, int] = field(default_factory=dict)


async def one(client: httpx.AsyncClient, url: str, text: str, fmt: str) -> tuple[float, float, str]:
    from auralis_core import TTSOutput

    body = {"model": "tts-1", "input": text, "voice": "alloy", "response_format": fmt, "native_sample_rate": True,
            "language": "en"}
    start = time.perf_counter()
    first = None
    data = bytearray()
    async with client.stream("POST", url + "/v1/audio/speech", json=body) as response:
        response.raise_for_status()
        replica = response.headers["x-auralis-replica"]
        async for chunk in response.aiter_raw():
            first = first if first is not None else time.perf_counter() - start
            data += chunk
    if fmt == "pcm":
        return len(data) / 2 / int(response.headers["x-sample-rate"]), first or 0.0, replica
    path = Path(f"/tmp/ray_replicas_{os.getpid()}.{fmt}")
    path.write_bytes(bytes(data))
    try:
        seconds = TTSOutput.from_file(path).duration
    finally:
        path.unlink(missing_ok=True)
    return seconds, first or 0.0, replica


async def drive(url: str, clients: int, requests: int, text: str, fmt: str) -> tuple[float, list[tuple[float, float, str]]]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    results: list[tuple[float, float, str]] = []
    async with httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=clients)) as client:
        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                results.append(await one(client, url, text, fmt))

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return time.perf_counter() - start, results


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--engine", default="xttsv2", choices=sorted(TEXTS))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--num-cpus", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rounds", type=int, default=3, help="turns per replica count (median reported)")
    parser.add_argument("--format", default="pcm", choices=["pcm", "opus", "mp3", "wav", "flac"])
    parser.add_argument("--quick", action="store_true", help="8 requests per row (checks that it works)")
    parser.add_argument("--out", type=Path, help="JSON (default: benchmarks/results/ray_replicas_<engine>.json)")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.rounds = 8, 1

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    from ray import serve

    from auralis_core.server import ServerConfig
    from auralis_core.server.ray_serve import deploy

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    ray.init(address="local", num_cpus=args.num_cpus, include_dashboard=False, logging_level="WARNING",
             configure_logging=False)
    rows: list[Row] = []
    rounds: dict[int, list[Row]] = {n: [] for n in args.replicas}
    text = TEXTS[args.engine]
    try:
        for _ in range(args.rounds):
            for replicas in args.replicas:
                model = str(FIXTURE) if args.engine == "xttsv2" else None
                config = ServerConfig(engine=args.engine, model=model, ray=True, replicas=replicas, port=port,
                                      cpus_per_replica=args.num_cpus / max(args.replicas), max_concurrency=4,
                                      max_queue=256)
                deploy(config)
                asyncio.run(drive(url, 2, 2, text, args.format))  # warm-up: codecs, connections
                wall, results = asyncio.run(drive(url, args.clients, args.requests, text, args.format))
                audio = sum(r[0] for r in results)
                firsts = [r[1] for r in results]
                rounds[replicas].append(Row(replicas, len(results), round(wall, 2), round(audio, 1),
                                            round(audio / wall, 1), round(statistics.median(firsts), 3),
                                            round(pct(firsts, 0.95), 3), dict(Counter(r[2] for r in results))))
                print(f"round: {replicas} replica(s): {rounds[replicas][-1].x_rt} x rt", flush=True)
        rows = [sorted(rounds[n], key=lambda r: r.x_rt)[len(rounds[n]) // 2] for n in args.replicas]
    finally:
        serve.shutdown()
        ray.shutdown()

    load = os.getloadavg()[1]
    print(f"\n{platform.node()}: {os.cpu_count()} cores (5-min load average {load:.1f}), Ray cluster num_cpus={args.num_cpus}, "
          f"{args.clients} clients, {args.engine} -> {args.format}, {len(text)} characters per request, "
          f"median of {args.rounds} rounds\n")
    print("| replicas | requests | wall s | audio s | x rt | first byte p50 s | p95 s | requests per replica |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r.replicas} | {r.requests} | {r.wall_s} | {r.audio_s} | **{r.x_rt}** | {r.first_byte_p50_s} | "
              f"{r.first_byte_p95_s} | {sorted(r.spread.values(), reverse=True)} |")
    by = {r.replicas: r for r in rows}
    ratio = round(by[2].x_rt / by[1].x_rt, 2) if 1 in by and 2 in by else None
    if ratio is not None:
        print(f"\nthroughput(2 replicas) / throughput(1 replica) = **{ratio}**")
    args.out = args.out or Path(__file__).parent / "results" / f"ray_replicas_{args.engine}.json"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.node(), "cores": os.cpu_count(), "load_average_5min": load, "num_cpus": args.num_cpus,
                                    "clients": args.clients, "engine": args.engine, "format": args.format, "rows": [asdict(r) for r in rows],
                                    "rounds": {n: [asdict(r) for r in rs] for n, rs in rounds.items()},
                                    "ratio_2_over_1": ratio}, indent=2))


if __name__ == "__main__":
    main()
