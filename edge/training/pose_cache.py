"""Videos -> per-frame canonical skeletons through the project's own pose stage, cached on disk.

    pose = VideoPose(PoseConfig(), Path("~/.cache/fallwatch/pose").expanduser())
    track = pose.track(Path("clip.mp4"), crop=RIGHT_HALF)   # PoseTrack: times, keypoints, aspect, ...
    pose.model_frames                                         # frames the model ran on (0 on a cache hit)

    todo = pending(videos, pose)                # [(path, crop)] -> the uncached ones, largest first
    fill_cache(todo, cfg, cache_dir, 15.0, jobs=2)   # pose them in 2 worker processes

The cache key is the SHA-256 of the file's bytes plus the pose configuration, the crop and the frame
step (plus CACHE_VERSION), so renaming a file keeps its cache and changing a threshold does not
reuse stale keypoints. Entries are written atomically; a corrupt entry is recomputed.

Pose runs on every k-th decoded frame, k = floor(fps / max_rate_hz) (30 fps -> every 2nd frame at
15 Hz; 25, 18 and 15 fps -> every frame): windows are resampled to rate_hz anyway, and pose is the
expensive stage. A frame where nobody was found stays in the track with all-zero keypoints, so gaps
stay visible. Decode problems raise DatasetError with one line naming the file.

MediaPipe runs on one core, so `fill_cache` poses many videos at once in worker processes (spawned,
never forked: a fork would copy the parent's TensorFlow/MediaPipe threads). Each worker has its own
VideoPose and resets the estimator before every video, exactly as a serial run does, so the cached
keypoints are the same whichever process made them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
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


def frame_step(fps: float, max_rate_hz: float) -> int:
    """Pose runs on every frame_step-th decoded frame: floor(fps / max_rate_hz), at least 1."""
    return max(1, int(fps / max_rate_hz + 1e-6))


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

    def entry(self, path: Path, crop: Crop | None = None) -> Path | None:
        """The cache file for `path` seen through `crop` (None without a cache); DatasetError when unreadable."""
        if self.cache_dir is None:
            return None
        settings = json.dumps({**self.config_dict(), "crop": asdict(crop) if crop else None}, sort_keys=True)
        key = hashlib.sha256(f"{file_digest(path)}\n{settings}".encode()).hexdigest()
        return self.cache_dir / key[:2] / f"{key}.npz"

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
        entry = self.entry(path, crop)
        if entry is not None:
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
        decoded = decode(path, crop)
        first = next(decoded)  # a bad video raises DatasetError here, before the model is loaded
        estimator = self.estimator()
        reset = getattr(estimator, "reset", None)
        if reset is not None:
            reset()  # a new video: forget the person tracked in the last one
        times, skeletons = [], []
        aspect, fps, frames = 1.0, 0.0, 0
        for index, fps, image in itertools.chain([first], decoded):
            frames = index + 1
            if index % frame_step(fps, self.max_rate_hz):
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


# --- filling the cache in parallel -----------------------------------------------------------------


@dataclass(frozen=True)
class PoseJob:
    """One video to pose: the file, its crop, and the frames pose will run on (from the container's
    header, an estimate for ordering and progress; 0 when the header cannot be read)."""

    path: Path
    crop: Crop | None
    frames: int


@dataclass
class FillReport:
    """What `fill_cache` did: videos posed and cached, frames the model ran on, wall seconds, and one
    line per video it left uncached (a bad video: the serial build pass reports it again as a skip)."""

    videos: int = 0
    frames: int = 0
    seconds: float = 0.0
    failed: list[str] = field(default_factory=list)


def _header_frames(path: Path, max_rate_hz: float) -> int:
    """Frames pose would run on, from the container's frame count and fps (0 when unreadable)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        count, fps = cap.get(cv2.CAP_PROP_FRAME_COUNT), cap.get(cv2.CAP_PROP_FPS)
    finally:
        cap.release()
    if not (np.isfinite(count) and np.isfinite(fps) and count > 0 and fps > 0):
        return 0
    return -(-int(count) // frame_step(fps, max_rate_hz))


def pending(videos: list[tuple[Path, Crop | None]], pose: VideoPose) -> list[PoseJob]:
    """The videos (path, crop) not yet in `pose`'s cache, each content once, largest first.

    A file that cannot be read is left out (the build pass reports it); without a cache, nothing is pending.
    """
    todo: dict[Path, PoseJob] = {}
    for path, crop in videos:
        try:
            entry = pose.entry(path, crop)
            if entry is None or entry in todo or VideoPose._read(entry) is not None:  # hashed once
                continue
        except DatasetError:
            continue
        todo[entry] = PoseJob(path, crop, _header_frames(path, pose.max_rate_hz))
    return sorted(todo.values(), key=lambda job: (-job.frames, str(job.path)))


_worker_pose: VideoPose | None = None


def _start_worker(cfg: PoseConfig, cache_dir: Path, max_rate_hz: float) -> None:
    global _worker_pose
    _worker_pose = VideoPose(cfg, cache_dir, max_rate_hz)


def _pose_one(path: Path, crop: Crop | None) -> tuple[int, str | None]:
    """In a worker: pose one video into the cache; (frames posed, None) or (0, the one-line reason)."""
    assert _worker_pose is not None, "_start_worker did not run"
    before = _worker_pose.model_frames
    try:
        _worker_pose.track(path, crop)
    except DatasetError as exc:
        return 0, str(exc)
    return _worker_pose.model_frames - before, None


def fill_cache(
    todo: list[PoseJob],
    cfg: PoseConfig,
    cache_dir: Path,
    max_rate_hz: float,
    jobs: int,
    on_done: Callable[[PoseJob, int], None] | None = None,
) -> FillReport:
    """Pose every video of `todo` into `cache_dir` in `jobs` spawned worker processes, in `todo`'s order.

    cfg, max_rate_hz: as for VideoPose (the same cache keys as a serial run). on_done(job, frames posed)
    is called in this process as each video finishes. A video that fails (bad file, a worker that died)
    stays uncached and is named in the report's `failed`; the others go on. Raises ValueError for jobs < 1.
    A script that calls this needs `if __name__ == "__main__":` (spawned workers import the main module).
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    report = FillReport()
    started = time.monotonic()
    if todo:
        pool = ProcessPoolExecutor(
            max_workers=min(jobs, len(todo)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(cfg, cache_dir, max_rate_hz),
        )
        try:
            futures = {pool.submit(_pose_one, job.path, job.crop): job for job in todo}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    frames, error = future.result()
                except Exception as exc:  # the worker died (e.g. a crash inside the decoder or MediaPipe)
                    reason = " ".join(str(exc).split())  # one line
                    frames, error = 0, f"{job.path}: pose worker failed: {type(exc).__name__}: {reason}"
                if error is None:
                    report.videos += 1
                    report.frames += frames
                else:
                    report.failed.append(error)
                if on_done is not None:
                    on_done(job, frames)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    report.seconds = time.monotonic() - started
    return report
