"""The process-wide engine registry."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

from ..errors import EngineLoadError, EngineNotFoundError
from . import hookspecs

if TYPE_CHECKING:
    from ..engine.base import BaseAsyncTTSEngine, EngineCapabilities

ENTRY_POINT_GROUP = "auralis.engines"
log = logging.getLogger("auralis.registry")


@dataclass
class EngineSpec:
    """A registered engine: where its class lives and what it can do, without importing it."""

    name: str
    target: str | type[BaseAsyncTTSEngine]
    capabilities_source: EngineCapabilities | Callable[[], EngineCapabilities] | None = None
    package: str | None = None
    version: str | None = None
    _capabilities: EngineCapabilities | None = field(default=None, repr=False)

    @property
    def capabilities(self) -> EngineCapabilities:
        if self._capabilities is None:
            source = self.capabilities_source
            if source is None:
                source = self.load().capabilities
            elif callable(source):
                source = source()
            self._capabilities = source
        return self._capabilities

    def load(self) -> type[BaseAsyncTTSEngine]:
        """Import the engine class (first use only)."""
        if not isinstance(self.target, str):
            return self.target
        module_name, _, attr = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
            cls = getattr(module, attr) if attr else module
        except Exception as exc:
            raise EngineLoadError(f"engine {self.name!r} failed to import {self.target!r}: {exc}") from exc
        self.target = cls
        return cls


@dataclass(frozen=True)
class PluginFailure:
    plugin: str
    error: str


class _Registry:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("auralis")
        self.pm.add_hookspecs(hookspecs)
        self._engines: dict[str, EngineSpec] = {}
        self._failures: list[PluginFailure] = []
        self._loaded = False
        self._lock = threading.RLock()

    def _load_entry_points(self) -> None:
        """Load each plugin separately, so that one broken plugin does not hide the others."""
        from importlib_metadata import entry_points

        dists: dict[str, tuple[str | None, str | None]] = {}
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if self.pm.has_plugin(ep.name):
                continue
            try:
                self.pm.register(ep.load(), name=ep.name)
            except Exception as exc:
                self._failures.append(PluginFailure(ep.name, f"{type(exc).__name__}: {exc}"))
                log.warning("auralis plugin %r failed to load: %s", ep.name, exc)
                continue
            dists[ep.name] = (ep.dist.metadata["Name"], ep.dist.version) if ep.dist else (None, None)
        self._collect_engines(dists)

    def _collect_engines(self, dists: dict[str, tuple[str | None, str | None]]) -> None:
        """Call every plugin's ``register_engines`` hook on its own, recording its distribution."""
        for impl in self.pm.hook.register_engines.get_hookimpls():
            package, version = dists.get(impl.plugin_name, (impl.plugin_name, None))

            def register(name: str, target: Any, capabilities: Any = None, *, _p=package, _v=version) -> None:
                self._add(EngineSpec(name, target, capabilities, _p, _v))

            try:
                impl.function(register=register)
            except Exception as exc:
                self._failures.append(PluginFailure(impl.plugin_name, f"{type(exc).__name__}: {exc}"))
                log.warning("auralis plugin %r failed to register engines: %s", impl.plugin_name, exc)

    def ensure_loaded(self) -> None:
        with self._lock:
            if not self._loaded:
                self._loaded = True
                self._load_entry_points()

    def _add(self, spec: EngineSpec) -> None:
        if spec.name in self._engines:
            log.warning("engine %r registered twice; keeping the later registration", spec.name)
        self._engines[spec.name] = spec

    def register(self, spec: EngineSpec) -> None:
        self.ensure_loaded()
        with self._lock:
            self._add(spec)

    def unregister(self, name: str) -> None:
        with self._lock:
            self._engines.pop(name, None)

    def specs(self) -> dict[str, EngineSpec]:
        self.ensure_loaded()
        with self._lock:
            return dict(sorted(self._engines.items()))

    def failures(self) -> list[PluginFailure]:
        self.ensure_loaded()
        return list(self._failures)

    def reset(self) -> None:
        """Forget everything and rediscover on next use (tests install plugins at run time)."""
        with self._lock:
            for name, _ in list(self.pm.list_name_plugin()):
                self.pm.unregister(name=name)
            self._engines.clear()
            self._failures.clear()
            self._loaded = False
            importlib.invalidate_caches()


_registry = _Registry()


def plugin_manager() -> pluggy.PluginManager:
    _registry.ensure_loaded()
    return _registry.pm


def register_engine(
    name: str,
    target: str | type[BaseAsyncTTSEngine],
    capabilities: EngineCapabilities | Callable[[], EngineCapabilities] | None = None,
) -> EngineSpec:
    """Register an engine at run time (an import string or the class itself)."""
    if not isinstance(name, str) or not name:
        raise ValueError("engine name must be a non-empty string")
    spec = EngineSpec(name, target, capabilities, package="(runtime)")
    _registry.register(spec)
    return spec


def unregister_engine(name: str) -> None:
    _registry.unregister(name)


def list_engines() -> list[EngineSpec]:
    return list(_registry.specs().values())


def get_engine_spec(name: str) -> EngineSpec:
    specs = _registry.specs()
    if name not in specs:
        raise EngineNotFoundError(name, specs)
    return specs[name]


def get_engine(name: str) -> type[BaseAsyncTTSEngine]:
    """The engine class registered as ``name`` (imported now if it was not yet)."""
    return get_engine_spec(name).load()


def plugin_failures() -> list[PluginFailure]:
    return _registry.failures()


def reset_registry() -> None:
    _registry.reset()


def engine_for_model_type(model_type: str) -> EngineSpec | None:
    for spec in _registry.specs().values():
        try:
            if model_type in spec.capabilities.model_types:
                return spec
        except Exception:  # a broken engine must not stop the lookup
            continue
    return None
