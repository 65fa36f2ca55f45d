"""Keras classifier -> ONNX with one native `GRU` node per Keras GRU (no Loop, no Scan).

The standard converters (tf2onnx) turn a Keras GRU into a `Loop`/`Scan` subgraph that TensorRT runs
badly; here the graph is written directly with onnx.helper, layer by layer:

- Input `windows` (N, T, F) float32, N dynamic -> Transpose to time-major (T, N, F), the layout the
  ONNX GRU and TensorRT's importer handle best.
- Keras GRU (reset_after=True) -> ONNX GRU, linear_before_reset=1, activations [recurrent_activation,
  activation] (Sigmoid, Relu|Tanh). Both use gate order (z, r, h): ONNX W = kernel^T (3H, F),
  R = recurrent_kernel^T (3H, H), B = concat(input bias, recurrent bias) (6H,). return_sequences=True
  keeps Y (T, 1, N, H) squeezed to (T, N, H); otherwise Y_h (1, N, H) squeezed to (N, H).
- Dense -> Gemm on (N, in) (MatMul + Add on a sequence), its activation as a node; Dropout is dropped
  (inference no-op); a softmax activation becomes Softmax(axis=-1). Output `probs` (N, classes).

Anything else (masking, go_backwards, reset_after=False, stateful, other layers or activations) is
refused with one sentence naming the layer, never exported half-right.

The FP16 variant (`to_fp16`) stores every weight and internal tensor in float16 and keeps the graph's
input and output float32, with a Cast after the input and before the output, so every runtime can feed
it the same arrays. On a CPU, ONNX Runtime computes ops without a float16 kernel (GRU among them) in
float32 between inserted casts: it checks float16 rounding of weights and of each layer's output, not
float16 arithmetic inside an op (TensorRT FP16 is the place for that).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge.files import write_atomic

INPUT_NAME = "windows"
OUTPUT_NAME = "probs"
OPSET = 17
IR_VERSION = 8  # opset 17 with IR 8 loads in ONNX Runtime >= 1.13 and TensorRT >= 8.5
# Max |ONNX Runtime - Keras| probability an export may differ by: float32 rounding, float16 weights.
FP32_TOLERANCE = 1e-5
FP16_TOLERANCE = 2e-3

# Keras activation name -> ONNX GRU activation name / standalone op type.
GRU_ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}
NODE_ACTIVATIONS = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "softmax": "Softmax", "linear": None}


class ExportError(ValueError):
    """The Keras model holds something the exporter cannot write as plain ONNX ops."""


def _import_onnx() -> Any:
    try:
        import onnx  # heavy: imported on use
    except ImportError as exc:
        raise ImportError("exporting to ONNX needs onnx: pip install 'fallwatch[train]'") from exc
    return onnx


class _Graph:
    """Accumulates nodes and initializers; names are unique per layer."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], name: str, outputs: int = 1, **attrs: Any) -> list[str]:
        from onnx import helper

        names = [f"{name}:{i}" if outputs > 1 else name for i in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, names, name=name, **attrs))
        return names


def _activation_name(layer: Any, attr: str = "activation") -> str:
    fn = getattr(layer, attr)
    return str(getattr(fn, "__name__", fn))


def _chain(model: Any) -> list[Any]:
    """The model's layers in order, refusing anything but a single straight chain."""
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ExportError(
            f"model {model.name}: need one input and one output, got {len(model.inputs)}/{len(model.outputs)}"
        )
    previous = model.inputs[0]
    for layer in layers:
        if layer.input is not previous:
            raise ExportError(f"layer {layer.name}: the model is not a single chain of layers")
        previous = layer.output
    return layers


