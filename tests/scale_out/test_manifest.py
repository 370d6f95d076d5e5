"""The KubeRay example builds: its serveConfigV2 applications import and validate as Serve would."""

from __future__ import annotations

import importlib
from pathlib import Path

import pydantic
import pytest

pytest.importorskip("ray.serve")
yaml = pytest.importorskip("yaml")

MANIFEST = Path(__file__).resolve().parents[2] / "examples" / "kuberay" / "rayservice.yaml"


def test_rayservice_applications_build(monkeypatch):
    from ray import serve

    from auralis_core.server.ray_serve import DEPLOYMENT_NAME

    spec = yaml.safe_load(MANIFEST.read_text())
    assert spec["kind"] == "RayService"
    serve_config = yaml.safe_load(spec["spec"]["serveConfigV2"])
    monkeypatch.setenv("AURALIS_API_KEY", "from-secret")
    for application in serve_config["applications"]:
        module, _, name = application["import_path"].partition(":")
        builder = getattr(importlib.import_module(module), name)
        app = builder(application["args"])
        assert isinstance(app, serve.Application)
        deployment = app._bound_deployment  # what Serve deploys: options from the args
        assert deployment.name == DEPLOYMENT_NAME
        assert deployment.ray_actor_options["num_gpus"] == application["args"]["gpus_per_replica"]
        config = deployment.init_args[0]
        assert config["api_key"] == "from-secret" and config["autoscale"] == [1, 4]
        assert deployment._deployment_config.autoscaling_config.max_replicas == 4


def test_builder_refuses_bad_args():
    from auralis_core.server.ray_serve import app_builder

    with pytest.raises(pydantic.ValidationError, match="MIN:MAX"):
        app_builder({"engine": "espeak", "autoscale": "4"})
    with pytest.raises(pydantic.ValidationError, match="exclude each other"):
        app_builder({"engine": "espeak", "autoscale": "1:2", "replicas": 2})
    with pytest.raises(pydantic.ValidationError, match="MIN <= MAX"):
        app_builder({"engine": "espeak", "autoscale": "3:1"})
