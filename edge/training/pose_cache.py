"""Videos -> per-frame canonical skeletons through the project's own pose stage, cached on disk.

    pose = VideoPose(PoseConfig(), Path("~/.cache/fallwatch/pose").expanduser())
    track = pose.track(Path("clip.mp4"), crop=RIGHT_HALF)   # PoseTrack: times, keypoints, aspect, ...
    pose.model_frames                                         # frames the model ran on (0 on a cache hit)

The cache key is the SHA-256 of the file's bytes plus the pose configuration, the crop and the frame
step (plus CACHE_VERSION), so renaming a file keeps its cache and changing a threshold does not
reuse stale keypoints. Entries are written atomically; a corrupt entry is recomputed.

Pose runs on every k-th decoded frame, k = floor(fps / max_rate_hz) (30 fps -> every 2nd frame at
15 Hz; 25, 18 and 15 fps -> every frame): windows are resampled to rate_hz anyway, and pose is the
expensive stage. A frame where nobody was found stays in the track with all-zero keypoints, so gaps
stay visible. Decode problems raise DatasetError with one line naming the file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.config import PoseConfig
from edge.files import file_sha256, write_npz
from edge.pose.base import PoseEstimator
from edge.skeleton import NUM_KEYPOINTS
from edge.sources.base import Frame
from edge.training.clips import DatasetError

CACHE_VERSION = 1
# The pose settings that decide the keypoints (the cache key); others (file paths of other backends,
# fields added later) leave cached entries valid.
KEY_FIELDS = (
    "type", "min_detection_confidence", "min_tracking_confidence", "model_complexity", "static_image_mode",
    "upscale_min_height", "rotate_retry", "redetect_s", "min_pose_visibility",
)  # fmt: skip


@dataclass(frozen=True)
class Crop:
    """A part of every frame, as fractions of its width and height (0..1)."""

    left: float = 0.0
    top: float = 0.0
    right: float = 1.0
    bottom: float = 1.0

    def apply(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        return image[round(self.top * h) : round(self.bottom * h), round(self.left * w) : round(self.right * w)]


RIGHT_HALF = Crop(left=0.5)  # UR Fall videos: depth on the left, the RGB camera on the right


@dataclass(frozen=True)
class PoseTrack:
    """One video's skeletons: times float64 (N,), keypoints float32 (N, 18, 3) (zeros = nobody),
    aspect (width / height after the crop), fps of the file, frames decoded in all."""

    times: np.ndarray
    keypoints: np.ndarray
    aspect: float
    fps: float
    frames: int

    @property
    def found(self) -> np.ndarray:
        """bool (N,): frames where somebody was found."""
        return (self.keypoints[..., 2] > 0).any(axis=-1)


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes (hex); DatasetError naming the file when it cannot be read."""
    try:
        return file_sha256(path)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read video: {exc.strerror}") from None


def _open(path: Path) -> tuple[Any, float]:
    import cv2

    if not path.is_file():
        raise DatasetError(f"{path}: video not found")
    cap = cv2.VideoCapture(str(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS)) if cap.isOpened() else 0.0
    if not cap.isOpened() or not (np.isfinite(fps) and 1 <= fps <= 240):
        cap.release()
        raise DatasetError(f"{path}: cannot open as a video (corrupt or not a video file)")
    return cap, fps


def decode(path: Path, crop: Crop | None = None) -> Iterator[tuple[int, float, np.ndarray]]:
    """(index, fps, image) for every decodable frame; DatasetError naming the file when there is none."""
    cap, fps = _open(path)
    count = 0
    try:
        while True:
            ok, image = cap.read()
            if not ok:
                break
            yield count, fps, crop.apply(image) if crop is not None else image
            count += 1
    finally:
        cap.release()
    if count == 0:
        raise DatasetError(f"{path}: no frames could be decoded (empty or corrupt video)")


def count_frames(path: Path) -> tuple[int, float]:
    """(decoded frames, fps) of a video without running pose; DatasetError naming a bad file."""
    cap, fps = _open(path)
    count = 0
    try:
        while cap.grab():
            count += 1
    finally:
        cap.release()
    if count == 0:
        raise DatasetError(f"{path}: no frames could be decoded (empty or corrupt video)")
    return count, fps


