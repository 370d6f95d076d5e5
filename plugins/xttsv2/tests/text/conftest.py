from __future__ import annotations

import json
from pathlib import Path

import pytest

TEXT_FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def text_reference() -> dict:
    return json.loads((TEXT_FIXTURES / "text_reference.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def tokenizer():
    from auralis_xttsv2.text import XTTSTokenizer

    return XTTSTokenizer(TEXT_FIXTURES / "text_vocab.json")
