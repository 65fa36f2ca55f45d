"""trt_pose: several people per frame from resnet18_baseline_att, as ONNX, on TensorRT or ONNX Runtime.

The ONNX file is trt_pose's network with its trained weights, written by `fallwatch pose export
WEIGHTS.pth` (edge/pose/trt_pose_net.py; on the Jetson the set-up script runs it). On a Jetson it
runs as a TensorRT FP16 engine built on the device by the classifier's builder, with the same build
record (edge/classifier/tensorrt.py): a missing or mismatched engine is rebuilt at start or refused.
Anywhere else the same file runs in ONNX Runtime on the CPU. Each frame is resized to the square
input, converted to RGB and normalised with ImageNet's mean/std, as trt_pose's demos do; the 18 part
maps and 42 affinity fields are decoded in numpy (edge/pose/paf.py) into canonical skeletons. trt_pose
has no per-keypoint score: found parts get confidence 1.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edge.config import ConfigError, PoseConfig
from edge.pose.base import PoseEstimator
from edge.pose.paf import decode
from edge.skeleton import Skeletons
from edge.sources.base import Frame

logger = logging.getLogger(__name__)

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
EXPORT = "make it with `fallwatch pose export WEIGHTS.pth` (install/jetson-setup.sh does on a Jetson)"

# images (1, 3, S, S) -> [cmap (1, 18, H, W), paf (1, 42, H, W)]
Network = Callable[[np.ndarray], list[np.ndarray]]


def preprocess(image: np.ndarray, size: int) -> np.ndarray:
    """A BGR (H, W, 3) or grey (H, W) uint8 frame -> float32 (1, 3, size, size) RGB, ImageNet-normalised."""
    import cv2

    code = cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB
    rgb = cv2.cvtColor(cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA), code)
    chw = ((rgb.astype(np.float32) / 255.0 - MEAN) / STD).transpose(2, 0, 1)
    return np.ascontiguousarray(chw[None])


def _tensorrt(cfg: PoseConfig) -> tuple[Network, int]:
    from edge.classifier.tensorrt import EngineRunner

    hint = "set pose.trt_pose_rebuild_engine = true or run: sudo install/jetson-setup.sh --steps pose_engine"
    runner = EngineRunner(cfg.trt_pose_engine, cfg.trt_pose_model, 1, cfg.trt_pose_rebuild_engine, hint)
    order = [runner.output_names.index(name) for name in ("cmap", "paf")]

    def network(images: np.ndarray) -> list[np.ndarray]:
        outputs = runner.run(images)
        return [outputs[i] for i in order]

    return network, runner.input_shape[-1]


def _onnxruntime(cfg: PoseConfig) -> tuple[Network, int]:
    try:
        import onnxruntime as ort  # heavy: imported on use
    except ImportError as exc:
        raise ImportError("trt_pose on the CPU needs onnxruntime: pip install 'fallwatch[cpu]'") from exc
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(cfg.trt_pose_model, options, providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    return (lambda x: session.run(["cmap", "paf"], {inp.name: x})), int(inp.shape[-1])


RUNTIMES: dict[str, Callable[[PoseConfig], tuple[Network, int]]] = {
    "tensorrt": _tensorrt,
    "onnxruntime": _onnxruntime,
}


class TrtPose(PoseEstimator):
    """Multi-person pose with trt_pose's network on TensorRT (Jetson) or ONNX Runtime (any CPU).

    cfg.trt_pose_model: the exported ONNX; cfg.trt_pose_runtime: "auto" tries TensorRT, then ONNX Runtime.
    Raises FileNotFoundError naming the file when the ONNX is missing, ConfigError listing why each
    runtime tried could not load it.
    """

    max_people = 100  # the decoder's max_people

    def __init__(self, cfg: PoseConfig) -> None:
        if not Path(cfg.trt_pose_model).is_file():
            raise FileNotFoundError(f"pose.trt_pose_model = {cfg.trt_pose_model}: no such file; {EXPORT}")
        names = list(RUNTIMES) if cfg.trt_pose_runtime == "auto" else [cfg.trt_pose_runtime]
        reasons = []
        for name in names:
            try:
                self._network, self.size = RUNTIMES[name](cfg)
            except (ImportError, RuntimeError, OSError) as exc:
                reasons.append(f"{name}: {exc}")
                continue
            skipped = f"; skipped {' | '.join(reasons)}" if reasons else ""
            logger.info("trt_pose: %s, %dx%d input%s", name, self.size, self.size, skipped)
            self.runtime = name
            return
        raise ConfigError(
            f"pose.trt_pose_runtime = {cfg.trt_pose_runtime!r}: no runtime could load it: {' | '.join(reasons)}"
        )

    def estimate(self, frame: Frame) -> Skeletons:
        cmap, paf = self._network(preprocess(frame.image, self.size))
        counts, objects, peaks = decode(cmap[0], paf[0])
        return Skeletons.from_trt_pose(counts, objects, peaks, frame.aspect)
