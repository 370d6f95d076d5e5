"""The conformance kit as a pytest plugin, registered through the ``pytest11`` entry point of
auralis-core: installed with the core, active in every pytest run, inert until asked.

``pytest --auralis-engine NAME`` (repeatable) adds the conformance suite for each named engine
(as the registry finds it: an installed distribution's ``auralis.engines`` entry point) to the
tests pytest collects. ``--auralis-model PATH`` is passed to the engine's ``from_pretrained``.
A repository can also subclass `EngineConformanceSuite` in a test module for per-engine knobs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SUITE = Path(__file__).with_name("engine_suite.py")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("auralis", "Auralis engine conformance kit")
    group.addoption(
        "--auralis-engine", action="append", default=[], metavar="NAME",
        help="run the Auralis conformance suite against this registered engine (repeatable)",
    )
    group.addoption(
        "--auralis-model", default=None, metavar="PATH_OR_ID",
        help="model passed to the engine's from_pretrained (default: the engine's own default)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "auralis_conformance: a check of the Auralis engine conformance kit")
    if config.getoption("auralis_engine") and str(SUITE) not in config.args:
        config.args.append(str(SUITE))  # collected with whatever else was asked for


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "auralis_engine_name" in metafunc.fixturenames:
        names = metafunc.config.getoption("auralis_engine")
        metafunc.parametrize("auralis_engine_name", names, ids=names, scope="class")
