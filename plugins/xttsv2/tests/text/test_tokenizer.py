from __future__ import annotations

import json

import pytest
from auralis_xttsv2.text import XTTSTokenizer, canonical_language
from auralis_xttsv2.text.tokenizer import normalize_text

from auralis_core.errors import EngineLoadError, InvalidRequestError, MissingDependencyError, UnsupportedLanguageError


def test_special_ids_and_language_tokens(tokenizer):
    vocab = json.loads((tokenizer.vocab_path).read_text())
    added = {t["content"]: t["id"] for t in vocab["added_tokens"]}
    assert (tokenizer.stop_id, tokenizer.unk_id, tokenizer.space_id) == (0, 1, 2)
    assert tokenizer.start_id == added["[START]"]
    assert len(tokenizer.languages) == 17
    assert tokenizer.language_id("zh") == added["[zh-cn]"]
    ids = tokenizer.encode("hello world", "en")
    assert ids[0] == added["[en]"]
    assert tokenizer.space_id in ids


def test_existing_model_fixture_vocab_loads(small_dir):
    tok = XTTSTokenizer(small_dir / "vocab.json")
    assert tok.vocab_size == 71
    assert tok.decode(tok.encode("the end", "en")) == "[en]the end"


def test_unknown_characters_become_unk(tokenizer):
    ids = tokenizer.encode("ʘʘ", "en")
    assert tokenizer.unk_id in ids


def test_language_aliases():
    assert canonical_language("zh") == "zh-cn"
    assert canonical_language("ZH-CN") == "zh-cn"
    assert canonical_language("en-US") == "en"
    assert canonical_language("pt_BR") == "pt"
    assert canonical_language("auto", allow_auto=True) == "auto"


@pytest.mark.parametrize("bad", ["xx", "klingon", "", "auto", None])
def test_unsupported_language(tokenizer, bad):
    with pytest.raises(UnsupportedLanguageError) as err:
        tokenizer.encode("hello", bad)
    assert err.value.param == "language"


def test_missing_vocab(tmp_path):
    with pytest.raises(EngineLoadError, match="not found"):
        XTTSTokenizer(tmp_path / "nope.json")


def test_corrupt_vocab(tmp_path):
    p = tmp_path / "vocab.json"
    p.write_text("{not json")
    with pytest.raises(EngineLoadError, match="not a valid"):
        XTTSTokenizer(p)
    p.write_text(json.dumps({"hello": 1}))
    with pytest.raises(EngineLoadError):
        XTTSTokenizer(p)


def test_vocab_without_special_tokens(tmp_path):
    from tokenizers import Tokenizer
    from tokenizers.models import BPE
    from tokenizers.pre_tokenizers import Whitespace

    tok = Tokenizer(BPE(vocab={"[UNK]": 0, "a": 1}, merges=[], unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    p = tmp_path / "vocab.json"
    tok.save(str(p))
    with pytest.raises(EngineLoadError, match=r"\[START\]"):
        XTTSTokenizer(p)


def test_decode_rejects_out_of_range(tokenizer):
    with pytest.raises(InvalidRequestError):
        tokenizer.decode([10**6])


def test_decode_accepts_arrays(tokenizer):
    np = pytest.importorskip("numpy")
    ids = tokenizer.encode("hello there", "en")
    assert tokenizer.decode(np.array(ids)) == tokenizer.decode(ids)


def test_non_string_text(tokenizer):
    with pytest.raises(InvalidRequestError):
        tokenizer.encode(123, "en")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lang", "modules", "extra"),
    [
        ("zh-cn", ["pypinyin"], "auralis-xttsv2[zh]"),
        ("ja", ["cutlet"], "auralis-xttsv2[ja]"),
        ("ko", ["ko_speech_tools", "hangul_romanize"], "auralis-xttsv2[ko]"),
    ],
)
def test_missing_extra_names_the_extra(monkeypatch, lang, modules, extra):
    import sys

    from auralis_xttsv2.text import romanize

    for cached in (romanize._pypinyin, romanize._cutlet, romanize._hangul):
        cached.cache_clear()
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    try:
        with pytest.raises(MissingDependencyError) as err:
            normalize_text("안녕 你好 こんにちは", lang)
        assert extra in str(err.value)
    finally:
        for cached in (romanize._pypinyin, romanize._cutlet, romanize._hangul):
            cached.cache_clear()


def test_zh_numbers_units():
    from auralis_xttsv2.text.zh_numbers import spell_number

    assert spell_number("10") == "十"
    assert spell_number("12") == "十二"
    assert spell_number("20") == "二十"
    assert spell_number("200") == "两百"
    assert spell_number("1200") == "一千两百"
    assert spell_number("10086") == "一万零八十六"
    assert spell_number("100000") == "十万"
    assert spell_number("123456789") == "一亿两千三百四十五万六千七百八十九"
    assert spell_number("0.5") == "零点五"
    assert spell_number("2024", units=False, liang=False) == "二零二四"
    with pytest.raises(ValueError):
        spell_number("1.2.3")


def test_vocab_mismatch_message(tmp_path):
    from tokenizers import Tokenizer
    from tokenizers.models import BPE

    tok = Tokenizer(BPE(vocab={"[UNK]": 0, "[STOP]": 1, "a": 2}, merges=[], unk_token="[UNK]"))
    p = tmp_path / "vocab.json"
    tok.save(str(p))
    with pytest.raises(EngineLoadError, match=r"vocab mismatch: .* lacks the special token\(s\) \[START\], \[SPACE\]"):
        XTTSTokenizer(p)


def test_check_compatible_with_checkpoint_config(tokenizer):
    n = tokenizer.number_text_tokens
    raw = json.loads(tokenizer.vocab_path.read_text())
    # Coqui's get_number_tokens: highest id, added tokens ([START], [lang]) included, + 1
    assert n == max([*raw["model"]["vocab"].values(), *(t["id"] for t in raw["added_tokens"])]) + 1
    tokenizer.check_compatible(n, tokenizer.start_id, tokenizer.stop_id)  # no error
    with pytest.raises(EngineLoadError, match=f"vocab mismatch.*it has {n} text tokens, the model 6681"):
        tokenizer.check_compatible(6681, tokenizer.start_id, tokenizer.stop_id)
    with pytest.raises(EngineLoadError, match=r"\[START\] is id \d+, the model starts text with 261"):
        tokenizer.check_compatible(n, 261, tokenizer.stop_id)
    with pytest.raises(EngineLoadError, match=r"\[STOP\] is id 0, the model stops text with 5"):
        tokenizer.check_compatible(n, tokenizer.start_id, 5)


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        # num2words raises OverflowError / KeyError past its largest scale word: digit by digit
        ("1" + "0" * 110, "tr", "bir" + " sıfır" * 110),
        ("1" + "0" * 110, "ru", "один" + " ноль" * 110),
        # Hungarian decimals with many places crash num2words
        ("6,927587", "hu", "hat , kilenc kettő hét öt nyolc hét"),
        # Korean ordinals crash from 100 on: cardinal + counter; below 100 num2words' ordinal
        ("100번째", "ko", "baeg beon-jjae"),
        ("1번째", "ko", "cheos beon-jjae"),
    ],
)
def test_num2words_failures_degrade(text, lang, expected):
    assert normalize_text(text, lang) == expected
