"""Adapters for the sources that ship keypoints: urfd_alphapose, md4fd_urfd, movenet_gru.

Each `load_*(root)` reads its folder under the shared data root and yields `Clip`s or `Skipped`s.
Label decisions (see ../shared/data/README.md for the sources):

- urfd_alphapose: per-frame labels 0 (not falling) -> NOT_A_FALL, 1 (falling) -> {fall},
  2 (lying after the fall) -> {lie}. 30 fps by frame number; missing frame numbers stay gaps.
- md4fd_urfd: 201 windows of 90 frames (30 fps, stride 15) that chain into continuous recordings
  (a window's last 75 frames are the next one's first 75). Chains never mix labels. A daily-activity
  chain (label 0) -> DAILY_ACTIVITY on every frame. A fall chain (label 1): in all 35 fall windows the
  hips end lower than they start and the drop lies inside the window, so from the end of a chain's
  first window on, the person is falling or down -> {fall, lie}; before it the timing is unknown -> ANY.
  The joint order in the files is not the README's (see edge.skeleton's "md4fd11"). Fall chains are
  matched to their UR Fall recording (by nose and shoulders against urfd_alphapose, when present) so
  they share its split subject; unmatched ones keep their own. They are all urfd_alphapose's falls
  and the daily-activity chains are urfd_video's adl clips: never validate on one of these sources
  while training on another.
- movenet_gru: 55 clips of 150 frames, fps unknown: taken as 30 fps (a 5 s clip; MoveNet demos run
  on 30 fps webcams and phones). Label 0 = fall (the clip ends lying): the last 0.5 s -> {fall, lie},
  the rest ANY (no timing). Label 1 = stays upright -> NOT_A_FALL.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from edge.classes import ANY, DAILY_ACTIVITY, FALLING_SEGMENT, NOT_A_FALL
from edge.skeleton import to_canonical
from edge.training.clips import Clip, DatasetError, constant_mask, masks
from edge.training.skipped import Skipped

URFD_FPS = 30.0
URFD_ASPECT = 640 / 480
ALPHAPOSE_JOINTS = (
    "Nose", "LShoulder", "RShoulder", "LElbow", "RElbow", "LWrist", "RWrist",
    "LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle",
)  # fmt: skip
ALPHAPOSE_COLUMNS = ("video", "frame", *(f"{j}_{c}" for j in ALPHAPOSE_JOINTS for c in "xys"), "label")
ALPHAPOSE_LABELS = {0: NOT_A_FALL, 1: frozenset({"fall"}), 2: frozenset({"lie"})}

MD4FD_FPS = 30.0
MD4FD_WINDOW = 90
MD4FD_STRIDE = 15

MOVENET_FPS = 30.0
MOVENET_ASPECT = 1.0  # unknown; MoveNet's coordinates are normalised to a square input
MOVENET_END_DOWN_S = 0.5


def read_csv(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of a CSV that must have `columns`; DatasetError naming the file otherwise."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(f"{path}: missing column(s) {missing}")
            return list(reader)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror}") from None


def read_alphapose_csv(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The URFD AlphaPose CSV -> {video: (frame numbers (N,), points (N, 13, 3), labels (N,))}.

    Raises DatasetError naming the file on a missing column, a bad number or an unknown label.
    """
    rows: dict[str, list[tuple[int, list[float], int]]] = {}
    for line, row in enumerate(read_csv(path, ALPHAPOSE_COLUMNS), start=2):
        try:
            values = [float(row[f"{j}_{c}"]) for j in ALPHAPOSE_JOINTS for c in "xys"]
            label = int(row["label"])
            frame = int(row["frame"])
        except (TypeError, ValueError):
            raise DatasetError(f"{path}:{line}: not a number in row {row.get('video')}") from None
        if label not in ALPHAPOSE_LABELS:
            raise DatasetError(f"{path}:{line}: unknown label {label} (expected 0, 1 or 2)")
        rows.setdefault(row["video"], []).append((frame, values, label))
    out = {}
    for video, items in rows.items():
        items.sort(key=lambda item: item[0])
        frames = np.array([i[0] for i in items])
        points = np.array([i[1] for i in items], dtype=np.float32).reshape(-1, 13, 3)
        out[video] = (frames, points, np.array([i[2] for i in items]))
    return out


