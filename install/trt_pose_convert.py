"""Convert trt_pose's resnet18 weights into a TensorRT FP16 module (torch2trt) for this Jetson.

    python install/trt_pose_convert.py --weights W.pth --topology human_pose.json --output W_trt.pth

Writes the torch2trt state dict (what edge/pose's trt_pose backend loads with TRTModule) and a build
record beside it, `<output>.json`: TensorRT version, GPU, compute capability and the weights' SHA-256,
like the classifier's engine record (edge/classifier/tensorrt.py). An engine only runs on the
TensorRT and GPU it was built for, so jetson-setup.sh rebuilds it when `up_to_date` says no (after a
JetPack upgrade, for example). Runs on a Jetson only (torch with CUDA, torch2trt, trt_pose).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

INPUT_SIZE = 224  # resnet18_baseline_att_224x224_A was trained at 224 x 224


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def system_record(weights: str | Path) -> dict[str, Any]:
    """What a conversion here and now would record (imports tensorrt and torch)."""
    import tensorrt
    import torch

    major, minor = torch.cuda.get_device_capability(0)
    return {
        "tensorrt": str(tensorrt.__version__),
        "device": str(torch.cuda.get_device_name(0)),
        "compute_capability": f"{major}.{minor}",
        "weights_sha256": sha256(weights),
        "precision": "fp16",
        "input": [1, 3, INPUT_SIZE, INPUT_SIZE],
    }


def up_to_date(weights: str | Path, output: str | Path) -> bool:
    """True when `output` exists and its record matches this system and these weights."""
    record = Path(str(output) + ".json")
    if not Path(output).is_file() or not record.is_file():
        return False
    try:
        saved = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return saved == system_record(weights)


def _save_atomic(path: Path, write: Any) -> None:
    """Call write(tmp_path), then rename it over `path` (no half-written file on a crash)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def convert(weights: Path, topology: Path, output: Path) -> dict[str, Any]:
    """Build the FP16 TensorRT module from the weights; write it and its record. Returns the record."""
    import torch
    import torch2trt
    import trt_pose.models

    human_pose = json.loads(topology.read_text(encoding="utf-8"))
    num_parts, num_links = len(human_pose["keypoints"]), len(human_pose["skeleton"])
    model = trt_pose.models.resnet18_baseline_att(num_parts, 2 * num_links).cuda().eval()
    model.load_state_dict(torch.load(weights, map_location="cuda", weights_only=True))
    data = torch.zeros((1, 3, INPUT_SIZE, INPUT_SIZE)).cuda()
    model_trt = torch2trt.torch2trt(model, [data], fp16_mode=True, max_workspace_size=1 << 25)
    output.parent.mkdir(parents=True, exist_ok=True)
    _save_atomic(output, lambda tmp: torch.save(model_trt.state_dict(), tmp))
    record = system_record(weights)
    _save_atomic(Path(str(output) + ".json"), lambda tmp: Path(tmp).write_text(json.dumps(record, indent=2) + "\n"))
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, required=True, help="resnet18_baseline_att_224x224_A_epoch_249.pth")
    parser.add_argument("--topology", type=Path, required=True, help="trt_pose's tasks/human_pose/human_pose.json")
    parser.add_argument("--output", type=Path, required=True, help="the converted module (..._trt.pth)")
    args = parser.parse_args(argv)
    for path in (args.weights, args.topology):
        if not path.is_file():
            print(f"trt_pose_convert: {path}: no such file", file=sys.stderr)
            return 2
    record = convert(args.weights, args.topology, args.output)
    print(f"wrote {args.output} for TensorRT {record['tensorrt']} on {record['device']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
