"""Load test of the OpenAI-compatible server: streaming clients, early hang-ups and hostile traffic.

By default it starts ``auralis serve`` (eSpeak) as a subprocess on loopback, plus a misbehaving
upstream LLM on loopback for the chat route, and runs one baseline round of well-formed requests
followed by ``--rounds`` rounds with ``--hostile`` of the requests hostile:

* oversize bodies (by Content-Length and chunked), malformed JSON, invalid UTF-8, lone surrogates;
* chat requests relayed to the bad upstream (garbage lines, cut connection, 500, trickle, no [DONE]).

Of the well-formed speech requests, ``--disconnect`` leave after the first bytes. Reported per
round: errors among well-formed requests (must be 0), hostile answers by status (5xx should be 0),
every gauge of ``/metrics`` once the round has drained (must be 0), the server's RSS, and time to
first byte (p50/p95) of well-formed requests; then p95 with hostile traffic / p95 without.
Prints a table, writes JSON. ``--quick`` is a short run for checking that it works.

    python benchmarks/server_load.py                 # 100 clients, 1000 requests x (1 + 3) rounds
    python benchmarks/server_load.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

TEXT = ("Streaming speech keeps listeners engaged. Each sentence is synthesised while the previous "
        "one plays. The server cancels work for clients that hang up. ") * 3
HOSTILE_KINDS = ("oversize", "oversize_chunked", "malformed_json", "bad_utf8", "lone_surrogate", "chat_bad_upstream")
GAUGES_AT_REST_ONE = {"auralis_ready"}  # every other gauge must read 0 after a round


# --- the misbehaving upstream LLM ------------------------------------------------------------------
class BadUpstream(BaseHTTPRequestHandler):
    """Cycles through the faults a real upstream shows; every answer ends within ~1.5 s."""

    protocol_version = "HTTP/1.1"
    faults = ("garbage", "cut", "error500", "trickle", "no_done")
    counter = 0
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("content-length", 0) or 0))
        with BadUpstream.lock:
            fault = self.faults[BadUpstream.counter % len(self.faults)]
            BadUpstream.counter += 1
        try:
            getattr(self, f"_{fault}")()
        except OSError:
            pass  # the relay hung up first: fine
        self.close_connection = True

    def _start(self, status: int = 200, content_type: str = "text/event-stream") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        self.end_headers()

    def _garbage(self) -> None:
        self._start()
        self.wfile.write(b"data: {not json\n\ndata: [1, 2]\n\nnonsense line\n\n")

    def _cut(self) -> None:
        self._start()
        self.wfile.write(b'data: {"choices": [{"delta": {"content": "Hel')
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    def _error500(self) -> None:
        body = b'{"error": {"message": "' + b"x" * 8000 + b'"}}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _trickle(self) -> None:
        self._start()
        for _ in range(6):
            self.wfile.write(b": keep-alive\n\n")
            self.wfile.flush()
            time.sleep(0.25)

    def _no_done(self) -> None:
        self._start()
        chunk = {"choices": [{"index": 0, "delta": {"content": "Hello there. "}}]}
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())


def start_bad_upstream() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BadUpstream)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


# --- the server under test -------------------------------------------------------------------------
@dataclass
class ServerProcess:
    proc: subprocess.Popen[bytes]
    url: str

    @classmethod
    def start(cls, args: argparse.Namespace, llm_url: str | None) -> ServerProcess:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        cmd = [sys.executable, "-m", "auralis_core.cli.main", "serve", "--engine", "espeak", "--port", str(port),
               "--max-concurrency", str(args.max_concurrency), "--max-queue", str(args.clients * 2),
               "--max-body-mb", str(args.max_body_mb), "--log-level", "warning"]
        if llm_url:
            cmd += ["--llm-url", llm_url]
        return cls.launch(cmd, port)

    @classmethod
    def launch(cls, cmd: list[str], port: int, timeout: float = 120) -> ServerProcess:
        """Run ``cmd`` (an ``auralis serve`` listening on ``port``) and wait until it is ready."""
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = cls(proc, f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(server.url + "/health/ready", timeout=1).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"auralis serve exited with {proc.returncode}")
            time.sleep(0.2)
        server.stop()
        raise RuntimeError("auralis serve did not become ready")

    def rss_mb(self) -> float | None:
        try:
            with open(f"/proc/{self.proc.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
        return None

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


# --- requests --------------------------------------------------------------------------------------
@dataclass
class Result:
    kind: str
    status: int  # 0: the connection failed or was closed without an answer
    ttfb: float | None = None
    audio_bytes: int = 0
    error: str | None = None


async def speech(client: httpx.AsyncClient, url: str, leave_early: bool, fmt: str) -> Result:
    body = {"model": "tts-1", "voice": "alloy", "input": TEXT, "response_format": fmt}
    kind = "speech_leave" if leave_early else "speech"
    started = time.perf_counter()
    try:
        async with client.stream("POST", url + "/v1/audio/speech", json=body) as response:
            if response.status_code != 200:
                await response.aread()
                return Result(kind, response.status_code, error=response.text[:200])
            result = Result(kind, 200)
            async for piece in response.aiter_bytes():
                if result.ttfb is None:
                    result.ttfb = time.perf_counter() - started
                result.audio_bytes += len(piece)
                if leave_early:
                    break  # closing the stream mid-body = client disconnect
    except httpx.HTTPError as exc:
        return Result(kind, 0, error=f"{type(exc).__name__}: {exc}")
    if not leave_early and (result.audio_bytes == 0 or (fmt == "pcm" and result.audio_bytes % 2)):
        result.error = f"truncated audio: {result.audio_bytes} bytes"
    return result


def _oversize_body(limit: int) -> bytes:
    return b'{"model": "tts-1", "voice": "alloy", "input": "' + b"a" * (limit + 1024) + b'"}'


async def hostile(client: httpx.AsyncClient, url: str, kind: str, limit: int, rng: random.Random) -> Result:
    speech_url = url + "/v1/audio/speech"
    json_headers = {"Content-Type": "application/json"}
    try:
        if kind == "oversize":
            response = await client.post(speech_url, content=_oversize_body(limit), headers=json_headers)
        elif kind == "oversize_chunked":
            async def chunks():
                body = _oversize_body(limit)
                for i in range(0, len(body), 65536):
                    yield body[i:i + 65536]
            response = await client.post(speech_url, content=chunks(), headers=json_headers)
        elif kind == "malformed_json":
            response = await client.post(speech_url, content=b'{"model": "tts-1", "voice": ', headers=json_headers)
        elif kind == "bad_utf8":
            response = await client.post(speech_url, headers=json_headers,
                                         content=b'{"model": "tts-1", "voice": "alloy", "input": "caf\xe9 \xff\xfe"}')
        elif kind == "lone_surrogate":
            response = await client.post(speech_url, headers=json_headers,
                                         content=b'{"model": "tts-1", "voice": "alloy", "input": "Hello \\ud800 world"}')
        elif kind == "chat_bad_upstream":
            body = {"model": "tts-1", "messages": [{"role": "user", "content": "Say hello."}],
                    "stream": rng.random() < 0.5, "modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "pcm16"}}
            response = await client.post(url + "/v1/chat/completions", json=body)
        else:
            raise ValueError(kind)
    except httpx.HTTPError as exc:  # e.g. the server refused a body mid-upload and closed
        return Result(kind, 0, error=type(exc).__name__)
    return Result(kind, response.status_code)


# --- rounds ----------------------------------------------------------------------------------------
@dataclass
class Round:
    name: str
    requests: int
    well_formed: int
    well_formed_errors: int
    error_samples: list[str]
    disconnected_early: int
    hostile: dict[str, dict[str, int]]  # kind -> status -> count
    hostile_5xx: int
    wall_seconds: float
    ttfb_p50_ms: float | None
    ttfb_p95_ms: float | None
    gauges_after: dict[str, float]
    gauges_nonzero: dict[str, float]
    rss_mb_after: float | None
    extra: dict[str, float] = field(default_factory=dict)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def _gauges(client: httpx.AsyncClient, url: str) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = (await client.get(url + "/metrics")).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        # text format 0.0.4 shows counters' "_created" timestamps as gauges: not state, skip them
        if family.type == "gauge" and not family.name.endswith("_created"):
            out[family.name] = sum(s.value for s in family.samples)
    return out


async def run_round(name: str, url: str, args: argparse.Namespace, hostile_share: float, chat: bool,
                    rng: random.Random, server: ServerProcess | None) -> Round:
    kinds = HOSTILE_KINDS if chat else HOSTILE_KINDS[:-1]
    plan: list[str] = []
    for _ in range(args.requests):
        if rng.random() < hostile_share:
            plan.append(rng.choice(kinds))
        else:
            plan.append("speech_leave" if rng.random() < args.disconnect else "speech")
    queue: asyncio.Queue[str] = asyncio.Queue()
    for item in plan:
        queue.put_nowait(item)
    limit = int(args.max_body_mb * 1024 * 1024)
    results: list[Result] = []
    limits = httpx.Limits(max_connections=args.clients * 2, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        async def worker() -> None:
            while not queue.empty():
                kind = queue.get_nowait()
                if kind.startswith("speech"):
                    results.append(await speech(client, url, kind == "speech_leave", args.format))
                else:
                    results.append(await hostile(client, url, kind, limit, rng))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.clients)))
        wall = time.perf_counter() - started
        deadline = time.monotonic() + 15
        while True:  # every gauge must drain to zero once every client is done
            gauges = await _gauges(client, url)
            nonzero = {k: v for k, v in gauges.items() if k not in GAUGES_AT_REST_ONE and v != 0}
            if not nonzero or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
    good = [r for r in results if r.kind.startswith("speech")]
    bad = [r for r in good if r.status != 200 or r.error]
    hostile_counts: dict[str, Counter[str]] = {}
    for r in results:
        if not r.kind.startswith("speech"):
            hostile_counts.setdefault(r.kind, Counter())[str(r.status) if r.status else (r.error or "closed")] += 1
    ttfb = [r.ttfb for r in good if r.ttfb is not None and r.status == 200]
    return Round(
        name=name,
        requests=len(results),
        well_formed=len(good),
        well_formed_errors=len(bad),
        error_samples=[f"{r.status}: {r.error}" for r in bad[:3]],
        disconnected_early=sum(1 for r in good if r.kind == "speech_leave" and r.status == 200),
        hostile={k: dict(v) for k, v in sorted(hostile_counts.items())},
        hostile_5xx=sum(1 for r in results if not r.kind.startswith("speech") and r.status >= 500),
        wall_seconds=round(wall, 2),
        ttfb_p50_ms=None if not ttfb else round(_pct(ttfb, 0.5) * 1000, 1),
        ttfb_p95_ms=None if not ttfb else round(_pct(ttfb, 0.95) * 1000, 1),
        gauges_after=gauges,
        gauges_nonzero=nonzero,
        rss_mb_after=None if server is None else server.rss_mb(),
        extra={"ttfb_mean_ms": round(statistics.mean(ttfb) * 1000, 1) if ttfb else 0.0},
    )


async def run(url: str, args: argparse.Namespace, chat: bool, server: ServerProcess | None) -> list[Round]:
    rng = random.Random(args.seed)
    rounds = [await run_round("baseline (no hostile)", url, args, 0.0, chat, rng, server)]
    for i in range(args.rounds):
        rounds.append(await run_round(f"round {i + 1} ({args.hostile:.0%} hostile)", url, args, args.hostile, chat, rng, server))
    return rounds


def print_table(rounds: list[Round], ratio: float | None) -> None:
    header = ("round", "requests", "well-formed", "errors", "left early", "hostile", "hostile 5xx",
              "TTFB p50 ms", "TTFB p95 ms", "gauges != 0", "RSS MB", "wall s")
    rows = [(r.name, r.requests, r.well_formed, r.well_formed_errors, r.disconnected_early,
             sum(sum(v.values()) for v in r.hostile.values()), r.hostile_5xx, r.ttfb_p50_ms, r.ttfb_p95_ms,
             ",".join(f"{k}={v:g}" for k, v in r.gauges_nonzero.items()) or "none", r.rss_mb_after, r.wall_seconds)
            for r in rounds]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for row in (header, *rows):
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))
    print(f"TTFB p95 with hostile traffic / without: {ratio if ratio is not None else 'n/a'}")
    for r in rounds:
        if r.hostile:
            print(f"{r.name} hostile answers: {json.dumps(r.hostile)}")
        if r.error_samples:
            print(f"{r.name} error samples: {r.error_samples}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="server to load (default: start `auralis serve --engine espeak` on loopback); "
                        "with --url the chat faults and RSS are skipped")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--requests", type=int, default=1000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds with hostile traffic (after one baseline round)")
    parser.add_argument("--disconnect", type=float, default=0.2, help="share of well-formed clients that leave after the first bytes")
    parser.add_argument("--hostile", type=float, default=0.1, help="share of hostile requests in the hostile rounds")
    parser.add_argument("--format", default="pcm", choices=["pcm", "wav", "mp3", "opus", "aac", "flac"])
    parser.add_argument("--max-concurrency", type=int, default=4)
    parser.add_argument("--max-body-mb", type=float, default=1.0, help="server's JSON body limit (oversize bodies exceed it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="20 clients, 100 requests per round (a check, not a measurement)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "server_load.json")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.requests = 20, 100

    server = upstream = None
    url = args.url
    if url is None:
        upstream, llm_url = start_bad_upstream()
        server = ServerProcess.start(args, llm_url)
        url = server.url
    try:
        rounds = asyncio.run(run(url, args, chat=server is not None, server=server))
    finally:
        if server is not None:
            server.stop()
        if upstream is not None:
            upstream.shutdown()
    base = rounds[0].ttfb_p95_ms
    worst = max((r.ttfb_p95_ms for r in rounds[1:] if r.ttfb_p95_ms is not None), default=None)
    ratio = round(worst / base, 2) if base and worst else None
    print_table(rounds, ratio)
    result = {
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "rounds": [asdict(r) for r in rounds],
        "ttfb_p95_ratio_hostile_vs_baseline": ratio,
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine(),
                    "cores": os.cpu_count()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")
    if any(r.well_formed_errors or r.gauges_nonzero for r in rounds):
        sys.exit(1)


if __name__ == "__main__":
    main()
