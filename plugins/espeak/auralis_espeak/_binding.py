"""ctypes binding to the libespeak-ng bundled by ``espeakng-loader`` (no system install).

eSpeak NG keeps global state and is not re-entrant, so every call into the library goes through
one process-wide lock. Synthesis uses AUDIO_OUTPUT_SYNCHRONOUS: `espeak_Synth` returns after the
whole text has been rendered through our callback. eSpeak carries a little state from one call
to the next (a sentence may come out a few samples longer or shorter depending on what was said
before), so outputs are equal in content, not bit-identical, across call histories.
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_INITIALIZE_DONT_EXIT = 0x8000
_EE_OK = 0
_PARAM_RATE = 1
_PARAM_PITCH = 3
RATE_MIN, RATE_NORMAL, RATE_MAX = 80, 175, 450


class _Voice(ctypes.Structure):
    # espeak_VOICE from speak_lib.h
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_void_p),  # priority byte + NUL-terminated code, repeated, ending in NUL
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass(frozen=True)
class ESpeakVoice:
    name: str  # e.g. "English_(America)"
    identifier: str  # e.g. "gmw/en-US"
    languages: tuple[tuple[int, str], ...]  # (priority, code), e.g. ((2, "en-us"), (5, "en"))

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for _, code in self.languages)


class ESpeakError(RuntimeError):
    pass


def _parse_languages(pointer: int | None) -> tuple[tuple[int, str], ...]:
    if not pointer:
        return ()
    codes = []
    offset = 0
    while True:
        priority = ctypes.string_at(pointer + offset, 1)
        if priority == b"\0":
            break
        code = ctypes.string_at(pointer + offset + 1).decode("utf-8", "replace")
        codes.append((priority[0], code.lower()))
        offset += 2 + len(code.encode("utf-8"))
    return tuple(codes)


class ESpeakLibrary:
    """The loaded library. Use :func:`library` to get the process-wide instance."""

    def __init__(self) -> None:
        import espeakng_loader

        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self._lib.espeak_Initialize.restype = ctypes.c_int
        self._lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self._lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.c_void_p,
        ]
        self._lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        self._lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        self.lock = threading.Lock()
        data_path = espeakng_loader.get_data_path().encode()
        self.sample_rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, _INITIALIZE_DONT_EXIT)
        if self.sample_rate <= 0:
            raise ESpeakError(f"espeak_Initialize failed (returned {self.sample_rate}); data path {data_path!r}")
        self._chunks: list[np.ndarray] = []
        self._abort: threading.Event | None = None
        # keep a reference: ctypes callbacks must outlive their registration
        self._callback = _SynthCallback(self._on_audio)
        self._lib.espeak_SetSynthCallback(self._callback)
        self.voices = self._list_voices()

    def _on_audio(self, wav: ctypes.POINTER(ctypes.c_short), count: int, events: int) -> int:
        if count > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 1 if self._abort is not None and self._abort.is_set() else 0

    def _list_voices(self) -> tuple[ESpeakVoice, ...]:
        with self.lock:
            array = self._lib.espeak_ListVoices(None)
            voices = []
            i = 0
            while array[i]:
                v = array[i].contents
                voices.append(
                    ESpeakVoice(v.name.decode("utf-8", "replace"), v.identifier.decode(), _parse_languages(v.languages))
                )
                i += 1
        return tuple(voices)

    def synthesize(
        self, text: str, voice: str, rate: int = RATE_NORMAL, pitch: int = 50, abort: threading.Event | None = None
    ) -> np.ndarray:
        """Render ``text`` with ``voice`` (a voice identifier such as ``gmw/en-US``, optionally
        ``+variant``); int16 samples."""
        encoded = text.encode("utf-8") + b"\0"
        with self.lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
                raise ESpeakError(f"eSpeak could not select voice {voice!r}")
            self._lib.espeak_SetParameter(_PARAM_RATE, int(min(max(rate, RATE_MIN), RATE_MAX)), 0)
            self._lib.espeak_SetParameter(_PARAM_PITCH, int(min(max(pitch, 0), 100)), 0)
            self._chunks = []
            self._abort = abort
            try:
                status = self._lib.espeak_Synth(encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
                if status != _EE_OK:
                    raise ESpeakError(f"espeak_Synth failed with status {status}")
                chunks, self._chunks = self._chunks, []
            finally:
                self._abort = None
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


@lru_cache(maxsize=1)
def library() -> ESpeakLibrary:
    return ESpeakLibrary()


@lru_cache(maxsize=1)
def variants() -> tuple[str, ...]:
    """Voice variants (``+f3``, ``+klatt`` ...) shipped in the data directory."""
    from pathlib import Path

    import espeakng_loader

    folder = Path(espeakng_loader.get_data_path()) / "voices" / "!v"
    return tuple(sorted(p.name for p in folder.iterdir() if p.is_file())) if folder.is_dir() else ()
