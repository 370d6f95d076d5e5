"""`split_sentences`: sentence boundaries that survive abbreviations, decimals, times and initials.

Built on pysbd (the Python port of the Pragmatic Segmenter): rule-based, deterministic, no model
download, 23 languages with abbreviation lists, and a golden-rule test set behind it. A statistical
segmenter (spaCy, stanza) would need per-language models; a regex cuts "Jan. 5th". See
docs/text.md for the decisions (paragraphs, line breaks, languages pysbd lacks, "auto").
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from ..errors import InvalidRequestError

if TYPE_CHECKING:
    import pysbd

# A blank line ends a paragraph, and a paragraph always ends a sentence. A single line break does
# not: hard-wrapped prose (e-books, e-mails) would otherwise be cut mid-sentence.
_PARAGRAPH = re.compile(r"\n[^\S\n]*\n\s*")
_LINE_BREAK = str.maketrans({"\n": " ", "\r": " ", "\f": " ", "\v": " "})  # length-preserving
# Languages written with other codes than pysbd's (eSpeak names Chinese by its varieties).
_ALIASES = {"cmn": "zh", "yue": "zh", "hak": "zh", "nan": "zh", "wuu": "zh", "jp": "ja"}


@lru_cache(maxsize=256)
def sentence_rules(language: str) -> type:
    """The pysbd rule set used for ``language`` (a code such as ``"en"``, ``"en-us"``, ``"zh-cn"``).

    ``"auto"`` uses English's rules (the common case, and their abbreviations rarely end a
    sentence in other Latin-script languages); a language with no rule set of its own gets
    language-neutral rules (see `auralis_core.text.rules`).
    """
    from pysbd.languages import LANGUAGE_CODES

    from .rules import OWN_RULES, Neutral, extended

    primary = language.strip().lower().replace("_", "-").split("-")[0]
    primary = _ALIASES.get(primary, primary)
    if primary in ("", "auto"):
        return LANGUAGE_CODES["en"]
    if primary in LANGUAGE_CODES:
        return extended(LANGUAGE_CODES[primary], primary)
    return OWN_RULES.get(primary, Neutral)


def _segmenter(rules: type) -> pysbd.Segmenter:
    import pysbd

    # A fresh segmenter per call: pysbd keeps the text being split on the instance (not
    # thread-safe), and construction is cheap. Rule sets pysbd does not ship are set as its
    # language module, the extension point its own languages use.
    segmenter = pysbd.Segmenter(language="en", clean=False, char_span=True)
    segmenter.language_module = rules
    return segmenter


# pysbd's time grows with the square of a paragraph's length (measured: 5,000 characters 0.08 s,
# 100,000 characters 11 s), so a long paragraph is segmented in windows. Each window starts where
# pysbd ended a sentence, as a paragraph does, and keeps only the cuts it made at least ``_MARGIN``
# characters before its end, which text beyond the window does not move (pysbd's rules look a few
# words around a mark; docs/text.md lists what reaches further). A window with no cut to keep grows
# past the next mark, by at least ``_WINDOW``, up to ``_LONGEST``: a "sentence" longer than that is
# cut at a space. So pysbd never sees more than ``_LONGEST`` characters, and time stays linear.
_WINDOW = 4000
_MARGIN = 1000
_LONGEST = 2 * _WINDOW


@lru_cache(maxsize=64)
def _marks(rules: type) -> re.Pattern[str]:
    """A rule set's sentence-ending marks (its ``Punctuations``: pysbd cuts only after one), with the
    closing quotes, brackets and spaces a cut comes after."""
    marks = re.escape("".join(getattr(rules, "Punctuations", ".!?")))
    return re.compile(f"[{marks}]+[\\s\"'”’»)\\]]*")


# Where pysbd cuts with no sentence mark: before list items ("1)", "(a)"), after a quote that a
# capitalised word follows ('... "so" Then'), and at the characters it uses internally as
# placeholders ("ȸ", "☝", "&ᓰ&", ...), which it mistakes for its own when the text has them.
# Found by checking the shortcut below against pysbd.
_CUTS_WITHOUT_MARK = re.compile("[)\"'“”‘’«»„‟‹›「」『』&∯♟♝♨☝ƪᓴᓷ✂☏☉☈☇☄∮ȹȸ⎋⌬ᓸᓳᓱᓰ♭♬]")


def _one_sentence(paragraph: str, rules: type) -> bool:
    """Whether pysbd can only return ``paragraph`` whole: no sentence mark before its closing run,
    and none of the other places pysbd cuts. Most requests are one sentence, and pysbd takes ~0.5 ms
    over one; this takes microseconds."""
    mark = _marks(rules).search(paragraph)
    body = paragraph if mark is None else paragraph[: mark.start()]
    return (mark is None or mark.end() == len(paragraph)) and not _CUTS_WITHOUT_MARK.search(body)


def _cuts(paragraph: str, rules: type) -> list[int]:
    """Offsets in ``paragraph`` where a new sentence starts."""
    if _one_sentence(paragraph, rules):
        return []
    cuts: list[int] = []
    start, window = 0, _WINDOW
    while len(paragraph) - start > window:
        ends = [s.end for s in _segmenter(rules).segment(paragraph[start:start + window])[:-1]]
        kept = [e for e in ends if 0 < e <= window - _MARGIN]
        if kept:
            cuts += [start + e for e in kept]
            start, window = start + kept[-1], _WINDOW
        elif window >= _LONGEST:  # longer than pysbd is ever given: cut at the last space
            limit = start + window - _MARGIN
            space = paragraph.rfind(" ", start + 1, limit)
            cut = space + 1 if space > start else limit
            cuts.append(cut)
            start, window = cut, _WINDOW
        else:  # the sentence runs past the window: reach past the next mark, by one window at least
            mark = _marks(rules).search(paragraph, start + window - _MARGIN)
            reach = mark.end() - start + _MARGIN if mark else 0
            window = min(_LONGEST, max(window + _WINDOW, reach))
    return cuts + [start + s.end for s in _segmenter(rules).segment(paragraph[start:])[:-1]]


def _paragraphs(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _PARAGRAPH.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return spans


def sentence_spans(text: str, language: str) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of the sentences of ``text``, whitespace trimmed, in order.

    The cuts come from pysbd; the pieces between them are taken from ``text`` itself, so no
    character other than whitespace between sentences is ever dropped.
    """
    if not isinstance(text, str):
        raise InvalidRequestError(f"text must be a string, got {type(text).__name__}", "text")
    if not isinstance(language, str):
        raise InvalidRequestError(f"language must be a string, got {type(language).__name__}", "language")
    rules = sentence_rules(language)
    spans: list[tuple[int, int]] = []
    for p_start, p_end in _paragraphs(text):
        paragraph = text[p_start:p_end].translate(_LINE_BREAK)
        if not paragraph.strip():
            continue
        cuts = [p_start + c for c in _cuts(paragraph, rules)]
        start = p_start
        for end in [c for c in cuts if c > p_start] + [p_end]:
            if end <= start:
                continue
            piece = text[start:end]
            lead = len(piece) - len(piece.lstrip())
            trail = len(piece) - len(piece.rstrip())
            if lead < len(piece):
                spans.append((start + lead, end - trail))
            start = end
    return _attach_bare_punctuation(text, spans)


