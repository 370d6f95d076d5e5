"""Mandarin number normalisation against the reference TextNorm (fixtures/zh_numbers_reference.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from auralis_xttsv2.text.zh_numbers import normalize_numbers, spell_number

_REF = json.loads((Path(__file__).parent / "fixtures" / "zh_numbers_reference.json").read_text(encoding="utf-8"))


def test_spell_number_matches_reference_for_all_recorded_numbers():
    wrong = {n: (r, spell_number(n)) for n, r in _REF["num2chn"].items() if spell_number(n) != r}
    assert len(_REF["num2chn"]) > 250
    assert wrong == {}


@pytest.mark.parametrize("text", list(_REF["textnorm"]))
def test_textnorm_matches_reference(text):
    assert normalize_numbers(text) == _REF["textnorm"][text]
