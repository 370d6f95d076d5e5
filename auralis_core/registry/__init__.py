"""Engine discovery: pluggy hooks loaded from the ``auralis.engines`` entry-point group."""

from .hookspecs import hookimpl, hookspec
from .registry import (
    EngineSpec,
    PluginFailure,
    get_engine,
    get_engine_spec,
    list_engines,
    plugin_failures,
    plugin_manager,
    register_engine,
    unregister_engine,
)

__all__ = [
    "EngineSpec",
    "PluginFailure",
    "get_engine",
    "get_engine_spec",
    "hookimpl",
    "hookspec",
    "list_engines",
    "plugin_failures",
    "plugin_manager",
    "register_engine",
    "unregister_engine",
]
