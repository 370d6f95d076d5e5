"""Engine-owned options: validated once against the engine, seed keywords routed, clear errors."""

from __future__ import annotations

import pytest
from pydantic import Field, model_validator
from toy_engine import ToneEngine

from auralis_core import TTS, EngineOptions, InvalidRequestError, TTSRequest
from auralis_core.errors import EngineArgumentError
from auralis_core.options import options_schema, resolve_options


class SamplingOptions(EngineOptions):
    temperature: float = Field(0.75, gt=0, le=5)
    top_k: int = Field(50, ge=0)
    gpt_cond_len: float = Field(30, gt=0)
    gpt_cond_chunk_len: float = Field(4, gt=0)

    @model_validator(mode="after")
    def _chunk(self) -> SamplingOptions:
        if self.gpt_cond_chunk_len > self.gpt_cond_len:
            raise ValueError("gpt_cond_chunk_len must not exceed gpt_cond_len")
        return self


class SamplingTone(ToneEngine):
    """The toy engine with sampling options whose defaults come from "the checkpoint"."""

    Options = SamplingOptions
    seen: list[EngineOptions]

    def __init__(self, checkpoint_temperature: float = 0.6, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._defaults = SamplingOptions(temperature=checkpoint_temperature)
        self.seen = []

    def default_options(self) -> SamplingOptions:
        return self._defaults

    async def get_generation_context(self, request):
        self.seen.append(request.options)
        return await super().get_generation_context(request)


@pytest.fixture
def tts():
    with TTS(SamplingTone()) as t:
        yield t


def test_engine_reads_validated_options_with_checkpoint_defaults(tts):
    tts.generate_speech(TTSRequest("Hello.", options={"top_k": 7}))
    seen = tts.engine.seen[-1]
    assert isinstance(seen, SamplingOptions)
    assert (seen.temperature, seen.top_k) == (0.6, 7)  # checkpoint default, request's own


def test_precedence_options_over_seed_keywords_over_defaults(tts):
    tts.generate_speech(TTSRequest("Hello.", temperature=0.9, top_k=3, options={"top_k": 11}))
    seen = tts.engine.seen[-1]
    assert (seen.temperature, seen.top_k) == (0.9, 11)


@pytest.mark.parametrize(
    ("kwargs", "param", "needle"),
    [
        ({"options": {"bogus": 1}}, "bogus", "unknown option 'bogus' for engine 'tone'; valid options: temperature, top_k"),
        ({"temperature": 0}, "temperature", "greater than 0"),
        ({"options": {"temperature": "hot"}}, "temperature", "valid number"),
        ({"top_k": -1}, "top_k", "greater than or equal to 0"),
        ({"gpt_cond_len": 3, "gpt_cond_chunk_len": 6}, "options", "gpt_cond_chunk_len must not exceed gpt_cond_len"),
        ({"options": {1: 2}}, "options", "option names must be strings"),
    ],
)
def test_bad_options_name_the_problem(tts, kwargs, param, needle):
    with pytest.raises(InvalidRequestError) as info:
        tts.generate_speech(TTSRequest("Hello.", **kwargs))
    assert info.value.param == param
    assert needle in str(info.value)
    assert tts.metrics.summary()["in_flight"] == 0


def test_an_engine_without_the_seed_fields_rejects_them():
    with TTS(ToneEngine()) as tts, pytest.raises(InvalidRequestError) as info:
        tts.generate_speech(TTSRequest("Hello.", repetition_penalty=5.0))
    assert info.value.param == "repetition_penalty"
    assert "original Auralis" in str(info.value) and "none (this engine takes no options)" in str(info.value)


def test_options_instance_is_accepted_and_foreign_instance_refused(tts):
    tts.generate_speech(TTSRequest("Hello.", options=SamplingOptions(top_k=2)))
    seen = tts.engine.seen[-1]
    assert (seen.temperature, seen.top_k) == (0.6, 2)  # unset fields still take the checkpoint's

    class Other(EngineOptions):
        x: int = 1

    with pytest.raises(InvalidRequestError, match="takes SamplingOptions"):
        tts.generate_speech(TTSRequest("Hello.", options=Other()))


def test_resolution_is_idempotent_and_survives_copy():
    engine = SamplingTone()
    resolved = TTSRequest("Hello.", top_k=5).resolved_for(engine)
    assert resolved.resolved_for(engine) is resolved
    copied = resolved.copy(text="Again.")
    assert copied.options.top_k == 5 and copied.options.temperature == 0.6


def test_options_schema_is_json_schema_from_the_model():
    schema = options_schema(SamplingOptions)
    assert schema["properties"]["temperature"]["exclusiveMinimum"] == 0
    assert schema["additionalProperties"] is False
    assert resolve_options(SamplingTone(), None).temperature == 0.6


def test_unknown_from_pretrained_keyword_is_a_typed_error(monkeypatch):
    from auralis_core.registry.registry import register_engine, unregister_engine

    register_engine("sampling-tone", SamplingTone)
    try:
        with pytest.raises(EngineArgumentError) as info:
            TTS.from_pretrained(engine="sampling-tone", chekpoint_temperature=1.0)
        assert info.value.param == "chekpoint_temperature"
        assert "checkpoint_temperature" in str(info.value)  # the accepted ones are listed
        assert isinstance(info.value, TypeError)  # code catching the old TypeError still works
    finally:
        unregister_engine("sampling-tone")


def test_seed_style_construction_then_from_pretrained():
    from auralis_core.registry.registry import register_engine, unregister_engine

    register_engine("sampling-tone", SamplingTone)
    try:
        tts = TTS(scheduler_max_concurrency=3)
        with pytest.raises(Exception, match="no engine yet"):
            tts.generate_speech("Hello.")
        assert tts.from_pretrained(engine="sampling-tone") is tts
        with tts:
            assert tts.scheduler.max_concurrency == 3
            assert tts.generate_speech("Hello there.").duration > 0
    finally:
        unregister_engine("sampling-tone")


def test_preferred_concurrency_is_the_default():
    import dataclasses

    class Single(ToneEngine):
        capabilities = dataclasses.replace(ToneEngine.capabilities, preferred_concurrency=1)

    with TTS(Single()) as tts:
        assert tts.scheduler.max_concurrency == 1
    with TTS(Single(), max_concurrency=4) as tts:
        assert tts.scheduler.max_concurrency == 4


def test_claims_path_routes_a_layout_without_config_json(tmp_path):
    from pathlib import Path

    from auralis_core.registry.registry import register_engine, unregister_engine
    from auralis_core.tts import resolve_engine_name

    class OnnxTone(ToneEngine):
        @classmethod
        def claims_path(cls, path: Path) -> bool:
            return path.suffix == ".onnx" or (path.is_dir() and any(path.glob("*.onnx")))

    voice = tmp_path / "voice.onnx"
    voice.write_bytes(b"not really onnx")
    (tmp_path / "empty").mkdir()
    register_engine("onnx-tone", OnnxTone)
    try:
        assert resolve_engine_name(str(voice), None) == ("onnx-tone", str(voice))
        assert resolve_engine_name(str(tmp_path), None) == ("onnx-tone", str(tmp_path))
        with pytest.raises(Exception, match="has no config.json"):
            resolve_engine_name(str(tmp_path / "empty"), None)
    finally:
        unregister_engine("onnx-tone")


def test_checks_use_the_loaded_engines_capabilities():
    """A checkpoint may add languages: the instance's capabilities decide, not the class's."""
    import dataclasses

    class Multilingual(ToneEngine):
        def get_capabilities(self):
            return dataclasses.replace(ToneEngine.capabilities, languages=("en", "de", "fr"))

    with TTS(Multilingual()) as tts:
        assert tts.generate_speech("Bonjour.", language="fr").duration > 0
    with TTS(ToneEngine()) as tts, pytest.raises(InvalidRequestError, match="'fr' is not supported"):
        tts.generate_speech("Bonjour.", language="fr")
