"""Cutting a stream of text pieces (e.g. LLM tokens) into sentences as they complete."""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable

# A sentence ends at terminal punctuation (optionally followed by closing quotes/brackets)
# that is followed by whitespace; CJK full stops end a sentence without a following space.
_SENTENCE_END = re.compile(r"(?:[.!?…]+[\"'”’)\]]*\s+|[。！？；]+)")


async def _aiter(source: AsyncIterable[str] | Iterable[str]) -> AsyncIterator[str]:
    if isinstance(source, AsyncIterable):
        async for piece in source:
            yield piece
    else:
        for piece in source:
            yield piece


class SentenceBuffer:
    """Accumulates text and hands out complete sentences.

    ``min_chars`` keeps very short sentences ("Hi.") together with the next one so that an engine
    is not called for a handful of characters; ``max_chars`` forces a cut at the last whitespace
    when no sentence end arrives (run-on text from an LLM).
    """

    def __init__(self, min_chars: int = 12, max_chars: int = 300) -> None:
        if min_chars < 0 or max_chars <= min_chars:
            raise ValueError("need 0 <= min_chars < max_chars")
        self.min_chars = min_chars
        self.max_chars = max_chars
        self._buffer = ""

    def push(self, piece: str) -> list[str]:
        if not isinstance(piece, str):
            raise TypeError(f"text stream yielded {type(piece).__name__}, expected str")
        self._buffer += piece
        out: list[str] = []
        start = 0
        for match in _SENTENCE_END.finditer(self._buffer):
            if match.end() - start >= self.min_chars:
                out.append(self._buffer[start : match.end()].strip())
                start = match.end()
        self._buffer = self._buffer[start:]
        while len(self._buffer) > self.max_chars:
            cut = self._buffer.rfind(" ", 0, self.max_chars)
            cut = cut if cut > 0 else self.max_chars
            out.append(self._buffer[:cut].strip())
            self._buffer = self._buffer[cut:]
        return [s for s in out if s]

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []


async def iter_sentences(
    source: AsyncIterable[str] | Iterable[str], min_chars: int = 12, max_chars: int = 300
) -> AsyncIterator[str]:
    """Yield sentences from a (async) stream of text pieces as soon as each one completes."""
    buffer = SentenceBuffer(min_chars, max_chars)
    async for piece in _aiter(source):
        for sentence in buffer.push(piece):
            yield sentence
    for sentence in buffer.flush():
        yield sentence


def split_sentences(text: str, min_chars: int = 12, max_chars: int = 300) -> list[str]:
    """Split a whole text into sentences with the same rules as the streaming path."""
    buffer = SentenceBuffer(min_chars, max_chars)
    return buffer.push(text + " ") + buffer.flush()
