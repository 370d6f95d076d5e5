"""`auralis plugin new demo` gives a distribution that works as a third party would use it: a
real (non-editable) pip install into its own venv, `pytest` inside it passing with no extra
configuration, `auralis engines` listing it, `auralis serve --engine demo` answering the
official `openai` client over loopback.

The venv sees this test environment's packages (torch, auralis-core, pytest ...) through a
``site.addsitedir`` line, so nothing is downloaded or reinstalled; only the generated
distribution is built and installed into it.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import openai
import pytest
import soundfile as sf
from click.testing import CliRunner
from serve_process import auralis_serve

from auralis_core.cli.main import cli
from auralis_core.cli.plugin_new import PluginNames


def _run(*cmd: str | Path, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}
    return subprocess.run([str(c) for c in cmd], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, Path]:
    """(the generated source tree, the python of a venv it is pip-installed into)."""
    root = tmp_path_factory.mktemp("plugin")
    source = root / "auralis-demo"
    result = CliRunner().invoke(cli, ["plugin", "new", "demo", "--dir", str(source)])
    assert result.exit_code == 0, result.output
    venv = root / "venv"
    assert _run(sys.executable, "-m", "venv", "--without-pip", venv).returncode == 0
    python = venv / "bin" / "python"
    child_site = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    parent_site = sysconfig.get_paths()["purelib"]
    (Path(child_site) / "_test_env.pth").write_text(f"import site; site.addsitedir({parent_site!r})\n")
    build = shutil.copytree(source, root / "build-copy")  # a build leaves build/ and *.egg-info behind
    install = _run(sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "--python", python,
                   "install", "--no-deps", "--no-build-isolation", build)
    assert install.returncode == 0, install.stderr
    return source, python


def test_generated_files(tmp_path):
    source = tmp_path / "auralis-demo"
    assert CliRunner().invoke(cli, ["plugin", "new", "demo", "--dir", str(source)]).exit_code == 0
    files = sorted(str(p.relative_to(source)) for p in source.rglob("*") if p.is_file())
    assert files == [".gitignore", "README.md", "auralis_demo/__init__.py", "auralis_demo/engine.py",
                     "auralis_demo/plugin.py", "pyproject.toml", "tests/test_conformance.py", "tests/test_engine.py"]
    assert '[project.entry-points."auralis.engines"]\ndemo = "auralis_demo.plugin"' in (source / "pyproject.toml").read_text()
    assert "{{" not in "".join(p.read_text() for p in source.rglob("*") if p.is_file())


def test_installed_for_real_not_editable(demo):
    _, python = demo
    where = _run(python, "-c", "import auralis_demo; print(auralis_demo.__file__)").stdout.strip()
    assert "site-packages" in where and "/venv/" in where


def test_pytest_passes_inside_with_no_configuration(demo):
    source, python = demo
    result = _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=source, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b1[0-9] passed", result.stdout) and not re.search(r"\d+ (failed|error)", result.stdout)


def test_the_kit_runs_without_a_test_file(demo, tmp_path):
    _, python = demo
    kit = _run(python, "-m", "pytest", "-v", "-p", "no:cacheprovider", "--auralis-engine", "demo", cwd=tmp_path)
    assert kit.returncode == 0, kit.stdout + kit.stderr
    assert "::TestAuralisEngine::test_phase2_yields_valid_audio[demo] PASSED" in kit.stdout


def test_engines_lists_demo(demo):
    _, python = demo
    listing = _run(python, "-m", "auralis_core.cli.main", "engines")
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if line.split()[:1] == ["demo"])
    assert row.split()[1:3] == ["auralis-demo", "0.1.0"]


def test_serve_answers_the_openai_client(demo, tmp_path):
    _, python = demo
    with auralis_serve(python, "demo", tmp_path / "serve.log") as port:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0, timeout=30)
        models = client.models.list()
        assert models.data
        speech = client.audio.speech.create(model=models.data[0].id, voice="hum", input="Dr. Smith arrived. He sat down.",
                                            response_format="wav")
        audio, rate = sf.read(io.BytesIO(speech.content))
        assert len(audio) > rate * 0.5  # resampled to the server's output rate
        with pytest.raises(openai.BadRequestError) as bad:
            client.audio.speech.create(model=models.data[0].id, voice="hum", input="hi", extra_body={"pitch_hz": 5})
        assert bad.value.body["param"] == "pitch_hz"


def test_bad_names_and_occupied_directories(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(cli, ["plugin", "new", "My Engine", "--dir", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "not an engine name" in bad.output
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("mine")
    taken = runner.invoke(cli, ["plugin", "new", "ok", "--dir", str(tmp_path / "taken")])
    assert taken.exit_code == 2 and "not an empty directory" in taken.output
    assert (tmp_path / "taken" / "file").read_text() == "mine"
    names = PluginNames.from_engine_name("my-voice_2")
    assert (names.dist, names.package, names.engine_class, names.options_class) == (
        "auralis-my-voice-2", "auralis_my_voice_2", "MyVoice2Engine", "MyVoice2Options")
