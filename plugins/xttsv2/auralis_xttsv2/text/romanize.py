"""Romanisation for the scripts the XTTS-v2 BPE vocabulary does not cover: zh, ja, ko.

Each backend is an optional extra of ``auralis-xttsv2``; a missing one raises
:class:`~auralis_core.errors.MissingDependencyError` naming the extra to install.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from auralis_core.errors import MissingDependencyError

_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _pypinyin() -> Any:
    try:
        import pypinyin
    except ImportError as exc:
        raise MissingDependencyError("Chinese (zh-cn) text", "pypinyin", "auralis-xttsv2[zh]") from exc
    return pypinyin


@lru_cache(maxsize=1)
def _cutlet() -> Any:
    try:
        import cutlet
    except ImportError as exc:
        raise MissingDependencyError("Japanese (ja) text", "cutlet", "auralis-xttsv2[ja]") from exc
    try:
        return cutlet.Cutlet()
    except Exception as exc:  # fugashi raises RuntimeError when no MeCab dictionary is installed
        raise MissingDependencyError(
            "Japanese (ja) text (a MeCab dictionary)", "unidic-lite", "auralis-xttsv2[ja]"
        ) from exc


@lru_cache(maxsize=1)
def _hangul() -> Any:
    # ko-speech-tools is what the reference (coqui-tts >= 0.27) uses: a maintained, dependency-free
    # port of hangul-romanize with identical output. The original package is accepted as well.
    try:
        from ko_speech_tools import hangul_romanize

        return hangul_romanize
    except ImportError:
        pass
    try:
        from hangul_romanize import Transliter
        from hangul_romanize.rule import academic
    except ImportError as exc:
        raise MissingDependencyError("Korean (ko) text", "ko-speech-tools", "auralis-xttsv2[ko]") from exc
    return Transliter(academic).translit


def check_available(language: str) -> None:
    """Raise MissingDependencyError now if ``language`` needs an extra that is not installed."""
    if language == "zh-cn":
        _pypinyin()
    elif language == "ja":
        _cutlet()
    elif language == "ko":
        _hangul()


def pinyin(text: str) -> str:
    """Mandarin to numbered-tone pinyin, syllables run together (``你好`` -> ``ni3hao3``);
    neutral tone is ``5``; non-Han runs pass through unchanged."""
    p = _pypinyin()
    syllables = p.pinyin(text, style=p.Style.TONE3, heteronym=False, neutral_tone_with_five=True)
    return "".join(s[0] for s in syllables)


def japanese_romaji(text: str) -> str:
    """Japanese to lowercase Hepburn romaji via cutlet (MeCab tokenisation)."""
    katsu = _cutlet()
    with _LOCK:  # a MeCab tagger is not safe to share between threads
        out = katsu.romaji(text)
    return out.lower()


def korean_romanize(text: str) -> str:
    """Hangul to Revised-Romanisation-like "academic" transliteration, syllable by syllable."""
    return _hangul()(text)
