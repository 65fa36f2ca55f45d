"""trt_pose on a Jetson: several people per frame from a TensorRT-converted resnet18 (224) or densenet121 (256).

The model file is a torch2trt `TRTModule` state dict (trt_pose's `..._trt.pth`, converted on the
device by install/trt_pose_convert.py, which jetson-setup.sh runs); the topology comes from trt_pose's human_pose.json. Each frame is
resized to the model's square input, converted to RGB, normalised with ImageNet mean/std and run on
the GPU; `ParseObjects` turns the part (cmap) and affinity (paf) maps into people, whose (y, x)
peaks `Skeletons.from_trt_pose` swaps into the canonical skeleton. trt_pose has no per-keypoint
score: found parts get confidence 1.

Runs only on a Jetson with torch, torch2trt and trt_pose; off a Jetson the constructor raises one
sentence naming what to install. No test here runs the model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from edge.config import PoseConfig
from edge.pose.base import PoseEstimator
from edge.skeleton import Skeletons
from edge.sources.base import Frame

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
INSTALL = "install/jetson-setup.sh builds torch2trt and trt_pose on a Jetson (JetPack 6)"


def input_size(model_path: str) -> int:
    """The model's square input side: from the conversion record `<model>.json` (install/trt_pose_convert.py
    writes "input": [1, 3, S, S]), else trt_pose's file naming (`..._224x224_...`, `..._256x256_...`), else 224.
    """
    record = Path(model_path + ".json")
    if record.is_file():
        try:
            return int(json.loads(record.read_text(encoding="utf-8"))["input"][-1])
        except (ValueError, KeyError, IndexError, TypeError):
            pass  # an unreadable record: fall back to the name, as for models converted by hand
    match = re.search(r"_(\d{3})x(\d{3})_", Path(model_path).name)
    return int(match.group(1)) if match else 224


def preprocess(image: np.ndarray, size: int) -> np.ndarray:
    """A BGR (H, W, 3) or grey (H, W) uint8 frame -> float32 (1, 3, size, size) RGB, ImageNet-normalised."""
    import cv2

    code = cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB
    rgb = cv2.cvtColor(cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA), code)
    chw = ((rgb.astype(np.float32) / 255.0 - MEAN) / STD).transpose(2, 0, 1)
    return np.ascontiguousarray(chw[None])


class TrtPose(PoseEstimator):
    """Multi-person pose with trt_pose + TensorRT.

    cfg.trt_pose_model: the torch2trt TRTModule state dict (.pth); its name gives the input size.
    cfg.trt_pose_topology: trt_pose's human_pose.json.
    Raises ImportError (one sentence naming what to install) when torch, torch2trt or trt_pose is
    missing, and FileNotFoundError naming the file when the model or topology is missing.
    """

    max_people = 100  # ParseObjects' default max_num_objects

    def __init__(self, cfg: PoseConfig) -> None:
        try:
            import torch
            import trt_pose.coco
            from torch2trt import TRTModule
            from trt_pose.parse_objects import ParseObjects
        except ImportError as exc:
            raise ImportError(
                f'pose.type = "trt_pose" needs torch, torch2trt and trt_pose ({exc.name} is missing): {INSTALL}'
            ) from None
        for key in ("trt_pose_model", "trt_pose_topology"):
            if not Path(getattr(cfg, key)).is_file():
                raise FileNotFoundError(f"pose.{key} = {getattr(cfg, key)}: no such file ({INSTALL})")
        with open(cfg.trt_pose_topology, encoding="utf-8") as f:
            topology = trt_pose.coco.coco_category_to_topology(json.load(f))
        self._torch = torch
        self._model = TRTModule()
        self._model.load_state_dict(torch.load(cfg.trt_pose_model))
        self._parse = ParseObjects(topology)
        self.size = input_size(cfg.trt_pose_model)

    def estimate(self, frame: Frame) -> Skeletons:
        data: Any = self._torch.from_numpy(preprocess(frame.image, self.size)).cuda()
        cmap, paf = self._model(data)
        counts, objects, peaks = self._parse(cmap.detach().cpu(), paf.detach().cpu())
        return Skeletons.from_trt_pose(counts.numpy(), objects.numpy(), peaks.numpy(), frame.aspect)
