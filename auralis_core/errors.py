"""Typed errors. Each names the problem so that callers (CLI, server) can show it as one line."""

from __future__ import annotations

from collections.abc import Iterable


class AuralisError(Exception):
    """Base class for every error Auralis raises on purpose."""


class InvalidRequestError(AuralisError, ValueError):
    """A request field is missing, malformed or out of range. ``param`` names the field."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class NothingToSpeakError(InvalidRequestError):
    """The text has nothing an engine can say (only punctuation, symbols or spaces)."""

    def __init__(self, message: str = "text has nothing to speak: it holds no letters or digits") -> None:
        super().__init__(message, "text")


class UnsupportedLanguageError(InvalidRequestError):
    def __init__(self, language: str, engine: str, supported: Iterable[str]) -> None:
        supported = sorted(supported)
        shown = ", ".join(supported[:40]) + (" ..." if len(supported) > 40 else "")
        super().__init__(
            f"language {language!r} is not supported by engine {engine!r}; supported: {shown}",
            param="language",
        )
        self.language = language


class AudioDecodeError(InvalidRequestError):
    """Bytes or a file could not be decoded as audio."""


class EngineNotFoundError(AuralisError, LookupError):
    def __init__(self, name: str, installed: Iterable[str]) -> None:
        installed = sorted(installed)
        listed = ", ".join(installed) if installed else "none"
        super().__init__(f"unknown engine {name!r}; installed engines: {listed}")
        self.name = name
        self.installed = installed


class EngineLoadError(AuralisError, RuntimeError):
    """An engine (or its checkpoint) could not be loaded."""


class EngineArgumentError(EngineLoadError, TypeError):
    """``from_pretrained`` got a keyword argument the engine does not take."""

    def __init__(self, engine: str, name: str, accepted: Iterable[str]) -> None:
        listed = ", ".join(accepted) or "none"
        super().__init__(f"engine {engine!r} does not take the keyword argument {name!r}; it takes: {listed}")
        self.param = name


class CheckpointNotFoundError(EngineLoadError, FileNotFoundError):
    """A model argument that reads as a path names nothing on disk."""

    def __init__(self, path: str) -> None:
        super().__init__(f"no such checkpoint: {path}")
        self.path = path


class VoiceNotFoundError(AuralisError, LookupError):
    def __init__(self, name: str, available: Iterable[str]) -> None:
        available = sorted(available)
        shown = ", ".join(available[:40]) + (" ..." if len(available) > 40 else "")
        super().__init__(f"unknown voice {name!r}; available voices: {shown or 'none'}")
        self.name = name


class CapabilityError(AuralisError, ValueError):
    """The engine cannot do what was asked (e.g. voice cloning on an engine without it)."""


class GenerationTimeoutError(AuralisError, TimeoutError):
    pass


class GenerationError(AuralisError, RuntimeError):
    """An engine failed while producing audio for a request."""


class MissingDependencyError(AuralisError, ImportError):
    """An optional dependency (extra) is needed for this feature."""

    def __init__(self, feature: str, package: str, extra: str | None = None) -> None:
        hint = f"pip install '{extra}'" if extra else f"pip install {package}"
        super().__init__(f"{feature} needs the optional package {package!r}: {hint}")


class VoiceExistsError(AuralisError, ValueError):
    """A voice of that name exists already (or is being created right now)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"a voice named {name!r} already exists; delete it first")
        self.name = name


class ConfigurationError(AuralisError, ValueError):
    """A setting (flag, config field) names something that does not exist or cannot work."""
