"""The XTTS-v2 text tokenizer: per-language normalisation + the checkpoint's BPE vocabulary."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from auralis_core.errors import EngineLoadError, InvalidRequestError, UnsupportedLanguageError

from . import normalize as _norm
from . import romanize as _rom
from . import zh_numbers as _zh
from .languages import ENGINE_NAME, LANGUAGES, canonical_language

START_TOKEN = "[START]"
STOP_TOKEN = "[STOP]"
UNK_TOKEN = "[UNK]"
SPACE_TOKEN = "[SPACE]"
SPECIAL_TOKENS = (START_TOKEN, STOP_TOKEN, UNK_TOKEN, SPACE_TOKEN)


def normalize_text(text: str, language: str) -> str:
    """The text the checkpoint was trained on for ``text`` in ``language`` (a canonical code):
    cleaned, numbers spelled out, zh/ja/ko romanised, lowercase."""
    if language == "ja":
        return _rom.japanese_romaji(text)
    if language == "zh-cn":
        cleaned = _norm.clean(text, language, number_expander=_zh.normalize_numbers)
        return _rom.pinyin(cleaned)
    cleaned = _norm.clean(text, language)
    if language == "ko":
        return _rom.korean_romanize(cleaned)
    return cleaned


class XTTSTokenizer:
    """Encode text for the XTTS-v2 GPT: ``[lang]`` prefix + BPE ids of the normalised text.

    ``vocab_path`` is the checkpoint's ``vocab.json`` (a ``tokenizers`` JSON file).
    """

    def __init__(self, vocab_path: str | os.PathLike[str]) -> None:
        from tokenizers import Tokenizer

        path = Path(vocab_path)
        if not path.is_file():
            raise EngineLoadError(f"XTTS vocabulary not found: {path} (expected the checkpoint's vocab.json)")
        try:
            self._tok = Tokenizer.from_str(path.read_text(encoding="utf-8"))
        except Exception as exc:  # OSError, UnicodeDecodeError, JSON errors; tokenizers raises plain Exception
            raise EngineLoadError(f"XTTS vocabulary {path} is not a valid tokenizers JSON file: {exc}") from exc
        self.vocab_path = path
        vocab = self._tok.get_vocab(with_added_tokens=True)
        missing = [t for t in SPECIAL_TOKENS if t not in vocab]
        if missing:
            raise EngineLoadError(
                f"vocab mismatch: XTTS vocabulary {path} lacks the special token(s) {', '.join(missing)}"
            )
        self.start_id: int = vocab[START_TOKEN]
        self.stop_id: int = vocab[STOP_TOKEN]
        self.unk_id: int = vocab[UNK_TOKEN]
        self.space_id: int = vocab[SPACE_TOKEN]
        self._lang_ids = {lang: vocab[f"[{lang}]"] for lang in LANGUAGES if f"[{lang}]" in vocab}
        if not self._lang_ids:
            raise EngineLoadError(f"vocab mismatch: XTTS vocabulary {path} has no [lang] tokens (e.g. [en])")
        self._id_to_token = {i: t for t, i in vocab.items()}

    # ------------------------------------------------------------------ properties
    @property
    def vocab_size(self) -> int:
        """Number of ids (BPE vocabulary + added tokens)."""
        return self._tok.get_vocab_size(with_added_tokens=True)

    def __len__(self) -> int:
        return self.vocab_size

    @property
    def number_text_tokens(self) -> int:
        """Rows the GPT's text embedding needs: highest id + 1 (Coqui's ``get_number_tokens``)."""
        return max(self._id_to_token) + 1

    def check_compatible(self, number_text_tokens: int, start_text_token: int, stop_text_token: int) -> None:
        """Raise ``EngineLoadError`` ("vocab mismatch") unless this vocabulary fits a checkpoint
        whose config has these ``gpt_number_text_tokens`` / ``gpt_start_text_token`` /
        ``gpt_stop_text_token`` (a vocab.json from another model would index the wrong rows)."""
        problems = []
        if self.number_text_tokens != number_text_tokens:
            problems.append(f"it has {self.number_text_tokens} text tokens, the model {number_text_tokens}")
        if self.start_id != start_text_token:
            problems.append(f"{START_TOKEN} is id {self.start_id}, the model starts text with {start_text_token}")
        if self.stop_id != stop_text_token:
            problems.append(f"{STOP_TOKEN} is id {self.stop_id}, the model stops text with {stop_text_token}")
        if problems:
            raise EngineLoadError(f"vocab mismatch between {self.vocab_path} and the checkpoint: " + "; ".join(problems))

    @property
    def languages(self) -> tuple[str, ...]:
        """Canonical codes this vocabulary has a ``[lang]`` token for."""
        return tuple(lang for lang in LANGUAGES if lang in self._lang_ids)

    def language_id(self, language: str) -> int:
        return self._lang_ids[self._language(language)]

    def supported_language(self, language: str) -> str:
        """Canonical code for ``language`` if this vocabulary has its ``[lang]`` token, else
        :class:`UnsupportedLanguageError`."""
        return self._language(language)

    def _language(self, language: str) -> str:
        lang = canonical_language(language)
        if lang not in self._lang_ids:
            raise UnsupportedLanguageError(language, ENGINE_NAME, self.languages)
        return lang

    # ------------------------------------------------------------------ encode / decode
    def normalize(self, text: str, language: str) -> str:
        """Normalised (cleaned / romanised) text, as it is tokenized."""
        if not isinstance(text, str):
            raise InvalidRequestError(f"text must be a string, got {type(text).__name__}", param="text")
        return normalize_text(text, self._language(language))

    def encode_normalized(self, normalized: str, language: str) -> list[int]:
        """Ids for already-normalised text: ``[lang]`` + BPE, spaces as ``[SPACE]``."""
        lang = self._language(language)
        return self._tok.encode(f"[{lang}]" + normalized.replace(" ", SPACE_TOKEN)).ids

    def encode(self, text: str, language: str) -> list[int]:
        """Ids the XTTS-v2 GPT expects for ``text`` in ``language`` (no [START]/[STOP])."""
        lang = self._language(language)
        return self.encode_normalized(self.normalize(text, lang), lang)

    def decode(self, ids: Iterable[int] | Sequence[int]) -> str:
        """Text for ids, as the reference decodes it: tokens joined, ``[SPACE]`` -> space,
        ``[STOP]`` and ``[UNK]`` dropped (``[lang]`` and ``[START]`` are kept, visibly)."""
        if hasattr(ids, "tolist"):
            ids = ids.tolist()  # numpy arrays, torch tensors
        ids = [int(i) for i in ids]
        bad = [i for i in ids if i not in self._id_to_token]
        if bad:
            raise InvalidRequestError(f"token id(s) out of vocabulary: {bad[:5]}", param="ids")
        text = "".join(self._id_to_token[i] for i in ids)
        return text.replace(SPACE_TOKEN, " ").replace(STOP_TOKEN, "").replace(UNK_TOKEN, "")
