"""The conformance suite for the engines named by ``pytest --auralis-engine NAME``.

Collected by `auralis_core.testing.pytest_plugin`; not meant to be imported.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from auralis_core.engine.base import BaseAsyncTTSEngine
from auralis_core.registry import get_engine
from auralis_core.testing.conformance import EngineConformanceSuite

pytestmark = pytest.mark.auralis_conformance


class TestAuralisEngine(EngineConformanceSuite):
    """Every check of the kit, once per ``--auralis-engine`` name (the test ids carry it)."""

    @pytest.fixture
    def new_engine(self, request: pytest.FixtureRequest, auralis_engine_name: str) -> Callable[[], BaseAsyncTTSEngine]:
        model = request.config.getoption("auralis_model")
        return lambda: get_engine(auralis_engine_name).from_pretrained(model)
