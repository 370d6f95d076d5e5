"""Backend choice (``torch`` / ``vllm`` / ``auto``) and its errors, on a machine without vLLM or CUDA
(what CI is). The vLLM backend itself runs in ``test_vllm.py`` (``-m vllm``, GPU)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from auralis_core import TTS
from auralis_core.cli.engine_args import parse_engine_args
from auralis_core.errors import EngineLoadError, InvalidRequestError, MissingDependencyError
from auralis_xttsv2.backend import resolve_backend
from auralis_xttsv2.backend.select import vllm_installed
from auralis_xttsv2.backend.vllm_settings import BYTES_MODE_STARTUP_FRACTION, VLLMSettings, kv_bytes_per_token
from auralis_xttsv2.model.config import XTTSGPTConfig

no_vllm = pytest.mark.skipif(vllm_installed(), reason="vLLM is installed here")
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
CPU = torch.device("cpu")


@pytest.fixture
def fake_vllm(tmp_path, monkeypatch):
    """An importable (empty) ``vllm`` package, so the checks after "is it installed" are reached."""
    (tmp_path / "vllm").mkdir()
    (tmp_path / "vllm" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert vllm_installed()


def test_auto_and_torch_on_cpu():
    assert resolve_backend("auto", CPU) == "torch"
    assert resolve_backend("torch", CPU) == "torch"


def test_unknown_backend_names_the_choices():
    with pytest.raises(InvalidRequestError, match="unknown XTTS backend 'tensorrt'; choose one of auto, torch, vllm") as e:
        resolve_backend("tensorrt", CPU)
    assert e.value.param == "backend"


@no_vllm
def test_vllm_missing_says_how_to_install():
    with pytest.raises(MissingDependencyError, match=r"pip install 'auralis-xttsv2\[vllm\]'"):
        resolve_backend("vllm", torch.device("cuda"))


@no_cuda
def test_vllm_without_cuda(fake_vllm):
    with pytest.raises(EngineLoadError, match="needs a CUDA GPU, and none is visible"):
        resolve_backend("vllm", CPU)
    assert resolve_backend("auto", CPU) == "torch"  # auto never fails: torch on CPU


@no_vllm
def test_from_pretrained_raises_the_typed_error(small_dir):
    with pytest.raises(MissingDependencyError, match="vLLM backend needs the optional package 'vllm'"):
        TTS.from_pretrained(str(small_dir), engine="xttsv2", backend="vllm")


def test_from_pretrained_auto_is_torch_on_cpu(small_dir):
    with TTS.from_pretrained(str(small_dir), engine="xttsv2", backend="auto", device="cpu") as tts:
        assert tts.engine.backend_name == "torch"
        out = tts.generate_speech("Hello there.", language="en", options={"max_new_tokens": 8})
        assert out.duration > 0


@pytest.mark.parametrize("memory", [0.0, 1.5, -3, 1, True, "lots"])
def test_vllm_memory_is_checked_before_loading(small_dir, memory):
    with pytest.raises(InvalidRequestError, match="vllm_memory") as e:
        TTS.from_pretrained(str(small_dir), engine="xttsv2", backend="torch", vllm_memory=memory)
    assert e.value.param == "vllm_memory"


@pytest.mark.parametrize("engines", [0, -1, 1.5, True, "2"])
def test_vllm_engines_is_checked_before_loading(small_dir, engines):
    with pytest.raises(InvalidRequestError, match="vllm_engines") as e:
        TTS.from_pretrained(str(small_dir), engine="xttsv2", backend="torch", vllm_engines=engines)
    assert e.value.param == "vllm_engines"


@pytest.mark.parametrize("tokens", [0, 15, 1.5, True, "8192"])
def test_vllm_max_batched_tokens_is_checked_before_loading(small_dir, tokens):
    with pytest.raises(InvalidRequestError, match="vllm_max_batched_tokens") as e:
        TTS.from_pretrained(str(small_dir), engine="xttsv2", backend="torch", vllm_max_batched_tokens=tokens)
    assert e.value.param == "vllm_max_batched_tokens"


def test_kv_pool_defaults():
    cfg = XTTSGPTConfig()
    per_token = kv_bytes_per_token(cfg, 2)
    assert per_token == 2 * 30 * 1024 * 2  # 120 KiB per position in bf16
    gate = {"gpu_memory_utilization": BYTES_MODE_STARTUP_FRACTION}
    assert VLLMSettings().memory_kwargs(cfg, 2, 32, 1039) == {"kv_cache_memory_bytes": 32 * 1040 * per_token, **gate}
    assert VLLMSettings(memory=0.25).memory_kwargs(cfg, 2, 32, 1039) == {"gpu_memory_utilization": 0.25}
    assert VLLMSettings(memory=3 << 30).memory_kwargs(cfg, 2, 32, 1039) == {"kv_cache_memory_bytes": 3 << 30, **gate}
    # several engines split the sequences and the memory evenly
    two = VLLMSettings(engines=2)
    assert two.sequences_per_engine(33) == 17
    assert two.memory_kwargs(cfg, 2, 32, 1039) == {"kv_cache_memory_bytes": 16 * 1040 * per_token, **gate}
    assert VLLMSettings(memory=0.5, engines=2).memory_kwargs(cfg, 2, 32, 1039) == {"gpu_memory_utilization": 0.25}
    assert VLLMSettings(memory=3 << 30, engines=3).memory_kwargs(cfg, 2, 32, 1039)["kv_cache_memory_bytes"] == (3 << 30) // 3


def test_engine_args_parse():
    assert parse_engine_args(["backend=vllm", "max-batch-size=64", "vllm_memory=0.3", "x=null", "s=\"7\""]) == {
        "backend": "vllm", "max_batch_size": 64, "vllm_memory": 0.3, "x": None, "s": "7",
    }


@no_vllm
def test_cli_engine_arg_reaches_the_engine(small_dir, tmp_path):
    """``auralis speak --engine-arg backend=vllm`` on a machine without vLLM: one clear line."""
    result = subprocess.run(
        [sys.executable, "-m", "auralis_core.cli.main", "speak", "hi", "--engine", "xttsv2", "--model", str(small_dir),
         "--engine-arg", "backend=vllm", "-o", str(tmp_path / "x.wav")],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode != 0
    assert "pip install 'auralis-xttsv2[vllm]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_cli_bad_engine_arg(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "auralis_core.cli.main", "speak", "hi", "--engine-arg", "novalue", "-o",
         str(tmp_path / "x.wav")], capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and "expected KEY=VALUE" in result.stderr


@no_vllm
async def test_server_engine_args_reach_from_pretrained(small_dir):
    """``auralis serve --engine-arg backend=vllm`` -> ServerConfig.engine_args -> from_pretrained."""
    from auralis_core.server.config import ServerConfig
    from auralis_core.server.runtime import ServerRuntime

    runtime = ServerRuntime(ServerConfig(engine="xttsv2", model=str(small_dir), engine_args={"backend": "vllm"}))
    await runtime.load()
    assert runtime.status == "failed" and "pip install 'auralis-xttsv2[vllm]'" in runtime.detail
    runtime = ServerRuntime(ServerConfig(engine="xttsv2", model=str(small_dir), engine_args={"backend": "torch",
                                                                                           "device": "cpu"}))
    await runtime.load()
    try:
        assert runtime.status == "ok" and runtime.tts.engine.backend_name == "torch"
    finally:
        await runtime.close()
