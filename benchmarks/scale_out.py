"""Scale-out of `auralis serve --ray`: throughput and first audio with 1, 2, ... replicas.

For each replica count the real command is started, ``auralis serve --ray --replicas N`` on a
local Ray cluster (one replica per GPU with ``--gpus-per-replica 1``), and driven through its one
endpoint by concurrent streaming clients (``--clients``, or ``--clients-per-replica`` so the load
grows with the replicas). The replica counts are measured in turns (``--rounds`` times each:
1, 2, 1, 2, ...) so that a machine whose load drifts affects both alike; each row is the median
round. Reported: audio seconds per wall second, first-byte p50/p95, how requests spread over
replicas (the ``x-auralis-replica`` header); then the scaling efficiency
throughput(N) / (N x throughput(1)) and p95 first audio at N x the clients vs 1 x on 1 replica.

Engines (``--engine``, with ``--model`` and repeatable ``--engine-arg`` / ``--option`` passed to
``auralis serve``):

* ``xttsv2`` (default): without ``--model``, the XTTS-v2 test checkpoint of ``plugins/xttsv2`` on
  CPU PyTorch (one replica's GPT loop keeps one core busy); native-rate PCM out;
* ``espeak``: eSpeak NG, ~400x faster than real time, so the raw PCM the proxy relays (tens of
  MB/s through one proxy process) limits it, not the replicas.

GPUs (issue: the multi-GPU run): write a real-size random checkpoint once, then one vLLM replica
per GPU; random weights never stop, so every request generates a fixed number of codes:

    python benchmarks/scale_out.py --write-real-checkpoint /tmp/xtts-real
    python benchmarks/scale_out.py --model /tmp/xtts-real --replicas 1 2 --gpus-per-replica 1 \
        --engine-arg backend=vllm --option max_new_tokens=200 --option ignore_stop=true \
        --clients-per-replica 32 --requests-per-client 4 --cpus-per-replica 4

CPU:

    python benchmarks/scale_out.py                  # XTTS-v2 test checkpoint, 2 CPU replicas vs 1
    python benchmarks/scale_out.py --engine espeak --requests 48
    python benchmarks/scale_out.py --quick

NCCL's NVLink multicast stays off (``NCCL_NVLS_ENABLE=0``); replicas need no collectives.
Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
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
    clients: int
    requests: int
    wall_s: float
    audio_s: float
    x_rt: float
    first_byte_p50_s: float
    first_byte_p95_s: float
    spread: dict[str, int] = field(default_factory=dict)


async def one(client: httpx.AsyncClient, url: str, text: str, fmt: str, voice: str) -> tuple[float, float, str]:
    from auralis_core import TTSOutput

    body = {"model": "tts-1", "input": text, "voice": voice, "response_format": fmt, "native_sample_rate": True,
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
    path = Path(f"/tmp/scale_out_{os.getpid()}.{fmt}")
    path.write_bytes(bytes(data))
    try:
        seconds = TTSOutput.from_file(path).duration
    finally:
        path.unlink(missing_ok=True)
    return seconds, first or 0.0, replica


async def drive(url: str, clients: int, requests: int, text: str, fmt: str,
                voice: str) -> tuple[float, list[tuple[float, float, str]]]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    results: list[tuple[float, float, str]] = []
    async with httpx.AsyncClient(timeout=300, limits=httpx.Limits(max_connections=clients)) as client:
        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                results.append(await one(client, url, text, fmt, voice))

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return time.perf_counter() - start, results


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def write_real_checkpoint(out: Path) -> None:
    """A real-size random XTTS-v2 checkpoint (Coqui layout, released vocabulary size) with one
    speaker, ``bench``, in ``speakers_xtts.pth`` (what ``voice`` names over HTTP)."""
    import torch
    from auralis_xttsv2.checkpoint.random import (
        RandomCheckpointSpec,
        padded_vocab,
        write_random_checkpoint,
    )

    out.mkdir(parents=True, exist_ok=True)
    vocab = padded_vocab(FIXTURE / "vocab.json", out / "vocab.json", 6681)
    digest = write_random_checkpoint(RandomCheckpointSpec(seed=7), out, vocab)
    gen = torch.Generator().manual_seed(1)
    speaker = {"gpt_cond_latent": torch.randn(1, 32, 1024, generator=gen),
               "speaker_embedding": torch.nn.functional.normalize(torch.randn(1, 512, 1, generator=gen), dim=1)}
    torch.save({"bench": speaker}, out / "speakers_xtts.pth")
    print(f"wrote {out} (weights digest {digest})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One ``auralis serve --ray`` process, ready once its replicas answer."""

    def __init__(self, args: argparse.Namespace, replicas: int, port: int) -> None:
        exe = shutil.which("auralis", path=str(Path(sys.executable).parent)) or "auralis"
        cmd = [exe, "serve", "--ray", "--replicas", str(replicas), "--port", str(port), "--engine", args.engine,
               "--gpus-per-replica", str(args.gpus_per_replica), "--cpus-per-replica", str(args.cpus_per_replica),
               "--max-concurrency", str(args.max_concurrency), "--max-queue", "1024", "--log-level", "warning"]
        if args.ray_num_cpus:
            cmd += ["--ray-num-cpus", str(args.ray_num_cpus)]
        model = args.model or (str(FIXTURE) if args.engine == "xttsv2" else None)
        if model:
            cmd += ["--model", model]
        for value in args.engine_arg:
            cmd += ["--engine-arg", value]
        for value in args.option:
            cmd += ["--option", value]
        env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", NCCL_NVLS_ENABLE="0")
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.append(line)
            if line.startswith("auralis: ready"):
                return
        raise RuntimeError("auralis serve --ray exited before it was ready:\n" + "".join(self.lines[-40:]))

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()