def _attach_bare_punctuation(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A piece with nothing to say ("." after "it.", pysbd's cut inside "it.. Next") joins the
    sentence before it (or, at the start, the one after): an engine gets no segment to skip."""
    out: list[tuple[int, int]] = []
    pending: int | None = None  # start of bare pieces at the very beginning
    for start, end in spans:
        if not any(ch.isalnum() for ch in text[start:end]):
            if out:
                out[-1] = (out[-1][0], end)
            elif pending is None:
                pending = start
            continue
        out.append((start if pending is None else pending, end))
        pending = None
    if pending is not None:
        out.append((pending, spans[-1][1]))
    return out


def split_sentences(text: str, language: str = "auto") -> list[str]:
    """The sentences of ``text`` in ``language``, punctuation kept, whitespace runs collapsed.

    >>> split_sentences("Mr. Smith paid $3.50 on Jan. 5th, 2024. Dr. No. It is 5 p.m. now.", "en")
    ['Mr. Smith paid $3.50 on Jan. 5th, 2024.', 'Dr. No.', 'It is 5 p.m. now.']

    No length limit is applied: an engine with one (XTTS's per-language character limits) cuts
    long sentences further itself. A blank line always ends a sentence; a single line break is a
    space.
    """
    return [" ".join(text[s:e].split()) for s, e in sentence_spans(text, language)]
