from auralis_core.testing import EngineConformanceSuite
from auralis_espeak.engine import ESpeakEngine


class TestESpeakConformance(EngineConformanceSuite):
    engine_factory = staticmethod(ESpeakEngine.from_pretrained)
    deterministic = False  # eSpeak carries state between calls (see _binding.py)
