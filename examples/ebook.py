"""Narrate a long text file (an e-book chapter) to one audio file, streaming to disk-friendly chunks.

Usage: python examples/ebook.py [BOOK.txt] [-o OUT.flac] [--engine espeak] [--voice en-gb]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from auralis_core import TTS, TTSOutput, TTSRequest

SAMPLE = (
    "Chapter one. It was a bright cold day in April, and the clocks were striking thirteen. "
    "The hallway smelt of boiled cabbage and old rag mats. At one end of it a coloured poster, "
    "too large for indoor display, had been tacked to the wall. "
) * 3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("book", nargs="?", type=Path, help="UTF-8 text file (a built-in sample if omitted)")
    parser.add_argument("-o", "--out", type=Path, default=Path("out/ebook.flac"))
    parser.add_argument("--engine")
    parser.add_argument("--voice")
    args = parser.parse_args()
    text = args.book.read_text(encoding="utf-8") if args.book else SAMPLE
    with TTS.from_pretrained(engine=args.engine) as tts:
        start = time.perf_counter()
        chunks = []
        for chunk in tts.stream(TTSRequest(text, voice=args.voice)):
            chunks.append(chunk)
            print(f"\rsegment {chunk.segment_index}  {sum(c.duration for c in chunks):7.1f} s audio", end="", flush=True)
        audio = TTSOutput.combine_outputs(chunks)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        audio.save(args.out)
        wall = time.perf_counter() - start
        print(f"\nwrote {args.out}: {audio.duration:.1f} s of audio in {wall:.1f} s (x{audio.duration / wall:.1f} real time)")


if __name__ == "__main__":
    main()
