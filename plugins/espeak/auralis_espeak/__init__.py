"""eSpeak NG engine for Auralis: the embedded offline default."""

__version__ = "0.1.0"
