"""Clips -> fixed-rate windows with label sets -> one training file (.npz), written atomically.

Windows come from edge.windows.clip_windows (the same resampling as the live pipeline), one every
`stride_s`. A window's allowed classes are the UNION of the allowed masks of the clip's real frames
in the window's last `label_s` seconds (the nearest frame at or before the end when none falls in
that span): the window is judged by what happens at its end, and a window ending on a label change
(standing -> falling) allows both. With the partial-label loss a wider set is honest, never wrong.

The file keeps the raw keypoint windows (so training can flip them or try other feature sets
without rebuilding) and the features computed with the stored FeatureConfig:

    keypoints  float32 [W, T, 18, 3]    aspect   float32 [W]       features float32 [W, T, F]
    allowed    bool    [W, 5]           coverage float32 [W] (fraction of the T samples with a person)
    clip_id, source, subject, kind: str [W]    end_time float64 [W] (seconds into the clip)
    meta       str: JSON {feature_config, classes, stride_s, label_s, pose_config, sources, skipped}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edge.classes import CLASSES, NUM_CLASSES
from edge.features import FeatureConfig, window_features
from edge.files import write_npz
from edge.skeleton import NUM_KEYPOINTS
from edge.training.clips import Clip, DatasetError
from edge.training.skipped import Skipped
from edge.windows import clip_windows

DEFAULT_STRIDE_S = 0.2
DEFAULT_LABEL_S = 0.2
STRING_FIELDS = ("clip_id", "source", "subject", "kind")


@dataclass(frozen=True)
class Windows:
    """Windows cut from one or more clips (shapes in the module docstring; W may be 0)."""

    keypoints: np.ndarray
    aspect: np.ndarray
    allowed: np.ndarray
    coverage: np.ndarray
    end_time: np.ndarray
    clip_id: np.ndarray
    source: np.ndarray
    subject: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        return len(self.end_time)

    @classmethod
    def concat(cls, parts: list[Windows], window_frames: int) -> Windows:
        if not parts:
            return cls(
                np.zeros((0, window_frames, NUM_KEYPOINTS, 3), np.float32),
                np.zeros(0, np.float32),
                np.zeros((0, NUM_CLASSES), bool),
                np.zeros(0, np.float32),
                np.zeros(0),
                *(np.zeros(0, dtype=str) for _ in STRING_FIELDS),
            )
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__))


def window_labels(clip: Clip, ends: np.ndarray, label_s: float) -> np.ndarray:
    """bool (W, 5): the union of the allowed masks of the frames in (end - label_s, end] per window."""
    out = np.zeros((len(ends), NUM_CLASSES), dtype=bool)
    for i, end in enumerate(ends):
        lo = np.searchsorted(clip.times, end - label_s, side="right")
        hi = np.searchsorted(clip.times, end + 1e-9, side="right")
        if hi <= lo:  # a gap: the last frame before the end
            lo = max(hi - 1, 0)
            hi = lo + 1
        out[i] = clip.allowed[lo:hi].any(axis=0)
    return out


def clip_to_windows(clip: Clip, cfg: FeatureConfig, stride_s: float, label_s: float) -> Windows:
    """Every full window of one clip with its label set (see the module docstring)."""
    kp, ends = clip_windows(clip.times, clip.keypoints, cfg, stride_s)
    n = len(ends)
    return Windows(
        keypoints=kp.astype(np.float32),
        aspect=np.full(n, clip.aspect, np.float32),
        allowed=window_labels(clip, ends, label_s),
        coverage=(kp[..., 2] > 0).any(axis=-1).mean(axis=-1).astype(np.float32) if n else np.zeros(0, np.float32),
        end_time=np.asarray(ends, np.float64),
        clip_id=np.full(n, clip.clip_id),
        source=np.full(n, clip.source),
        subject=np.full(n, clip.subject),
        kind=np.full(n, clip.kind),
    )


def features_of(windows: Windows, cfg: FeatureConfig) -> np.ndarray:
    """float32 [W, T, F]: window_features of every window (the same function the live pipeline uses)."""
    out = np.zeros((len(windows), cfg.window_frames, cfg.num_features), np.float32)
    for i, (kp, aspect) in enumerate(zip(windows.keypoints, windows.aspect, strict=True)):
        out[i] = window_features(kp, float(aspect), cfg)
    return out


def write_dataset(path: Path, windows: Windows, cfg: FeatureConfig, meta: dict[str, Any]) -> None:
    """Write the training file atomically (edge.files.write_npz)."""
    arrays: dict[str, np.ndarray] = {f: getattr(windows, f) for f in Windows.__dataclass_fields__}
    for name in STRING_FIELDS:
        arrays[name] = arrays[name].astype(str)
    arrays["features"] = features_of(windows, cfg)
    full_meta = {"feature_config": cfg.to_dict(), "classes": list(CLASSES), **meta}
    arrays["meta"] = np.array(json.dumps(full_meta))
    write_npz(path, **arrays)


@dataclass(frozen=True)
class Dataset:
    """A loaded training file: the Windows fields, features [W, T, F], the FeatureConfig, and meta."""

    windows: Windows
    features: np.ndarray
    feature_config: FeatureConfig
    meta: dict[str, Any]


def load_dataset(path: str | Path) -> Dataset:
    """Read a training file written by `write_dataset`; DatasetError names the file when it is not one."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable dataset file: {exc}") from None
    missing = [k for k in (*Windows.__dataclass_fields__, "features", "meta") if k not in arrays]
    if missing:
        raise DatasetError(f"{path}: not a FallWatch dataset file, missing {missing}")
    meta = json.loads(str(arrays["meta"]))
    windows = Windows(**{f: arrays[f] for f in Windows.__dataclass_fields__})
    return Dataset(windows, arrays["features"], FeatureConfig.from_dict(meta["feature_config"]), meta)


