"""Pose estimators: MediaPipe (any CPU, one person), trt_pose (several; TensorRT or ONNX Runtime), recorded keypoints.

pose = create_pose(cfg.pose)          # PoseEstimator; heavy libraries load only now
skeletons = pose.estimate(frame)      # Skeletons (N, 18, 3) canonical, N = 0 when nobody is in view
pose.close()
"""

from __future__ import annotations

import importlib

from edge.config import PoseConfig
from edge.pose.base import PoseEstimator

__all__ = ["BACKENDS", "PoseEstimator", "create_pose"]

# pose.type -> (module, class); a static map, imported on selection only. Every class takes a PoseConfig.
BACKENDS: dict[str, tuple[str, str]] = {
    "mediapipe": ("edge.pose.mediapipe", "MediaPipePose"),
    "trt_pose": ("edge.pose.trt_pose", "TrtPose"),
    "recorded": ("edge.pose.recorded", "RecordedPose"),
}


def create_pose(cfg: PoseConfig) -> PoseEstimator:
    """The configured pose estimator; a missing library raises one sentence naming what to install."""
    module, name = BACKENDS[cfg.type]
    cls = getattr(importlib.import_module(module), name)
    return cls(cfg)
