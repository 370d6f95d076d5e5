"""Sentence splitting under the per-language character limits of XTTS-v2.

Text is cut at sentence ends as `auralis_core.text.split_sentences` finds them (punctuation kept
with its sentence; paragraph breaks always end a segment). The limits, and packing sentences up
to them, follow Coqui's reference, which only splits a text longer than the limit. A sentence
longer than the limit is cut at clause punctuation, then at whitespace, then hard between
characters of scripts written without spaces (CJK, kana, hangul). A run of characters that cannot
be cut (e.g. one 300-letter "word" or URL) and is longer than the limit raises :class:`~auralis_core.errors.InvalidRequestError`.
"""

from __future__ import annotations

import re

from auralis_core.errors import InvalidRequestError
from auralis_core.text import split_sentences as core_split_sentences

from .languages import CHAR_LIMITS, canonical_language

_CLOSERS = "\"'”’»)]}」』）】〉》"
_CLAUSE_END = re.compile(r"[,;:،؛—–、，；：](?:[" + re.escape(_CLOSERS) + r"]*)(?=\s|$)|[、，；：]")
_PARAGRAPH = re.compile(r"\n\s*\n|\r\n\s*\r\n")
# Scripts written without spaces: each character is a cut point.
_NO_SPACE_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff66-\uff9f]")


def _paragraph_sentences(text: str, language: str) -> list[list[str]]:
    """Sentences per paragraph, found by the core's splitter (abbreviations, decimals, times)."""
    paragraphs = [core_split_sentences(paragraph, language) for paragraph in _PARAGRAPH.split(text)]
    return [sentences for sentences in paragraphs if sentences]


def _pack(units: list[str], limit: int) -> list[str]:
    """Greedy packing of consecutive pieces (each already <= limit) into chunks <= limit."""
    chunks: list[str] = []
    current = ""
    for unit in units:
        candidate = current + unit
        if current and len(candidate.strip()) > limit:
            chunks.append(current.strip())
            current = unit
        else:
            current = candidate
    if current.strip():
        chunks.append(current.strip())
    return chunks


def _split_at(pattern: re.Pattern[str], text: str) -> list[str]:
    pieces, start = [], 0
    for m in pattern.finditer(text):
        pieces.append(text[start : m.end()])
        start = m.end()
    pieces.append(text[start:])
    return [p for p in pieces if p]


def _atoms(word: str) -> list[str]:
    """Cut points inside a whitespace-free run: around every no-space-script character."""
    atoms: list[str] = []
    buf = ""
    for ch in word:
        if _NO_SPACE_CHAR.match(ch):
            if buf:
                atoms.append(buf)
                buf = ""
            atoms.append(ch)
        else:
            buf += ch
    if buf:
        atoms.append(buf)
    # Keep punctuation that follows a character attached to it.
    merged: list[str] = []
    for a in atoms:
        if merged and not a[0].isalnum() and not _NO_SPACE_CHAR.match(a[0]):
            merged[-1] += a
        else:
            merged.append(a)
    return merged


def _fit_words(text: str, limit: int) -> list[str]:
    units: list[str] = []
    for word_and_space in re.findall(r"\S+\s*", text):
        word = word_and_space.rstrip()
        if len(word) <= limit:
            units.append(word_and_space)
            continue
        atoms = _atoms(word)
        for atom in atoms:
            if len(atom) > limit:
                raise InvalidRequestError(
                    f"text contains an unsplittable run of {len(atom)} characters "
                    f"(limit {limit}): {atom[:40]!r}...",
                    param="text",
                )
        units.extend(_pack(atoms, limit))
        units[-1] += word_and_space[len(word) :]
    return _pack(units, limit)


def _split_long(sentence: str, limit: int) -> list[str]:
    if len(sentence) <= limit:
        return [sentence]
    out: list[str] = []
    for clause in _pack(_split_at(_CLAUSE_END, sentence), limit):
        if len(clause) <= limit:
            out.append(clause)
        else:
            out.extend(_fit_words(clause, limit))
    return out


def _merge(pieces: list[str], limit: int, joiner: str) -> list[str]:
    """Greedily join consecutive pieces while the result stays within ``limit``."""
    merged: list[str] = []
    for piece in pieces:
        if merged and len(merged[-1]) + len(joiner) + len(piece) <= limit:
            merged[-1] += joiner + piece
        else:
            merged.append(piece)
    return merged


def split_text(text: str, language: str, max_chars: int | None = None, *, merge: bool = False) -> list[str]:
    """Segments of ``text`` for ``language``, each at most ``max_chars`` characters (default:
    the language's XTTS character limit); sentence punctuation stays with its sentence.

    ``merge=True`` packs consecutive sentences of a paragraph into one segment while they fit,
    as the reference's splitter does (fewer, longer segments; more natural prosody across short
    sentences). A paragraph break always ends a segment.
    """
    language = canonical_language(language)
    limit = CHAR_LIMITS[language] if max_chars is None else int(max_chars)
    if limit < 1:
        raise InvalidRequestError(f"max_chars must be >= 1, got {max_chars}", param="max_chars")
    joiner = "" if language in ("zh-cn", "ja") else " "
    segments: list[str] = []
    for paragraph in _paragraph_sentences(text, language):
        pieces = [piece for sentence in paragraph for piece in _split_long(sentence, limit)]
        segments.extend(_merge(pieces, limit, joiner) if merge else pieces)
    return segments
