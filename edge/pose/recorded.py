"""Recorded keypoints: replay a pose trace instead of running a pose model (demos, benchmarks, tests).

A trace is one .npz file (numpy.savez_compressed) holding:
    times      float64 (N,)           video_time of each frame, strictly increasing (seconds)
    keypoints  float32 (N, P, 18, 3)  canonical skeletons (edge/skeleton.py), P people per frame;
                                      a person slot whose confidences are all 0 is absent
    size       int64 (2,)             the frame's (width, height); aspect = width / height
    meta       str                    JSON provenance: {"format": "fallwatch-trace", "version": 1,
                                      "source": ..., "pose": {...}, "created": ISO 8601, ...}

    trace = extract_trace(source, pose, meta={"source": "GMDCSA24 Subject 1/Fall/13.mp4"})
    record_trace("demo/fall.npz", trace)
    pose = RecordedPose(PoseConfig(type="recorded", recorded_path="demo/fall.npz"))
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from edge.config import PoseConfig, load_config
from edge.files import write_npz
from edge.pose.base import PoseEstimator
from edge.skeleton import NUM_KEYPOINTS, Skeletons
from edge.sources.base import Frame, FrameSource

FORMAT = "fallwatch-trace"
VERSION = 1


class TraceError(ValueError):
    """A trace file that is missing or malformed; the message names the file."""


@dataclass
class Trace:
    """Keypoints per frame of one video (see the module docstring for shapes)."""

    times: np.ndarray
    keypoints: np.ndarray
    size: tuple[int, int]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.times = np.asarray(self.times, dtype=np.float64)
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        n = len(self.times)
        if self.times.ndim != 1 or (n > 1 and not np.all(np.diff(self.times) > 0)):
            raise ValueError(f"trace: times must be a strictly increasing (N,) array, got shape {self.times.shape}")
        if self.keypoints.ndim != 4 or self.keypoints.shape[0] != n or self.keypoints.shape[2:] != (NUM_KEYPOINTS, 3):
            raise ValueError(f"trace: expected keypoints shaped ({n}, P, 18, 3), got {self.keypoints.shape}")
        if len(self.size) != 2 or min(self.size) <= 0:
            raise ValueError(f"trace: size must be (width, height) > 0, got {self.size}")
        self.size = (int(self.size[0]), int(self.size[1]))
        steps = np.diff(self.times)
        #: Half the typical frame interval: a frame further than this from every trace time gets nobody.
        self.tolerance = float(np.median(steps)) / 2 if len(steps) else 1 / 60

    @property
    def aspect(self) -> float:
        """Width / height of the traced frames."""
        return self.size[0] / self.size[1]

    def __len__(self) -> int:
        return len(self.times)

    def at(self, video_time: float) -> Skeletons:
        """The people of the trace frame nearest `video_time` (within half a frame), else nobody."""
        if not len(self.times):
            return Skeletons.empty(self.aspect)
        i = int(np.searchsorted(self.times, video_time))
        candidates = [j for j in (i - 1, i) if 0 <= j < len(self.times)]
        j = min(candidates, key=lambda k: abs(self.times[k] - video_time))
        if abs(self.times[j] - video_time) > self.tolerance + 1e-6:
            return Skeletons.empty(self.aspect)
        people = self.keypoints[j]
        present = (people[:, :, 2] > 0).any(axis=1)
        return Skeletons(people[present].copy(), self.aspect)


def record_trace(path: str | Path, trace: Trace) -> Path:
    """Write `trace` to `path` (.npz) atomically: a temp file renamed into place, never half-written."""
    path = Path(path)
    meta = {"format": FORMAT, "version": VERSION, **trace.meta}
    return write_npz(
        path,
        times=trace.times,
        keypoints=trace.keypoints,
        size=np.array(trace.size, dtype=np.int64),
        meta=np.array(json.dumps(meta, sort_keys=True)),
    )


def load_trace(path: str | Path) -> Trace:
    """Read a trace; raises TraceError naming the file when it is missing, unreadable or malformed."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in ("times", "keypoints", "size", "meta")}
    except FileNotFoundError:
        raise TraceError(f"{path}: no such keypoint trace") from None
    except KeyError as exc:
        raise TraceError(f"{path}: not a keypoint trace (lacks {exc})") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        what = "empty file" if isinstance(exc, EOFError) else str(exc)
        raise TraceError(f"{path}: not a keypoint trace (.npz), truncated or corrupt: {what}") from None
    try:
        meta = json.loads(str(arrays["meta"]))
    except json.JSONDecodeError:
        raise TraceError(f"{path}: meta is not JSON") from None
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise TraceError(f"{path}: format {meta.get('format')!r} v{meta.get('version')}; expected {FORMAT} v{VERSION}")
    try:
        return Trace(arrays["times"], arrays["keypoints"], tuple(arrays["size"].tolist()), meta)
    except ValueError as exc:
        raise TraceError(f"{path}: {exc}") from None


