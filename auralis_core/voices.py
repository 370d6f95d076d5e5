"""Named voices: conditioning computed once, stored as a small safetensors file, reused by name."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import InvalidRequestError, VoiceExistsError, VoiceNotFoundError

if TYPE_CHECKING:
    from .voice_storage import Version, VoiceStorage

log = logging.getLogger("auralis.voices")

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

    def to_bytes(self) -> bytes:
        """The safetensors file's bytes (tensors plus name, engine and metadata in its header)."""
        from safetensors.numpy import save

        meta = {"name": self.name, "engine": self.engine, "metadata": json.dumps(self.metadata)}
        return save({k: np.ascontiguousarray(v) for k, v in self.tensors.items()}, metadata=meta)

    @classmethod
    def from_bytes(cls, data: bytes, source: str) -> VoiceProfile:
        """Parse a voice file's bytes; ``source`` names it in errors."""
        from safetensors.numpy import load

        try:
            header_len = int.from_bytes(data[:8], "little")
            meta = json.loads(data[8 : 8 + header_len]).get("__metadata__") or {}
            tensors = load(data)
        except Exception as exc:
            raise InvalidRequestError(f"{source!r} is not a valid voice file: {exc}") from exc
        if "engine" not in meta:
            raise InvalidRequestError(f"{source!r} is not an Auralis voice file (no engine in metadata)")
        return cls(
            name=meta.get("name", Path(source).stem),
            engine=meta["engine"],
            tensors=tensors,
            metadata=json.loads(meta.get("metadata", "{}")),
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(self.to_bytes())
        os.replace(tmp, path)  # atomic: a crash never leaves a half-written voice
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> VoiceProfile:
        path = Path(path)
        if not path.is_file():
            raise InvalidRequestError(f"voice file not found: {str(path)!r}")
        return cls.from_bytes(path.read_bytes(), str(path))


@dataclass
class _Cached:
    profile: VoiceProfile
    version: Version


class VoiceStore:
    """Registered voices of one engine: in memory, or kept in a (shared) `VoiceStorage`.

    With a storage (a directory or an fsspec URL, see `auralis_core.voice_storage`) the storage is
    the truth: every lookup checks the file's version, so a voice another process (a replica)
    added, replaced or deleted is seen at once, and a parsed profile is reused only while its
    file is unchanged (that is the conditioning cache this store keeps).
    """

    def __init__(self, engine: str, directory: str | os.PathLike[str] | None = None) -> None:
        from .voice_storage import open_storage

        self.engine = engine
        self.storage: VoiceStorage | None = open_storage(directory, engine) if directory else None
        self.directory = getattr(self.storage, "directory", None)
        self._voices: dict[str, _Cached] = {}
        self._creating: set[str] = set()
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        if self.storage is None:
            with self._lock:
                return sorted(self._voices)
        listed = self.storage.list()
        with self._lock:
            for gone in set(self._voices) - set(listed):
                del self._voices[gone]
        return sorted(name for name, version in listed.items() if self._lookup(name, version) is not None)

    def __contains__(self, name: str) -> bool:
        return self._lookup(name) is not None

    def get(self, name: str) -> VoiceProfile:
        cached = self._lookup(name)
        if cached is None:
            raise VoiceNotFoundError(name, self.names())
        return cached.profile

    def _lookup(self, name: str, version: Version | None = None) -> _Cached | None:
        """The cached profile if its file is unchanged, else the file parsed again (None: no such
        voice, or the file is not a voice of this engine)."""
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            return None
        if self.storage is None:
            with self._lock:
                return self._voices.get(name)
        version = version if version is not None else self.storage.version(name)
        with self._lock:
            cached = self._voices.get(name)
            if version is None:
                self._voices.pop(name, None)
                return None
            if cached is not None and cached.version == version:
                return cached
        try:
            data, version = self.storage.read(name)
            profile = VoiceProfile.from_bytes(data, f"{self.storage.location}/{name}")
        except (FileNotFoundError, InvalidRequestError) as exc:
            log.debug("voice %r skipped: %s", name, exc)
            return None
        if profile.engine != self.engine:
            return None
        profile.name = name
        entry = _Cached(profile, version)
        with self._lock:
            self._voices[name] = entry
        return entry

    @contextmanager
    def reserve(self, name: str) -> Iterator[None]:
        """Claim a new name while its voice is computed: a second claim (or an existing voice)
        raises `VoiceExistsError`, so of concurrent creations of one name in this process exactly
        one proceeds (`create` settles races between processes)."""
        validate_voice_name(name)
        with self._lock:
            if name in self._creating:
                raise VoiceExistsError(name)
            self._creating.add(name)
        try:
            if name in self:
                raise VoiceExistsError(name)
            yield
        finally:
            with self._lock:
                self._creating.discard(name)

    def add(self, profile: VoiceProfile) -> None:
        """Store ``profile``, replacing a voice of that name."""
        self._store(profile, exclusive=False)

    def create(self, profile: VoiceProfile) -> None:
        """Store a new voice; `VoiceExistsError` if the name is taken, even by another process
        that stored it a moment ago (exactly one of concurrent creations wins)."""
        self._store(profile, exclusive=True)

    def _store(self, profile: VoiceProfile, exclusive: bool) -> None:
        validate_voice_name(profile.name)
        if self.storage is None:
            with self._lock:
                if exclusive and profile.name in self._voices:
                    raise VoiceExistsError(profile.name)
                self._voices[profile.name] = _Cached(profile, None)
            return
        try:
            self.storage.write(profile.name, profile.to_bytes(), exclusive=exclusive)
        except FileExistsError:
            raise VoiceExistsError(profile.name) from None
        with self._lock:
            self._voices.pop(profile.name, None)  # parsed again (with its version) on first use

    def remove(self, name: str) -> None:
        validate_voice_name(name)
        if self.storage is None:
            with self._lock:
                if name not in self._voices:
                    raise VoiceNotFoundError(name, self._voices)
                del self._voices[name]
            return
        with self._lock:
            self._voices.pop(name, None)
        if not self.storage.delete(name):
            raise VoiceNotFoundError(name, self.names())
