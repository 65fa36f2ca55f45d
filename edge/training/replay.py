"""Dataset clips replayed through the product's own alarm: a clip's keypoints fed straight into the
detector that the pipeline runs after pose (edge.detector.FallDetector: tracker, windows, classifier,
the fall rule).

    pose = VideoPose(PoseConfig(), Path("~/.cache/fallwatch/pose").expanduser(), 15.0, cached_only=True)
    clips = video_clips(Path("../shared/data"), ["gmdcsa24"], pose).clips  # DatasetError: a video not cached
    model = load_model(Path("models"))           # fallwatch.onnx, else fallwatch.keras; + features.json
    results = replay_clips(clips, model, modes(hold_s=15.0))   # {"as is": [ClipEvents], "held": [...]}

A clip's frames are the pose cache's (every k-th video frame, k = floor(fps / rate_hz)), the same
keypoints the training windows were cut from. Two ways to replay a clip (`modes`):
- "as is": the clip ends where it ends, with events.confirm_s = AS_IS_CONFIRM_S: the clips end a few
  seconds after the fall, before the shipped confirm_s could pass.
- "held": the clip goes on for hold_s more seconds as its last second played back and forth (`held`:
  the person stays as the clip leaves them, with the pose's own jitter), with the shipped events config.
- "held, Kx slower" (`slower=K`): the clip played K times slower (`stretched`: the falls of older people
  sink and slide rather than drop), then held as above.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edge.classifier.base import Classifier
from edge.config import ClassifierConfig, load_config
from edge.events import Event
from edge.features import FeatureConfig
from edge.pose.recorded import Trace
from edge.skeleton import Skeletons
from edge.training.clips import Clip, DatasetError
from edge.training.evaluate import ClipEvents, clip_events
from edge.training.train import FEATURES_FILE, MODEL_FILE

if TYPE_CHECKING:
    from edge.detector import DetectorStep
    from edge.training.datasets import Loaded
    from edge.training.pose_cache import VideoPose

# The sources whose clips are replayed by `fallwatch evaluate --events`: every one with continuous
# recordings of falls or daily activities (the video sources through the pose cache, and the OpenPose
# keypoint recordings of Kingston and KU Leuven HQFSD as they are).
EVENT_SOURCES = ("gmdcsa24", "urfd_video", "le2i", "upfall", "phone_falls", "kingston_openpose", "hqfsd_openpose")
AS_IS_CONFIRM_S = 1.0
ONNX_FILE = Path(MODEL_FILE).with_suffix(".onnx").name  # what `fallwatch export` writes beside the .keras
TRACE_HEIGHT = 240  # pixels; only the aspect matters to the features, the replayed frames are blank


@dataclass(frozen=True)
class ReplayModel:
    """A loaded classifier and the feature config it was trained with; path: the model file it runs."""

    path: Path
    classifier: Classifier
    features: FeatureConfig


@dataclass(frozen=True)
class Mode:
    """One way to replay a clip: `slower` times slower (1 = as recorded), then held for `hold_s` more
    seconds (0 = not), with these config overrides."""

    name: str
    hold_s: float
    overrides: tuple[str, ...]
    slower: float = 1.0


def modes(hold_s: float, overrides: Sequence[str] = (), slower: float = 1.0) -> list[Mode]:
    """The replays of the module docstring: "as is" and "held" (for hold_s seconds, shipped events
    config), and with slower > 1 "held, Kx slower"; each with the config `overrides` (KEY=VALUE) last."""
    extra = tuple(overrides)
    replays = [Mode("as is", 0.0, (f"events.confirm_s={AS_IS_CONFIRM_S:g}", *extra)), Mode("held", hold_s, extra)]
    if slower > 1:
        replays.append(Mode(f"held, {slower:g}x slower", hold_s, extra, slower))
    return replays


def load_model(path: Path) -> ReplayModel:
    """The classifier at `path`: a model folder (its fallwatch.onnx, else its fallwatch.keras) or an .onnx
    or .keras file, run by ONNX Runtime or Keras; the features.json beside it gives the feature config
    (the defaults when there is none, as the classifier factory warns).

    Raises FileNotFoundError naming the missing model, ConfigError when model and features disagree.
    """
    from edge.classifier import create_classifier

    if path.is_dir():
        path = path / ONNX_FILE if (path / ONNX_FILE).is_file() else path / MODEL_FILE
    if path.suffix not in (".onnx", ".keras"):
        raise FileNotFoundError(f"{path}: expected an .onnx or .keras model, or a folder holding {ONNX_FILE}")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model (train one with `fallwatch train`)")
    trained = path.parent / FEATURES_FILE
    features = FeatureConfig.from_dict(json.loads(trained.read_text())) if trained.is_file() else FeatureConfig()
    if path.suffix == ".keras":
        cfg = ClassifierConfig(runtime="keras", model=str(path.with_suffix(".onnx")), keras_model=str(path))
    else:
        cfg = ClassifierConfig(runtime="onnxruntime", model=str(path))
    return ReplayModel(path, create_classifier(cfg, features), features)


def video_clips(root: Path, sources: Sequence[str], pose: VideoPose) -> Loaded:
    """Every clip of `sources` under the data root `root`, a video source's keypoints from `pose`.

    With pose.cached_only a video not yet in the pose cache raises DatasetError (one line naming it and
    how to fill the cache) before any clip is loaded: pose is never run silently.
    """
    from edge.training.datasets import load_clips
    from edge.training.pose_cache import pending
    from edge.training.sources.videos import VIDEO_GLOBS, video_files

    if pose.cached_only:
        videos = [video for name in sources if name in VIDEO_GLOBS for video in video_files(root, name)]
        missing = pending(videos, pose)
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise DatasetError(
                f"{missing[0].path}: not in the pose cache {pose.cache_dir}{more}; fill it with "
                f"`fallwatch dataset build --sources {','.join(sources)} --pose-cache {pose.cache_dir} "
                "--out cache/videos.npz` (same [pose] settings)"
            )
    return load_clips(root, list(sources), pose)


def clip_trace(clip: Clip) -> Trace:
    """The clip's keypoints as a one-person trace on the clip's clock (frames of TRACE_HEIGHT pixels)."""
    size = (round(TRACE_HEIGHT * clip.aspect), TRACE_HEIGHT)
    return Trace(clip.times, clip.keypoints[:, None], size, {"source": clip.clip_id})


def frame_step(trace: Trace) -> float:
    """The trace's median time between frames (s); 1/15 s for a single frame."""
    return float(np.median(np.diff(trace.times))) if len(trace) > 1 else 1 / 15


