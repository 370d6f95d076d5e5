"""``auralis --version``: the core and every installed engine distribution with its version.

A bug report needs all of them, not just the core's: engines ship separately and are released on
their own schedule. Reading them loads the plugins' registration modules only (cheap by contract),
never an engine class or a model.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

import click


@dataclass(frozen=True)
class EngineVersion:
    engine: str
    distribution: str
    version: str


@dataclass(frozen=True)
class VersionReport:
    core: str
    python: str
    engines: tuple[EngineVersion, ...]
    failed_plugins: tuple[tuple[str, str], ...]  # (entry-point name, error)

    def render(self) -> str:
        lines = [f"auralis-core {self.core} (Python {self.python})"]
        if self.engines:
            width = max(len(e.engine) for e in self.engines)
            lines.append("engines:")
            lines += [f"  {e.engine:<{width}}  {e.distribution} {e.version}" for e in self.engines]
        else:
            lines.append("engines: none installed (see `auralis engines`)")
        lines += [f"failed plugin {name!r}: {error}" for name, error in self.failed_plugins]
        return "\n".join(lines)


def collect_versions() -> VersionReport:
    from .. import __version__
    from ..registry.registry import list_engines, plugin_failures

    engines = tuple(
        EngineVersion(spec.name, spec.package or "(registered at run time)", spec.version or "unknown")
        for spec in list_engines()
    )
    failures = tuple((f.plugin, f.error) for f in plugin_failures())
    return VersionReport(__version__, platform.python_version(), engines, failures)


def print_versions(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """Click callback of ``--version`` (eager: runs before any subcommand is parsed)."""
    if not value or ctx.resilient_parsing:
        return
    click.echo(collect_versions().render())
    ctx.exit()
