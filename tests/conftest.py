from __future__ import annotations

import asyncio

import pytest

from auralis_core import register_engine
from auralis_core.registry.registry import unregister_engine


@pytest.fixture
def tone_engine_registered():
    """Register the in-repo tone engine under the name ``tone`` for the duration of a test."""
    from toy_engine import ToneEngine

    register_engine("tone", ToneEngine, capabilities=ToneEngine.capabilities)
    yield ToneEngine
    unregister_engine("tone")


def leaked_tasks() -> set[asyncio.Task]:
    """Tasks on the running loop other than the current one (call inside a test). No
    ``gc.collect()`` first: a pending task that only a collection would remove is a leak too, and a
    collection costs 0.1-0.6 s in a process with torch loaded, once per Hypothesis example (it made
    four scheduler tests 9 of CI's 20 minutes)."""
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}
