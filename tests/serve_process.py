"""`auralis serve` as a real subprocess on a free loopback port, ready when yielded."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def auralis_serve(python: str | Path, engine: str, log_path: Path, env: dict[str, str] | None = None,
                  timeout: float = 60) -> Iterator[int]:
    """The port of ``python -m auralis_core.cli.main serve --engine ENGINE`` once
    ``/health/ready`` answers 200 (what a deployment's readiness probe waits for)."""
    port = free_port()
    with log_path.open("w+") as log:
        proc = subprocess.Popen([str(python), "-m", "auralis_core.cli.main", "serve", "--engine", engine,
                                 "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"auralis serve --engine {engine} did not become ready:\n{log.read()}")
                time.sleep(0.2)
            yield port
        finally:
            proc.terminate()
            proc.wait(30)
