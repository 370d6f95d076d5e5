"""XTTS-v2 text pipeline: normalisation, tokenization, sentence splitting, language detection.

Public API for the engine::

    tok = XTTSTokenizer("vocab.json")
    pipe = TextPipeline(tok, max_text_tokens=402)
    for seg in pipe.prepare("Hello world. Second sentence.", "auto"):
        seg.text, seg.language, seg.token_ids
"""

from .detect import DetectedUnsupportedLanguageError, detect_language
from .languages import CHAR_LIMITS, LANGUAGES, canonical_language, char_limit
from .pipeline import PreparedSegment, TextPipeline
from .split import split_text
from .tokenizer import SPACE_TOKEN, START_TOKEN, STOP_TOKEN, UNK_TOKEN, XTTSTokenizer, normalize_text

__all__ = [
    "CHAR_LIMITS",
    "LANGUAGES",
    "SPACE_TOKEN",
    "START_TOKEN",
    "STOP_TOKEN",
    "UNK_TOKEN",
    "DetectedUnsupportedLanguageError",
    "PreparedSegment",
    "TextPipeline",
    "XTTSTokenizer",
    "canonical_language",
    "char_limit",
    "detect_language",
    "normalize_text",
    "split_text",
]