def _gru(graph: _Graph, layer: Any, x: str, input_size: int) -> str:
    """One ONNX GRU node for one Keras GRU; x is time-major (T, N, in). Returns (T, N, H) or (N, H)."""
    name = layer.name
    for attr, bad, why in (
        ("go_backwards", True, "go_backwards"),
        ("stateful", True, "stateful"),
        ("return_state", True, "return_state"),
        (
            "reset_after",
            False,
            "reset_after=False (only Keras' default reset_after=True maps to linear_before_reset=1)",
        ),
    ):
        if getattr(layer, attr) is bad:
            raise ExportError(f"GRU layer {name}: {why} is not supported by the exporter")
    acts = [_activation_name(layer.cell, "recurrent_activation"), _activation_name(layer.cell)]
    unknown = [a for a in acts if a not in GRU_ACTIVATIONS]
    if unknown:
        raise ExportError(f"GRU layer {name}: activation(s) {unknown} not supported; use {sorted(GRU_ACTIVATIONS)}")
    hidden = int(layer.units)
    weights = layer.get_weights()
    kernel, recurrent = weights[0], weights[1]
    if kernel.shape != (input_size, 3 * hidden) or recurrent.shape != (hidden, 3 * hidden):
        raise ExportError(f"GRU layer {name}: unexpected weight shapes {kernel.shape}, {recurrent.shape}")
    bias = weights[2] if layer.use_bias else np.zeros((2, 3 * hidden), np.float32)
    if bias.shape != (2, 3 * hidden):
        raise ExportError(f"GRU layer {name}: unexpected bias shape {bias.shape}")
    w = graph.const(f"{name}/W", kernel.T[None].astype(np.float32))  # (1, 3H, in), gates z, r, h
    r = graph.const(f"{name}/R", recurrent.T[None].astype(np.float32))  # (1, 3H, H)
    b = graph.const(f"{name}/B", bias.reshape(1, 6 * hidden).astype(np.float32))  # (1, 6H): Wb then Rb
    y, y_h = graph.node(
        "GRU",
        [x, w, r, b],
        name,
        outputs=2,
        hidden_size=hidden,
        linear_before_reset=1,
        activations=[GRU_ACTIVATIONS[a] for a in acts],
    )
    if layer.return_sequences:
        return graph.node("Squeeze", [y, graph.const(f"{name}/axis1", np.array([1], np.int64))], f"{name}/seq")[0]
    return graph.node("Squeeze", [y_h, graph.const(f"{name}/axis0", np.array([0], np.int64))], f"{name}/last")[0]


def _dense(graph: _Graph, layer: Any, x: str, sequence: bool) -> str:
    """Gemm on (N, in), MatMul + Add on a time-major sequence (T, N, in); then the activation."""
    name = layer.name
    weights = layer.get_weights()
    kernel = weights[0].astype(np.float32)
    bias = weights[1].astype(np.float32) if layer.use_bias else np.zeros(kernel.shape[1], np.float32)
    k = graph.const(f"{name}/kernel", kernel)
    c = graph.const(f"{name}/bias", bias)
    if sequence:
        out = graph.node("Add", [graph.node("MatMul", [x, k], f"{name}/matmul")[0], c], f"{name}/add")[0]
    else:
        out = graph.node("Gemm", [x, k, c], f"{name}/gemm")[0]
    return _activation(graph, _activation_name(layer), out, name)


def _activation(graph: _Graph, act: str, x: str, name: str) -> str:
    if act not in NODE_ACTIVATIONS:
        raise ExportError(f"layer {name}: activation {act!r} not supported; use {sorted(NODE_ACTIVATIONS)}")
    op = NODE_ACTIVATIONS[act]
    if op is None:
        return x
    attrs = {"axis": -1} if op == "Softmax" else {}
    return graph.node(op, [x], f"{name}/{act}", **attrs)[0]


