from __future__ import annotations

import pytest
from auralis_xttsv2.text import LANGUAGES, DetectedUnsupportedLanguageError, detect_language

from auralis_core.errors import InvalidRequestError, UnsupportedLanguageError

SENTENCES = {
    "en": ["The weather is lovely today, so we are going for a walk in the park.", "Please send me the report by Friday."],
    "es": ["El tiempo es estupendo hoy, así que vamos a pasear por el parque.", "Por favor, envíame el informe antes del viernes."],
    "fr": ["Il fait beau aujourd'hui, alors nous allons nous promener dans le parc.", "Envoyez-moi le rapport avant vendredi, s'il vous plaît."],
    "de": ["Das Wetter ist heute herrlich, also gehen wir im Park spazieren.", "Bitte schicken Sie mir den Bericht bis Freitag."],
    "it": ["Oggi il tempo è bellissimo, quindi andiamo a fare una passeggiata nel parco.", "Per favore, mandami il rapporto entro venerdì."],
    "pt": ["O tempo está ótimo hoje, então vamos passear no parque.", "Por favor, envie-me o relatório até sexta-feira."],
    "pl": ["Pogoda jest dziś piękna, więc idziemy na spacer do parku.", "Proszę przesłać mi raport do piątku."],
    "tr": ["Bugün hava çok güzel, bu yüzden parkta yürüyüşe çıkıyoruz.", "Lütfen raporu cumaya kadar bana gönderin."],
    "ru": ["Сегодня прекрасная погода, поэтому мы идём гулять в парк.", "Пожалуйста, пришлите мне отчёт до пятницы."],
    "nl": ["Het weer is vandaag heerlijk, dus we gaan wandelen in het park.", "Stuur me alsjeblieft het rapport voor vrijdag."],
    "cs": ["Dnes je krásné počasí, takže jdeme na procházku do parku.", "Pošlete mi prosím zprávu do pátku."],
    "ar": ["الطقس جميل اليوم، لذلك سنذهب للتنزه في الحديقة.", "من فضلك أرسل لي التقرير قبل يوم الجمعة."],
    "zh-cn": ["今天天气很好，所以我们去公园散步。", "请在星期五之前把报告发给我。"],
    "hu": ["Ma gyönyörű az idő, ezért sétálni megyünk a parkba.", "Kérem, küldje el nekem a jelentést péntekig."],
    "ko": ["오늘 날씨가 좋아서 공원에 산책하러 갑니다.", "금요일까지 보고서를 보내 주세요."],
    "ja": ["今日はいい天気なので、公園に散歩に行きます。", "金曜日までに報告書を送ってください。"],
    "hi": ["आज मौसम बहुत अच्छा है, इसलिए हम पार्क में टहलने जा रहे हैं।", "कृपया शुक्रवार तक मुझे रिपोर्ट भेज दें।"],
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_detects_each_language(lang):
    for sentence in SENTENCES[lang]:
        assert detect_language(sentence) == lang, sentence


def test_mixed_script_picks_dominant():
    assert detect_language("This sentence is English, with one word 東京 in it.") == "en"
    assert detect_language("我们明天去东京 Tokyo 开会。") == "zh-cn"


def test_kanji_with_kana_is_japanese():
    assert detect_language("東京都は日本の首都です") == "ja"


@pytest.mark.parametrize("text", ["", "12345 !!!", "   "])
def test_no_letters(text):
    with pytest.raises(InvalidRequestError):
        detect_language(text)


def test_detector_model_ships_in_the_wheel():
    from pathlib import Path

    from py3langid.langid import MODEL_DIR, MODEL_FILE

    assert (Path(MODEL_DIR) / MODEL_FILE).is_file()


SHORT = {
    "en": "Where is the train station?", "es": "¿Dónde está la estación de tren?", "fr": "Où est la gare ?",
    "de": "Wo ist der Bahnhof?", "it": "Dov'è la stazione?", "pt": "Muito obrigado por ter vindo",
    "pl": "Dzień dobry wszystkim", "tr": "Herkese günaydın", "nl": "Goedemorgen allemaal", "cs": "Dobré ráno všem",
    "hu": "Jó reggelt mindenkinek", "ru": "Где вокзал?", "ar": "أين محطة القطار؟", "hi": "रेलवे स्टेशन कहाँ है?",
    "zh-cn": "车站在哪里？", "ja": "駅はどこですか？", "ko": "역이 어디예요?",
}  # fmt: skip


@pytest.mark.parametrize("lang", LANGUAGES)
def test_short_phrases(lang):
    assert detect_language(SHORT[lang]) == lang


UNSUPPORTED = {
    "sv": "Vädret är underbart idag, så vi går på promenad i parken.",
    "fi": "Sää on tänään ihana, joten menemme kävelylle puistoon.",
    "ro": "Vremea este minunată astăzi, așa că mergem la plimbare în parc.",
    "vi": "Hôm nay thời tiết đẹp, vì vậy chúng tôi đi dạo trong công viên.",
    "uk": "Сьогодні чудова погода, тому ми йдемо гуляти в парк.",
    "fa": "امروز هوا عالی است، پس به پارک می رویم.",
    "el": "Ο καιρός είναι υπέροχος σήμερα.",
    "he": "מזג האוויר נפלא היום",
    "th": "วันนี้อากาศดีมาก",
}


@pytest.mark.parametrize("lang", sorted(UNSUPPORTED))
def test_unsupported_language_is_named(lang):
    with pytest.raises(DetectedUnsupportedLanguageError) as err:
        detect_language(UNSUPPORTED[lang])
    assert err.value.detected == lang
    assert f"auto-detected language {lang!r}" in str(err.value)
    assert "Pass language explicitly" in str(err.value)
    assert isinstance(err.value, UnsupportedLanguageError) and err.value.param == "language"


def test_close_relative_with_low_confidence_maps_to_nearest():
    # Slovak is not confidently told from Czech on a short text: read as Czech, not rejected.
    assert detect_language("Dnes je krásne počasie.") == "cs"


def test_pipeline_auto_reports_unsupported(tokenizer):
    from auralis_xttsv2.text import TextPipeline

    with pytest.raises(DetectedUnsupportedLanguageError, match="'sv'"):
        TextPipeline(tokenizer).prepare(UNSUPPORTED["sv"], "auto")