def stretched(trace: Trace, factor: float) -> Trace:
    """`trace` played `factor` times slower (> 0), at its own median frame step: each new frame is the
    linear interpolation of the two recorded frames around its time (edge.windows.resample), a gap in
    the recording stays a gap (nobody found)."""
    from edge.windows import resample

    step = frame_step(trace)
    times = np.arange(trace.times[0] * factor, trace.times[-1] * factor + step / 2, step)
    people = np.stack(
        [
            resample(trace.times, trace.keypoints[:, p], times / factor, max_gap_s=step)
            for p in range(trace.keypoints.shape[1])
        ],
        axis=1,
    )
    return Trace(times, people, trace.size, {**trace.meta, "slower": factor})


def held(trace: Trace, hold_s: float, tail_s: float = 1.0) -> Trace:
    """`trace` going on for `hold_s` more seconds as its last `tail_s` seconds, played backwards and
    forwards in turn at the trace's median frame step (round(hold_s / step) frames are added).

    The pose's frame-to-frame jitter stays; a frozen frame would not: a perfectly still skeleton is not
    what a camera sees of a person lying on the floor.
    """
    step = frame_step(trace)
    tail = trace.keypoints[trace.times >= trace.times[-1] - tail_s]
    cycle = np.concatenate([tail[::-1][1:], tail[1:]]) if len(tail) > 1 else tail
    count = round(hold_s / step)
    extra = np.resize(cycle, (count, *cycle.shape[1:]))
    times = np.r_[trace.times, trace.times[-1] + step * np.arange(1, count + 1)]
    return Trace(times, np.concatenate([trace.keypoints, extra]), trace.size, {**trace.meta, "held_s": hold_s})


def replay(
    trace: Trace,
    model: ReplayModel,
    overrides: Sequence[str] = (),
    on_step: Callable[[float, DetectorStep], Any] | None = None,
) -> Replayed:
    """Feed the trace's keypoints into the detector (heartbeats off, no state file), the frames the
    pipeline would pose (edge.pose.rate: at most pose.max_fps a second), with config `overrides`
    (e.g. "events.confirm_s=1"): every event it raised, in order, and the episodes still open at the
    end. on_step(video_time, step) sees each frame's result (bench/trace_clip.py prints it). Raises
    ConfigError for a bad override."""
    from edge.detector import FallDetector
    from edge.pose.rate import PoseRate

    cfg = load_config(None, ["events.heartbeat_s=0", *overrides])
    cfg.features = model.features
    detector = FallDetector(cfg, model.classifier)
    rate = PoseRate(cfg.pose.max_fps or cfg.features.rate_hz)
    events: list[Event] = []
    for t, people in zip(trace.times, trace.keypoints, strict=True):
        if not rate.due(float(t)):
            continue
        found = people[(people[..., 2] > 0).any(axis=1)]
        step = detector.step(float(t), Skeletons(found.astype(np.float32), trace.aspect))
        if on_step is not None:
            on_step(float(t), step)
        events += step.events
    return Replayed(events, tuple(e.state for e in detector.open_episodes()))


@dataclass(frozen=True)
class Replayed:
    """One replay: its events in order, and the states of the episodes still open at the end."""

    events: list[Event]
    open_at_end: tuple[str, ...]


def replay_clip(
    clip: Clip, model: ReplayModel, mode: Mode, on_step: Callable[[float, DetectorStep], Any] | None = None
) -> Replayed:
    """One clip replayed in `mode` (on_step: as replay's)."""
    trace = clip_trace(clip)
    if mode.slower != 1:
        trace = stretched(trace, mode.slower)
    if mode.hold_s > 0:
        trace = held(trace, mode.hold_s)
    return replay(trace, model, mode.overrides, on_step)


def replay_clips(
    clips: Sequence[Clip], model: ReplayModel, replays: Sequence[Mode], on_clip: Callable[[Clip], Any] | None = None
) -> dict[str, list[ClipEvents]]:
    """Every clip replayed in every mode: {mode name: [what the alarm did per clip, in clip order]}.

    on_clip(clip) is called after each clip (progress).
    """
    results: dict[str, list[ClipEvents]] = {mode.name: [] for mode in replays}
    for clip in clips:
        for mode in replays:
            done = replay_clip(clip, model, mode)
            results[mode.name].append(
                clip_events(clip.clip_id, clip.source, clip.kind, clip.fall_onset_s, done.events, done.open_at_end)
            )
        if on_clip is not None:
            on_clip(clip)
    return results
