"""Auth before the body, body limits while the body streams, and the docs behind the key.

Raw sockets, not httpx: the point is what the server does while a client is still sending, and
an HTTP client would not let us send a body the server has already refused.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from livesrv import LiveServer, assert_error, wait_for

from auralis_core.server import ServerConfig, create_app

MB = 1024 * 1024
KEY = "sekrit"


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


@dataclass
class RawResponse:
    status: int
    body: bytes
    sent: int  # body bytes the server let us send before it answered
    seconds: float

    def json(self) -> dict:
        return json.loads(self.body)


def raw_post(port: int, path: str, headers: dict[str, str], chunks: Iterator[bytes], chunked: bool = False) -> RawResponse:
    """POST with a body sent from a thread while the main thread reads the answer as soon as it comes."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    if chunked:
        head += "Transfer-Encoding: chunked\r\n"
    sock.sendall((head + "\r\n").encode())
    sent = [0]
    stop = threading.Event()
    started = time.perf_counter()

    def sender() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                sent[0] += len(chunk)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed: expected when it refuses the body
            pass

    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
        head_bytes, _, rest = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head_bytes.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(rest) < length:
            piece = sock.recv(65536)
            if not piece:
                break
            rest += piece
        seconds = time.perf_counter() - started
    finally:
        stop.set()
        sock.close()
        thread.join(10)
    status = int(head_bytes.split(b" ", 2)[1])
    return RawResponse(status, rest[:length], sent[0], seconds)


def repeated(total: int, piece: bytes) -> Iterator[bytes]:
    full, rest = divmod(total, len(piece))
    for _ in range(full):
        yield piece
    if rest:
        yield piece[:rest]


def json_filler(total: int) -> Iterator[bytes]:
    """A syntactically plausible JSON body of ``total`` bytes, streamed in 1 MiB pieces."""
    prefix = b'{"model": "tts-1", "voice": "alloy", "input": "'
    yield prefix
    yield from repeated(total - len(prefix) - 2, b"a" * MB)
    yield b'"}'


def assert_openai_error(response: RawResponse, status: int, code: str) -> None:
    assert response.status == status, response.body
    body = response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"} and body["error"]["code"] == code, body


@pytest.fixture(scope="module")
def keyed_server():
    config = ServerConfig(engine="espeak", api_key=KEY, max_upload_bytes=1 * MB)
    with LiveServer(create_app(config)) as server:
        assert wait_for(lambda: httpx.get(server.url + "/health/ready").status_code == 200, 60)
        yield server


def test_no_key_is_refused_before_the_body_is_read(keyed_server):
    """64 MB of JSON without a key: 401 at once, and the server never holds the body."""
    total = 64 * MB
    before = rss_bytes()
    response = raw_post(keyed_server.port, "/v1/audio/speech",
                        {"Content-Type": "application/json", "Content-Length": str(total)}, json_filler(total))
    grown = rss_bytes() - before
    assert_openai_error(response, 401, "invalid_api_key")
    assert response.sent < total / 2, f"the server read {response.sent} bytes before answering"
    assert grown < 16 * MB, f"RSS grew by {grown / MB:.1f} MB for a refused request"


def test_oversize_json_is_refused_from_content_length(keyed_server):
    total = 64 * MB
    before = rss_bytes()
    response = raw_post(keyed_server.port, "/v1/audio/speech",
                        {"Content-Type": "application/json", "Content-Length": str(total), "Authorization": f"Bearer {KEY}"},
                        json_filler(total))
    grown = rss_bytes() - before
    assert_openai_error(response, 413, "request_too_large")
    assert response.sent < total / 2 and grown < 16 * MB
    assert str(ServerConfig(max_upload_bytes=1 * MB).json_body_limit) in response.json()["error"]["message"]


def test_chunked_json_past_the_limit_is_refused_while_streaming(keyed_server):
    """No Content-Length (chunked): the limit is enforced as the bytes arrive."""
    total = 64 * MB
    before = rss_bytes()
    response = raw_post(keyed_server.port, "/v1/audio/speech",
                        {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}, json_filler(total),
                        chunked=True)
    grown = rss_bytes() - before
    assert_openai_error(response, 413, "request_too_large")
    assert response.sent < total / 2 and grown < 16 * MB


def _multipart(total: int, boundary: str = "b0undary") -> tuple[dict[str, str], Iterator[bytes], int]:
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nbig\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio_sample\"; filename=\"a.wav\"\r\n"
            "Content-Type: audio/wav\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from repeated(total - len(head) - len(tail), b"\0" * MB)
        yield tail

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Authorization": f"Bearer {KEY}"}
    return headers, body(), total


def test_200mb_upload_is_refused_quickly(keyed_server):
    headers, body, total = _multipart(200 * MB)
    before = rss_bytes()
    response = raw_post(keyed_server.port, "/v1/audio/voices", {**headers, "Content-Length": str(total)}, body)
    grown = rss_bytes() - before
    assert_openai_error(response, 413, "upload_too_large")
    assert response.seconds < 2.0 and response.sent < 16 * MB and grown < 16 * MB


def test_chunked_upload_is_bounded_while_streaming_not_after_spooling(keyed_server, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where multipart parsing would spool files
    headers, body, total = _multipart(200 * MB)
    response = raw_post(keyed_server.port, "/v1/audio/voices", headers, body, chunked=True)
    assert_openai_error(response, 413, "upload_too_large")
    assert response.sent < 16 * MB and response.seconds < 5.0
    spooled = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert spooled < 4 * MB


def test_small_bodies_still_work_with_the_key(keyed_server):
    response = httpx.post(keyed_server.url + "/v1/audio/speech", headers={"Authorization": f"Bearer {KEY}"},
                          json={"model": "tts-1", "voice": "alloy", "input": "Still fine.", "response_format": "wav"})
    assert response.status_code == 200 and response.content[:4] == b"RIFF"
    assert_error(httpx.post(keyed_server.url + "/v1/audio/speech", json={"model": "tts-1"}), 401, code="invalid_api_key")


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect", "/metrics", "/v1/models"])
def test_docs_and_schema_need_the_key(keyed_server, path):
    assert_error(httpx.get(keyed_server.url + path), 401, code="invalid_api_key")
    assert httpx.get(keyed_server.url + path, headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert httpx.get(keyed_server.url + "/health").status_code == 200  # probes stay open


def test_public_docs_flag_opens_only_the_docs():
    from starlette.testclient import TestClient

    app = create_app(ServerConfig(engine="espeak", api_key=KEY, public_docs=True))
    with TestClient(app) as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(path).status_code == 200, path
        assert client.get("/v1/models").status_code == 401
        schema = client.get("/openapi.json").json()
        assert schema["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def test_body_limit_config_and_flag():
    from click.testing import CliRunner

    assert ServerConfig().json_body_limit >= ServerConfig().max_upload_bytes * 4 // 3  # base64 speaker_audio fits
    assert ServerConfig(max_body_bytes=2048).json_body_limit == 2048
    with pytest.raises(ValueError):
        ServerConfig(max_body_bytes=10)
    from auralis_core.server.cli import serve

    help_text = CliRunner().invoke(serve, ["--help"]).output
    assert "--max-body-mb" in help_text and "--public-docs" in help_text