def extract_trace(
    source: FrameSource, pose: PoseEstimator, meta: dict[str, Any] | None = None, max_frames: int | None = None
) -> Trace:
    """Run `pose` on every frame of `source` (until it finishes or `max_frames`) and keep the skeletons.

    meta: provenance to store (source clip, licence...); the pose estimator's class, the frame count
    and the creation time are added. Raises ValueError if the source delivers no frame.
    """
    times: list[float] = []
    people: list[np.ndarray] = []
    size: tuple[int, int] | None = None
    while not source.finished and (max_frames is None or len(times) < max_frames):
        frame: Frame | None = source.read()
        if frame is None:
            continue
        if size is None:
            size = (frame.image.shape[1], frame.image.shape[0])
        times.append(frame.video_time)
        people.append(pose.estimate(frame).keypoints)
    if size is None:
        raise ValueError("extract_trace: the source delivered no frame")
    slots = max([len(p) for p in people] + [1])
    keypoints = np.zeros((len(times), slots, NUM_KEYPOINTS, 3), dtype=np.float32)
    for i, found in enumerate(people):
        keypoints[i, : len(found)] = found
    info = {
        "pose": type(pose).__module__ + "." + type(pose).__name__,
        "frames": len(times),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **(meta or {}),
    }
    return Trace(np.array(times), keypoints, size, info)


def trace_cache_dir() -> Path:
    """Where `cached_trace` keeps traces: $FALLWATCH_CACHE/pipeline-traces (default ~/.cache/fallwatch)."""
    return Path(os.environ.get("FALLWATCH_CACHE", Path.home() / ".cache" / "fallwatch")) / "pipeline-traces"


def cached_trace(clip: Path, pose_cfg: PoseConfig, cache_dir: Path | None = None) -> Path:
    """A trace of the pose stage on every frame of `clip`, extracted once and cached by file content + pose config.

    Used by the replays in tests and benches: a later run reads the trace instead of re-running pose.
    """
    import hashlib

    from edge.pose import create_pose  # the factory imports this module
    from edge.sources import create_source

    cache_dir = cache_dir or trace_cache_dir()
    key = hashlib.sha256(clip.read_bytes() + json.dumps(pose_cfg.__dict__, sort_keys=True).encode()).hexdigest()
    path = cache_dir / f"{key[:24]}.npz"
    if not path.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        source, pose = create_source(load_config(None, [f'source.uri="{clip}"']).source), create_pose(pose_cfg)
        try:
            record_trace(path, extract_trace(source, pose, meta={"source": clip.name}))
        finally:
            pose.close()
            source.close()
    return path


class RecordedPose(PoseEstimator):
    """A PoseEstimator that returns a trace's skeletons for the frame at the same video_time.

    cfg.recorded_path: the trace (.npz). Raises TraceError naming the file when it cannot be read.
    Frames with no trace time within half a frame get nobody (Skeletons.empty).
    """

    def __init__(self, cfg: PoseConfig) -> None:
        if not cfg.recorded_path:
            raise TraceError('pose.recorded_path is empty: give the keypoint trace (.npz) for pose.type = "recorded"')
        self.trace = load_trace(cfg.recorded_path)
        self.max_people = int(self.trace.keypoints.shape[1])

    def estimate(self, frame: Frame) -> Skeletons:
        return self.trace.at(frame.video_time)