@dataclass
class BuildReport:
    """Counts for the printed table: clips and windows per source, windows allowing each class."""

    windows: Windows
    clips_per_source: dict[str, int]
    skipped: list[Skipped]

    def table(self) -> str:
        """A plain-text table: one row per source, one column per class (windows that allow it)."""
        header = ["source", "clips", "windows", *CLASSES, "skipped"]
        sources = sorted(set(self.clips_per_source) | {s.source for s in self.skipped})
        rows = []
        for src in [*sources, "total"]:
            sel = np.ones(len(self.windows), bool) if src == "total" else self.windows.source == src
            clips = sum(self.clips_per_source.values()) if src == "total" else self.clips_per_source.get(src, 0)
            skips = len(self.skipped) if src == "total" else sum(s.source == src for s in self.skipped)
            allowed = self.windows.allowed[sel].sum(axis=0)
            rows.append([src, clips, int(sel.sum()), *(int(a) for a in allowed), skips])
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        lines = [
            "  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))
            for r in [header, *rows]
        ]
        lines.insert(1, "-" * len(lines[0]))
        lines.insert(len(lines) - 1, "-" * len(lines[0]))
        note = "(class columns: windows whose allowed set includes that class; a window may allow several)"
        return "\n".join([*lines, note])


def build_windows(
    items: Any,
    cfg: FeatureConfig,
    stride_s: float = DEFAULT_STRIDE_S,
    label_s: float = DEFAULT_LABEL_S,
    on_item: Callable[[Clip | Skipped], None] | None = None,
    min_strides: dict[str, float] | None = None,
) -> BuildReport:
    """Cut windows from an iterable of Clip | Skipped (e.g. edge.training.datasets.iter_source).

    min_strides: {source: stride at least this} (edge.training.datasets.Source.min_stride_s).
    A clip too short for one full window adds no windows and is listed as skipped with the reason.
    """
    if stride_s <= 0 or label_s < 0:
        raise DatasetError(f"stride_s must be > 0 and label_s >= 0, got {stride_s}, {label_s}")
    parts: list[Windows] = []
    clips: dict[str, int] = {}
    skipped: list[Skipped] = []
    for item in items:
        if on_item is not None:
            on_item(item)
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        part = clip_to_windows(item, cfg, max(stride_s, (min_strides or {}).get(item.source, 0.0)), label_s)
        if len(part) == 0:
            duration = item.times[-1] - item.times[0]
            skipped.append(Skipped(item.source, item.clip_id, f"{duration:.2f} s is shorter than one window"))
            continue
        clips[item.source] = clips.get(item.source, 0) + 1
        parts.append(part)
    return BuildReport(Windows.concat(parts, cfg.window_frames), clips, skipped)
