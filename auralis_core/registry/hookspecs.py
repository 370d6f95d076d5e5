"""The hooks a plugin may implement. A plugin module holds one ``@hookimpl`` per hook it uses."""

from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("auralis")
hookimpl = pluggy.HookimplMarker("auralis")


@hookspec
def register_engines(register: Callable[..., Any]) -> None:
    """Register engines by calling ``register(name, "package.module:EngineClass", capabilities=...)``.

    Keep this cheap: pass the engine class as an import string so that listing engines does not
    import model code.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add subcommands to the ``auralis`` click group (e.g. ``auralis xttsv2 convert``)."""
