"""Piper (VITS exported to ONNX) engine for Auralis, with the ``joe`` voice bundled."""

__version__ = "0.1.0"
