"""``auralis plugin new NAME``: a complete engine distribution from the template, passing its
tests as generated (pyproject with the entry point, engine with typed Options, README, tests
that run the conformance kit). The template lives in ``plugin_template/`` as ``*.tmpl`` files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import __version__

if TYPE_CHECKING:
    from importlib.abc import Traversable

_NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
_RENAMES = {"PACKAGE": "{{package}}", "gitignore": ".gitignore"}


@dataclass(frozen=True)
class PluginNames:
    """Every name the template needs, derived from the engine name."""

    name: str
    dist: str
    package: str
    engine_class: str
    options_class: str

    @classmethod
    def from_engine_name(cls, name: str) -> PluginNames:
        if not _NAME.fullmatch(name) or len(name) > 40:
            raise click.BadParameter(
                f"{name!r} is not an engine name: use lower-case letters and digits, words joined by '-' or '_' "
                "(e.g. 'piper' or 'my-voice'), at most 40 characters",
                param_hint="NAME",
            )
        words = re.split(r"[-_]", name)
        camel = "".join(w.capitalize() for w in words)
        return cls(name, f"auralis-{'-'.join(words)}", f"auralis_{'_'.join(words)}", f"{camel}Engine", f"{camel}Options")

    def fill(self, text: str) -> str:
        major, minor = (int(part) for part in __version__.split(".")[:2])
        # below 1.0 a minor release may change the engine contract: pin to this minor series
        next_series = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
        values = {"core_version": __version__, "core_next": next_series, **self.__dict__}
        return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], text)


def _files(root: Traversable, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Traversable]]:
    out = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            out += _files(entry, (*prefix, entry.name))
        elif entry.name.endswith(".tmpl"):
            out.append(((*prefix, entry.name), entry))
    return out


def generate(names: PluginNames, target: Path) -> list[Path]:
    """Write the distribution into ``target`` (new or empty); the files written, in order."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise click.UsageError(f"{target} already exists and is not an empty directory")
    written = []
    for parts, source in _files(resources.files(__package__).joinpath("plugin_template")):
        relative = [names.fill(_RENAMES.get(p.removesuffix(".tmpl"), p.removesuffix(".tmpl"))) for p in parts]
        path = target.joinpath(*relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(names.fill(source.read_text(encoding="utf-8")), encoding="utf-8")
        written.append(path)
    return written


@click.group()
def plugin() -> None:
    """Tools for engine authors."""


@plugin.command("new")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Directory to create (default: ./auralis-NAME).")
def new(name: str, directory: Path | None) -> None:
    """Create a complete engine distribution NAME that passes its tests as generated."""
    names = PluginNames.from_engine_name(name)
    target = directory if directory is not None else Path(names.dist)
    written = generate(names, target)
    click.echo(f"created {names.dist} in {target} ({len(written)} files): engine {names.name!r}, "
               f"package {names.package}, class {names.engine_class}")
    click.echo(f"next: pip install -e '{target}[test]' && (cd {target} && pytest) && auralis engines")
