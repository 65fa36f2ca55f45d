"""`fallwatch pose export WEIGHTS.pth`: trt_pose's trained weights -> ONNX, on the CPU, with a parity check.

Writes the ONNX (default: trt_pose_resnet18_att_224.onnx beside the weights) and a record beside it,
`<onnx>.json`: the weights' SHA-256 (the set-up script re-exports when the weights change), the
architecture, the input, the torch version and the largest |ONNX Runtime - PyTorch| difference on
seeded random images. Needs torch (CPU is enough): pip install 'fallwatch[export]'.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edge.classifier.tensorrt import record_path
from edge.files import file_sha256, write_atomic, write_via

ONNX_NAME = "trt_pose_resnet18_att_224.onnx"
ARCHITECTURE = "resnet18_baseline_att"
PARITY_IMAGES = 2
PARITY_LIMIT = 1e-3  # float32 both sides; more means the export is wrong, not rounding


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="pose_command", required=True, metavar="ACTION")
    export = sub.add_parser("export", help="trt_pose's resnet18_baseline_att weights (.pth) -> ONNX")
    export.add_argument("weights", type=Path, help="resnet18_baseline_att_224x224_A_epoch_249.pth from trt_pose")
    export.add_argument("-o", "--output", type=Path, help=f"the ONNX file (default: {ONNX_NAME} beside the weights)")


def parity(model: object, onnx_path: Path) -> float:
    """Max |ONNX Runtime - PyTorch| over both outputs on seeded random images."""
    import onnxruntime as ort
    import torch

    from edge.pose.trt_pose_net import INPUT_SIZE

    images = np.random.default_rng(0).normal(size=(PARITY_IMAGES, 3, INPUT_SIZE, INPUT_SIZE)).astype(np.float32)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = session.run(["cmap", "paf"], {"input": images})
    with torch.no_grad():
        expected = model(torch.from_numpy(images))  # type: ignore[operator]
    return max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected, strict=True))


def export(weights: Path, output: Path) -> dict[str, object]:
    """Load the weights, write the ONNX and its record; returns the record. ValueError for bad weights."""
    try:
        import torch

        from edge.pose.trt_pose_net import INPUT_SIZE, export_onnx, load_weights, resnet18_baseline_att
    except ImportError as exc:
        raise ImportError(
            f"`fallwatch pose export` needs torch ({exc.name} is missing): pip install 'fallwatch[export]'"
        ) from None
    model = resnet18_baseline_att()
    load_weights(model, weights)
    write_via(output, lambda tmp: export_onnx(model, tmp))
    diff = parity(model, output)
    if diff > PARITY_LIMIT:
        output.unlink()
        raise ValueError(f"{output}: ONNX Runtime differs from PyTorch by {diff:.2e}: not written")
    record: dict[str, object] = {
        "architecture": ARCHITECTURE,
        "weights": weights.name,
        "weights_sha256": file_sha256(weights),
        "input": [1, 3, INPUT_SIZE, INPUT_SIZE],
        "torch": str(torch.__version__),
        "parity_max_abs": diff,
        "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_atomic(record_path(output), (json.dumps(record, indent=2) + "\n").encode())
    return record


def main(args: argparse.Namespace) -> int:
    weights: Path = args.weights
    if not weights.is_file():
        raise FileNotFoundError(f"{weights}: no such weights file (trt_pose's README links it)")
    output: Path = args.output or weights.with_name(ONNX_NAME)
    if output.suffix != ".onnx":
        print(f"fallwatch pose export: --output {output}: must be an .onnx file", file=sys.stderr)
        return 2
    try:
        record = export(weights, output)
    except ValueError as exc:
        print(f"fallwatch pose export: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {output} (max |onnxruntime - torch| = {record['parity_max_abs']:.2e}) and {record_path(output).name}")
    return 0
