"""Discovery through real distributions: pip-install a third-party engine and a broken plugin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
AURALIS = [sys.executable, "-m", "auralis_core.cli.main"]


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True)


@pytest.fixture(scope="module")
def installed_plugins(tmp_path_factory):
    for name in ("third_party_engine", "broken_plugin"):
        # copy: building in the source tree would leave build/ and *.egg-info behind
        src = tmp_path_factory.mktemp(name)
        subprocess.run(["cp", "-r", f"{FIXTURES / name}/.", str(src)], check=True)
        _pip("install", "--no-deps", "--no-build-isolation", str(src))
    yield
    _pip("uninstall", "-y", "auralis-demo-engine", "auralis-broken-plugin")


def test_third_party_engine_listed_and_usable(installed_plugins):
    listing = subprocess.run([*AURALIS, "engines", "--json"], capture_output=True, text=True, check=True)
    data = json.loads(listing.stdout)
    demo = next(row for row in data["engines"] if row["name"] == "demo")
    assert demo["package"] == "auralis-demo-engine" and demo["version"] == "0.3.1"
    assert demo["languages"] == ["en"] and demo["sample_rate"] == 16000
    # the broken plugin is reported by name and does not hide the others
    assert any(f["plugin"] == "broken" and "a_dependency_that_is_not_installed" in f["error"] for f in data["failed_plugins"])
    table = subprocess.run([*AURALIS, "engines"], capture_output=True, text=True, check=True)
    assert "demo" in table.stdout and "failed plugin 'broken'" in table.stderr

    script = (
        "from auralis_core import TTS\n"
        "tts = TTS.from_pretrained(engine='demo')\n"
        "out = tts.generate_speech('one two three')\n"
        "print(out.sample_rate, round(out.duration, 3), type(tts.engine).__module__)\n"
        "tts.shutdown()\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["16000", "0.45", "auralis_demo_engine.engine"]


def test_version_names_third_party_engines_and_broken_plugins(installed_plugins):
    out = subprocess.run([*AURALIS, "--version"], capture_output=True, text=True, check=True).stdout
    assert any(line.split() == ["demo", "auralis-demo-engine", "0.3.1"] for line in out.splitlines()), out
    assert "failed plugin 'broken'" in out and "a_dependency_that_is_not_installed" in out


def test_in_process_registry_sees_installed_plugin(installed_plugins):
    from auralis_core.registry.registry import get_engine, list_engines, plugin_failures, reset_registry

    reset_registry()
    try:
        assert "demo" in {spec.name for spec in list_engines()}
        assert get_engine("demo").__name__ == "DemoEngine"
        assert "broken" in [f.plugin for f in plugin_failures()]
    finally:
        reset_registry()


def test_unknown_engine_lists_installed():
    from auralis_core import EngineNotFoundError, TTS

    with pytest.raises(EngineNotFoundError, match=r"unknown engine 'nope'; installed engines: .*espeak"):
        TTS.from_pretrained(engine="nope")
