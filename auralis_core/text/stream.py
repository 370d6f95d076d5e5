"""Cutting a stream of text pieces (e.g. LLM tokens) into sentences as they complete."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable

from .sentences import sentence_spans

# Characters that can end a sentence in some language; without one in the buffer, no sentence
# can have completed, and the segmenter is not run.
_TERMINATOR = re.compile(r"[.!?…;。！？；।॥؟።፧՞]")


async def aiter_text(source: AsyncIterable[str] | Iterable[str]) -> AsyncIterator[str]:
    """Iterate a sync or async iterable of text pieces asynchronously; closing it closes an
    async source too (no generator is left for the garbage collector to finalise)."""
    if isinstance(source, AsyncIterable):
        iterator = aiter(source)
        try:
            async for piece in iterator:
                yield piece
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
    else:
        for piece in source:
            yield piece


class SentenceBuffer:
    """Accumulates text and hands out complete sentences, cut as `split_sentences` cuts them.

    A sentence is complete once the next one has begun (its first non-space character arrived):
    "Jan." followed by " 5th" is then seen as one sentence. ``min_chars`` keeps very short
    sentences ("Hi.") together with the next one so that an engine is not called for a handful of
    characters; ``max_chars`` forces a cut at the last whitespace when no sentence end arrives
    (run-on text from an LLM).
    """

    def __init__(self, language: str = "auto", min_chars: int = 12, max_chars: int = 300) -> None:
        if min_chars < 0 or max_chars <= min_chars:
            raise ValueError("need 0 <= min_chars < max_chars")
        self.language = language
        self.min_chars = min_chars
        self.max_chars = max_chars
        self._buffer = ""

    def push(self, piece: str) -> list[str]:
        if not isinstance(piece, str):
            raise TypeError(f"text stream yielded {type(piece).__name__}, expected str")
        self._buffer += piece
        out: list[str] = []
        if _TERMINATOR.search(self._buffer):
            start = 0
            for s, e in sentence_spans(self._buffer, self.language)[:-1]:  # the last may go on
                if e - start >= self.min_chars:
                    out.append(self._buffer[start:e])
                    start = e
            self._buffer = self._buffer[start:]
        while len(self._buffer) > self.max_chars:
            cut = self._buffer.rfind(" ", 0, self.max_chars)
            cut = cut if cut > 0 else self.max_chars
            out.append(self._buffer[:cut])
            self._buffer = self._buffer[cut:]
        return [" ".join(s.split()) for s in out if s.strip()]

    def flush(self) -> list[str]:
        rest, self._buffer = " ".join(self._buffer.split()), ""
        return [rest] if rest else []


async def iter_sentences(
    source: AsyncIterable[str] | Iterable[str], language: str = "auto", min_chars: int = 12, max_chars: int = 300
) -> AsyncIterator[str]:
    """Yield sentences from a (async) stream of text pieces as soon as each one completes."""
    buffer = SentenceBuffer(language, min_chars, max_chars)
    async with contextlib.aclosing(aiter_text(source)) as pieces:
        async for piece in pieces:
            for sentence in buffer.push(piece):
                yield sentence
    for sentence in buffer.flush():
        yield sentence
