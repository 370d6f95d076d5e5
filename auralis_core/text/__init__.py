"""Text utilities every engine and the server share: one sentence splitter (pysbd based).

>>> from auralis_core.text import split_sentences
>>> split_sentences("Dr. Jones arrived at 5 p.m. He was late.", "en")
['Dr. Jones arrived at 5 p.m.', 'He was late.']

`split_sentences` cuts a whole text; `SentenceBuffer` / `iter_sentences` cut a stream of text
pieces (LLM tokens) with the same rules as each sentence completes. pysbd is imported on first
use, so importing this module stays cheap.
"""

from .sentences import sentence_rules, sentence_spans, split_sentences
from .stream import SentenceBuffer, aiter_text, iter_sentences

__all__ = ["SentenceBuffer", "aiter_text", "iter_sentences", "sentence_rules", "sentence_spans", "split_sentences"]
