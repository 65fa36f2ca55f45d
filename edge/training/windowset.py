"""The training file `fallwatch dataset build` writes, loaded for training, and its feature arrays.

The file holds keypoint windows (not features), so every feature variant (edge.features.FeatureConfig:
joints, velocity, acceleration, unit bones) is computed from the same windows by the one feature function.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.classes import FALL, NUM_CLASSES
from edge.features import FeatureConfig, window_features
from edge.skeleton import NUM_KEYPOINTS, flip_horizontal


@dataclass(frozen=True)
class WindowSet:
    """W labelled keypoint windows.

    keypoints: float32 (W, T, 18, 3) canonical skeletons resampled to feature_config.rate_hz.
    aspect: float (W,) frame width / height of each window's clip.
    masks: bool (W, 5) allowed classes (edge.classes.CLASSES order).
    clips, sources, subjects: str (W,) clip id, source name, split key (edge.training.split).
    end_s: float (W,) the window's end time in seconds from its clip's start.
    fall_onset_s: float (W,) the labelled fall onset of the window's clip; NaN for daily-activity clips.
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
    feature_config: FeatureConfig

    def __len__(self) -> int:
        return len(self.masks)

    def subset(self, rows: np.ndarray) -> WindowSet:
        """The windows selected by a boolean mask or index array."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return WindowSet(**{k: v if k == "feature_config" else v[rows] for k, v in fields.items()})

    def fall_clips(self) -> set[str]:
        """Clip ids of clips that hold a fall: a labelled onset, or some window that allows fall."""
        return set(np.unique(self.clips[self.masks[:, FALL] | np.isfinite(self.fall_onset_s)]).tolist())


def load_windowset(path: Path) -> WindowSet:
    """Load a dataset file written by `fallwatch dataset build`.

    Raises FileNotFoundError for a missing file and ValueError naming the file and the key for a missing
    or wrongly shaped array.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset file {path} not found (make it with `fallwatch dataset build`)")
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    return windowset_from_arrays(arrays, str(path))


def windowset_from_arrays(arrays: dict[str, Any], name: str) -> WindowSet:
    """Build a WindowSet from the dataset file's arrays; `name` names the file in error messages."""

    def need(key: str) -> np.ndarray:
        if key not in arrays:
            raise ValueError(f"{name}: key {key!r} missing (found {sorted(arrays)})")
        return np.asarray(arrays[key])

    keypoints = need("keypoints").astype(np.float32)
    if keypoints.ndim != 4 or keypoints.shape[2:] != (NUM_KEYPOINTS, 3):
        raise ValueError(f"{name}: keypoints must be (W, T, {NUM_KEYPOINTS}, 3), got {keypoints.shape}")
    w = len(keypoints)
    masks = need("masks").astype(bool)
    if masks.shape != (w, NUM_CLASSES):
        raise ValueError(f"{name}: masks must be ({w}, {NUM_CLASSES}), got {masks.shape}")
    cfg = FeatureConfig.from_dict(json.loads(str(need("feature_config"))))
    if keypoints.shape[1] != cfg.window_frames:
        raise ValueError(f"{name}: windows have {keypoints.shape[1]} frames, feature_config {cfg.window_frames}")
    per_window = {k: need(k) for k in ("aspect", "clips", "sources", "subjects", "end_s", "fall_onset_s")}
    for key, value in per_window.items():
        if value.shape != (w,):
            raise ValueError(f"{name}: {key} must be ({w},), got {value.shape}")
    return WindowSet(
        keypoints=keypoints,
        aspect=per_window["aspect"].astype(np.float64),
        masks=masks,
        clips=per_window["clips"].astype(str),
        sources=per_window["sources"].astype(str),
        subjects=per_window["subjects"].astype(str),
        end_s=per_window["end_s"].astype(np.float64),
        fall_onset_s=per_window["fall_onset_s"].astype(np.float64),
        feature_config=cfg,
    )


def variant_config(base: FeatureConfig, **changes: Any) -> FeatureConfig:
    """The dataset's config with feature options changed (joints, velocity, acceleration, unit_bones).

    Raises ValueError when a change would alter how windows were cut (rate_hz, window_frames, max_gap_s).
    """
    cut = {"rate_hz", "window_frames", "max_gap_s"} & set(changes)
    if cut:
        raise ValueError(f"feature variant cannot change {sorted(cut)}: rebuild the dataset instead")
    return dataclasses.replace(base, **changes)


def features(windows: WindowSet, cfg: FeatureConfig, flip: bool = False) -> np.ndarray:
    """Features float32 (W, T, F) of every window (flip: mirrored left/right first, for augmentation)."""
    out = np.empty((len(windows), cfg.window_frames, cfg.num_features), np.float32)
    for i, (kp, aspect) in enumerate(zip(windows.keypoints, windows.aspect, strict=True)):
        out[i] = window_features(flip_horizontal(kp) if flip else kp, float(aspect), cfg)
    return out
