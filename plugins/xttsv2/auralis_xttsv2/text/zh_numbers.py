"""Mandarin number normalisation: Arabic numerals to Chinese numerals, punctuation to commas.

The XTTS-v2 checkpoint was trained on Chinese text normalised by a WeNet-style "TextNorm" pass
(dates, money, phone numbers, fractions, percentages, measure-word quantities, digit strings,
plain cardinals; then every punctuation mark becomes an ASCII comma). This module reimplements
that pass in the same order so that the pinyin fed to the tokenizer matches. It is applied to
text that is already lowercased.
"""

from __future__ import annotations

import re
import string

_DIGIT_CHARS = "零一二三四五六七八九"
_LIANG = "两"
_POINT = "点"
# (power of ten, character) for the units, largest first. Myriad-based ("mid") system:
# 亿 = 10^8, 兆 = 10^12, 京 = 10^16, ...
_UNITS: tuple[tuple[int, str], ...] = tuple(
    sorted(
        [(1, "十"), (2, "百"), (3, "千"), (4, "万")]
        + [(8 + 4 * i, ch) for i, ch in enumerate("亿兆京垓秭穰沟涧正载")],
        reverse=True,
    )
)
_UNIT_CHAR = dict(_UNITS)


def _grouped(value: str) -> list[tuple[str, int]]:
    """Symbols for an integer string: ('d', digit) and ('u', power) items."""
    significant = value.lstrip("0")
    if not significant:
        return []
    if len(significant) == 1:
        lead_zero = [("d", 0)] if len(significant) != len(value) else []
        return lead_zero + [("d", int(significant))]
    power = next(p for p, _ in _UNITS if p < len(significant))
    return _grouped(value[:-power]) + [("u", power)] + _grouped(significant[-power:])


def spell_number(number: str, *, units: bool = True, liang: bool = True) -> str:
    """``"1200"`` -> ``"一千两百"``; ``"12.5"`` -> ``"十二点五"``; ``units=False`` reads digit by digit."""
    whole, _, frac = number.partition(".")
    if "." in frac:
        raise ValueError(f"not a number: {number!r}")
    if units and len(whole) > 1:
        symbols = _grouped(whole)
    else:
        symbols = [("d", int(c)) for c in whole]
    if frac:
        symbols = symbols + [("p", 0)] + [("d", int(c)) for c in frac]
    out = []
    for i, (kind, val) in enumerate(symbols):
        if kind == "d":
            ch = _DIGIT_CHARS[val]
            if liang and val == 2:
                nxt = symbols[i + 1] if i + 1 < len(symbols) else None
                prev = symbols[i - 1] if i > 0 else None
                # 两 before 百/千/万/亿... when not itself following a 十 or a digit
                before_big_unit = nxt is not None and nxt[0] == "u" and nxt[1] != 1
                if before_big_unit and (prev is None or (prev[0] == "u" and prev[1] != 1)):
                    ch = _LIANG
            out.append(ch)
        elif kind == "u":
            out.append(_UNIT_CHAR[val])
        else:
            out.append(_POINT)
    text = "".join(out)
    if text.startswith(_POINT):
        return _DIGIT_CHARS[0] + text
    if len(text) >= 2 and text[0] == "一" and text[1] == "十":  # 10..19: 十, 十一, ...
        text = text[1:]
    return text


def _digits(number: str) -> str:
    return spell_number(number, units=False, liang=False)


