from __future__ import annotations

import re

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
        ({"text": "hi", "speed": -1.0}, "speed", "speed must be in [0.25, 4.0]"),
        ({"text": "hi", "speed": 5}, "speed", "speed"),
        ({"text": "hi", "language": ""}, "language", "language"),
        ({"text": "hi", "voice": ""}, "voice", "voice"),
        ({"text": "hi", "speaker_files": "/definitely/missing.wav"}, "speaker_files", "speaker file not found"),
        ({"text": "hi", "speaker_files": [b""]}, "speaker_files", "empty"),
        ({"text": "hi", "speaker_files": [np.array([np.nan, 0.1])]}, "speaker_files", "NaN"),
        ({"text": "hi", "speaker_files": [object()]}, "speaker_files", "must be a path"),
        ({"text": "Hello \ud800 world"}, "text", "text contains a lone surrogate (U+D800) at position 6"),
        ({"text": "Hello \x00 world"}, "text", "text contains a NUL character at position 6"),
        ({"text": ["fine", "bad \udfff"]}, "text", "text[1] contains a lone surrogate (U+DFFF) at position 4"),
        ({"text": ["fine", "a\x00b"]}, "text", "text[1] contains a NUL character at position 1"),
        ({"text": "hi", "speed": "fast"}, "speed", "speed must be a number in [0.25, 4.0], got 'fast'"),
        ({"text": "hi", "speed": float("nan")}, "speed", "speed must be in [0.25, 4.0], got nan"),
        ({"text": "hi", "speed": float("inf")}, "speed", "speed must be in [0.25, 4.0], got inf"),
        ({"text": "hi", "speed": True}, "speed", "speed must be a number in [0.25, 4.0], got True"),
        ({"text": "hi", "seed": 2**70}, "seed", "seed must be in [0, 2**63 - 1], got 1180591620717411303424"),
        ({"text": "hi", "seed": -1}, "seed", "seed must be in [0, 2**63 - 1]"),
        ({"text": "hi", "seed": 1.5}, "seed", "seed must be an integer, got 1.5"),
        ({"text": "hi", "seed": True}, "seed", "seed must be an integer, got True"),
        ({"text": "hi", "seed": "7"}, "seed", "seed must be an integer, got '7'"),
        ({"text": "hi", "stream": 0}, "stream", "stream must be True or False, got 0"),
        ({"text": "hi", "stream": "yes"}, "stream", "stream must be True or False, got 'yes'"),
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


def test_valid_numbers_are_normalised():
    request = TTSRequest("hi", speed=np.float32(1.5), seed=np.int64(7), stream=np.bool_(True))
    assert request.speed == 1.5 and type(request.speed) is float
    assert request.seed == 7 and type(request.seed) is int
    assert request.stream is True
    assert TTSRequest("hi", speed=2, seed=2**63 - 1).seed == 2**63 - 1


async def _pieces(items):
    for item in items:
        yield item


@pytest.mark.parametrize(
    ("pieces", "needle"),
    [
        (["Hello ", 42], "text stream yielded int, expected str"),
        (["Hello ", "wor\udc80ld"], "lone surrogate (U+DC80) at position 3"),
        (["Hello ", "wor\x00ld"], "NUL character at position 3"),
    ],
)
async def test_streamed_text_is_checked_piece_by_piece(pieces, needle):
    for source in (iter(pieces), _pieces(pieces)):
        stream = TTSRequest(source).text_stream()
        assert await stream.__anext__() == "Hello "
        with pytest.raises(InvalidRequestError, match=re.escape(needle)) as info:
            await stream.__anext__()
        assert info.value.param == "text"
