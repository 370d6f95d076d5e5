from auralis_core.testing import EngineConformanceSuite
from auralis_espeak.engine import ESpeakEngine


class TestESpeakConformance(EngineConformanceSuite):
    engine_factory = staticmethod(ESpeakEngine.from_pretrained)
