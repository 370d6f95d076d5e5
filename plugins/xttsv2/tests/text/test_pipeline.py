from __future__ import annotations

import json
from pathlib import Path

import pytest
from auralis_xttsv2.text import CHAR_LIMITS, PreparedSegment, TextPipeline

from auralis_core.errors import InvalidRequestError, UnsupportedLanguageError

_CASES = json.loads((Path(__file__).parent / "fixtures" / "text_reference.json").read_text(encoding="utf-8"))["cases"]


@pytest.fixture
def pipeline(tokenizer):
    return TextPipeline(tokenizer, max_text_tokens=402)


_PIPE = json.loads((Path(__file__).parent / "fixtures" / "text_reference.json").read_text(encoding="utf-8"))[
    "pipeline_cases"
]


@pytest.mark.parametrize("case", _PIPE, ids=[c["language"] for c in _PIPE])
def test_merged_segments_match_reference_split(pipeline, case):
    """Below the char limit the reference keeps a multi-sentence text as one segment."""
    segs = pipeline.prepare(case["text"], case["language"])
    assert [(s.text, s.token_ids) for s in segs] == [(r["text"], r["ids"]) for r in case["segments"]]


def test_prepare_per_sentence(tokenizer):
    per_sentence = TextPipeline(tokenizer, max_text_tokens=402, merge_sentences=False)
    case = next(c for c in _CASES if c["text"].startswith("Mr. Smith paid"))
    text = case["text"] + " Hello, world! This is a test of the XTTS tokenizer."
    segs = per_sentence.prepare(text, "en")
    assert all(isinstance(s, PreparedSegment) for s in segs)
    assert [s.text for s in segs] == [case["text"], "Hello, world!", "This is a test of the XTTS tokenizer."]
    assert segs[0].token_ids == case["ids"]
    assert segs[0].language == "en" and segs[0].normalized_text == case["normalized"]


def test_merge_packs_up_to_the_limit_and_keeps_paragraphs(pipeline):
    sentence = "This sentence has exactly fifty characters in it.."
    assert len(sentence) == 50
    segs = pipeline.prepare(" ".join([sentence] * 10) + "\n\nNew paragraph.", "en")
    # 250 chars: four sentences and three joining spaces fit (203), a fifth would not (254)
    assert [len(s.text) for s in segs] == [203, 203, 101, 14]
    assert segs[-1].text == "New paragraph."


@pytest.mark.parametrize("lang", ["fr", "zh-cn", "ja", "ko", "ru"])
def test_auto_detection_in_pipeline(pipeline, lang):
    case = next(c for c in _CASES if c["language"] == lang and "error" not in c and len(c["text"]) > 12)
    segs = pipeline.prepare(case["text"], "auto")
    assert {s.language for s in segs} == {lang}


def test_token_limit_forces_shorter_segments(tokenizer):
    small = TextPipeline(tokenizer, max_text_tokens=40)
    text = "On 12/05/2024 we sold 1,234,567 tickets for $98,765.43 in 1,024 cities across 77 countries."
    assert len(tokenizer.encode(text, "en")) > 40
    segs = small.prepare(text, "en")
    assert len(segs) > 1
    # like the reference's assert: len(ids) < max_text_tokens, [lang] included
    assert all(len(s.token_ids) < 40 for s in segs)
    assert " ".join(s.text for s in segs).split() == text.split()


def test_token_limit_is_strict_like_the_reference(tokenizer):
    ids = tokenizer.encode("hello world", "en")
    assert len(TextPipeline(tokenizer, max_text_tokens=len(ids) + 1).prepare("hello world", "en")) == 1
    assert len(TextPipeline(tokenizer, max_text_tokens=len(ids)).prepare("hello world", "en")) == 2


@pytest.mark.parametrize("merge", [True, False])
def test_every_segment_within_char_limit(tokenizer, merge):
    pipe = TextPipeline(tokenizer, 402, merge_sentences=merge)
    text = " ".join(f"Sentence number {i} is here, and it carries on for a good while longer than most." for i in range(30))
    segs = pipe.prepare(text, "en")
    assert len(segs) == (10 if merge else 30)  # three ~81-char sentences per segment
    assert all(len(s.text) <= CHAR_LIMITS["en"] and len(s.token_ids) < 402 for s in segs)
    assert " ".join(s.text for s in segs) == text


def test_only_unspeakable_characters(pipeline):
    with pytest.raises(InvalidRequestError, match="nothing speakable"):
        pipeline.prepare('"', "en")


@pytest.mark.parametrize("bad", [0, 2])
def test_bad_max_text_tokens(tokenizer, bad):
    with pytest.raises(InvalidRequestError):
        TextPipeline(tokenizer, max_text_tokens=bad)


def test_unsplittable_under_token_limit(tokenizer):
    tiny = TextPipeline(tokenizer, max_text_tokens=3)
    with pytest.raises(InvalidRequestError, match="cannot be split under max_text_tokens=3"):
        tiny.prepare("extraordinary", "en")


@pytest.mark.parametrize("text", ["", "   ", None, 5])
def test_bad_text(pipeline, text):
    with pytest.raises(InvalidRequestError):
        pipeline.prepare(text, "en")


def test_bad_language(pipeline):
    with pytest.raises(UnsupportedLanguageError):
        pipeline.prepare("hello", "xx")