# Classifiers and units after which the checkpoint's training text read a number as a quantity
# (with units, never digit by digit). The set is deliberately narrow, like the normaliser it must
# reproduce: 米 alone, 项, 笔, 次 ... are *not* in it, so "34783米" is read digit by digit.
_QUANTIFIER_CHARS = frozenset(
    # classifiers for things, animals, people, events
    "个只匹张座回场尾条首阙阵网炮顶丘棵支袭辆挑担颗壳窠曲墙群腔砣客贯扎捆刀令打手罗"
    "坡山岭江溪钟队单双对出口头脚板跳枝件贴针线管名位身堂课本页家户层丸泡粒幢堆根道面片块"
    # weights, lengths, volumes (traditional units)
    "丝毫厘分钱两斤铢石钧锱忽寸尺丈里寻常铺程撮勺合升斗斛"
    # containers
    "盘碗碟叠桶笼盆盒杯簋篮罐瓶壶卮盏箩箱煲啖袋钵锅"
    # time
    "年月日季刻时周天秒旬纪岁世更夜春夏秋冬代伏辈"
)
# Metric units spelled with two characters whose first character is not itself a quantifier.
_QUANTIFIER_PAIRS = ("千克", "微克", "千米", "微米")
_QUANTITY_RE = re.compile(
    r"(\d+(?:\.\d+)?)[多余几]?(?:" + "|".join(_QUANTIFIER_PAIRS) + "|[" + "".join(sorted(_QUANTIFIER_CHARS)) + "])"
)
_DATE_RE = re.compile(r"\D+((?:(?:[089]\d|(?:19|20)\d{2})年)?(?:\d{1,2}月(?:\d{1,2}[日号])?)?)")
# Alternatives are tried left to right and the first that fits wins, so a bare 万/千/... is taken
# before 万元: in "7.6万元3" the amount is "7.6万" and the 3 stays for later rules.
_MONEY_UNIT = r"(?:亿|千万|百万|万|千|百|(?:亿|千万|百万|万|千|百)?元|(?:亿|千万|百万|万|千|百)?块|角|毛|分)"
_MONEY_RE = re.compile(r"\D+((\d+(?:\.\d+)?)[多余几]?" + _MONEY_UNIT + r"(?:\d" + _MONEY_UNIT + r"?)?)")
_MOBILE_RE = re.compile(r"\D((?:\+?86 ?)?1(?:[38]\d|5[0-35-9]|7[678]|9[89])\d{8})\D")
_LANDLINE_RE = re.compile(r"\D((?:0(?:10|2[1-3]|[3-9]\d{2})-?)?[1-9]\d{6,7})\D")
_FRACTION_RE = re.compile(r"\d+/\d+")
_PERCENT_RE = re.compile(r"\d+(?:\.\d+)?%")
_LONG_DIGITS_RE = re.compile(r"\d{4,32}")
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
_LATIN_TWO_LATIN_RE = re.compile(r"([a-zA-Z]+)二([a-zA-Z]+)")

# Punctuation that becomes ",": ASCII punctuation, CJK punctuation, full-width ASCII punctuation,
# typographic quotes/dashes/ellipsis.
_CJK_PUNCT = (
    "".join(chr(c) for c in range(0xFF01, 0xFF10) if c != 0xFF0E)
    + "".join(chr(c) for c in range(0xFF1A, 0xFF21))
    + "".join(chr(c) for c in range(0xFF3B, 0xFF41))
    + "".join(chr(c) for c in range(0xFF5B, 0xFF65))
    + "、。〃〈〉《》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿"
    + "–—‘’‛“”„‟…‧﹏·"
)
_PUNCT_TO_COMMA = str.maketrans({c: "," for c in _CJK_PUNCT + string.punctuation})


def _date(text: str) -> str:
    year, sep, rest = text.partition("年")
    if not sep:
        year, rest = "", text
    else:
        year = _digits(year) + "年"
    month = day = ""
    if rest:
        m, sep, d = rest.partition("月")
        if sep:
            month = spell_number(m) + "月"
        else:
            d = text
        if d:
            day = spell_number(d[:-1]) + d[-1]
    return year + month + day


def _money(amount: str) -> str:
    # Every occurrence of each number found is replaced, in order (so "1元1" -> "一元一").
    for number in _NUMBER_RE.findall(amount):
        amount = amount.replace(number, spell_number(number))
    return amount


def _replace_first_each(text: str, found: list[str], convert) -> str:
    # Each match is replaced at its first occurrence in the current text, in match order.
    for item in found:
        text = text.replace(item, convert(item), 1)
    return text


def normalize_numbers(text: str) -> str:
    """Spell out Arabic numerals in Mandarin and turn every punctuation mark into ``,``."""
    text = "^" + text + "$"
    text = _replace_first_each(text, [m.group(1) for m in _DATE_RE.finditer(text)], _date)
    text = _replace_first_each(
        text,
        [m.group(1) for m in _MONEY_RE.finditer(text)],
        _money,
    )
    text = _replace_first_each(
        text,
        [m.group(1) for m in _MOBILE_RE.finditer(text)],
        lambda s: "".join(_digits(part) for part in s.strip("+").split()),
    )
    text = _replace_first_each(
        text,
        [m.group(1) for m in _LANDLINE_RE.finditer(text)],
        lambda s: "".join(_digits(part) for part in s.split("-")),
    )

    def fraction(s: str) -> str:
        num, den = s.split("/")
        return spell_number(den) + "分之" + spell_number(num)

    text = _replace_first_each(text, _FRACTION_RE.findall(text), fraction)
    text = text.replace("％", "%")
    text = _replace_first_each(text, _PERCENT_RE.findall(text), lambda s: "百分之" + spell_number(s.strip().strip("%")))
    text = _replace_first_each(text, [m.group(1) for m in _QUANTITY_RE.finditer(text)], spell_number)
    text = _replace_first_each(text, _LONG_DIGITS_RE.findall(text), _digits)
    text = _replace_first_each(text, _NUMBER_RE.findall(text), spell_number)
    text = _LATIN_TWO_LATIN_RE.sub(lambda m: m.group(1) + "2" + m.group(2), text)
    text = text.lstrip("^").rstrip("$")
    return text.translate(_PUNCT_TO_COMMA)
