"""Stream audio chunks asynchronously, from plain text and from text that arrives piece by piece."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from auralis_core import TTS, TTSOutput, TTSRequest


async def llm_like_tokens():
    for word in "Streaming text in works too. Each sentence is spoken as soon as it is complete.".split():
        yield word + " "
        await asyncio.sleep(0.01)


async def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    tts = TTS.from_pretrained()
    try:
        start = time.perf_counter()
        chunks = []
        async for chunk in tts.stream_async(TTSRequest("First sentence. Second sentence. Third sentence.", stream=True)):
            if not chunks:
                print(f"first audio after {time.perf_counter() - start:.3f} s")
            chunks.append(chunk)
        TTSOutput.combine_outputs(chunks).save(out_dir / "async_stream.wav")
        # several requests at once share the engine; each gets its own audio back
        outputs = await asyncio.gather(*[tts.generate_speech_async(f"Request number {i}.") for i in range(4)])
        print("concurrent durations:", [round(o.duration, 2) for o in outputs])
        streamed = [c async for c in tts.stream_async(TTSRequest(llm_like_tokens()))]
        TTSOutput.combine_outputs(streamed).save(out_dir / "text_stream.wav")
        print("wrote", out_dir / "async_stream.wav", "and", out_dir / "text_stream.wav")
    finally:
        await tts.shutdown_async()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "out")))