def _one_person_per_frame(frames: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Row indices keeping one skeleton per frame number.

    AlphaPose found two or three people in some frames (fall-13, fall-14: 136 extra rows). Keep the
    most confident one in the first frame, then the one closest to the skeleton kept before it.
    """
    keep: list[int] = []
    for frame in np.unique(frames):
        rows = np.flatnonzero(frames == frame)
        if len(rows) == 1 or not keep:
            keep.append(int(rows[np.argmax(points[rows, :, 2].mean(axis=1))]))
            continue
        prev = points[keep[-1], :, :2]
        keep.append(int(rows[np.argmin(np.abs(points[rows, :, :2] - prev).sum(axis=(1, 2)))]))
    return np.array(keep, dtype=np.intp)


def load_urfd_alphapose(root: Path) -> Iterator[Clip | Skipped]:
    """The 30 UR Fall sequences with AlphaPose keypoints and per-frame labels."""
    path = root / "urfd_alphapose" / "pose_urfd_3classes.csv"
    try:
        videos = read_alphapose_csv(path)
    except DatasetError as exc:
        yield Skipped("urfd_alphapose", str(path), str(exc))
        return
    for video, (rows, points, labels) in sorted(videos.items()):
        keep = _one_person_per_frame(rows, points)
        frames, points, labels = rows[keep], points[keep], labels[keep]
        times = (frames - 1) / URFD_FPS
        onset = times[labels == 1]
        yield Clip(
            clip_id=f"urfd_alphapose/{video}",
            source="urfd_alphapose",
            subject=f"urfd/{video}",
            times=times.astype(np.float64),
            keypoints=to_canonical(points, "alphapose13"),
            aspect=URFD_ASPECT,
            allowed=masks([ALPHAPOSE_LABELS[int(v)] for v in labels]),
            kind="fall",
            fall_onset_s=float(onset[0]) if len(onset) else None,
        )


def read_md4fd_windows(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """MD4FD's JSON -> windows float32 (W, 90, 23) and labels int (W,); DatasetError names the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, list) or not data:
        raise DatasetError(f"{path}: expected a non-empty JSON list of windows")
    try:
        windows = np.array([w[:-1] for w in data], dtype=np.float32)
        labels = np.array([int(w[-1]) for w in data])
    except (TypeError, ValueError, IndexError):
        raise DatasetError(f"{path}: each window must be {MD4FD_WINDOW} lists of 23 numbers and an int label") from None
    if windows.shape[1:] != (MD4FD_WINDOW, 23) or not set(labels) <= {0, 1}:
        raise DatasetError(f"{path}: expected windows (W, {MD4FD_WINDOW}, 23) with labels 0/1, got {windows.shape}")
    return windows, labels


def md4fd_chains(windows: np.ndarray) -> list[list[int]]:
    """Group consecutive windows whose frames overlap (stride 15) into chains of window indices."""
    chains = [[0]]
    overlap = MD4FD_WINDOW - MD4FD_STRIDE
    for i in range(1, len(windows)):
        if np.allclose(windows[i - 1, MD4FD_STRIDE:, :22], windows[i, :overlap, :22], equal_nan=True):
            chains[-1].append(i)
        else:
            chains.append([i])
    return chains


def _urfd_recording(frames: np.ndarray, reference: dict[str, np.ndarray]) -> str | None:
    """The urfd_alphapose video whose nose and shoulders match these MD4FD frames, when unambiguous.

    Distance: per probe frame, the nearest reference frame's mean |dx| + |dy| over nose and shoulders;
    the median over probes. Accepted below 0.03 and at half the runner-up's: 11 of the 16 fall chains
    match (fall-01, 02, 05-12, 20, at 0.005-0.026); the other 5 are ambiguous and stay unmatched.
    """
    probe = frames[:: max(1, len(frames) // 20)][:, [0, 5, 6], :2]  # nose, left and right shoulder
    scores = sorted(
        (float(np.median(np.abs(ref[None] - probe[:, None]).sum(axis=-1).mean(axis=-1).min(axis=1))), video)
        for video, ref in reference.items()
    )
    if not scores or scores[0][0] >= 0.03 or (len(scores) > 1 and scores[0][0] * 2 > scores[1][0]):
        return None
    return scores[0][1]


def load_md4fd_urfd(root: Path) -> Iterator[Clip | Skipped]:
    """MD4FD's UR Fall windows, chained back into recordings (see the module docstring)."""
    path = root / "md4fd_urfd" / "URFD_normalized.json"
    try:
        windows, labels = read_md4fd_windows(path)
    except DatasetError as exc:
        yield Skipped("md4fd_urfd", str(path), str(exc))
        return
    reference: dict[str, np.ndarray] = {}
    try:
        for video, (_, points, _) in read_alphapose_csv(root / "urfd_alphapose" / "pose_urfd_3classes.csv").items():
            canon = to_canonical(points, "alphapose13")
            reference[video] = canon[:, [0, 5, 6], :2]  # nose, left and right shoulder
    except DatasetError:
        pass  # without the AlphaPose file, fall chains keep their own subject
    for n, chain in enumerate(md4fd_chains(windows)):
        chain_labels = set(labels[chain].tolist())
        clip_id = f"md4fd_urfd/chain{n:02d}"
        if len(chain_labels) != 1:
            yield Skipped("md4fd_urfd", clip_id, f"{path}: windows {chain} overlap but mix labels {chain_labels}")
            continue
        frames = np.concatenate([windows[chain[0]], *(windows[i, -MD4FD_STRIDE:] for i in chain[1:])])
        keypoints = to_canonical(frames[:, :22].reshape(-1, 11, 2), "md4fd11")
        times = np.arange(len(frames)) / MD4FD_FPS
        if chain_labels == {1}:
            label_sets = [ANY] * (MD4FD_WINDOW - 1) + [FALLING_SEGMENT] * (len(frames) - MD4FD_WINDOW + 1)
            recording = _urfd_recording(keypoints, reference) if reference else None
            subject = f"urfd/{recording}" if recording else clip_id
            kind = "fall"
        else:
            label_sets = [DAILY_ACTIVITY] * len(frames)
            subject, kind = clip_id, "adl"
        yield Clip(clip_id, "md4fd_urfd", subject, times, keypoints, URFD_ASPECT, masks(label_sets), kind)


def load_movenet_gru(root: Path) -> Iterator[Clip | Skipped]:
    """The MoveNet GRU project's 55 clips (see the module docstring for the fps and labels)."""
    folder = root / "movenet_gru"
    try:
        data = np.load(folder / "GRUdata.npy")
        labels = np.load(folder / "GRUlabels.npy")
    except (OSError, ValueError) as exc:
        yield Skipped("movenet_gru", str(folder), f"{folder}: cannot load GRUdata.npy/GRUlabels.npy: {exc}")
        return
    if data.ndim != 3 or data.shape[2] != 51 or labels.shape != (len(data),) or not set(labels.tolist()) <= {0, 1}:
        yield Skipped("movenet_gru", str(folder), f"{folder}: expected (N, T, 51) data and N labels 0/1")
        return
    times = np.arange(data.shape[1]) / MOVENET_FPS
    down = times >= times[-1] - MOVENET_END_DOWN_S
    for i, (clip, label) in enumerate(zip(data, labels, strict=True)):
        if label == 0:
            allowed = np.where(
                down[:, None], constant_mask(len(times), FALLING_SEGMENT), constant_mask(len(times), ANY)
            )
            kind = "fall"
        else:
            allowed, kind = constant_mask(len(times), NOT_A_FALL), "adl"
        clip_id = f"movenet_gru/clip{i:02d}"
        keypoints = to_canonical(clip.reshape(-1, 17, 3), "movenet17")
        yield Clip(clip_id, "movenet_gru", clip_id, times, keypoints, MOVENET_ASPECT, allowed, kind)
