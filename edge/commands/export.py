"""`fallwatch export MODEL.keras`: the ONNX model (native GRU nodes), optionally its FP16 variant and a TensorRT engine.

Every ONNX file is checked against the Keras model in ONNX Runtime before any is written; beyond
the tolerance the command writes nothing and exits 2, so `make model` cannot ship a wrong export.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np

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


def main(args: argparse.Namespace) -> int:
    from edge.training.export import ExportError

    try:
        return _export(args)
    except (ExportError, ImportError, RuntimeError) as exc:
        print(f"fallwatch export: {exc}", file=sys.stderr)
        return 2


def _export(args: argparse.Namespace) -> int:
    from edge.training.export import (
        FP16_TOLERANCE,
        FP32_TOLERANCE,
        ExportError,
        fp16_path,
        keras_to_onnx,
        onnx_parity,
        save_onnx,
        to_fp16,
    )
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
    variants = [(output, proto, FP32_TOLERANCE)]
    if args.fp16:
        variants.append((fp16_path(output), to_fp16(proto), FP16_TOLERANCE))
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    windows = np.random.default_rng(0).normal(size=(PARITY_WINDOWS, *shape)).astype(np.float32)
    for path, candidate, tolerance in variants:  # every variant checked before any file is written
        diff = onnx_parity(model, candidate, windows)
        print(f"{path.name}: max |onnxruntime - keras| on {PARITY_WINDOWS} random windows = {diff:.2e}")
        if not diff <= tolerance:
            raise ExportError(
                f"{path.name} differs from the Keras model by {diff:.2e} > {tolerance:.0e}: nothing written"
            )
    for path, candidate, _ in variants:
        save_onnx(candidate, path)
        gru = sum(node.op_type == "GRU" for node in candidate.graph.node)
        print(f"wrote {path} ({gru} GRU node(s), {len(candidate.graph.node)} nodes)")
    features = args.model.parent / "features.json"
    if features.is_file() and output.parent.resolve() != args.model.parent.resolve():
        shutil.copyfile(features, output.parent / "features.json")
        print(f"copied {features} beside it")
    if args.engine:
        from edge.classifier.tensorrt import build_engine

        engine = output.with_suffix(".engine")
        record = build_engine(output, engine, args.max_batch)
        print(f"wrote {engine} for {record['device']} (TensorRT {record['tensorrt']}, batch 1..{args.max_batch})")
    return 0
