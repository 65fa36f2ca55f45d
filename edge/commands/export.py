"""`fallwatch export MODEL.keras`: the ONNX model (native GRU nodes), optionally its FP16 variant and a TensorRT engine."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

PARITY_WINDOWS = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, help="the trained Keras model (.keras)")
    parser.add_argument("-o", "--output", type=Path, help="the ONNX file to write (default: MODEL with .onnx)")
    parser.add_argument("--fp16", action="store_true", help="also write the FP16 variant (NAME.fp16.onnx)")
    parser.add_argument(
        "--engine", action="store_true", help="also build a TensorRT FP16 engine (NAME.engine + .json); needs a GPU"
    )
    parser.add_argument(
        "--max-batch", type=int, default=8, help="engine optimisation profile: 1..N people per call (default 8)"
    )


def _parity(model: object, path: Path) -> float | None:
    """Max |ONNX Runtime - Keras| on a few seeded random windows, or None without onnxruntime."""
    try:
        from edge.classifier.onnxruntime import OnnxRuntimeBackend

        backend = OnnxRuntimeBackend(path)
    except ImportError:
        return None
    assert backend.input_shape is not None
    windows = np.random.default_rng(0).normal(size=(PARITY_WINDOWS, *backend.input_shape)).astype(np.float32)
    return float(np.abs(backend.run(windows) - np.asarray(model(windows, training=False))).max())  # type: ignore[operator]


def main(args: argparse.Namespace) -> int:
    from edge.training.export import ExportError

    try:
        return _export(args)
    except (ExportError, ImportError, RuntimeError) as exc:
        print(f"fallwatch export: {exc}", file=sys.stderr)
        return 2


def _export(args: argparse.Namespace) -> int:
    from edge.training.export import fp16_path, keras_to_onnx, save_onnx, to_fp16
    from edge.training.presets import import_keras

    if args.model.suffix != ".keras":
        raise FileNotFoundError(f"{args.model}: expected a .keras model file")
    if not args.model.is_file():
        raise FileNotFoundError(f"{args.model}: no such model")
    if not 1 <= args.max_batch <= 256:
        print(f"fallwatch export: --max-batch {args.max_batch}: must be in [1, 256]", file=sys.stderr)
        return 2
    output: Path = args.output or args.model.with_suffix(".onnx")
    model = import_keras().models.load_model(args.model, compile=False)
    proto = keras_to_onnx(model)
    save_onnx(proto, output)
    gru = sum(node.op_type == "GRU" for node in proto.graph.node)
    print(f"wrote {output} ({gru} GRU node(s), {len(proto.graph.node)} nodes)")
    diff = _parity(model, output)
    if diff is not None:
        print(f"parity on {PARITY_WINDOWS} random windows: max |onnxruntime - keras| = {diff:.2e}")
    features = args.model.parent / "features.json"
    if features.is_file() and output.parent.resolve() != args.model.parent.resolve():
        shutil.copyfile(features, output.parent / "features.json")
        print(f"copied {features} beside it")
    if args.fp16:
        half = fp16_path(output)
        save_onnx(to_fp16(proto), half)
        diff = _parity(model, half)
        print(f"wrote {half}" + ("" if diff is None else f" (max |onnxruntime fp16 - keras| = {diff:.2e})"))
    if args.engine:
        from edge.classifier.tensorrt import build_engine

        engine = output.with_suffix(".engine")
        record = build_engine(output, engine, args.max_batch)
        print(f"wrote {engine} for {record['device']} (TensorRT {record['tensorrt']}, batch 1..{args.max_batch})")
    return 0
