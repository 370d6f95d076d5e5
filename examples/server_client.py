"""Talk to the Auralis server with the official `openai` client.

    python examples/server_client.py [OUTDIR] [--url http://127.0.0.1:8000] [--api-key KEY]

With no --url it starts `auralis serve` (eSpeak) on a free loopback port and stops it at the end.
Writes OUTDIR/server_speech.wav (one call) and OUTDIR/server_stream.wav (streamed pcm).
"""

from __future__ import annotations

import argparse
import base64
import json
import socket
import subprocess
import sys
import time
import wave
from pathlib import Path

import httpx
import openai


def start_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "auralis_core.cli.main", "serve", "--engine", "espeak",
                             "--port", str(port), "--log-level", "warning"])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health/ready", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the server did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("outdir", nargs="?", default=".", type=Path)
    parser.add_argument("--url", help="a running server (default: start one)")
    parser.add_argument("--api-key", default="not-needed")
    args = parser.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)

    proc, url = (None, args.url.rstrip("/")) if args.url else start_server()
    try:
        client = openai.OpenAI(base_url=url + "/v1", api_key=args.api_key)
        print("models:", [m.id for m in client.models.list()])

        # 1) one call, whole file (OpenAI voice names work; extra_body carries Auralis extensions)
        speech = client.audio.speech.create(
            model="tts-1", voice="alloy", input="Hello from Auralis, through the OpenAI client.",
            response_format="wav", speed=1.1, extra_body={"language": "en-gb"},
        )
        (args.outdir / "server_speech.wav").write_bytes(speech.content)

        # 2) streamed raw pcm (24 kHz 16-bit mono): play or save pieces as they arrive
        pcm = bytearray()
        started = time.perf_counter()
        with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="nova", response_format="pcm",
            input="Streaming starts after the first sentence. The rest follows while you listen.",
        ) as response:
            for i, piece in enumerate(response.iter_bytes()):
                if i == 0:
                    print(f"first audio after {1000 * (time.perf_counter() - started):.0f} ms")
                pcm += piece
        with wave.open(str(args.outdir / "server_stream.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(24000)
            out.writeframes(bytes(pcm))

        # 3) server-sent events: speech.audio.delta ... speech.audio.done
        audio = b""
        with client.audio.speech.with_streaming_response.create(
            model="tts-1", voice="alloy", input="Events, too.", response_format="pcm", stream_format="sse",
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    event = json.loads(line[5:])
                    if event["type"] == "speech.audio.delta":
                        audio += base64.b64decode(event["audio"])
                    elif event["type"] == "speech.audio.done":
                        print("sse usage:", event["usage"])
        print(f"sse audio: {len(audio) / 48000:.2f} s; wrote {args.outdir / 'server_speech.wav'} and server_stream.wav")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
