"""Rewrite a Piper ONNX graph so that its noise is an input and its durations an output.

Why: Piper's VITS export draws its noise with ``RandomNormalLike`` ops. onnxruntime seeds each
such kernel once, when the session is created, and then advances it on every run, so the samples
depend on what the session ran before: no per-request seed, and a pool of sessions would not
even agree with itself. Each random op is therefore replaced by a slice of a new float input
(``auralis_noise_K``, a flat vector of standard normal samples the engine draws from the request's
seed), tiled if the graph needs more than was given and reshaped to the op's shape. Same seed,
same noise, same samples, on any session of the pool and at any concurrency.

The input of the ``Ceil`` that rounds phoneme durations (``exp(logw) * mask * length_scale``) is
exposed as ``auralis_durations``: the engine uses it to top up ``length_scale`` so the duration
hits the requested speed exactly (see `PiperSynthesizer`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from auralis_core.errors import EngineLoadError

log = logging.getLogger("auralis.piper")
NOISE_INPUT = "auralis_noise_{}"
DURATIONS_OUTPUT = "auralis_durations"
PIPER_INPUTS = ("input", "input_lengths", "scales")


@dataclass(frozen=True)
class PreparedModel:
    """The rewritten model, ready for ``onnxruntime.InferenceSession``: its bytes, or the path of
    its cached copy (sessions then read the file, and no copy stays in memory)."""

    model: bytes | str
    noise_inputs: tuple[str, ...]
    has_durations: bool
    has_sid: bool


REWRITE_VERSION = 1
"""Bump when the rewrite changes, so cached rewrites of older versions are not used."""


def cache_dir() -> Path | None:
    """Where rewritten models are kept: ``AURALIS_CACHE_DIR`` (empty: no cache), else
    ``$XDG_CACHE_HOME/auralis`` or ``~/.cache/auralis``; then ``piper/``."""
    root = os.environ.get("AURALIS_CACHE_DIR")
    if root is None:
        root = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "auralis")
    return Path(root) / "piper" if root else None


def prepare_model(path: Path) -> PreparedModel:
    """The rewritten model of ``path``: from the cache when this exact file (path, size, mtime)
    was rewritten before (skips a second of parsing and serialising per voice), else rewritten
    now and cached."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise EngineLoadError(f"Piper voice model {path} is missing") from None
    folder = cache_dir()
    key = hashlib.sha256(f"{REWRITE_VERSION}|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:24]
    cached = folder / f"{path.name.removesuffix('.onnx')}-{key}" if folder else None
    if cached is not None:
        try:
            meta = json.loads(cached.with_suffix(".json").read_text())
            if cached.with_suffix(".onnx").is_file():
                return PreparedModel(str(cached.with_suffix(".onnx")), tuple(meta["noise_inputs"]),
                                     bool(meta["has_durations"]), bool(meta["has_sid"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # not cached yet (or unreadable): rewrite
    prepared = rewrite_model(path)
    if cached is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _write_atomic(cached.with_suffix(".onnx"), prepared.model)  # type: ignore[arg-type]
            meta = {"source": str(path), "noise_inputs": list(prepared.noise_inputs),
                    "has_durations": prepared.has_durations, "has_sid": prepared.has_sid}
            _write_atomic(cached.with_suffix(".json"), json.dumps(meta).encode())  # written last: marks it complete
            return dataclasses.replace(prepared, model=str(cached.with_suffix(".onnx")))
        except OSError as exc:
            log.debug("cannot cache the rewritten %s in %s: %s", path, folder, exc)
    return prepared


def _write_atomic(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def rewrite_model(path: Path) -> PreparedModel:
    """Load ``path``, check it has Piper's inputs, and rewrite it (see the module docstring)."""
    import onnx
    from onnx import helper

    try:
        model = onnx.load(str(path))  # the full checker costs a second per voice; the session creation checks too
    except FileNotFoundError:
        raise EngineLoadError(f"Piper voice model {path} is missing") from None
    except Exception as exc:  # onnx raises DecodeError, ValidationError, ... for a damaged file
        raise EngineLoadError(f"{path} is not a valid ONNX model (damaged or truncated?): {str(exc).strip()[:300]}") from None
    graph = model.graph
    inputs = {i.name for i in graph.input}
    missing = [name for name in PIPER_INPUTS if name not in inputs]
    if missing:
        raise EngineLoadError(
            f"{path} is an ONNX model but not a Piper voice: inputs {sorted(inputs)} lack {missing} "
            "(a Piper VITS export takes input, input_lengths, scales and, for several speakers, sid)"
        )
    unsupported = {n.op_type for n in graph.node if n.op_type in ("RandomNormal", "RandomUniform", "RandomUniformLike", "Multinomial")}
    if unsupported:
        raise EngineLoadError(f"{path}: random ops {sorted(unsupported)} are not supported (Piper exports use RandomNormalLike)")

    nodes = []
    noise_inputs: list[str] = []
    one = _const(graph, "auralis_one", 1)
    for node in graph.node:
        if node.op_type != "RandomNormalLike":
            nodes.append(node)
            continue
        name = NOISE_INPUT.format(len(noise_inputs))
        noise_inputs.append(name)
        graph.input.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, ["auralis_noise_len"]))
        nodes.extend(_noise_nodes(node, name, one))
    del graph.node[:]
    graph.node.extend(nodes)

    ceil = next((node for node in graph.node if node.op_type == "Ceil"), None)
    if ceil is not None:
        graph.output.append(helper.make_tensor_value_info(DURATIONS_OUTPUT, onnx.TensorProto.FLOAT, [1, 1, "auralis_phonemes"]))
        graph.node.append(helper.make_node("Identity", [ceil.input[0]], [DURATIONS_OUTPUT], name="auralis_durations"))
    return PreparedModel(model.SerializeToString(), tuple(noise_inputs), ceil is not None, "sid" in inputs)


def _const(graph, name: str, value: int) -> str:
    from onnx import helper

    graph.initializer.append(helper.make_tensor(name, 7, [1], [value]))  # 7 = INT64
    return name


def _noise_nodes(node, noise: str, one: str) -> list:
    """``RandomNormalLike(x)`` -> ``reshape(tile(noise)[:size(x)], shape(x)) * scale + mean``."""
    from onnx import TensorProto, helper

    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    p = f"auralis_{noise}_"

    def const(name: str, value: float, dtype: int) -> object:
        return helper.make_node("Constant", [], [p + name], value=helper.make_tensor(p + name + "_v", dtype, [1], [value]))

    out = [
        const("zero", 0, TensorProto.INT64),
        helper.make_node("Shape", [node.input[0]], [p + "shape"]),
        helper.make_node("ReduceProd", [p + "shape"], [p + "size"], keepdims=1),
        helper.make_node("Shape", [noise], [p + "len"]),
        helper.make_node("Add", [p + "size", p + "len"], [p + "a"]),
        helper.make_node("Sub", [p + "a", one], [p + "b"]),
        helper.make_node("Div", [p + "b", p + "len"], [p + "reps"]),  # ceil(size / len)
        helper.make_node("Tile", [noise, p + "reps"], [p + "tiled"]),
        helper.make_node("Slice", [p + "tiled", p + "zero", p + "size"], [p + "flat"]),
        helper.make_node("Reshape", [p + "flat", p + "shape"], [p + "z"]),
    ]
    current = p + "z"
    for op, value in (("Mul", float(attrs.get("scale", 1.0))), ("Add", float(attrs.get("mean", 0.0)))):
        if value != (1.0 if op == "Mul" else 0.0):
            out += [const(op, value, TensorProto.FLOAT), helper.make_node(op, [current, p + op], [p + op + "_out"])]
            current = p + op + "_out"
    dtype = int(attrs.get("dtype", TensorProto.FLOAT))
    if dtype != TensorProto.FLOAT:
        out.append(helper.make_node("Cast", [current], [node.output[0]], to=dtype))
    else:
        out.append(helper.make_node("Identity", [current], [node.output[0]]))
    return out
