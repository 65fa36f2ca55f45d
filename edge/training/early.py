"""Early windows: training windows that end before a clip's first full window, the missing start held
at the clip's first frame.

Many recorded falls begin within the first two seconds of their clip (most UR Fall videos, GMDCSA24
subject 1, UP-Fall), before the first full window (edge.windows.clip_windows) ends, so full windows
only ever see those people lying. Live, a person is tracked long before they fall, so the falling
motion does reach full windows. These windows put that motion into training: the samples before the
clip's first frame repeat it (the person as first seen, standing or walking). Training only: they are
never validation or test windows, and the clip-level evaluation counts falls that end before a clip's
first full window apart (edge.training.evaluate.clip_report).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.features import FeatureConfig
from edge.training.clips import Clip
from edge.training.dataset_build import DEFAULT_LABEL_S, DEFAULT_STRIDE_S, Windows, window_labels
from edge.windows import sample_times, window_at

MIN_SEEN_S = 0.6  # an early window holds at least this much of the clip


def early_windows(
    clip: Clip, cfg: FeatureConfig, stride_s: float = DEFAULT_STRIDE_S, label_s: float = DEFAULT_LABEL_S
) -> Windows:
    """The early windows of one clip, one per stride_s, ending MIN_SEEN_S .. one window after its start."""
    t0 = float(clip.times[0])
    ends: list[float] = []
    for t in clip.times:
        if t0 + MIN_SEEN_S - 1e-9 <= t < t0 + cfg.window_s - 1e-9 and (not ends or t >= ends[-1] + stride_s - 1e-9):
            ends.append(float(t))
    kps = []
    for end in ends:
        window, _ = window_at(clip.times, clip.keypoints, end, cfg)
        before = sample_times(end, cfg) < t0
        first_seen = int(np.argmin(before))  # the first sample at or after the clip's first frame
        window[before] = window[first_seen]
        kps.append(window)
    n = len(ends)
    keypoints = np.stack(kps) if n else np.zeros((0, cfg.window_frames, clip.keypoints.shape[1], 3), np.float32)
    return Windows(
        keypoints=keypoints.astype(np.float32),
        aspect=np.full(n, clip.aspect, np.float32),
        allowed=window_labels(clip, np.array(ends), label_s),
        coverage=(keypoints[..., 2] > 0).any(axis=-1).mean(axis=-1).astype(np.float32),
        end_time=np.array(ends, np.float64),
        clip_id=np.full(n, clip.clip_id),
        source=np.full(n, clip.source),
        subject=np.full(n, clip.subject),
        kind=np.full(n, clip.kind),
    )


def load_early_windows(
    data_root: Path, sources: list[str], cfg: FeatureConfig, pose_cache: Path, stride_s: float = DEFAULT_STRIDE_S
) -> Windows:
    """Early windows of every clip of `sources`; video sources only from the pose cache (no pose is run:
    a video missing from the cache is skipped)."""
    from edge.config import PoseConfig
    from edge.training.datasets import SOURCES, iter_source
    from edge.training.pose_cache import VideoPose

    pose = VideoPose(PoseConfig(), pose_cache, cached_only=True)
    parts = [
        early_windows(item, cfg, stride_s)
        for name in sources
        if name in SOURCES
        for item in iter_source(name, data_root, pose)
        if isinstance(item, Clip)
    ]
    return Windows.concat([p for p in parts if len(p)], cfg.window_frames)
