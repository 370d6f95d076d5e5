"""A real upstream LLM for the chat tests: a raw HTTP/1.1 server on loopback that answers
``POST …/chat/completions`` with a chunked SSE stream and misbehaves on purpose.

Raw asyncio rather than a framework, so that it can do what frameworks prevent: cut a chunked
body in the middle, send lines that are not SSE, trickle keep-alive comments forever. The last
user message picks the behaviour (see `FakeLLM._answer`); everything received is recorded.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

REPLY = ["Hello", " there!", " I am", " a scripted", " model.", " This is", " my second", " sentence.", " And a", " third one"]
SECRET = "SECRET-UPSTREAM-BODY"


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    peer_port: int

    @property
    def auth(self) -> str | None:
        return self.headers.get("authorization")


@dataclass
class FakeLLM:
    delay: float = 0.02
    seen: list[Seen] = field(default_factory=list)
    closed: dict[str, float] = field(default_factory=dict)  # behaviour -> when the client hung up

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self.port = 0

    # --- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> FakeLLM:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._connection, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    # --- HTTP ---------------------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: one connection may carry several requests
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                body = json.loads(await reader.readexactly(int(headers.get("content-length", "0"))))
                self.seen.append(Seen(path, headers, body, writer.get_extra_info("peername")[1]))
                if not await self._answer(body, reader, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _chunk(self, writer: asyncio.StreamWriter, text: str) -> None:
        data = text.encode()
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await writer.drain()

    @staticmethod
    def _start(writer: asyncio.StreamWriter, status: str = "200 OK", kind: str = "text/event-stream") -> None:
        writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nTransfer-Encoding: chunked\r\n\r\n".encode())

    @staticmethod
    def event(model: str, delta: dict[str, Any], finish: str | None = None) -> str:
        chunk = {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(chunk)}\n\n"

    async def _answer(self, body: dict[str, Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Returns whether the connection may carry another request."""
        script = str(body["messages"][-1].get("content"))
        model = body.get("model", "m")
        if script in ("401", "500"):
            payload = json.dumps({"error": {"message": f"{SECRET} internal detail", "type": "x", "code": None}})
            self._start(writer, "401 Unauthorized" if script == "401" else "500 Internal Server Error", "application/json")
            await self._chunk(writer, payload)
            await self._chunk(writer, "")
            return True
        if script == "redirect":
            writer.write(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:9/x\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            return True
        if script == "json":  # ignores stream: true
            self._start(writer, kind="application/json")
            await self._chunk(writer, json.dumps({"id": "x", "object": "chat.completion", "choices": []}))
            await self._chunk(writer, "")
            return True
        self._start(writer)
        await self._chunk(writer, self.event(model, {"role": "assistant", "content": ""}))
        if script == "silence":
            await reader.read()  # nothing more until the client gives up
            self.closed[script] = time.monotonic()
            return False
        if script == "trickle":  # keep-alive comments forever: no read timeout ever fires
            try:
                while not reader.at_eof():
                    await self._chunk(writer, ": keep-alive\n\n")
                    try:
                        await asyncio.wait_for(reader.read(1), 0.1)
                    except asyncio.TimeoutError:
                        pass
            finally:  # EOF or a reset: either way the client hung up
                self.closed[script] = time.monotonic()
            return False
        faults = {
            "nonjson": "data: {this is not json\n\n",
            "garbage": "hello, I am not an event stream\n\n",
            "shape": 'data: {"choices": "nope"}\n\n',
            "shape-content": 'data: {"choices": [{"index": 0, "delta": {"content": 5}}]}\n\n',
            "inband-error": f'data: {json.dumps({"error": {"message": SECRET}})}\n\n',
        }
        late = script.startswith("late-")
        fault = script.removeprefix("late-")
        if fault in faults and not late:
            await self._chunk(writer, faults[fault])
            await self._chunk(writer, "")
            return True
        for piece in REPLY[: 5 if script in ("cut", "nodone") or late else None]:
            await asyncio.sleep(self.delay)
            await self._chunk(writer, self.event(model, {"content": piece}))
        if late:
            await self._chunk(writer, faults[fault])
            await self._chunk(writer, "")
            return True
        if script == "cut":  # half a chunk, then the connection is gone
            writer.write(b"400\r\ndata: {\"cho")
            await writer.drain()
            writer.transport.abort()
            return False
        if script != "nodone":
            await self._chunk(writer, self.event(model, {}, "stop"))
            await self._chunk(writer, "data: [DONE]\n\n")
        await self._chunk(writer, "")
        return True
