"""The built sdists and wheels: metadata complete, versions from one source, core pins, contents.

Marked ``packaging``: these build every distribution (``python -m build``, once per session).
"""

from __future__ import annotations

import re
import subprocess
import tarfile
from email import message_from_string
from email.message import Message

import pytest
from distkit import RUNTIME_DATA, Artifacts, Distribution, tracked_package_data
from packaging.requirements import Requirement
from packaging.version import Version

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]


def _metadata(artifacts: Artifacts) -> Message:
    return message_from_string(artifacts.wheel_metadata())


def _next_breaking(version: str) -> Version:
    """The first release allowed to break the engine contract: next minor below 1.0, next major after."""
    v = Version(version)
    return Version(f"0.{v.minor + 1}.0") if v.major == 0 else Version(f"{v.major + 1}.0.0")


def test_every_distribution_builds_an_sdist_and_a_wheel(distributions, artifacts):
    assert set(artifacts) == {d.name for d in distributions}
    for dist in distributions:
        a = artifacts[dist.name]
        assert a.sdist.name == f"{dist.name.replace('-', '_')}-{dist.source_version}.tar.gz"
        assert a.wheel.name == f"{dist.name.replace('-', '_')}-{dist.source_version}-py3-none-any.whl"


def test_twine_check_passes_on_every_artifact(built):
    """scripts/build-dists.sh ends with ``twine check --strict`` over everything it built."""
    files = [p for a in built.artifacts.values() for p in (a.sdist, a.wheel)]
    for path in files:
        assert re.search(rf"Checking \S*{re.escape(path.name)}: (\x1b\[\d+m)?PASSED", built.log), path.name


def test_version_has_one_source(distributions: list[Distribution], artifacts):
    for dist in distributions:
        project = dist.pyproject["project"]
        assert "version" not in project and project.get("dynamic") == ["version"], dist.name
        attr = dist.pyproject["tool"]["setuptools"]["dynamic"]["version"]["attr"]
        assert attr == f"{dist.packages[0]}.__version__", dist.name
        assert _metadata(artifacts[dist.name])["Version"] == dist.source_version


def test_metadata_is_complete(distributions: list[Distribution], artifacts):
    for dist in distributions:
        meta = _metadata(artifacts[dist.name])
        names = artifacts[dist.name].wheel_names()
        where = dist.name
        assert Version(meta["Metadata-Version"]) >= Version("2.4"), where  # License-Expression needs 2.4
        assert meta["License-Expression"] == dist.pyproject["project"]["license"], where
        licence_files = meta.get_all("License-File") or []
        assert licence_files, where
        for name in licence_files:
            assert any(n.endswith(f".dist-info/licenses/{name}") for n in names), (where, name)
        assert meta["Requires-Python"] and meta["Summary"], where
        assert meta["Description-Content-Type"] == "text/markdown", where
        assert len(meta.get_payload()) > 200, f"{where}: the README is the long description"
        urls = {u.split(",")[0].strip() for u in meta.get_all("Project-URL") or []}
        assert {"Homepage", "Repository", "Issues", "Changelog"} <= urls, where
        classifiers = meta.get_all("Classifier") or []
        assert any(c.startswith("Development Status ::") for c in classifiers), where
        assert "Programming Language :: Python :: 3" in classifiers, where
        assert "Topic :: Multimedia :: Sound/Audio :: Speech" in classifiers, where


def test_plugins_require_a_compatible_core_range(distributions: list[Distribution], core: Distribution, artifacts):
    """Each plugin accepts the core it is released with and refuses the next contract-breaking one."""
    core_version = Version(core.source_version)
    for dist in distributions:
        if dist.is_core:
            continue
        requirements = [Requirement(r) for r in _metadata(artifacts[dist.name]).get_all("Requires-Dist") or []]
        pins = [r for r in requirements if r.name == "auralis-core" and r.marker is None]
        assert len(pins) == 1, f"{dist.name} must depend on auralis-core exactly once: {requirements}"
        spec = pins[0].specifier
        assert core_version in spec, f"{dist.name}: {spec} excludes the core in this tree ({core_version})"
        assert _next_breaking(core.source_version) not in spec, f"{dist.name}: {spec} has no upper bound"


def test_entry_points_are_in_the_wheels(distributions: list[Distribution], artifacts):
    for dist in distributions:
        entry_points = artifacts[dist.name].wheel_file(".dist-info/entry_points.txt")
        if dist.is_core:
            assert "[console_scripts]\nauralis = auralis_core.cli.main:main" in entry_points
        else:
            assert "[auralis.engines]" in entry_points, dist.name


def test_wheels_contain_their_runtime_data(distributions: list[Distribution], artifacts):
    """Listed run-time files and every git-tracked non-Python file inside a package are shipped."""
    for dist in distributions:
        names = artifacts[dist.name].wheel_names()
        required = set(RUNTIME_DATA.get(dist.name, ())) | set(tracked_package_data(dist))
        missing = sorted(required - names)
        assert not missing, f"{dist.name} wheel lacks run-time files: {missing}"
        for listed in RUNTIME_DATA.get(dist.name, ()):
            assert (dist.directory / listed).is_file(), f"RUNTIME_DATA lists {listed}, which is not in the tree"


def test_wheels_ship_only_their_own_packages(distributions: list[Distribution], artifacts):
    for dist in distributions:
        tops = {n.split("/")[0] for n in artifacts[dist.name].wheel_names()}
        tops = {t for t in tops if not t.endswith(".dist-info")}
        assert tops == set(dist.packages), f"{dist.name}: {tops}"


def test_sdists_contain_the_whole_source(distributions: list[Distribution], artifacts):
    for dist in distributions:
        with tarfile.open(artifacts[dist.name].sdist) as tf:
            root = tf.getnames()[0].split("/")[0]
            names = {n.removeprefix(root + "/") for n in tf.getnames()}
        tracked = subprocess.run(["git", "ls-files", "--", *dist.packages], cwd=dist.directory,
                                 capture_output=True, text=True, check=True).stdout.split()
        missing = sorted({"pyproject.toml", "README.md", "LICENSE", *tracked} - names)
        assert not missing, f"{dist.name} sdist lacks {missing}"
