"""MediaPipe Pose on any CPU: ONE person per frame (the most prominent one), canonical skeletons out.

Uses the legacy `mediapipe.solutions.pose` (mediapipe 0.10.14), whose model ships inside the wheel:
nothing is downloaded. MediaPipe is imported when the estimator is built; without it the constructor
raises ImportError naming the extra (`pip install 'fallwatch[cpu]'`).

Helps for the frames where MediaPipe alone misses the person (all set in PoseConfig, [pose]):
- Tracking mode (static_image_mode=False): after one detection MediaPipe follows the person's region
  of interest, a zoomed crop, which keeps small, distant people. Call `reset()` between videos.
- Upscaling: a frame lower than `upscale_min_height` pixels is enlarged first (320x240 -> 640x480);
  the person detector works on a fixed-size input, but the landmark model crops at frame resolution.
- Rotation retry (`rotate_retry`): when nobody is found, the frame is tried again turned 90 degrees
  each way (a lying body looks upright to a detector trained on upright people); the keypoints are
  rotated back. The retry uses a separate static-mode model, so the tracker's state stays clean.
- Region re-detection (`redetect_s`): when nobody is found, the frame is tried again cropped to twice
  the box of the person last seen within that many seconds, so a small person is seen larger.
Confidence per keypoint is MediaPipe's landmark visibility; a frame where the pose model reports a
person whose mean visibility is below `min_pose_visibility` counts as nobody.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from edge.config import PoseConfig
from edge.pose.base import PoseEstimator
from edge.skeleton import Skeletons, to_canonical
from edge.sources.base import Frame

log = logging.getLogger(__name__)

MISSING_EXTRA = "MediaPipe is not installed: pip install 'fallwatch[cpu]'"


def _landmarks(result: Any) -> np.ndarray | None:
    """MediaPipe's result -> (33, 3) x, y, visibility in the processed image's [0, 1], or None."""
    if result.pose_landmarks is None:
        return None
    return np.array([(p.x, p.y, p.visibility) for p in result.pose_landmarks.landmark], dtype=np.float32)


def _unrotate(points: np.ndarray, turns: int) -> np.ndarray:
    """Map normalised (x, y) found in an image rotated by `turns` x 90 degrees clockwise back to the original."""
    out = points.copy()
    x, y = points[:, 0], points[:, 1]
    if turns == 1:  # clockwise: original (x, y) -> rotated (1 - y, x)
        out[:, 0], out[:, 1] = y, 1.0 - x
    elif turns == 3:  # counter-clockwise: original (x, y) -> rotated (y, 1 - x)
        out[:, 0], out[:, 1] = 1.0 - y, x
    return out


class MediaPipePose(PoseEstimator):
    """One person per frame with MediaPipe Pose (see the module docstring for the tuning knobs).

    cfg: the [pose] section; type should be "mediapipe". Raises ImportError naming the extra when
    MediaPipe or OpenCV is missing. Not thread-safe: one estimator per video stream.
    """

    max_people = 1

    def __init__(self, cfg: PoseConfig) -> None:
        try:
            import cv2
            import mediapipe as mp
        except ImportError as exc:
            raise ImportError(MISSING_EXTRA) from exc
        self.cfg = cfg
        self._cv2 = cv2
        options = {
            "model_complexity": cfg.model_complexity,
            "min_detection_confidence": cfg.min_detection_confidence,
            "min_tracking_confidence": cfg.min_tracking_confidence,
        }
        self._tracker = mp.solutions.pose.Pose(static_image_mode=cfg.static_image_mode, **options)
        self._static = mp.solutions.pose.Pose(static_image_mode=True, **options) if self._needs_static() else None
        self._last_box: tuple[float, float, float, float] | None = None
        self._last_time = -np.inf
        #: How many frames each step found the person in (first pass, re-detection, rotation, none).
        self.stats = {"frames": 0, "direct": 0, "redetect": 0, "rotated": 0, "missed": 0}

    def _needs_static(self) -> bool:
        return self.cfg.rotate_retry or self.cfg.redetect_s > 0

    def reset(self) -> None:
        """Forget the tracked person (call between unrelated videos)."""
        self._tracker.reset()
        self._last_box, self._last_time = None, -np.inf

    def close(self) -> None:
        self._tracker.close()
        if self._static is not None:
            self._static.close()

    def _rgb(self, image: np.ndarray) -> np.ndarray:
        cv2 = self._cv2
        rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        height = rgb.shape[0]
        if 0 < height < self.cfg.upscale_min_height:
            scale = self.cfg.upscale_min_height / height
            rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
        return np.ascontiguousarray(rgb)

    def _accept(self, points: np.ndarray | None) -> np.ndarray | None:
        if points is None or float(points[:, 2].mean()) < self.cfg.min_pose_visibility:
            return None
        return points

    def _redetect(self, rgb: np.ndarray) -> np.ndarray | None:
        """Try a crop of twice the last seen person's box; points mapped back to the full frame."""
        assert self._static is not None and self._last_box is not None
        x0, y0, x1, y1 = self._last_box
        cx, cy, half_w, half_h = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, 0.05), max(y1 - y0, 0.05)
        half = max(half_w * rgb.shape[1], half_h * rgb.shape[0])  # a square crop, in pixels
        h, w = rgb.shape[:2]
        left, top = int(max(cx * w - half, 0)), int(max(cy * h - half, 0))
        right, bottom = int(min(cx * w + half, w)), int(min(cy * h + half, h))
        if right - left < 16 or bottom - top < 16 or (right - left >= w and bottom - top >= h):
            return None
        crop = np.ascontiguousarray(rgb[top:bottom, left:right])
        points = self._accept(_landmarks(self._static.process(crop)))
        if points is None:
            return None
        points[:, 0] = (left + points[:, 0] * (right - left)) / w
        points[:, 1] = (top + points[:, 1] * (bottom - top)) / h
        return points

    def _rotated(self, rgb: np.ndarray) -> np.ndarray | None:
        assert self._static is not None
        cv2 = self._cv2
        for turns, code in ((1, cv2.ROTATE_90_CLOCKWISE), (3, cv2.ROTATE_90_COUNTERCLOCKWISE)):
            points = self._accept(_landmarks(self._static.process(np.ascontiguousarray(cv2.rotate(rgb, code)))))
            if points is not None:
                return _unrotate(points, turns)
        return None

    def estimate(self, frame: Frame) -> Skeletons:
        """The person in `frame` as Skeletons (1, 18, 3), or Skeletons.empty() when nobody is found."""
        rgb = self._rgb(frame.image)
        self.stats["frames"] += 1
        points, step = self._accept(_landmarks(self._tracker.process(rgb))), "direct"
        recent = self._last_box is not None and frame.video_time - self._last_time <= self.cfg.redetect_s
        if points is None and recent:
            points, step = self._redetect(rgb), "redetect"
        if points is None and self.cfg.rotate_retry:
            points, step = self._rotated(rgb), "rotated"
        if points is None:
            self.stats["missed"] += 1
            return Skeletons.empty(frame.aspect)
        self.stats[step] += 1
        seen = points[points[:, 2] >= 0.5, :2] if (points[:, 2] >= 0.5).sum() >= 4 else points[:, :2]
        self._last_box = (*np.clip(seen.min(axis=0), 0, 1), *np.clip(seen.max(axis=0), 0, 1))
        self._last_time = frame.video_time
        return Skeletons(to_canonical(points[None], "mediapipe33"), frame.aspect)
