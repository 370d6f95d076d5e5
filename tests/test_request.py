from __future__ import annotations

import numpy as np
import pytest

from auralis_core import (
    AudioPreprocessingConfig,
    CapabilityError,
    EngineCapabilities,
    InvalidRequestError,
    TTSOutput,
    TTSRequest,
    UnsupportedLanguageError,
)

CAPS = EngineCapabilities(name="x", languages=("en", "de", "zh-cn"), sample_rate=24000)


@pytest.mark.parametrize(
    ("kwargs", "param", "needle"),
    [
        ({"text": ""}, "text", "text is empty"),
        ({"text": "   \n"}, "text", "text is empty"),
        ({"text": []}, "text", "non-empty list"),
        ({"text": ["", " "]}, "text", "text is empty"),
        ({"text": 42}, "text", "must be a string"),
        ({"text": b"bytes"}, "text", "must be a string"),
        ({"text": "hi", "temperature": 0}, "temperature", "temperature must be in (0.0, 5.0]"),
        ({"text": "hi", "temperature": -1}, "temperature", "temperature"),
        ({"text": "hi", "top_p": 1.5}, "top_p", "top_p"),
        ({"text": "hi", "top_p": 0}, "top_p", "top_p"),
        ({"text": "hi", "top_k": -3}, "top_k", "top_k must be an integer >= 0"),
        ({"text": "hi", "top_k": 2.5}, "top_k", "top_k"),
        ({"text": "hi", "speed": -1.0}, "speed", "speed must be in [0.25, 4.0]"),
        ({"text": "hi", "speed": 5}, "speed", "speed"),
        ({"text": "hi", "repetition_penalty": 0}, "repetition_penalty", "repetition_penalty"),
        ({"text": "hi", "gpt_cond_len": 3, "gpt_cond_chunk_len": 6}, "gpt_cond_chunk_len", "must not exceed"),
        ({"text": "hi", "language": ""}, "language", "language"),
        ({"text": "hi", "voice": ""}, "voice", "voice"),
        ({"text": "hi", "speaker_files": "/definitely/missing.wav"}, "speaker_files", "speaker file not found"),
        ({"text": "hi", "speaker_files": [b""]}, "speaker_files", "empty"),
        ({"text": "hi", "speaker_files": [np.array([np.nan, 0.1])]}, "speaker_files", "NaN"),
        ({"text": "hi", "speaker_files": [object()]}, "speaker_files", "must be a path"),
    ],
)
def test_bad_fields_name_the_problem(kwargs, param, needle):
    with pytest.raises(InvalidRequestError) as info:
        TTSRequest(**kwargs)
    assert needle in str(info.value)
    assert info.value.param == param
    assert isinstance(info.value, ValueError)


def test_non_audio_speaker_file_is_rejected(tmp_path):
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is not audio at all")
    with pytest.raises(InvalidRequestError, match="not a readable audio file"):
        TTSRequest("hello", speaker_files=[bogus])


def test_audio_speaker_file_accepted(tmp_path):
    path = TTSOutput(np.sin(np.linspace(0, 400, 22050)), 22050).save(tmp_path / "ref.wav")
    request = TTSRequest("hello", speaker_files=path)
    assert request.speaker_files == [path]


def test_language_checked_against_engine():
    with pytest.raises(UnsupportedLanguageError, match="'xx' is not supported by engine 'x'"):
        TTSRequest("hi", language="xx").validate_for(CAPS)
    TTSRequest("hi", language="EN").validate_for(CAPS)
    TTSRequest("hi", language="zh-cn").validate_for(CAPS)
    TTSRequest("hi", language="de-at").validate_for(CAPS)  # region falls back to the base language


def test_cloning_refused_by_engine_without_it(tmp_path):
    path = TTSOutput(np.sin(np.linspace(0, 400, 22050)), 22050).save(tmp_path / "ref.wav")
    with pytest.raises(CapabilityError, match="does not clone voices"):
        TTSRequest("hi", speaker_files=path).validate_for(CAPS)


def test_text_forms():
    assert TTSRequest("a").texts() == ["a"]
    assert TTSRequest(["a", " ", "b"]).texts() == ["a", "b"]
    streaming = TTSRequest(iter(["a", "b"]))
    assert streaming.is_text_stream
    with pytest.raises(InvalidRequestError):
        streaming.texts()


def test_request_ids_unique_and_copy_keeps_id():
    a, b = TTSRequest("a"), TTSRequest("b")
    assert a.request_id != b.request_id
    assert a.copy(text="c").request_id == a.request_id


def test_preprocessing_config_validation():
    with pytest.raises(InvalidRequestError, match="target_lufs"):
        AudioPreprocessingConfig(target_lufs=10)
    with pytest.raises(InvalidRequestError, match="enhance_amount"):
        AudioPreprocessingConfig(enhance_amount=2)
    assert AudioPreprocessingConfig().cache_key() != AudioPreprocessingConfig(normalize=False).cache_key()
