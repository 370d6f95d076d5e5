"""`auralis_core.text.split_sentences`: a table of cases for every language an engine declares
(XTTS-v2's 17, plus eSpeak languages with their own rules and the language-neutral fallback)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auralis_core.errors import InvalidRequestError
from auralis_core.text import sentence_rules, sentence_spans, split_sentences
from auralis_core.text import sentences

ISSUE_EXAMPLE = "Mr. Smith paid $3.50 on Jan. 5th, 2024. Dr. No. It is 5 p.m. now."

# (language, text, expected sentences): abbreviations, decimals, times and initials per language.
CASES: list[tuple[str, str, list[str]]] = [
    ("en", ISSUE_EXAMPLE, ["Mr. Smith paid $3.50 on Jan. 5th, 2024.", "Dr. No.", "It is 5 p.m. now."]),
    ("en", "J. R. R. Tolkien wrote it in 1937. The U.S. edition came later! Did you read it?",
     ["J. R. R. Tolkien wrote it in 1937.", "The U.S. edition came later!", "Did you read it?"]),
    ("en", "Wait... is it 10:30 already? Dr. Jones said no!", ["Wait... is it 10:30 already?", "Dr. Jones said no!"]),
    ("es", "El Sr. García llegó a las 10.30 h. Pagó 3,50 euros. ¿Vienes mañana? ¡Claro que sí!",
     ["El Sr. García llegó a las 10.30 h.", "Pagó 3,50 euros.", "¿Vienes mañana?", "¡Claro que sí!"]),
    ("es", "Vive en la Avda. de la Constitución, núm. 5. Es muy bonito.",
     ["Vive en la Avda. de la Constitución, núm. 5.", "Es muy bonito."]),
    ("fr", "M. Dupont est arrivé à 8 h 30. Il a payé 3,50 €. N'est-ce pas ? Oui !",
     ["M. Dupont est arrivé à 8 h 30.", "Il a payé 3,50 €.", "N'est-ce pas ?", "Oui !"]),
    ("fr", "Le Dr. Martin habite au no. 5 de la rue. Il est là.", ["Le Dr. Martin habite au no. 5 de la rue.", "Il est là."]),
    ("de", "Um 10.30 Uhr kommt Prof. Weber. Er ist pünktlich. Heute ist der 1. Mai.",
     ["Um 10.30 Uhr kommt Prof. Weber.", "Er ist pünktlich.", "Heute ist der 1. Mai."]),
    ("de", "Es kostet 3,50 Euro, z. B. heute. Dr. Müller kommt.", ["Es kostet 3,50 Euro, z. B. heute.", "Dr. Müller kommt."]),
    ("it", "Il sig. Rossi ha pagato 3,50 euro. Sono le 9.30. Che bella giornata!",
     ["Il sig. Rossi ha pagato 3,50 euro.", "Sono le 9.30.", "Che bella giornata!"]),
    ("it", "Il dott. Bianchi abita in via Roma n. 5. Arriva domani.", ["Il dott. Bianchi abita in via Roma n. 5.", "Arriva domani."]),
    ("pt", "O Sr. Silva pagou 3,50 euros às 10h30. A Dra. Costa chegou. Tudo bem?",
     ["O Sr. Silva pagou 3,50 euros às 10h30.", "A Dra. Costa chegou.", "Tudo bem?"]),
    ("pt", "Ele mora na Av. Paulista, nº 5. É longe.", ["Ele mora na Av. Paulista, nº 5.", "É longe."]),
    ("pl", "Pan Kowalski zapłacił 3,50 zł. Jest godz. 10.30, tzn. późno. Dzień dobry!",
     ["Pan Kowalski zapłacił 3,50 zł.", "Jest godz. 10.30, tzn. późno.", "Dzień dobry!"]),
    ("pl", "Prof. Nowak mieszka przy ul. Długiej 5. Jutro przyjedzie.",
     ["Prof. Nowak mieszka przy ul. Długiej 5.", "Jutro przyjedzie."]),
    ("tr", "Dr. Ahmet saat 10.30'da geldi. Fiyatı 3,50 lira. Prof. Yılmaz da geldi.",
     ["Dr. Ahmet saat 10.30'da geldi.", "Fiyatı 3,50 lira.", "Prof. Yılmaz da geldi."]),
    ("ru", "Д-р Иванов пришёл в 10.30. Он заплатил 3,50 руб. и ушёл. Привет! Как дела?",
     ["Д-р Иванов пришёл в 10.30.", "Он заплатил 3,50 руб. и ушёл.", "Привет!", "Как дела?"]),
    ("ru", "Это произошло в 1999 г. в Москве. Давно.", ["Это произошло в 1999 г. в Москве.", "Давно."]),
    ("nl", "Dhr. de Vries betaalde € 3,50. Het is 10.30 uur. Goedemorgen!",
     ["Dhr. de Vries betaalde € 3,50.", "Het is 10.30 uur.", "Goedemorgen!"]),
    ("nl", "Mevr. Jansen woont er o.a. met haar man. Ze is blij.", ["Mevr. Jansen woont er o.a. met haar man.", "Ze is blij."]),
    ("cs", "Ing. Novák zaplatil 3,50 Kč. Je 10.30 hod. Dobrý den! Jak se máte?",
     ["Ing. Novák zaplatil 3,50 Kč.", "Je 10.30 hod.", "Dobrý den!", "Jak se máte?"]),
    ("cs", "Bydlí v ul. Husova č. 5, tj. v centru. Je tam hezky.", ["Bydlí v ul. Husova č. 5, tj. v centru.", "Je tam hezky."]),
    ("ar", "الدكتور أحمد يسكن في الشارع رقم 12. دفع 3.50 دينار. مرحبا! كيف حالك؟",
     ["الدكتور أحمد يسكن في الشارع رقم 12.", "دفع 3.50 دينار.", "مرحبا!", "كيف حالك؟"]),
    ("zh-cn", "王先生今年35岁。他花了3.5元！你好吗？我很好。", ["王先生今年35岁。", "他花了3.5元！", "你好吗？", "我很好。"]),
    ("hu", "Dr. Kovács 10.30-kor érkezett. Kb. 3,50 eurót fizetett. Jó napot! Hogy van?",
     ["Dr. Kovács 10.30-kor érkezett.", "Kb. 3,50 eurót fizetett.", "Jó napot!", "Hogy van?"]),
    ("ko", "김 선생님은 3.5시간 기다렸어요. 안녕하세요! 지금 3시예요? 네.", ["김 선생님은 3.5시간 기다렸어요.", "안녕하세요!", "지금 3시예요?", "네."]),
    ("ja", "田中さんは3.5時間待ちました。こんにちは！今は9時ですか？はい。", ["田中さんは3.5時間待ちました。", "こんにちは！", "今は9時ですか？", "はい。"]),
    ("hi", "डॉ. शर्मा आज घर पर हैं। उन्होंने 3.50 रुपये दिए। नमस्ते! आप कैसे हैं?",
     ["डॉ. शर्मा आज घर पर हैं।", "उन्होंने 3.50 रुपये दिए।", "नमस्ते!", "आप कैसे हैं?"]),
    # eSpeak languages: own rules (sv), pysbd's (da), the neutral fallback (fi), eSpeak's codes
    ("sv", "Dr. Andersson kom kl. 10.30. Han betalade 3,50 kr. Hej!", ["Dr. Andersson kom kl. 10.30.", "Han betalade 3,50 kr.", "Hej!"]),
    ("da", "Hr. Jensen betalte 3,50 kr. Klokken er 10.30. Hej!", ["Hr. Jensen betalte 3,50 kr.", "Klokken er 10.30.", "Hej!"]),
    ("fi", "Kello on 10.30. Prof. J. K. Virtanen maksoi 3,50 euroa. Hei!",
     ["Kello on 10.30.", "Prof. J. K. Virtanen maksoi 3,50 euroa.", "Hei!"]),
    ("en-us", "Prof. X. Y. Zed arrived at 5 a.m. Then he left.", ["Prof. X. Y. Zed arrived at 5 a.m.", "Then he left."]),
    ("cmn", "你好。再见！", ["你好。", "再见！"]),
    ("auto", "Mr. Smith arrived at 5 p.m. It was late.", ["Mr. Smith arrived at 5 p.m.", "It was late."]),
]

XTTS_LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja", "hi")


@pytest.mark.parametrize(("language", "text", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_sentence_table(language, text, expected):
    assert split_sentences(text, language) == expected


def test_issue_example():
    assert split_sentences(ISSUE_EXAMPLE, "en") == ["Mr. Smith paid $3.50 on Jan. 5th, 2024.", "Dr. No.", "It is 5 p.m. now."]


def test_every_xtts_language_has_a_case_and_its_own_rules():
    assert {c[0] for c in CASES} >= set(XTTS_LANGUAGES)
    neutral = sentence_rules("xx")
    assert all(sentence_rules(lang) is not neutral for lang in XTTS_LANGUAGES)


def test_every_espeak_language_splits():
    from auralis_espeak.voices import language_codes

    for code in language_codes():
        assert split_sentences("One 3.5 two. Three four!", code)[-1].endswith("!"), code


def test_paragraphs_and_line_breaks():
    text = "A hard-wrapped\nline goes on. Next one.\n\n  New paragraph without end\n\nLast"
    assert split_sentences(text, "en") == ["A hard-wrapped line goes on.", "Next one.", "New paragraph without end", "Last"]


def test_bare_punctuation_joins_a_sentence():
    assert split_sentences("It is done.. Next one. !!! Last?", "en") == ["It is done..", "Next one. !!!", "Last?"]
    assert split_sentences("... Hello there.", "en") == ["... Hello there."]
    assert split_sentences("?!", "en") == ["?!"]


def test_empty_and_blank():
    assert split_sentences("", "en") == []
    assert split_sentences(" \n\n \t", "en") == []


def test_bad_arguments_are_typed_errors():
    with pytest.raises(InvalidRequestError, match="text must be a string"):
        split_sentences(b"bytes", "en")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="language must be a string"):
        split_sentences("Hi.", None)  # type: ignore[arg-type]


@given(st.text(alphabet=st.sampled_from(list("ab Z.!?1\n,'\"()…。") ), max_size=80), st.sampled_from(["en", "de", "zh-cn", "xx"]))
def test_nothing_but_whitespace_is_lost(text, language):
    sentences = split_sentences(text, language)
    assert "".join(sentences).replace(" ", "") == "".join(text.split())
    assert all(s == s.strip() and s for s in sentences)


@given(st.text(alphabet=st.sampled_from(list("ab Z1 2iv,;:-–…'\"“”«»([]{}•/&%#*ȸȹ☝♨∯☉ᓰ‼")), max_size=60),
       st.text(alphabet=st.sampled_from(list(".!?。;:։।|۔؟ \"'”’»)]")), max_size=4),
       st.sampled_from(["en", "de", "zh-cn", "ja", "hi", "el", "ar", "hy", "ur", "am", "my", "pt", "xx"]))
def test_one_sentence_shortcut_agrees_with_pysbd(body, ending, language):
    """Where the shortcut skips pysbd (no mark before the closing run, no ")"), a run of pysbd
    cuts the text exactly as the shortcut does: not at all."""
    import unittest.mock

    text = body + ending
    rules = sentence_rules(language)
    if not sentences._one_sentence(text.translate(sentences._LINE_BREAK), rules):
        return
    fast = sentence_spans(text, language)
    with unittest.mock.patch.object(sentences, "_one_sentence", lambda paragraph, rules: False):
        assert sentence_spans(text, language) == fast


def test_one_sentence_shortcut_is_taken_for_a_sentence_and_not_for_two():
    rules = sentence_rules("en")
    assert sentences._one_sentence("Our next stop is the central station.", rules)
    assert sentences._one_sentence('Then she left, at last!" ', rules)  # a closing run may hold quotes
    assert not sentences._one_sentence("One. Two.", rules)
    assert not sentences._one_sentence("1) Buy milk 2) Buy eggs", rules)  # pysbd cuts list items
    assert not sentences._one_sentence('He said "so" Then left.', rules)  # and after quotes


def _windows(monkeypatch, window: int, margin: int, longest: int = 10**9) -> None:
    monkeypatch.setattr(sentences, "_WINDOW", window)
    monkeypatch.setattr(sentences, "_MARGIN", margin)
    monkeypatch.setattr(sentences, "_LONGEST", longest)


@pytest.mark.parametrize("language", sorted({language for language, _, _ in CASES}))
def test_a_long_paragraph_is_cut_in_windows_as_a_whole_run_cuts_it(monkeypatch, language):
    """pysbd is quadratic in a paragraph's length, so long ones go through it in windows: with
    windows far smaller than the text, every language's cases (abbreviations, decimals, times,
    initials) in one paragraph are cut exactly where one whole-paragraph run cuts them."""
    texts = [text for lang, text, _ in CASES if lang == language]
    paragraph = " ".join(texts[(i * 5) % len(texts)] for i in range(40))
    _windows(monkeypatch, 10**9, 0)
    whole = sentence_spans(paragraph, language)
    for window, margin in ((400, 120), (150, 40)):
        _windows(monkeypatch, window, margin)
        assert sentence_spans(paragraph, language) == whole, (window, margin)


def test_pysbd_never_sees_more_than_the_longest_window(monkeypatch):
    """What keeps splitting linear: pysbd gets at most ``_LONGEST`` characters at once. A sentence
    longer than a window widens that window past its end and stays whole; a run longer than
    ``_LONGEST`` is cut at spaces; the short sentences after it are not fed to pysbd together
    with it; nothing but whitespace is lost."""
    seen: list[int] = []
    make = sentences._segmenter

    def recording(rules):
        segmenter = make(rules)
        segment = segmenter.segment
        segmenter.segment = lambda text: (seen.append(len(text)), segment(text))[1]
        return segmenter

    monkeypatch.setattr(sentences, "_segmenter", recording)
    _windows(monkeypatch, 300, 80, longest=1200)
    long_sentence = "This one goes on " + "and on " * 120 + "until it ends."  # ~860 characters
    run = "word " * 600 + "end."  # 3,004 characters without a mark
    paragraph = " ".join([ISSUE_EXAMPLE] * 30 + [long_sentence] + [ISSUE_EXAMPLE] * 10 + [run] + [ISSUE_EXAMPLE] * 30)
    got = split_sentences(paragraph, "en")
    assert got.count("Dr. No.") == 70 and long_sentence in got
    pieces = [g for g in got if g.startswith("word")]
    assert len(pieces) == 3 and " ".join(pieces) == run and all(len(p) <= 1200 - 80 for p in pieces)
    assert "".join(got).replace(" ", "") == paragraph.replace(" ", "")
    assert len(seen) > 20 and max(seen) <= 1200