class VideoPose:
    """Runs a pose estimator over whole videos, with an on-disk cache keyed by file content.

    cfg: the [pose] section (its MediaPipe settings are part of the cache key).
    cache_dir: where entries go (created on demand); None = no cache.
    max_rate_hz: pose runs on every floor(fps / max_rate_hz)-th frame (see the module docstring).
    make_estimator: builds the estimator on the first cache miss (default: edge.pose.create_pose).
    cached_only: never run pose; a video not in the cache raises DatasetError (fast partial builds).
    """

    def __init__(
        self,
        cfg: PoseConfig,
        cache_dir: Path | None,
        max_rate_hz: float = 15.0,
        make_estimator: Callable[[PoseConfig], PoseEstimator] | None = None,
        cached_only: bool = False,
    ) -> None:
        if max_rate_hz <= 0:
            raise ValueError(f"max_rate_hz must be > 0, got {max_rate_hz}")
        self.cfg = cfg
        self.cache_dir = cache_dir
        self.max_rate_hz = max_rate_hz
        self._make = make_estimator
        self.cached_only = cached_only
        self._estimator: PoseEstimator | None = None
        #: Frames the pose model ran on since construction (a cache hit adds none).
        self.model_frames = 0
        self.cache_hits = 0

    def config_dict(self) -> dict[str, Any]:
        """The settings that decide the keypoints (stored in the cache key and the dataset file)."""
        pose = {k: getattr(self.cfg, k) for k in KEY_FIELDS}
        return {"pose": pose, "max_rate_hz": self.max_rate_hz, "cache_version": CACHE_VERSION}

    def _key(self, path: Path, crop: Crop | None) -> str:
        settings = json.dumps({**self.config_dict(), "crop": asdict(crop) if crop else None}, sort_keys=True)
        return hashlib.sha256(f"{file_digest(path)}\n{settings}".encode()).hexdigest()

    def estimator(self) -> PoseEstimator:
        if self._estimator is None:
            if self._make is None:
                from edge.pose import create_pose

                self._estimator = create_pose(self.cfg)
            else:
                self._estimator = self._make(self.cfg)
        return self._estimator

    def track(self, path: Path, crop: Crop | None = None) -> PoseTrack:
        """Skeletons for every posed frame of `path` (cropped first when `crop` is given)."""
        entry = None
        if self.cache_dir is not None:
            key = self._key(path, crop)
            entry = self.cache_dir / key[:2] / f"{key}.npz"
            cached = self._read(entry)
            if cached is not None:
                self.cache_hits += 1
                return cached
        if self.cached_only:
            raise DatasetError(f"{path}: not in the pose cache {self.cache_dir} (cached-only build)")
        result = self._run(path, crop)
        if entry is not None:
            self._write(entry, result)
        return result

    def _run(self, path: Path, crop: Crop | None) -> PoseTrack:
        estimator = self.estimator()
        reset = getattr(estimator, "reset", None)
        if reset is not None:
            reset()  # a new video: forget the person tracked in the last one
        times, skeletons = [], []
        aspect, fps, frames = 1.0, 0.0, 0
        for index, fps, image in decode(path, crop):
            frames = index + 1
            step = max(1, int(fps / self.max_rate_hz + 1e-6))
            if index % step:
                continue
            frame = Frame(image=image, video_time=index / fps, index=index)
            aspect = frame.aspect
            people = estimator.estimate(frame)
            self.model_frames += 1
            times.append(frame.video_time)
            skeletons.append(people.keypoints[0] if len(people) else np.zeros((NUM_KEYPOINTS, 3), np.float32))
        return PoseTrack(np.array(times, np.float64), np.stack(skeletons).astype(np.float32), aspect, fps, frames)

    @staticmethod
    def _read(entry: Path) -> PoseTrack | None:
        if not entry.is_file():
            return None
        try:
            with np.load(entry, allow_pickle=False) as data:
                return PoseTrack(
                    data["times"], data["keypoints"], float(data["aspect"]), float(data["fps"]), int(data["frames"])
                )
        except (OSError, ValueError, KeyError):
            return None  # a corrupt or older entry: recompute it

    @staticmethod
    def _write(entry: Path, track: PoseTrack) -> None:
        write_npz(
            entry,
            times=track.times,
            keypoints=track.keypoints,
            aspect=np.float64(track.aspect),
            fps=np.float64(track.fps),
            frames=np.int64(track.frames),
        )
