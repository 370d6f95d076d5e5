"""Conformance kit: run the engine contract's checks against your engine with pytest.

```python
from auralis_core.testing import EngineConformanceSuite
from my_engine import MyEngine

class TestMyEngine(EngineConformanceSuite):
    engine_factory = staticmethod(MyEngine.from_pretrained)
    sample_text = "Hello there. This is a test."   # optional knobs, see the class
```

The suite is framework-neutral (no torch) and uses pytest-asyncio for the async checks.
"""

from .conformance import EngineConformanceSuite

__all__ = ["EngineConformanceSuite"]
