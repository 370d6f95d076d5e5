"""What the packaging tests know about our distributions: where they are, what they must ship.

Every ``pyproject.toml`` at the root and under ``plugins/*/`` is a distribution; a new plugin is
picked up without touching these tests. ``RUNTIME_DATA`` lists, per distribution, the non-Python
files its code opens at run time; on top of that every git-tracked non-Python file inside a
package directory must be in the wheel (a file someone added next to the code is there to be read).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: build's own dependency
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]

RUNTIME_DATA: dict[str, tuple[str, ...]] = {
    # PEP 561 marker: type checkers read the installed package's annotations only with it
    "auralis-core": ("auralis_core/py.typed",),
    "auralis-xttsv2": ("auralis_xttsv2/py.typed",),
    # The eSpeak NG library and its voices/phoneme data are not ours: they come from the
    # espeakng-loader wheel, which the installed-wheel tests exercise by speaking with espeak.
    "auralis-espeak": (),
}
"""Run-time data files each wheel must contain (beyond what git tracks inside its packages)."""


@dataclass(frozen=True)
class Distribution:
    name: str  # the distribution name, e.g. "auralis-espeak"
    directory: Path  # where its pyproject.toml is
    packages: tuple[str, ...]  # top-level import packages, e.g. ("auralis_espeak",)
    pyproject: dict

    @property
    def source_version(self) -> str:
        """``__version__`` of the first package, read without importing it (the one version source)."""
        init = self.directory / self.packages[0] / "__init__.py"
        for node in ast.parse(init.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
                return ast.literal_eval(node.value)
        raise AssertionError(f"{init} defines no literal __version__")

    @property
    def is_core(self) -> bool:
        return self.name == "auralis-core"


def discover() -> list[Distribution]:
    dirs = [REPO] + sorted(p.parent for p in REPO.glob("plugins/*/pyproject.toml"))
    out = []
    for directory in dirs:
        data = tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8"))
        include = data["tool"]["setuptools"]["packages"]["find"]["include"]
        packages = tuple(sorted({pattern.rstrip("*").rstrip(".") for pattern in include}))
        out.append(Distribution(data["project"]["name"], directory, packages, data))
    return out


def tracked_package_data(dist: Distribution) -> list[str]:
    """Non-Python files git tracks inside the distribution's packages, as wheel paths."""
    result = subprocess.run(
        ["git", "ls-files", "--", *dist.packages], cwd=dist.directory, capture_output=True, text=True, check=True
    )
    return sorted(line for line in result.stdout.splitlines() if line and not line.endswith((".py", ".pyi")))


@dataclass(frozen=True)
class Artifacts:
    sdist: Path
    wheel: Path

    def wheel_names(self) -> set[str]:
        with zipfile.ZipFile(self.wheel) as zf:
            return set(zf.namelist())

    def wheel_metadata(self) -> str:
        with zipfile.ZipFile(self.wheel) as zf:
            (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
            return zf.read(name).decode("utf-8")

    def wheel_file(self, suffix: str) -> str:
        with zipfile.ZipFile(self.wheel) as zf:
            (name,) = [n for n in zf.namelist() if n.endswith(suffix)]
            return zf.read(name).decode("utf-8")


@dataclass(frozen=True)
class Build:
    artifacts: dict[str, Artifacts]  # by distribution name
    log: str  # output of scripts/build-dists.sh, twine's verdicts included


def build_all(dists: list[Distribution], outdir: Path) -> Build:
    """Run the documented build script (sdist, then the wheel from that sdist, for every
    distribution; then ``twine check --strict``). A file missing from an sdist goes missing from
    its wheel too, so the wheel checks cover both.

    ``--no-isolation``: the build backend (setuptools) is already in the test venv; an isolated
    build would download it for every distribution.
    """
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "build-dists.sh"), str(outdir), "--no-isolation"],
        check=False, capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHON": sys.executable, "COLUMNS": "500"},  # twine (rich) wraps at 80
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"scripts/build-dists.sh failed:\n{log[-6000:]}"
    artifacts = {}
    for dist in dists:
        stem = dist.name.replace("-", "_")
        (sdist,) = outdir.glob(f"{stem}-*.tar.gz")
        (wheel,) = outdir.glob(f"{stem}-*.whl")
        artifacts[dist.name] = Artifacts(sdist, wheel)
    return Build(artifacts, log)


def clean_env(venv: Path, home: Path) -> dict[str, str]:
    """Environment for commands in the fresh venv: its bin first, nothing pointing at the source tree."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("AURALIS_")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONSAFEPATH"] = "1"  # never put the cwd or a script's directory on sys.path
    env["HOME"] = str(home)  # no ~/.cache/auralis or user config of the developer's
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    if "PIP_CACHE_DIR" not in os.environ:  # keep pip's download cache: reruns do not download again
        env["PIP_CACHE_DIR"] = str(Path.home() / ".cache" / "pip")
    return env
