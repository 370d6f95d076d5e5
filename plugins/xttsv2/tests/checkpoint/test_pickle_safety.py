"""``model.pth`` is read with ``weights_only=True``: Coqui's pickled config loads inertly, code never runs."""

from __future__ import annotations

import os
import shutil
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

from auralis_core.errors import EngineLoadError
from auralis_xttsv2.checkpoint import load_checkpoint
from auralis_xttsv2.checkpoint.loader import CoquiObject, read_model_pth


@pytest.fixture()
def ckpt_dir(small_dir: Path, tmp_path: Path) -> Path:
    d = tmp_path / "ck"
    shutil.copytree(small_dir, d, ignore=shutil.ignore_patterns("reference*"))
    return d


def _state_dict(d: Path) -> dict[str, torch.Tensor]:
    return torch.load(d / "model.pth", weights_only=True)["model"]


def _install_module(monkeypatch: pytest.MonkeyPatch, name: str) -> types.ModuleType:
    """A module (and its parent packages) in ``sys.modules`` for the test, so pickle can name it."""
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        dotted = ".".join(parts[:i])
        if dotted not in sys.modules:
            monkeypatch.setitem(sys.modules, dotted, types.ModuleType(dotted))
    return sys.modules[name]


class _RunsCode:
    """Unpickling this calls ``os.system`` (what a hostile checkpoint would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("where", ["config", "model"])
def test_code_in_a_pickle_is_refused_and_never_runs(ckpt_dir: Path, tmp_path: Path, where: str):
    marker = tmp_path / "pwned"
    ckpt = {"model": _state_dict(ckpt_dir)}
    if where == "config":
        ckpt["config"] = _RunsCode(marker)
    else:  # hidden among the tensors
        ckpt["model"]["gpt.extra"] = _RunsCode(marker)
    torch.save(ckpt, ckpt_dir / "model.pth")
    with pytest.raises(EngineLoadError, match=r"refusing to load .*model\.pth: it pickles 'posix\.system'"):
        load_checkpoint(ckpt_dir)
    assert not marker.exists(), "unpickling ran code"


def test_an_unknown_class_under_coquis_package_is_refused(ckpt_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """Only the listed Coqui classes load; a ``TTS.*`` prefix alone is no pass."""
    module = _install_module(monkeypatch, "TTS.utils.anything")

    class Whatever:
        pass

    Whatever.__module__, Whatever.__qualname__ = module.__name__, "Whatever"
    module.Whatever = Whatever
    torch.save({"model": _state_dict(ckpt_dir), "config": Whatever()}, ckpt_dir / "model.pth")
    with pytest.raises(EngineLoadError, match=r"it pickles 'TTS\.utils\.anything\.Whatever'"):
        read_model_pth(ckpt_dir / "model.pth")


def _fake_coqui_classes(monkeypatch: pytest.MonkeyPatch) -> dict[str, type]:
    """Dataclasses pickled under Coqui's real class paths, as the released ``model.pth`` holds them."""

    @dataclass
    class XttsAudioConfig:
        sample_rate: int = 22050
        output_sample_rate: int = 24000

    @dataclass
    class XttsArgs:
        gpt_layers: int = 30
        gpt_n_model_channels: int = 1024

    @dataclass
    class BaseDatasetConfig:
        formatter: str = ""
        path: str = ""

    @dataclass
    class XttsConfig:
        model: str = "xtts"
        audio: XttsAudioConfig = field(default_factory=XttsAudioConfig)
        model_args: XttsArgs = field(default_factory=XttsArgs)
        datasets: list = field(default_factory=lambda: [BaseDatasetConfig()])
        languages: list = field(default_factory=lambda: ["en", "de"])

    classes: dict[str, type] = {}
    for cls, module_name in (
        (XttsConfig, "TTS.tts.configs.xtts_config"),
        (XttsAudioConfig, "TTS.tts.models.xtts"),
        (XttsArgs, "TTS.tts.models.xtts"),
        (BaseDatasetConfig, "TTS.config.shared_configs"),
    ):
        cls.__module__, cls.__qualname__ = module_name, cls.__name__
        setattr(_install_module(monkeypatch, module_name), cls.__name__, cls)
        classes[cls.__name__] = cls
    return classes


def test_coqui_pickled_config_loads_as_inert_data(ckpt_dir: Path, monkeypatch: pytest.MonkeyPatch, small_ckpt, reference):
    classes = _fake_coqui_classes(monkeypatch)
    sd = _state_dict(ckpt_dir)
    torch.save({"config": classes["XttsConfig"](), "model": sd}, ckpt_dir / "model.pth")
    monkeypatch.undo()  # loading must not need the classes (no Coqui installed)
    assert "TTS" not in sys.modules

    loaded = read_model_pth(ckpt_dir / "model.pth")
    assert loaded.keys() == sd.keys() and all(torch.equal(loaded[k], sd[k]) for k in sd)
    # the allow-list is scoped to the load: nothing of ours stays registered
    assert not any(CoquiObject in (g if isinstance(g, tuple) else (g,)) for g in torch.serialization.get_safe_globals())
    ck = load_checkpoint(ckpt_dir)
    tokens = torch.from_numpy(reference["text_tokens"])
    cond = torch.from_numpy(reference["cond_default"])
    codes = torch.from_numpy(reference["logits_codes"])
    assert torch.equal(ck.model.get_logits(cond, tokens, codes)[1], small_ckpt.model.get_logits(cond, tokens, codes)[1])


def test_coqui_object_keeps_state_and_runs_nothing(ckpt_dir: Path, monkeypatch: pytest.MonkeyPatch):
    classes = _fake_coqui_classes(monkeypatch)
    torch.save({"config": classes["XttsConfig"](), "model": _state_dict(ckpt_dir)}, ckpt_dir / "model.pth")
    monkeypatch.undo()
    from auralis_xttsv2.checkpoint.loader import COQUI_PICKLED_CLASSES

    with torch.serialization.safe_globals([(CoquiObject, name) for name in COQUI_PICKLED_CLASSES]):
        raw = torch.load(ckpt_dir / "model.pth", weights_only=True)
    config = raw["config"]
    assert type(config) is CoquiObject
    assert config.state["model"] == "xtts" and config.state["languages"] == ["en", "de"]
    assert type(config.state["audio"]) is CoquiObject and config.state["audio"].state["output_sample_rate"] == 24000
    assert type(config.state["datasets"][0]) is CoquiObject
