"""The training file `fallwatch dataset build` writes, loaded for training, and its feature arrays.

The file keeps the raw keypoint windows, so every feature variant (edge.features.FeatureConfig:
joints, velocity, acceleration, unit bones) is computed from the same windows by the one feature function.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.classes import FALL, STAND, WALKING
from edge.features import FeatureConfig, window_features
from edge.skeleton import flip_horizontal
from edge.training.dataset_build import Windows, load_dataset


@dataclass(frozen=True)
class WindowSet:
    """W labelled keypoint windows.

    keypoints: float32 (W, T, 18, 3) canonical skeletons resampled to feature_config.rate_hz.
    aspect: float (W,) frame width / height of each window's clip.
    masks: bool (W, 5) allowed classes (edge.classes.CLASSES order).
    clips, sources, subjects: str (W,) clip id, source name, split key (edge.training.split).
    end_s: float (W,) the window's end time in seconds from its clip's start.
    fall_onset_s: float (W,) the fall onset of the window's clip (see _fall_onsets); NaN when unknown.
    is_fall_clip: bool (W,) whether the window's clip holds a fall (the clip's kind is "fall").
    feature_config: the FeatureConfig the windows were cut with (rate_hz, window_frames).
    """

    keypoints: np.ndarray
    aspect: np.ndarray
    masks: np.ndarray
    clips: np.ndarray
    sources: np.ndarray
    subjects: np.ndarray
    end_s: np.ndarray
    fall_onset_s: np.ndarray
    is_fall_clip: np.ndarray
    feature_config: FeatureConfig

    def __len__(self) -> int:
        return len(self.masks)

    def subset(self, rows: np.ndarray) -> WindowSet:
        """The windows selected by a boolean mask or index array."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return WindowSet(**{k: v if k == "feature_config" else v[rows] for k, v in fields.items()})


def load_windowset(path: Path) -> WindowSet:
    """Load a dataset file written by `fallwatch dataset build` (edge.training.dataset_build).

    Raises FileNotFoundError for a missing file; DatasetError naming the file for one that is not a dataset.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset file {path} not found (make it with `fallwatch dataset build`)")
    data = load_dataset(path)
    return from_windows(data.windows, data.feature_config)


def from_windows(windows: Windows, cfg: FeatureConfig) -> WindowSet:
    """A WindowSet from the dataset builder's Windows (in memory or loaded), deriving each clip's fall onset."""
    kinds = windows.kind.astype(str)
    clips = windows.clip_id.astype(str)
    masks = windows.allowed.astype(bool)
    end_s = windows.end_time.astype(np.float64)
    return WindowSet(
        keypoints=windows.keypoints.astype(np.float32),
        aspect=windows.aspect.astype(np.float64),
        masks=masks,
        clips=clips,
        sources=windows.source.astype(str),
        subjects=windows.subject.astype(str),
        end_s=end_s,
        fall_onset_s=_fall_onsets(clips, kinds, masks, end_s),
        is_fall_clip=kinds == "fall",
        feature_config=cfg,
    )


def _fall_onsets(clips: np.ndarray, kinds: np.ndarray, masks: np.ndarray, end_s: np.ndarray) -> np.ndarray:
    """(W,) the fall onset of each window's fall clip (NaN for daily-activity clips): the earliest time the
    fall may have started.

    The dataset file has no onset field. The anchor is the clip's first window whose label allows fall but
    neither stand nor walking; the onset is the end time of the first window of the unbroken run of
    fall-allowing windows that leads to it: URFD's and Le2i's first "falling" frame, 0.5 s before
    GMDCSA24's "Falling" segment (its boundaries are rounded), the start of a phone clip's unsure span, the
    clip's first window when nothing before the fall rules it out (UP-Fall). Labels are per window end,
    so this is within one stride (0.2 s by default) of the frame label.
    """
    onset = np.full(len(clips), np.nan)
    for clip in np.unique(clips[kinds == "fall"]):
        rows = np.flatnonzero(clips == clip)
        rows = rows[np.argsort(end_s[rows], kind="stable")]
        allows = masks[rows, FALL]
        anchors = np.flatnonzero(allows & ~masks[rows][:, [STAND, WALKING]].any(axis=1))
        if not len(anchors):
            continue
        first = anchors[0]
        while first > 0 and allows[first - 1]:
            first -= 1
        onset[rows] = end_s[rows[first]]
    return onset


def variant_config(base: FeatureConfig, **changes: Any) -> FeatureConfig:
    """The dataset's config with feature options changed (joints, velocity, acceleration, unit_bones).

    Raises ValueError when a change would alter how windows were cut (rate_hz, window_frames, max_gap_s).
    """
    cut = {"rate_hz", "window_frames", "max_gap_s"} & set(changes)
    if cut:
        raise ValueError(f"feature variant cannot change {sorted(cut)}: rebuild the dataset instead")
    return base.replace(**changes)


def features(windows: WindowSet, cfg: FeatureConfig, flip: bool = False) -> np.ndarray:
    """Features float32 (W, T, F) of every window (flip: mirrored left/right first, for augmentation)."""
    out = np.empty((len(windows), cfg.window_frames, cfg.num_features), np.float32)
    for i, (kp, aspect) in enumerate(zip(windows.keypoints, windows.aspect, strict=True)):
        out[i] = window_features(flip_horizontal(kp) if flip else kp, float(aspect), cfg)
    return out
