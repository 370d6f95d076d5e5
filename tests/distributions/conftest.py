"""Session fixtures: every distribution built once, and one fresh venv with the built wheels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).parent))  # distkit

from distkit import Artifacts, Build, Distribution, build_all, clean_env, discover

TORCH_PIN = "torch==2.13.0"
"""Installed before the wheels: the CPU build on this machine's disk. A bare ``torch>=2.1`` (the
XTTS plugin's requirement) left to pip would resolve to a multi-GB CUDA build."""


@pytest.fixture(scope="session")
def distributions() -> list[Distribution]:
    found = discover()
    assert {"auralis-core", "auralis-espeak", "auralis-xttsv2"} <= {d.name for d in found}
    return found


@pytest.fixture(scope="session")
def core(distributions: list[Distribution]) -> Distribution:
    return next(d for d in distributions if d.is_core)


@pytest.fixture(scope="session")
def built(distributions: list[Distribution], tmp_path_factory: pytest.TempPathFactory) -> Build:
    return build_all(distributions, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def artifacts(built: Build) -> dict[str, Artifacts]:
    return built.artifacts


class FreshVenv:
    """A venv made from nothing but the built wheels (and their PyPI dependencies)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.venv = root / "venv"
        self.home = root / "home"
        self.cwd = root / "work"  # commands run here: no source tree, no conftest, no pyproject
        self.home.mkdir()
        self.cwd.mkdir()
        self.env = clean_env(self.venv, self.home)
        self.python = self.venv / "bin" / "python"

    def run(self, *args: str | Path, timeout: float = 180, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(a) for a in args], check=False, cwd=self.cwd, env=self.env, capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
        if check:
            assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result

    def popen(self, *args: str | Path) -> subprocess.Popen[str]:
        return subprocess.Popen([str(a) for a in args], cwd=self.cwd, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)

    def pip_install(self, *requirements: str | Path) -> None:
        # --no-compile: byte-compiling all of torch up front is most of an install's time
        self.run(self.python, "-m", "pip", "install", "-q", "--no-compile", "--disable-pip-version-check",
                 *requirements, timeout=900)

    def auralis(self, *args: str | Path, **kw) -> subprocess.CompletedProcess[str]:
        return self.run(self.venv / "bin" / "auralis", *args, **kw)


@pytest.fixture(scope="session")
def fresh_venv(artifacts: dict[str, Artifacts], tmp_path_factory: pytest.TempPathFactory) -> FreshVenv:
    venv = FreshVenv(tmp_path_factory.mktemp("installed"))
    subprocess.run([sys.executable, "-m", "venv", str(venv.venv)], check=True, timeout=120)
    venv.pip_install(TORCH_PIN)
    venv.pip_install(*(a.wheel for a in artifacts.values()))
    return venv
