"""The 17 XTTS-v2 languages, their canonical codes and per-language character limits."""

from __future__ import annotations

from auralis_core.errors import UnsupportedLanguageError

ENGINE_NAME = "xttsv2"

#: Canonical language codes, as the XTTS-v2 checkpoint's ``[lang]`` tokens spell them.
LANGUAGES: tuple[str, ...] = (
    "en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru",
    "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja", "hi",
)  # fmt: skip

#: Per-language character budget of one generation segment. Above it the released model tends
#: to truncate audio; the values are those the reference tokenizer warns at (keyed by the
#: canonical code; "zh-cn" is "zh" there).
CHAR_LIMITS: dict[str, int] = {
    "en": 250, "de": 253, "fr": 273, "es": 239, "it": 213, "pt": 203, "pl": 224, "zh-cn": 82,
    "ar": 166, "cs": 186, "ru": 182, "nl": 251, "tr": 226, "ja": 71, "hu": 224, "ko": 95, "hi": 150,
}  # fmt: skip

_ALIASES = {"zh": "zh-cn", "zh-hans": "zh-cn", "zh-cn": "zh-cn", "cmn": "zh-cn"}


def canonical_language(language: object, *, allow_auto: bool = False) -> str:
    """Map a user-supplied code (any case, ``zh``/``zh-CN`` aliases, ``en-US`` style regions)
    to one of :data:`LANGUAGES`; ``"auto"`` is returned as is when ``allow_auto``.

    Raises :class:`UnsupportedLanguageError` for anything else.
    """
    if not isinstance(language, str) or not language.strip():
        raise UnsupportedLanguageError(repr(language), ENGINE_NAME, LANGUAGES + (("auto",) if allow_auto else ()))
    code = language.strip().lower().replace("_", "-")
    if allow_auto and code == "auto":
        return "auto"
    if code in _ALIASES:
        return _ALIASES[code]
    if code in LANGUAGES:
        return code
    base = code.split("-", 1)[0]
    if base == "zh":
        # Only Mandarin in simplified script is in the checkpoint; zh-tw etc. still read as Mandarin.
        return "zh-cn"
    if base in LANGUAGES:
        return base
    raise UnsupportedLanguageError(language, ENGINE_NAME, LANGUAGES + (("auto",) if allow_auto else ()))


def char_limit(language: str) -> int:
    return CHAR_LIMITS[canonical_language(language)]