def measure(args: argparse.Namespace, replicas: int, text: str) -> Row:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    clients = args.clients_per_replica * replicas if args.clients_per_replica else args.clients
    requests = args.requests_per_client * clients if args.requests_per_client else args.requests
    server = Server(args, replicas, port)
    try:
        asyncio.run(drive(url, 2 * replicas, 2 * replicas, text, args.format, args.voice))  # warm-up
        wall, results = asyncio.run(drive(url, clients, requests, text, args.format, args.voice))
    finally:
        server.stop()
    firsts = [r[1] for r in results]
    audio = sum(r[0] for r in results)
    return Row(replicas, clients, len(results), round(wall, 2), round(audio, 1), round(audio / wall, 1),
               round(statistics.median(firsts), 3), round(pct(firsts, 0.95), 3), dict(Counter(r[2] for r in results)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--engine", default="xttsv2", choices=sorted(TEXTS))
    parser.add_argument("--model", help="checkpoint for the engine (xttsv2 default: the test checkpoint)")
    parser.add_argument("--engine-arg", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="engine option of every request")
    parser.add_argument("--voice", default="alloy")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--clients-per-replica", type=int, help="clients = this x replicas (overrides --clients)")
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--requests-per-client", type=int, help="requests = this x clients (overrides --requests)")
    parser.add_argument("--gpus-per-replica", type=float, default=0.0)
    parser.add_argument("--cpus-per-replica", type=float, help="default: the cores / the largest replica count")
    parser.add_argument("--ray-num-cpus", type=int, default=None, help="CPUs of the local Ray cluster (default: all)")
    parser.add_argument("--max-concurrency", type=int, default=4, help="segments in flight per replica")
    parser.add_argument("--rounds", type=int, default=3, help="turns per replica count (median reported)")
    parser.add_argument("--format", default="pcm", choices=["pcm", "opus", "mp3", "wav", "flac"])
    parser.add_argument("--quick", action="store_true", help="8 requests per row, one round (checks that it works)")
    parser.add_argument("--write-real-checkpoint", type=Path, metavar="DIR", help="write the real-size random checkpoint and exit")
    parser.add_argument("--out", type=Path, help="JSON (default: benchmarks/results/scale_out_<engine>.json)")
    args = parser.parse_args()
    if args.write_real_checkpoint:
        write_real_checkpoint(args.write_real_checkpoint)
        return
    if args.quick:
        args.requests, args.requests_per_client, args.rounds = 8, None, 1
    if args.cpus_per_replica is None:
        args.cpus_per_replica = (args.ray_num_cpus or os.cpu_count() or 2) / max(args.replicas)
    text = TEXTS[args.engine]
    rounds: dict[int, list[Row]] = {n: [] for n in args.replicas}
    for _ in range(args.rounds):
        for replicas in args.replicas:
            rounds[replicas].append(measure(args, replicas, text))
            print(f"round: {replicas} replica(s): {rounds[replicas][-1].x_rt} x rt", flush=True)
    rows = [sorted(rounds[n], key=lambda r: r.x_rt)[len(rounds[n]) // 2] for n in args.replicas]

    load = os.getloadavg()[1]
    print(f"\n{platform.node()}: {os.cpu_count()} cores (5-min load average {load:.1f}), {gpu_name()}, "
          f"{args.engine} -> {args.format}, {len(text)} characters per request, median of {args.rounds} rounds\n")
    print("| replicas | clients | requests | wall s | audio s | x rt | first byte p50 s | p95 s | requests per replica |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r.replicas} | {r.clients} | {r.requests} | {r.wall_s} | {r.audio_s} | **{r.x_rt}** | "
              f"{r.first_byte_p50_s} | {r.first_byte_p95_s} | {sorted(r.spread.values(), reverse=True)} |")
    by = {r.replicas: r for r in rows}
    scaling = {n: round(by[n].x_rt / (n * by[1].x_rt), 2) for n in by if n > 1 and 1 in by}
    p95_ratio = {n: round(by[n].first_byte_p95_s / by[1].first_byte_p95_s, 2) for n in by if n > 1 and 1 in by}
    for n, efficiency in scaling.items():
        print(f"\nscaling efficiency throughput({n}) / ({n} x throughput(1)) = **{efficiency}**; "
              f"p95 first audio ({by[n].clients} clients on {n}) / ({by[1].clients} clients on 1) = {p95_ratio[n]}")
    args.out = args.out or Path(__file__).parent / "results" / f"scale_out_{args.engine}.json"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "machine": platform.node(), "cores": os.cpu_count(), "gpu": gpu_name(), "load_average_5min": load,
        "engine": args.engine, "model": args.model, "engine_args": args.engine_arg, "options": args.option,
        "gpus_per_replica": args.gpus_per_replica, "cpus_per_replica": args.cpus_per_replica, "format": args.format,
        "rows": [asdict(r) for r in rows], "rounds": {n: [asdict(r) for r in rs] for n, rs in rounds.items()},
        "scaling_efficiency": scaling, "p95_first_audio_ratio": p95_ratio}, indent=2))
    print(f"wrote {args.out}")


def gpu_name() -> str:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=10, check=False).stdout.split("\n")
        names = [n.strip() for n in out if n.strip()]
        return f"{len(names)} x {names[0]}" if names else "no GPU"
    except (OSError, subprocess.SubprocessError):
        return "no GPU"


if __name__ == "__main__":
    main()
