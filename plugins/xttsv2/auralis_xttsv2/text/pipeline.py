"""Text in, GPT-ready segments out: detect language, split, normalise, tokenize."""

from __future__ import annotations

from dataclasses import dataclass, field

from auralis_core.errors import InvalidRequestError

from . import romanize
from .detect import detect_language
from .languages import canonical_language
from .split import split_text
from .tokenizer import XTTSTokenizer


@dataclass(frozen=True)
class PreparedSegment:
    """One generation segment: the original sentence text, its language and the token ids the
    XTTS GPT takes (``[lang]`` prefix included; [START]/[STOP] are added by the model)."""

    text: str
    language: str
    token_ids: list[int] = field(repr=False)
    normalized_text: str = ""


class TextPipeline:
    """``prepare(text, language)`` -> segments, each within the language's character limit and
    with fewer than ``max_text_tokens`` ids (the checkpoint's ``gpt_max_text_tokens``, 402; the
    reference asserts ``len(ids) < gpt_max_text_tokens``, [lang] included).

    ``merge_sentences`` (default, as the reference's splitter) packs consecutive short sentences
    of a paragraph into one segment up to the character limit; ``False`` gives one segment per
    sentence (earliest first audio for the first sentence, more segments to schedule).
    """

    def __init__(self, tokenizer: XTTSTokenizer, max_text_tokens: int = 402, *, merge_sentences: bool = True) -> None:
        if max_text_tokens < 3:
            raise InvalidRequestError(f"max_text_tokens must be >= 3, got {max_text_tokens}", param="max_text_tokens")
        self.tokenizer = tokenizer
        self.max_text_tokens = int(max_text_tokens)
        self.merge_sentences = merge_sentences

    @property
    def max_ids(self) -> int:
        """Most ids one segment may have ([lang] included)."""
        return self.max_text_tokens - 1

    def resolve_language(self, text: str, language: str) -> str:
        """Canonical code: aliases mapped, ``"auto"`` detected, checked against the vocabulary."""
        lang = canonical_language(language, allow_auto=True)
        if lang == "auto":
            lang = detect_language(text)
        return self.tokenizer.supported_language(lang)

    def prepare(self, text: str, language: str) -> list[PreparedSegment]:
        """Detect (if ``"auto"``), split, normalise and tokenize ``text``; segments in order."""
        if not isinstance(text, str):
            raise InvalidRequestError(f"text must be a string, got {type(text).__name__}", param="text")
        if not text.strip():
            raise InvalidRequestError("text is empty", param="text")
        lang = self.resolve_language(text, language)
        romanize.check_available(lang)
        segments: list[PreparedSegment] = []
        for piece in split_text(text, lang, merge=self.merge_sentences):
            segments.extend(self._fit(piece, lang))
        if not segments:
            raise InvalidRequestError(f"nothing speakable in {text[:40]!r}", param="text")
        return segments

    def _fit(self, piece: str, lang: str) -> list[PreparedSegment]:
        """Tokenize ``piece``; if it has too many ids (numbers spell out long), cut it shorter."""
        # Coqui's ``Xtts.inference`` lowercases each sentence before its tokenizer cleans it, so
        # Turkish "İ" arrives as "i" + U+0307 and the cleaner's İ->i fold never fires there.
        normalized = self.tokenizer.normalize(piece.strip().lower(), lang)
        if not normalized.strip():
            return []  # only characters the normaliser drops (e.g. a lone quote)
        ids = self.tokenizer.encode_normalized(normalized, lang)
        if len(ids) <= self.max_ids:
            return [PreparedSegment(text=piece, language=lang, token_ids=ids, normalized_text=normalized)]
        unsplittable = InvalidRequestError(
            f"{piece[:40]!r} needs {len(ids)} text tokens and cannot be split under "
            f"max_text_tokens={self.max_text_tokens}",
            param="text",
        )
        # Cut to a character budget proportional to the token overshoot (with 10% slack).
        budget = min(len(piece) - 1, int(len(piece) * (self.max_ids - 1) / len(ids) * 0.9))
        if budget < 1:
            raise unsplittable
        try:
            parts = split_text(piece, lang, max_chars=budget, merge=self.merge_sentences)
        except InvalidRequestError as exc:  # a word longer than the budget
            raise unsplittable from exc
        if len(parts) == 1:
            raise unsplittable
        out: list[PreparedSegment] = []
        for part in parts:
            out.extend(self._fit(part, lang))
        return out
