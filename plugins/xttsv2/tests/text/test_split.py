from __future__ import annotations

import pytest
from auralis_xttsv2.text import CHAR_LIMITS, LANGUAGES, split_text

from auralis_core.errors import InvalidRequestError

LONG = {
    "en": "The committee met on Tuesday, reviewed the budget, discussed the schedule, and agreed on next steps",
    "es": "El comité se reunió el martes, revisó el presupuesto, discutió el calendario y acordó los pasos",
    "fr": "Le comité s'est réuni mardi, a examiné le budget, discuté du calendrier et convenu des étapes",
    "de": "Der Ausschuss traf sich am Dienstag, prüfte den Haushalt, besprach den Zeitplan und einigte sich",
    "it": "Il comitato si è riunito martedì, ha esaminato il bilancio, discusso il calendario e concordato",
    "pt": "O comitê reuniu-se na terça-feira, analisou o orçamento, discutiu o calendário e acordou",
    "pl": "Komitet zebrał się we wtorek, przejrzał budżet, omówił harmonogram i uzgodnił dalsze kroki",
    "tr": "Komite salı günü toplandı, bütçeyi inceledi, takvimi tartıştı ve sonraki adımlarda anlaştı",
    "ru": "Комитет собрался во вторник, рассмотрел бюджет, обсудил график и согласовал дальнейшие шаги",
    "nl": "De commissie kwam dinsdag bijeen, besprak de begroting, het schema en de volgende stappen",
    "cs": "Výbor se sešel v úterý, projednal rozpočet, prodiskutoval harmonogram a dohodl další kroky",
    "ar": "اجتمعت اللجنة يوم الثلاثاء، وراجعت الميزانية، وناقشت الجدول الزمني، واتفقت على الخطوات التالية",
    "zh-cn": "委员会星期二开会，审查了预算，讨论了时间表，并就下一步达成了一致意见",
    "hu": "A bizottság kedden ülésezett, áttekintette a költségvetést, megvitatta az ütemtervet",
    "ko": "위원회는 화요일에 모여 예산을 검토하고, 일정을 논의하고, 다음 단계에 합의했다",
    "ja": "委員会は火曜日に集まり、予算を検討し、日程を話し合い、次の段階について合意した",
    "hi": "समिति मंगलवार को मिली, बजट की समीक्षा की, कार्यक्रम पर चर्चा की और अगले कदमों पर सहमति बनी",
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_long_text_respects_language_limit(lang):
    text = " ".join([LONG[lang] + ("。" if lang in ("zh-cn", "ja") else ".")] * 12)
    parts = split_text(text, lang)
    limit = CHAR_LIMITS[lang]
    assert len(parts) > 1
    assert all(0 < len(p) <= limit for p in parts), [len(p) for p in parts]
    # nothing lost but whitespace
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")


def test_sentences_keep_punctuation_and_abbreviations():
    text = "Hello Mr. Smith. How are you? I'm fine!  J. R. R. Tolkien wrote it…\n\nNew paragraph"
    assert split_text(text, "en") == [
        "Hello Mr. Smith.",
        "How are you?",
        "I'm fine!",
        "J. R. R. Tolkien wrote it…",
        "New paragraph",
    ]


def test_cjk_sentences_without_spaces():
    assert split_text("你好，世界！今天是2024年3月15日。我买了书", "zh-cn") == [
        "你好，世界！",
        "今天是2024年3月15日。",
        "我买了书",
    ]
    assert split_text("こんにちは。元気ですか？", "ja") == ["こんにちは。", "元気ですか？"]


def test_decimal_point_is_not_a_sentence_end():
    assert split_text("It is 3.5 km away. Go.", "en") == ["It is 3.5 km away.", "Go."]


def test_clause_then_whitespace_then_hard():
    clause = split_text("This is a clause, and another clause; and a third: the end of it all here.", "en", 30)
    assert clause == ["This is a clause,", "and another clause;", "and a third:", "the end of it all here."]
    words = split_text("word " * 40, "en", 50)
    assert all(len(w) <= 50 for w in words) and " ".join(words).split() == ["word"] * 40
    hard = split_text("字" * 200, "zh-cn")
    assert [len(h) for h in hard] == [82, 82, 36]


def test_unsplittable_run_raises():
    with pytest.raises(InvalidRequestError, match="unsplittable run of 300"):
        split_text("see " + "a" * 300, "en")


def test_bad_max_chars():
    with pytest.raises(InvalidRequestError):
        split_text("hello", "en", 0)


def test_merge_packs_sentences_within_a_paragraph():
    text = "One. Two. Three.\n\nFour. Five."
    assert split_text(text, "en") == ["One.", "Two.", "Three.", "Four.", "Five."]
    assert split_text(text, "en", merge=True) == ["One. Two. Three.", "Four. Five."]
    assert split_text(text, "en", 10, merge=True) == ["One. Two.", "Three.", "Four.", "Five."]
    assert split_text("你好。我叫安娜。", "zh-cn", merge=True) == ["你好。我叫安娜。"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_merged_segments_respect_limit(lang):
    sentence = LONG[lang][: CHAR_LIMITS[lang] // 3] + ("。" if lang in ("zh-cn", "ja") else ".")
    text = " ".join([sentence] * 20)
    parts = split_text(text, lang, merge=True)
    assert 1 < len(parts) < 20
    assert all(len(p) <= CHAR_LIMITS[lang] for p in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")
