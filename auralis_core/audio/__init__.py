"""Audio I/O and DSP used by `TTSOutput` and the reference-audio preprocessing."""
