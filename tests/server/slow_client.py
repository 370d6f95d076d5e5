"""A client that reads a speech response slowly, over a socket with a small receive buffer."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable


def slow_pcm_read(url: str, body: dict, seconds: float, probe: Callable[[], None] = lambda: None,
                  chunk: int = 1024, pause: float = 0.1) -> int:
    """POST ``body`` (as PCM) to ``url``/v1/audio/speech, read ``chunk`` bytes per ``pause`` for
    ``seconds`` (calling ``probe`` after each read), then hang up. Returns the bytes read."""
    host, port = url.removeprefix("http://").split(":")
    payload = json.dumps({**body, "response_format": "pcm"}).encode()
    head = (f"POST /v1/audio/speech HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    got = 0
    try:
        sock.sendall(head + payload)
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            data = sock.recv(chunk)
            if not data:
                break
            got += len(data)
            probe()
            time.sleep(pause)
    finally:
        sock.close()
    return got
