"""Named voices: conditioning computed once, stored as a small safetensors file, reused by name."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InvalidRequestError, VoiceExistsError, VoiceNotFoundError

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def validate_voice_name(name: str) -> str:
    """Voice names become file names: letters, digits, ``_ . -``; no path separators or ``..``."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or ".." in name:
        raise InvalidRequestError(
            f"invalid voice name {name!r}: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
            "name",
        )
    return name


@dataclass
class VoiceProfile:
    """Engine-specific conditioning tensors for one voice, plus where they came from."""

    name: str
    engine: str
    tensors: dict[str, np.ndarray]
    metadata: dict[str, str] = field(default_factory=dict)

    def save(self, path: str | os.PathLike[str]) -> Path:
        from safetensors.numpy import save_file

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"name": self.name, "engine": self.engine, "metadata": json.dumps(self.metadata)}
        tmp = path.with_suffix(path.suffix + ".tmp")
        save_file({k: np.ascontiguousarray(v) for k, v in self.tensors.items()}, str(tmp), metadata=meta)
        os.replace(tmp, path)  # atomic: a crash never leaves a half-written voice
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> VoiceProfile:
        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            raise InvalidRequestError(f"voice file not found: {str(path)!r}")
        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = f.metadata() or {}
                tensors = {key: f.get_tensor(key) for key in f.keys()}
        except Exception as exc:
            raise InvalidRequestError(f"{str(path)!r} is not a valid voice file: {exc}") from exc
        if "engine" not in meta:
            raise InvalidRequestError(f"{str(path)!r} is not an Auralis voice file (no engine in metadata)")
        return cls(
            name=meta.get("name", path.stem),
            engine=meta["engine"],
            tensors=tensors,
            metadata=json.loads(meta.get("metadata", "{}")),
        )


class VoiceStore:
    """Registered voices of one engine, in memory and optionally mirrored to a directory."""

    def __init__(self, engine: str, directory: str | os.PathLike[str] | None = None) -> None:
        self.engine = engine
        self.directory = Path(directory).expanduser() / engine if directory else None
        self._voices: dict[str, VoiceProfile] = {}
        self._creating: set[str] = set()
        self._lock = threading.Lock()
        if self.directory and self.directory.is_dir():
            for file in sorted(self.directory.glob("*.safetensors")):
                try:
                    profile = VoiceProfile.load(file)
                except InvalidRequestError:
                    continue
                if profile.engine == engine:
                    self._voices[profile.name] = profile

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._voices)

    def __contains__(self, name: str) -> bool:
        with self._lock:
            return name in self._voices

    def get(self, name: str) -> VoiceProfile:
        with self._lock:
            if name not in self._voices:
                raise VoiceNotFoundError(name, self._voices)
            return self._voices[name]

    @contextmanager
    def reserve(self, name: str) -> Iterator[None]:
        """Claim a new name while its voice is computed: a second claim (or an existing voice)
        raises `VoiceExistsError`, so of concurrent creations of one name exactly one proceeds."""
        validate_voice_name(name)
        with self._lock:
            if name in self._voices or name in self._creating:
                raise VoiceExistsError(name)
            self._creating.add(name)
        try:
            yield
        finally:
            with self._lock:
                self._creating.discard(name)

    def add(self, profile: VoiceProfile) -> None:
        validate_voice_name(profile.name)
        with self._lock:
            self._voices[profile.name] = profile
        if self.directory:
            profile.save(self.directory / f"{profile.name}.safetensors")

    def remove(self, name: str) -> None:
        validate_voice_name(name)
        with self._lock:
            if name not in self._voices:
                raise VoiceNotFoundError(name, self._voices)
            del self._voices[name]
        if self.directory:
            (self.directory / f"{name}.safetensors").unlink(missing_ok=True)
