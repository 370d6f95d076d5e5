"""A small random Piper voice built with ``onnx.helper``: a real ONNX graph with Piper's inputs
(``input``, ``input_lengths``, ``scales``, ``sid``) and output, and the VITS inference steps that
the engine relies on: a speaker embedding, a stochastic duration predictor drawing
``RandomNormalLike`` noise scaled by ``noise_w``, ``ceil(exp(logw) * length_scale)`` frame counts,
length regulation, prior noise scaled by ``noise_scale``, and a decoder of ``hop_length`` samples
per frame. Its weights are random, so it babbles; what it says is not the point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def build_voice(
    folder: Path,
    key: str = "en_GB-testvoice-medium",
    speakers: tuple[str, ...] = ("alice", "bob", "carol"),
    language: str = "en_GB",
    espeak_voice: str = "en-gb-x-rp",
    sample_rate: int = 16000,
    hop: int = 256,
    hidden: int = 16,
    seed: int = 0,
) -> Path:
    """Write ``folder/KEY.onnx`` and ``KEY.onnx.json``; returns the model path."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from piper.phoneme_ids import DEFAULT_PHONEME_ID_MAP

    rng = np.random.default_rng(seed)
    num_symbols = 256
    n_speakers = max(1, len(speakers))

    def init(name: str, array: np.ndarray) -> onnx.TensorProto:
        return numpy_helper.from_array(array, name)

    def const(name: str, value: object, dtype=np.int64) -> onnx.TensorProto:
        return init(name, np.asarray(value, dtype=dtype))

    initializers = [
        init("emb", rng.normal(0, 1, (num_symbols, hidden)).astype(np.float32)),
        init("w_dur", rng.normal(0, 0.15, (hidden, 1)).astype(np.float32)),
        init("w_out", rng.normal(0, 0.5, (hidden, hop)).astype(np.float32)),
        const("i0", 0), const("i1", 1), const("i2", 2), const("ax0", [0]), const("ax1", [1]),
        const("zero", 0), const("one", 1), const("perm_shape", [1, 1, -1]),
        const("frames_per_id", 4.0, np.float32), const("dur_noise", 0.3, np.float32),
    ]
    nodes = [
        helper.make_node("Gather", ["emb", "input"], ["x"]),  # [1, T, H]
        helper.make_node("Gather", ["scales", "i0"], ["noise_scale"]),
        helper.make_node("Gather", ["scales", "i1"], ["length_scale"]),
        helper.make_node("Gather", ["scales", "i2"], ["noise_w"]),
    ]
    inputs = [
        helper.make_tensor_value_info("input", TensorProto.INT64, [1, "phonemes"]),
        helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
        helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3]),
    ]
    if n_speakers > 1:
        initializers.append(init("spk", rng.normal(0, 1, (n_speakers, hidden)).astype(np.float32)))
        inputs.append(helper.make_tensor_value_info("sid", TensorProto.INT64, [1]))
        nodes += [
            helper.make_node("Gather", ["spk", "sid"], ["g"]),  # [1, H]
            helper.make_node("Unsqueeze", ["g", "ax1"], ["g3"]),
            helper.make_node("Add", ["x", "g3"], ["xs"]),
        ]
    else:
        nodes.append(helper.make_node("Identity", ["x"], ["xs"]))
    nodes += [
        # stochastic duration predictor: logw + noise * noise_w
        helper.make_node("MatMul", ["xs", "w_dur"], ["logw0"]),  # [1, T, 1]
        helper.make_node("RandomNormalLike", ["logw0"], ["eps_w"], dtype=TensorProto.FLOAT),
        helper.make_node("Mul", ["eps_w", "noise_w"], ["eps_w1"]),
        helper.make_node("Mul", ["eps_w1", "dur_noise"], ["eps_w2"]),
        helper.make_node("Add", ["logw0", "eps_w2"], ["logw"]),
        helper.make_node("Exp", ["logw"], ["w0"]),
        helper.make_node("Mul", ["w0", "frames_per_id"], ["w1"]),
        helper.make_node("Mul", ["w1", "length_scale"], ["w"]),
        helper.make_node("Ceil", ["w"], ["w_ceil"]),
        # length regulation: frame j takes phoneme #(cumsum(d) <= j)
        helper.make_node("Reshape", ["w_ceil", "perm_shape"], ["d3"]),
        helper.make_node("Squeeze", ["d3", "ax0"], ["d2"]),
        helper.make_node("Squeeze", ["d2", "ax0"], ["d_f"]),  # [T]
        helper.make_node("Cast", ["d_f"], ["d"], to=TensorProto.INT64),
        helper.make_node("CumSum", ["d", "zero"], ["cum"]),
        helper.make_node("ReduceSum", ["d"], ["frames"], keepdims=0),
        helper.make_node("Range", ["zero", "frames", "one"], ["pos"]),  # [F]
        helper.make_node("Unsqueeze", ["cum", "ax1"], ["cum2"]),  # [T, 1]
        helper.make_node("Unsqueeze", ["pos", "ax0"], ["pos2"]),  # [1, F]
        helper.make_node("LessOrEqual", ["cum2", "pos2"], ["passed"]),  # [T, F]
        helper.make_node("Cast", ["passed"], ["passed_i"], to=TensorProto.INT64),
        helper.make_node("ReduceSum", ["passed_i", "ax0"], ["idx"], keepdims=0),  # [F]
        helper.make_node("Squeeze", ["xs", "ax0"], ["h_text"]),  # [T, H]
        helper.make_node("Gather", ["h_text", "idx"], ["h"]),  # [F, H]
        # prior noise, decoder
        helper.make_node("RandomNormalLike", ["h"], ["eps_z"], dtype=TensorProto.FLOAT),
        helper.make_node("Mul", ["eps_z", "noise_scale"], ["eps_z1"]),
        helper.make_node("Add", ["h", "eps_z1"], ["z"]),
        helper.make_node("MatMul", ["z", "w_out"], ["y"]),  # [F, hop]
        helper.make_node("Tanh", ["y"], ["y1"]),
        helper.make_node("Reshape", ["y1", "perm_shape"], ["output"]),  # [1, 1, F * hop]
    ]
    graph = helper.make_graph(
        nodes, "vits_test", inputs,
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, "samples"])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)], producer_name="auralis-piper-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.onnx"
    onnx.save(model, str(path))
    config = {
        "audio": {"sample_rate": sample_rate, "quality": "medium"},
        "espeak": {"voice": espeak_voice},
        "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8},
        "phoneme_type": "espeak",
        "phoneme_id_map": DEFAULT_PHONEME_ID_MAP,
        "num_symbols": num_symbols,
        "num_speakers": n_speakers,
        "speaker_id_map": {name: i for i, name in enumerate(speakers)} if n_speakers > 1 else {},
        "hop_length": hop,
        "language": {"code": language, "family": language.split("_")[0], "region": language.split("_")[-1]},
        "dataset": key.split("-")[1],
    }
    (folder / f"{key}.onnx.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    return path
