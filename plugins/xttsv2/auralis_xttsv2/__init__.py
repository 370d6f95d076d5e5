"""XTTS-v2 engine for Auralis."""

__version__ = "0.1.0"
