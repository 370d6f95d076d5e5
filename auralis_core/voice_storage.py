"""Where voice files live: a local directory or an fsspec URL, shared by every server replica.

Two guarantees the replicas of one deployment rely on:

- **atomic writes**: a reader sees the old file or the new one, never a half-written one;
- **exclusive creation**: of concurrent creations of one name (from any process), exactly one
  succeeds and every other gets `FileExistsError`.

A directory gets both from POSIX: the bytes go to a unique temporary file that is then published
with ``link`` (fails if the name exists) or ``rename`` (replaces). fsspec URLs use the same moves
on fsspec's local filesystem; other filesystems write with one ``pipe_file`` call (object stores
publish an object whole) and create with ``pipe_file(mode="create")``, which is atomic across
processes where the filesystem implements it as a conditional write (see docs/scale-out.md).

Every file has a *version* (a cheap stat: inode/mtime/size, or the object's ETag or modification
time), so a cache of parsed voices can tell when another replica replaced one.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

SUFFIX = ".safetensors"
Version = Hashable


def is_url(location: str | os.PathLike[str]) -> bool:
    """``s3://bucket/voices``, ``memory://x``, ``file:///srv/voices`` (not ``C:\\voices`` or ``./x``)."""
    text = os.fspath(location)
    scheme, sep, _ = text.partition("://")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").replace("-", "").isalnum()


class VoiceStorage(Protocol):
    """Named blobs of one engine's voices; every method may be called from any thread."""

    location: str

    def list(self) -> dict[str, Version]:
        """Names of stored voices and their current versions."""

    def version(self, name: str) -> Version | None:
        """The current version of ``name``, or None if it is not stored."""

    def read(self, name: str) -> tuple[bytes, Version]:
        """Contents and version (`FileNotFoundError` if gone)."""

    def write(self, name: str, data: bytes, *, exclusive: bool) -> None:
        """Publish atomically; with ``exclusive``, `FileExistsError` if the name is taken."""

    def delete(self, name: str) -> bool:
        """Remove ``name``; False if it was not there."""


class DirectoryStorage:
    """``<directory>/<name>.safetensors``; the directory may be shared (NFS and the like)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).expanduser()
        self.location = str(self.directory)

    def _path(self, name: str) -> Path:
        return self.directory / f"{name}{SUFFIX}"

    def list(self) -> dict[str, Version]:
        out: dict[str, Version] = {}
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return out
        for entry in entries:
            if entry.name.endswith(SUFFIX) and not entry.name.startswith("."):
                try:
                    out[entry.name[: -len(SUFFIX)]] = _stat_version(entry.stat())
                except FileNotFoundError:
                    continue
        return out

    def version(self, name: str) -> Version | None:
        try:
            return _stat_version(self._path(name).stat())
        except FileNotFoundError:
            return None

    def read(self, name: str) -> tuple[bytes, Version]:
        with open(self._path(name), "rb") as f:
            return f.read(), _stat_version(os.fstat(f.fileno()))

    def write(self, name: str, data: bytes, *, exclusive: bool) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self._path(name)
        tmp = self.directory / f".{name}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            if exclusive:
                os.link(tmp, final)  # atomic, and fails if the name exists (also over NFS)
            else:
                os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)

    def delete(self, name: str) -> bool:
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            return False
        return True


def _stat_version(st: os.stat_result) -> Version:
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class FsspecStorage:
    """``<url>/<name>.safetensors`` on any fsspec filesystem (``s3://``, ``gs://``, ``memory://``, ...)."""

    _create_lock = threading.Lock()  # one process's threads never race each other's check-and-create

    def __init__(self, url: str, fs: AbstractFileSystem | None = None) -> None:
        try:
            import fsspec
            from fsspec.implementations.local import LocalFileSystem
        except ImportError as exc:  # pragma: no cover - fsspec ships with the [ray] extra and torch
            raise ImportError(f"a voice store URL ({url!r}) needs fsspec: pip install 'auralis-core[ray]' or fsspec") from exc
        if fs is None:
            fs, root = fsspec.core.url_to_fs(url)
        else:
            root = fs._strip_protocol(url)
        self.fs = fs
        self.root = root.rstrip("/")
        self.location = url
        self._local = isinstance(fs, LocalFileSystem)

    def _path(self, name: str) -> str:
        return f"{self.root}/{name}{SUFFIX}"

    def list(self) -> dict[str, Version]:
        try:
            entries = self.fs.ls(self.root, detail=True, refresh=True)
        except FileNotFoundError:
            return {}
        out: dict[str, Version] = {}
        for info in entries:
            base = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
            if info.get("type") == "file" and base.endswith(SUFFIX) and not base.startswith("."):
                out[base[: -len(SUFFIX)]] = _info_version(info)
        return out

    def version(self, name: str) -> Version | None:
        try:
            self.fs.invalidate_cache(self._path(name))
            return _info_version(self.fs.info(self._path(name)))
        except FileNotFoundError:
            return None

    def read(self, name: str) -> tuple[bytes, Version]:
        path = self._path(name)
        version = self.version(name)  # before the bytes: a newer file read now shows as changed later
        if version is None:
            raise FileNotFoundError(path)
        return self.fs.cat_file(path), version

    def write(self, name: str, data: bytes, *, exclusive: bool) -> None:
        path = self._path(name)
        if self._local:  # a real directory: the POSIX publish moves, as DirectoryStorage
            self.fs.makedirs(self.root, exist_ok=True)
            tmp = f"{self.root}/.{name}.{uuid.uuid4().hex}.tmp"
            self.fs.pipe_file(tmp, data)
            try:
                if exclusive:
                    self.fs.link(tmp, path)
                else:
                    self.fs.mv(tmp, path)
            finally:
                if self.fs.exists(tmp):
                    self.fs.rm_file(tmp)
            return
        if exclusive:
            with self._create_lock:
                self.fs.pipe_file(path, data, mode="create")
        else:
            self.fs.pipe_file(path, data)
        self.fs.invalidate_cache(self.root)

    def delete(self, name: str) -> bool:
        try:
            self.fs.rm_file(self._path(name))
        except FileNotFoundError:
            return False
        self.fs.invalidate_cache(self.root)
        return True


_VERSION_KEYS = ("ETag", "etag", "generation", "mtime", "LastModified", "last_modified", "updated", "created", "size", "ino")


def _info_version(info: dict[str, object]) -> Version:
    return tuple(str(info.get(key)) for key in _VERSION_KEYS if info.get(key) is not None)


def open_storage(location: str | os.PathLike[str], engine: str) -> VoiceStorage:
    """The storage for one engine's voices below ``location`` (its ``<engine>/`` subfolder)."""
    if is_url(location):
        return FsspecStorage(f"{os.fspath(location).rstrip('/')}/{engine}")
    return DirectoryStorage(Path(location).expanduser() / engine)