def keras_to_onnx(model: Any) -> Any:
    """An onnx.ModelProto equivalent to a chain of GRU/Dense/Dropout/Activation Keras layers.

    model: a built keras.Model with input (None, T, F). Raises ExportError naming an unsupported layer.
    """
    onnx = _import_onnx()
    from onnx import TensorProto, helper

    shape = tuple(model.inputs[0].shape)
    if len(shape) != 3 or shape[1] is None or shape[2] is None:
        raise ExportError(f"model {model.name}: input must be (batch, T, F) with fixed T and F, got {shape}")
    window_frames, features = int(shape[1]), int(shape[2])
    graph = _Graph()
    x = graph.node("Transpose", [INPUT_NAME], "time_major", perm=[1, 0, 2])[0]
    sequence, width = True, features  # x is (T, N, width) while `sequence`
    for layer in _chain(model):
        kind = type(layer).__name__
        if kind == "GRU":
            if not sequence:
                raise ExportError(f"GRU layer {layer.name}: its input is not a sequence")
            x, sequence, width = _gru(graph, layer, x, width), bool(layer.return_sequences), int(layer.units)
        elif kind == "Dense":
            x, width = _dense(graph, layer, x, sequence), int(layer.units)
        elif kind == "Activation":
            x = _activation(graph, _activation_name(layer), x, layer.name)
        elif kind == "Dropout":
            continue
        else:
            raise ExportError(f"layer {layer.name}: {kind} is not supported (GRU, Dense, Activation, Dropout only)")
    if sequence:
        x = graph.node("Transpose", [x], "batch_major", perm=[1, 0, 2])[0]
    out_shape: list[Any] = ["batch", window_frames, width] if sequence else ["batch", width]
    graph.node("Identity", [x], OUTPUT_NAME)
    onnx_graph = helper.make_graph(
        graph.nodes,
        model.name,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", window_frames, features])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, out_shape)],
        graph.initializers,
    )
    proto = helper.make_model(
        onnx_graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="fallwatch.export"
    )
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto, full_check=True)
    return proto


def to_fp16(proto: Any) -> Any:
    """A float16 copy of an exported model: float16 weights and tensors, float32 input and output.

    Casts: `windows` (float32) -> Cast -> float16 graph -> Cast -> `probs` (float32).
    """
    onnx = _import_onnx()
    from onnx import TensorProto, helper, numpy_helper

    half = onnx.ModelProto()
    half.CopyFrom(proto)
    graph = half.graph
    for init in graph.initializer:
        if init.data_type == TensorProto.FLOAT:
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name))
    renamed = {INPUT_NAME: f"{INPUT_NAME}/fp16", OUTPUT_NAME: f"{OUTPUT_NAME}/fp16"}
    for node in graph.node:
        node.input[:] = [renamed.get(i, i) for i in node.input]
        node.output[:] = [renamed.get(o, o) for o in node.output]
    graph.node.insert(
        0, helper.make_node("Cast", [INPUT_NAME], [renamed[INPUT_NAME]], name="to_fp16", to=TensorProto.FLOAT16)
    )
    graph.node.append(
        helper.make_node("Cast", [renamed[OUTPUT_NAME]], [OUTPUT_NAME], name="to_fp32", to=TensorProto.FLOAT)
    )
    onnx.checker.check_model(half, full_check=True)
    return half


def onnx_parity(model: Any, proto: Any, windows: np.ndarray) -> float:
    """Max |ONNX Runtime - Keras| over the probabilities of `windows` (N, T, F) float32."""
    try:
        import onnxruntime as ort  # heavy: imported on use
    except ImportError as exc:
        raise ImportError("checking an export needs onnxruntime: pip install 'fallwatch[cpu]'") from exc
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], {INPUT_NAME: windows})[0]
    return float(np.abs(got - np.asarray(model(windows, training=False))).max())


def save_onnx(proto: Any, path: str | Path) -> Path:
    """Write an ONNX model atomically; returns the path."""
    path = Path(path)
    write_atomic(path, proto.SerializeToString())
    return path


def fp16_path(path: str | Path) -> Path:
    """models/fallwatch.onnx -> models/fallwatch.fp16.onnx."""
    path = Path(path)
    return path.with_name(f"{path.stem}.fp16{path.suffix}")
