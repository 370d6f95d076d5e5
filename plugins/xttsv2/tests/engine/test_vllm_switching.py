"""`auralis_xttsv2.vllm.switching`: the switch interval the plugin hook sets in vLLM's processes."""

from __future__ import annotations

import sys

import pytest

from auralis_xttsv2.vllm import switching


@pytest.fixture
def interval():
    before = sys.getswitchinterval()
    yield
    sys.setswitchinterval(before)


def test_unset_or_empty_leaves_the_interval(monkeypatch, interval):
    before = sys.getswitchinterval()
    monkeypatch.delenv(switching.ENV, raising=False)
    assert switching.apply_if_asked() is None
    monkeypatch.setenv(switching.ENV, "  ")
    assert switching.apply_if_asked() is None
    assert sys.getswitchinterval() == before


def test_sets_the_interval_in_milliseconds(monkeypatch, interval):
    monkeypatch.setenv(switching.ENV, "0.5")
    assert switching.apply_if_asked() == 0.5
    assert sys.getswitchinterval() == pytest.approx(0.0005)


@pytest.mark.parametrize("bad", ["0", "-1", "fast", "nan", "inf"])
def test_bad_values_name_the_variable(monkeypatch, interval, bad):
    before = sys.getswitchinterval()
    monkeypatch.setenv(switching.ENV, bad)
    with pytest.raises(ValueError, match=f"{switching.ENV} must be a positive number of milliseconds, got '{bad}'"):
        switching.apply_if_asked()
    assert sys.getswitchinterval() == before
