"""Conformance kit: the engine contract's checks, run against your engine with pytest.

No configuration needed: auralis-core registers a pytest plugin (``pytest11`` entry point), so
in any repository where your engine is installed::

    pytest --auralis-engine myengine [--auralis-model PATH]

or, for knobs (sample text, a required speaker reference, ...), subclass the suite::

    from auralis_core.testing import EngineConformanceSuite
    from my_engine import MyEngine

    class TestMyEngine(EngineConformanceSuite):
        engine_factory = staticmethod(MyEngine.from_pretrained)
        sample_text = "Hello there. This is a test."   # optional knobs, see the class

The suite is framework-neutral (no torch) and its tests are synchronous: each runs the engine on
an event loop of its own, so pytest-asyncio is not required.
"""

from .conformance import EngineConformanceSuite, EngineHarness

__all__ = ["EngineConformanceSuite", "EngineHarness"]
