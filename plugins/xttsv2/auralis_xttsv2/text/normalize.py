"""Per-language text normalisation for the alphabetic XTTS-v2 languages (everything but zh/ja).

The released XTTS-v2 checkpoint was trained on text cleaned by Coqui's ``multilingual_cleaners``;
what the GPT expects is therefore *that* spelling, quirks included. This module reimplements the
same steps, in the same order, so that the token ids match the reference exactly:

1. drop ASCII double quotes; Turkish capital İ/Ö/Ü folded first; lowercase;
2. numbers: thousands separators removed (``,`` for en/ru, ``.`` elsewhere), currency amounts
   (£, $, €) spoken with num2words, decimals, ordinals (per-language suffix patterns), cardinals;
3. abbreviations (``mr.`` -> ``mister``...);
4. symbols (``&``, ``@``, ``%``, ``#``, ``$``, ``£``, ``°``) spoken in the language;
5. whitespace collapsed and stripped.

Chinese numbers go through :mod:`.zh_numbers` instead of step 2. Deliberate departures from the
reference are listed in ``docs/text.md`` (for example: where num2words has no ordinal for a
language the reference crashes, we fall back to the cardinal).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from functools import cache

from num2words import num2words

# --------------------------------------------------------------------------- abbreviations
# Expansions of common written abbreviations per language. Matching is case-insensitive, on a
# word boundary and (except Russian, whose hyphenated forms are written without a dot) requires
# the trailing dot. Order matters only where one key is a prefix of another followed by a dot.
_ABBREV_WORDS: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("mrs", "misess"), ("mr", "mister"), ("dr", "doctor"), ("st", "saint"), ("co", "company"),
        ("jr", "junior"), ("maj", "major"), ("gen", "general"), ("drs", "doctors"), ("rev", "reverend"),
        ("lt", "lieutenant"), ("hon", "honorable"), ("sgt", "sergeant"), ("capt", "captain"),
        ("esq", "esquire"), ("ltd", "limited"), ("col", "colonel"), ("ft", "fort"),
    ],
    "es": [
        ("sra", "señora"), ("sr", "señor"), ("dr", "doctor"), ("dra", "doctora"), ("st", "santo"),
        ("co", "compañía"), ("jr", "junior"), ("ltd", "limitada"),
    ],
    "fr": [
        ("mme", "madame"), ("mr", "monsieur"), ("dr", "docteur"), ("st", "saint"), ("co", "compagnie"),
        ("jr", "junior"), ("ltd", "limitée"),
    ],
    "de": [("fr", "frau"), ("dr", "doktor"), ("st", "sankt"), ("co", "firma"), ("jr", "junior")],
    "pt": [
        ("sra", "senhora"), ("sr", "senhor"), ("dr", "doutor"), ("dra", "doutora"), ("st", "santo"),
        ("co", "companhia"), ("jr", "júnior"), ("ltd", "limitada"),
    ],
    "it": [
        ("sig", "signore"), ("dr", "dottore"), ("st", "santo"), ("co", "compagnia"), ("jr", "junior"),
        ("ltd", "limitata"),
    ],
    "pl": [("p", "pani"), ("m", "pan"), ("dr", "doktor"), ("sw", "święty"), ("jr", "junior")],
    "cs": [("dr", "doktor"), ("ing", "inženýr"), ("p", "pan")],
    "ru": [("г-жа", "госпожа"), ("г-н", "господин"), ("д-р", "доктор")],
    "nl": [("dhr", "de heer"), ("mevr", "mevrouw"), ("dr", "dokter"), ("jhr", "jonkheer")],
    "tr": [("b", "bay"), ("byk", "büyük"), ("dr", "doktor")],
    "hu": [("dr", "doktor"), ("b", "bácsi"), ("nőv", "nővér")],
    "ar": [], "ko": [], "hi": [], "zh-cn": [],
}  # fmt: skip

ABBREVIATIONS: dict[str, list[tuple[re.Pattern[str], str]]] = {
    lang: [
        (re.compile(r"\b" + re.escape(abbr) + (r"\b" if lang == "ru" else r"\."), re.IGNORECASE), full)
        for abbr, full in pairs
    ]
    for lang, pairs in _ABBREV_WORDS.items()
}

# --------------------------------------------------------------------------- symbols
_SYMBOL_ORDER = ("&", "@", "%", "#", "$", "£", "°")
_SYMBOL_WORDS: dict[str, tuple[str, ...]] = {
    #         &         @              %             #               $          £          °
    "en": ("and", "at", "percent", "hash", "dollar", "pound", "degree"),
    "es": ("y", "arroba", "por ciento", "numeral", "dolar", "libra", "grados"),
    "fr": ("et", "arobase", "pour cent", "dièse", "dollar", "livre", "degrés"),
    "de": ("und", "at", "prozent", "raute", "dollar", "pfund", "grad"),
    "pt": ("e", "arroba", "por cento", "cardinal", "dólar", "libra", "graus"),
    "it": ("e", "chiocciola", "per cento", "cancelletto", "dollaro", "sterlina", "gradi"),
    "pl": ("i", "małpa", "procent", "krzyżyk", "dolar", "funt", "stopnie"),
    "ar": ("و", "على", "في المئة", "رقم", "دولار", "جنيه", "درجة"),
    "zh-cn": ("和", "在", "百分之", "号", "美元", "英镑", "度"),
    "cs": ("a", "na", "procento", "křížek", "dolar", "libra", "stupně"),
    "ru": ("и", "собака", "процентов", "номер", "доллар", "фунт", "градус"),
    "nl": ("en", "bij", "procent", "hekje", "dollar", "pond", "graden"),
    "tr": ("ve", "at", "yüzde", "diyez", "dolar", "sterlin", "derece"),
    "hu": ("és", "kukac", "százalék", "kettőskereszt", "dollár", "font", "fok"),
    "ko": ("그리고", "에", "퍼센트", "번호", "달러", "파운드", "도"),
    "hi": ("और", "ऐट दी रेट", "प्रतिशत", "हैश", "डॉलर", "पाउंड", "डिग्री"),
}

# --------------------------------------------------------------------------- numbers
# Suffixes that mark an ordinal right after the digits, per language.
_ORDINAL_SUFFIX: dict[str, str] = {
    "en": r"(st|nd|rd|th)",
    "es": r"(º|ª|er|o|a|os|as)",
    "fr": r"(º|ª|er|re|e|ème)",
    "de": r"(st|nd|rd|th|º|ª|\.(?=\s|$))",
    "pt": r"(º|ª|o|a|os|as)",
    "it": r"(º|°|ª|o|a|i|e)",
    "pl": r"(º|ª|st|nd|rd|th)",
    "ar": r"(ون|ين|ث|ر|ى)",
    "cs": r"\.(?=\s|$)",
    "ru": r"(-й|-я|-е|-ое|-ье|-го)",
    "nl": r"(de|ste|e)",
    "tr": r"(\.|inci|nci|uncu|üncü)",
    "hu": r"(\.|adik|edik|odik|ödik|ödike|ik)",
    "ko": r"(번째|번|차|째)",
    "hi": r"(st|nd|rd|th)",
}
ORDINAL_RE = {lang: re.compile(r"([0-9]+)" + suffix) for lang, suffix in _ORDINAL_SUFFIX.items()}
_DIGITS_RE = re.compile(r"[0-9]+")
_DECIMAL_RE = re.compile(r"([0-9]+[.,][0-9]+)")
# Thousands groups. The dot-grouped form deliberately lets any one character separate groups (the
# checkpoint's training text was cleaned that way); only dots are then removed from the match.
_COMMA_GROUPED_RE = re.compile(r"\b\d{1,3}(?:,\d{3})*(?:\.\d+)?\b")
_DOT_GROUPED_RE = re.compile(r"\b\d{1,3}(?:.\d{3})*(?:,\d+)?\b")
_AMOUNT = r"[0-9.,]*[0-9]+"
# (ISO code, pattern) in the order they are expanded.
_CURRENCY_RES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (code, re.compile(rf"(?:{re.escape(sym)}{_AMOUNT})|(?:{_AMOUNT}{re.escape(sym)})"))
    for code, sym in (("GBP", "£"), ("USD", "$"), ("EUR", "€"))
)
# The word num2words puts between the major and minor units; for whole amounts the minor part
# ("zero cents") is cut at its last occurrence.
_CURRENCY_JOINER = {"en": ", ", "es": " con ", "fr": " et ", "de": " und ", "pt": " e ", "it": " e "}
_WHITESPACE_RE = re.compile(r"\s+")

# num2words codes (identical to ours except Chinese, which does not use num2words here).
_N2W_LANG = {lang: lang for lang in _ORDINAL_SUFFIX}


def _say_currency(match: re.Match[str], lang: str, code: str) -> str:
    amount = float(re.sub(r"[^\d.]", "", match.group(0).replace(",", ".")))
    words = num2words(amount, to="currency", currency=code, lang=_N2W_LANG[lang])
    if amount.is_integer():
        cut = words.rfind(_CURRENCY_JOINER.get(lang, ", "))
        if cut != -1:
            words = words[:cut]
    return words


def _say_digits(number: str, lang: str) -> str:
    """Digit by digit, other characters kept: the last resort where num2words fails."""
    n2w = _N2W_LANG[lang]
    return re.sub(r"[0-9]", lambda d: f" {num2words(int(d.group(0)), lang=n2w)} ", number)


def _say_cardinal(number: str, lang: str) -> str:
    # num2words has bugs on some inputs (Hungarian decimals with many places raise KeyError,
    # numbers beyond its largest scale word raise OverflowError...). The reference crashes
    # there; we read such a number digit by digit instead.
    try:
        return num2words(int(number), lang=_N2W_LANG[lang])
    except Exception:  # noqa: BLE001 - num2words raises arbitrary types on inputs it cannot say
        return _say_digits(number, lang)


def _say_decimal(match: re.Match[str], lang: str) -> str:
    number = match.group(1)
    try:
        return num2words(float(number.replace(",", ".")), lang=_N2W_LANG[lang])
    except Exception:  # noqa: BLE001 - see _say_cardinal
        return _say_digits(number, lang)


def _say_ordinal(match: re.Match[str], lang: str) -> str:
    try:
        return num2words(int(match.group(1)), ordinal=True, lang=_N2W_LANG[lang])
    except Exception:  # noqa: BLE001
        # No ordinals in num2words for some languages (cs), broken ones for others (ko >= 100,
        # pl beyond 10^21): say the cardinal rather than fail. A Korean counter (번째, 번, 차, 째)
        # is a word of its own and keeps the ordinal meaning, so it stays: "100번째" -> "백 번째".
        cardinal = _say_cardinal(match.group(1), lang)
        return f"{cardinal} {match.group(2)}" if lang == "ko" else cardinal


@cache
def num2words_supports(lang: str) -> bool:
    """Whether num2words can spell cardinals in ``lang`` (it cannot for Hindi)."""
    try:
        num2words(1, lang=_N2W_LANG[lang])
    except NotImplementedError:
        return False
    return True


def expand_numbers(text: str, lang: str) -> str:
    """Spell out numbers, amounts, decimals and ordinals in ``lang`` (not for zh-cn / ja).

    Where num2words cannot spell numbers at all (Hindi), digits are left as they are (the
    reference raises NotImplementedError on any Hindi text with a digit).
    """
    if not num2words_supports(lang):
        return text
    grouped, sep = (_COMMA_GROUPED_RE, ",") if lang in ("en", "ru") else (_DOT_GROUPED_RE, ".")
    text = grouped.sub(lambda m: m.group(0).replace(sep, ""), text)
    # Amount expansion is all-or-nothing: the first amount num2words cannot say (e.g. no currency
    # support for the language, or "1.2.3$") leaves this and the remaining currencies unexpanded.
    with contextlib.suppress(Exception):  # num2words raises many types for unsupported currencies
        for code, pattern in _CURRENCY_RES:
            text = pattern.sub(lambda m, c=code: _say_currency(m, lang, c), text)
    if lang != "tr":
        text = _DECIMAL_RE.sub(lambda m: _say_decimal(m, lang), text)
    text = ORDINAL_RE[lang].sub(lambda m: _say_ordinal(m, lang), text)
    return _DIGITS_RE.sub(lambda m: _say_cardinal(m.group(0), lang), text)


def expand_abbreviations(text: str, lang: str) -> str:
    for pattern, full in ABBREVIATIONS.get(lang, ()):
        text = pattern.sub(full, text)
    return text


def expand_symbols(text: str, lang: str) -> str:
    for symbol, word in zip(_SYMBOL_ORDER, _SYMBOL_WORDS[lang], strict=True):
        text = text.replace(symbol, f" {word} ")
    return text.strip()


def collapse_whitespace(text: str) -> str:
    return _WHITESPACE_RE.sub(" ", text).strip()


def clean(text: str, lang: str, number_expander: Callable[[str], str] | None = None) -> str:
    """The multilingual cleaner: quotes, case, numbers, abbreviations, symbols, whitespace."""
    text = text.replace('"', "")
    if lang == "tr":
        text = text.replace("İ", "i").replace("Ö", "ö").replace("Ü", "ü")
    text = text.lower()
    text = number_expander(text) if number_expander is not None else expand_numbers(text, lang)
    text = expand_abbreviations(text, lang)
    text = expand_symbols(text, lang)
    return collapse_whitespace(text)
