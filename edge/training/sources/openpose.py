"""Adapters for the OpenPose keypoint sources: kingston_openpose and hqfsd_openpose.

Each `load_*(root)` reads one .npz under the shared data root and yields `Clip`s or `Skipped`s.
Keypoints are in pixels; they are divided by the frame size before `to_canonical`. Label decisions
(see ../shared/data/README.md for the sources):

- kingston_openpose: 5 continuous sequences of deliberate standing, sitting, lying, bending and
  crawling (no falls: hard negatives). BODY_25 in pixels of a 160x120 frame, confidence -1 = not
  detected. The frame rate is not recorded: taken as KINGSTON_FPS = 30 (an assumption). Frame
  numbers count from 1 with gaps where OpenPose wrote nothing; gaps stay gaps. standing ->
  {stand, walking}, sitting -> {sit}, lying -> {lie}, bending -> NOT_A_FALL, crawling and
  "empty" (nobody detected) -> DAILY_ACTIVITY. One sequence is one split subject.
- hqfsd_openpose: 15 recordings (8 fall scenarios seen by 1-4 cameras), 30 fps, COCO-18 (x, y) in
  pixels with 0 = missing and no scores. Only frames with a person have rows: the clip's times are
  those frames' times and the frames OpenPose missed stay gaps (none is invented). The frame size is
  not stored; x reaches 742.5 and y 481 over all recordings, so HQFSD_FRAME = 752x480 (the WVGA
  sensor size, the smallest common one that holds both; 720x480 cannot hold x = 742.5) and the
  aspect is 752/480 for every camera. Before the annotated fall window -> DAILY_ACTIVITY; inside
  it -> {fall}; for HQFSD_DOWN_S after it -> {fall, lie} (the person is down for 10 s or more; a
  window just after the fall still holds its motion); later -> DAILY_ACTIVITY. The cameras of one
  scenario saw the same fall: the scenario is the split subject.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edge.classes import DAILY_ACTIVITY, FALLING_SEGMENT, NOT_A_FALL
from edge.skeleton import to_canonical
from edge.training.clips import Clip, masks
from edge.training.skipped import Skipped

KINGSTON_FILE = "kingston_openpose/kingston_falldataset_openpose25.npz"
KINGSTON_FRAME = (160.0, 120.0)
KINGSTON_FPS = 30.0  # not recorded in the source: an assumption
KINGSTON_LABELS: dict[str, frozenset[str]] = {
    "standing": frozenset({"stand", "walking"}),
    "sitting": frozenset({"sit"}),
    "lying": frozenset({"lie"}),
    "bending": NOT_A_FALL,
    "crawling": DAILY_ACTIVITY,
    "empty": DAILY_ACTIVITY,
}

HQFSD_FILE = "hqfsd_openpose/hqfsd_openpose18.npz"
HQFSD_FRAME = (752.0, 480.0)
HQFSD_FPS = 30.0
HQFSD_DOWN_S = 10.0
HQFSD_FALL = frozenset({"fall"})


def _load_npz(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray] | str:
    """The named arrays of an .npz, or one line naming the file and what is wrong."""
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in keys if k not in data.files]
            if missing:
                return f"{path}: missing array(s) {missing}"
            return {k: data[k] for k in keys}
    except (OSError, ValueError) as exc:
        return f"{path}: cannot load: {exc}"


def _pixels_to_canonical(points: np.ndarray, frame: tuple[float, float], layout: str) -> np.ndarray:
    """Pixel keypoints (..., K, C) -> canonical (..., 18, 3) with x / width, y / height."""
    scaled = np.asarray(points, np.float32).copy()
    scaled[..., 0] /= frame[0]
    scaled[..., 1] /= frame[1]
    return to_canonical(scaled, layout)


def load_kingston_openpose(root: Path) -> Iterator[Clip | Skipped]:
    """The Kingston sequences of deliberate lying, sitting, bending and crawling (see the module docstring)."""
    path = root / KINGSTON_FILE
    data = _load_npz(path, ("keypoints", "sequence", "frame", "label_text"))
    if isinstance(data, str):
        yield Skipped("kingston_openpose", str(path), data)
        return
    unknown = set(data["label_text"].tolist()) - set(KINGSTON_LABELS)
    if unknown or data["keypoints"].shape[1:] != (25, 3):
        yield Skipped("kingston_openpose", str(path), f"{path}: unknown labels {sorted(unknown)} or not BODY_25")
        return
    for sequence in np.unique(data["sequence"]):
        rows = np.flatnonzero(data["sequence"] == sequence)
        rows = rows[np.argsort(data["frame"][rows], kind="stable")]
        clip_id = f"kingston_openpose/seq{int(sequence)}"
        yield Clip(
            clip_id=clip_id,
            source="kingston_openpose",
            subject=clip_id,
            times=(data["frame"][rows].astype(np.float64) - 1) / KINGSTON_FPS,
            keypoints=_pixels_to_canonical(data["keypoints"][rows], KINGSTON_FRAME, "openpose25"),
            aspect=KINGSTON_FRAME[0] / KINGSTON_FRAME[1],
            allowed=masks([KINGSTON_LABELS[str(v)] for v in data["label_text"][rows]]),
            kind="adl",
        )


def hqfsd_label_sets(times: np.ndarray, in_window: np.ndarray, fall_end_s: float) -> list[frozenset[str]]:
    """Per-frame label sets of one HQFSD recording (see the module docstring)."""
    sets = []
    for t, inside in zip(times.tolist(), in_window.tolist(), strict=True):
        if inside:
            sets.append(HQFSD_FALL)
        elif fall_end_s < t <= fall_end_s + HQFSD_DOWN_S:
            sets.append(FALLING_SEGMENT)
        else:
            sets.append(DAILY_ACTIVITY)
    return sets


def load_hqfsd_openpose(root: Path) -> Iterator[Clip | Skipped]:
    """The KU Leuven recordings, one clip each, falls inside long daily activity (see the module docstring)."""
    path = root / HQFSD_FILE
    keys = ("keypoints", "frame", "fall_window", "clip_index", "clip_name", "clip_fall_scenario")
    data: dict[str, Any] | str = _load_npz(path, (*keys, "clip_fall_window_frames"))
    if isinstance(data, str):
        yield Skipped("hqfsd_openpose", str(path), data)
        return
    for index, name in enumerate(data["clip_name"].tolist()):
        rows = np.flatnonzero(data["clip_index"] == index)
        rows = rows[np.argsort(data["frame"][rows], kind="stable")]
        clip_id = f"hqfsd_openpose/{Path(name).stem}"
        times = data["frame"][rows].astype(np.float64) / HQFSD_FPS
        if len(rows) == 0 or not np.all(np.diff(times) > 0):
            yield Skipped("hqfsd_openpose", clip_id, f"{path}: {name} has no rows or repeated frames")
            continue
        start, end = (float(f) / HQFSD_FPS for f in data["clip_fall_window_frames"][index])
        in_window = data["fall_window"][rows] == 1
        yield Clip(
            clip_id=clip_id,
            source="hqfsd_openpose",
            subject=f"hqfsd_openpose/scenario{int(data['clip_fall_scenario'][index])}",
            times=times,
            keypoints=_pixels_to_canonical(data["keypoints"][rows], HQFSD_FRAME, "openpose18"),
            aspect=HQFSD_FRAME[0] / HQFSD_FRAME[1],
            allowed=masks(hqfsd_label_sets(times, in_window, end)),
            kind="fall",
            fall_onset_s=start,
        )
