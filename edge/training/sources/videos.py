"""Adapters for the video sources: every frame through the project's own pose stage (pose_cache.py).

Each `load_*(root, pose)` yields `Clip`s or `Skipped`s (a missing or corrupt video, a bad CSV, a clip
where pose found nobody, a frame count that does not match the annotation). Label decisions:

- gmdcsa24 (segments.csv): "Falling" -> FALLING_SEGMENT from its start to the clip's end; Standing,
  Walking, Sitting, Sleeping (= lie) -> that class over the segment (the union where they overlap);
  activities (Reading, Eating...) add nothing. Frames no posture segment covers: in a fall clip
  NOT_A_FALL before the fall, plus fall within 0.5 s of its start (the boundaries are rounded to
  0.1 s); in an ADL clip DAILY_ACTIVITY. fps is read from each file (15 or 30). Subject 2's earlier
  release (two ADL clips with a description but no segments: DAILY_ACTIVITY throughout) is the same
  person as Subject 2.
- urfd_video: the RGB half (right 320x240) of each frame. Fall clips take urfd_alphapose's per-frame
  labels by frame number (0 -> NOT_A_FALL, 1 -> {fall}, 2 -> {lie}); a frame the CSV lacks takes
  the union of its labelled neighbours, frames before the first labelled one NOT_A_FALL, after the
  last one that one's label. The 40 daily-activity clips -> DAILY_ACTIVITY.
- le2i: per-frame labels from le2i_labels/coffee_room_01_frame_labels.csv (painted by hand, frames
  counted from 1): standing -> {stand}, walking -> {walking}, sitting -> {sit}, lying on the floor
  after the fall -> {lie}, falling -> {fall}, sitting down -> {stand, sit}, standing up (from the
  floor or a chair) -> DAILY_ACTIVITY, unlabelled -> ANY. The fall starts at the first falling
  frame. A clip whose decoded frame count differs from its label rows is skipped. (The official
  annotation files give only the falling span, which these labels match in 40 of 45 videos.)
- upfall: activities 1-5 are falls early in the clip with no timing: the last UPFALL_DOWN_S seconds
  -> {fall, lie, sit} (down: on the mattress, or sitting on the floor after activity 5), earlier
  frames ANY. Activities 6-11 -> DAILY_ACTIVITY (activity 11 ends lying on purpose). One subject: the
  split key is the trial, so both cameras of one trial stay together.
- phone_falls: each clip ends in a fall, no timing: the last PHONE_DOWN_S -> FALLING_SEGMENT, the
  PHONE_UNSURE_S before it ANY, earlier frames NOT_A_FALL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np

from edge.classes import ANY, DAILY_ACTIVITY, FALLING_SEGMENT, NOT_A_FALL
from edge.training.clips import Clip, DatasetError, masks
from edge.training.pose_cache import RIGHT_HALF, Crop, PoseTrack, VideoPose
from edge.training.skipped import Skipped
from edge.training.sources.keypoints import ALPHAPOSE_LABELS, read_alphapose_csv, read_csv

# Every video of each source and the part of the frame pose sees (for benchmarks and cache warming).
VIDEO_GLOBS: dict[str, tuple[str, Crop | None]] = {
    "gmdcsa24": ("gmdcsa24/**/*.mp4", None),
    "urfd_video": ("urfd_video/*/*-cam0.mp4", RIGHT_HALF),
    "le2i": ("le2i/Coffee_room_01/Videos/*.mp4", None),
    "upfall": ("upfall/Activity*/*/*.mp4", None),
    "phone_falls": ("phone_falls/*.mp4", None),
}
GMDCSA24_COLUMNS = ("path", "available_here", "kind", "class", "start_s", "end_s")
GMDCSA24_POSTURES = {"Standing": "stand", "Walking": "walking", "Sitting": "sit", "Sleeping": "lie"}
GMDCSA24_FALL_EDGE_S = 0.5
LE2I_LABELS = "le2i_labels/coffee_room_01_frame_labels.csv"
LE2I_COLUMNS = ("le2i_video", "frame", "label")
LE2I_CLASSES: dict[int, frozenset[str]] = {
    0: ANY,
    1: frozenset({"stand"}),
    2: frozenset({"walking"}),
    3: frozenset({"sit"}),
    4: frozenset({"lie"}),
    5: DAILY_ACTIVITY,
    6: frozenset({"stand", "sit"}),
    7: frozenset({"fall"}),
}
LE2I_FALLING = 7
UPFALL_COLUMNS = ("path", "label", "activity", "frames", "fps")
UPFALL_DOWN_S = 3.0
PHONE_DOWN_S = 1.0
PHONE_UNSURE_S = 3.0


def _posed(source: str, clip_id: str, path: Path, pose: VideoPose, crop: Crop | None = None) -> PoseTrack | Skipped:
    """The pose track of a video, or a Skipped naming the file (bad video, nobody found)."""
    try:
        track = pose.track(path, crop)
    except DatasetError as exc:
        return Skipped(source, clip_id, str(exc))
    if not track.found.any():
        return Skipped(source, clip_id, f"{path}: pose found nobody in any of {len(track.times)} frames")
    return track


def _clip(
    clip_id: str,
    source: str,
    subject: str,
    track: PoseTrack,
    sets: list[frozenset[str]],
    kind: Literal["fall", "adl"],
    onset: float | None,
) -> Clip:
    return Clip(clip_id, source, subject, track.times, track.keypoints, track.aspect, masks(sets), kind, onset)


def video_files(root: Path, source: str) -> list[tuple[Path, Crop | None]]:
    """Every video file of a video source (sorted) and its crop."""
    pattern, crop = VIDEO_GLOBS[source]
    return [(path, crop) for path in sorted(root.glob(pattern))]


# --- GMDCSA24 -------------------------------------------------------------------------------------


def gmdcsa24_label_sets(times: np.ndarray, segments: list[tuple[str, float, float]], kind: str) -> list[frozenset[str]]:
    """Per-frame label sets from (class, start_s, end_s) segments (see the module docstring)."""
    falls = [start for name, start, _ in segments if name.startswith("Falling")]
    fall_start = min(falls) if falls else None
    sets = []
    for t in times:
        if fall_start is not None and t >= fall_start:
            sets.append(FALLING_SEGMENT)
            continue
        postures = {GMDCSA24_POSTURES[n] for n, s, e in segments if n in GMDCSA24_POSTURES and s <= t <= e}
        if postures:
            sets.append(frozenset(postures))
        elif kind == "Fall":
            near = fall_start is not None and t >= fall_start - GMDCSA24_FALL_EDGE_S
            sets.append(NOT_A_FALL | {"fall"} if near else NOT_A_FALL)
        else:
            sets.append(DAILY_ACTIVITY)
    return sets


def load_gmdcsa24(root: Path, pose: VideoPose) -> Iterator[Clip | Skipped]:
    """GMDCSA24's clips present here, labelled from segments.csv."""
    folder = root / "gmdcsa24"
    table = folder / "segments.csv"
    try:
        rows = read_csv(table, GMDCSA24_COLUMNS)
        clips: dict[str, tuple[str, list[tuple[str, float, float]]]] = {}
        for line, row in enumerate(rows, start=2):
            if row["available_here"].strip() != "1":
                continue
            try:
                segment = (row["class"].strip(), float(row["start_s"]), float(row["end_s"]))
            except ValueError:
                raise DatasetError(f"{table}:{line}: start_s/end_s is not a number") from None
            if row["kind"] not in ("Fall", "ADL"):
                raise DatasetError(f"{table}:{line}: kind {row['kind']!r} is not Fall or ADL")
            clips.setdefault(row["path"], (row["kind"], []))[1].append(segment)
    except DatasetError as exc:
        yield Skipped("gmdcsa24", str(table), str(exc))
        return
    for path in sorted(folder.glob("*/*/*.mp4")):  # e.g. the earlier release: an ADL.csv, no segments
        rel = path.relative_to(folder).as_posix()
        if rel not in clips and path.parent.name == "ADL":
            clips[rel] = ("ADL", [])
        elif rel not in clips:
            yield Skipped("gmdcsa24", f"gmdcsa24/{rel}", f"{path}: a fall clip without segments in {table}")
    for rel, (kind, segments) in sorted(clips.items()):
        clip_id = f"gmdcsa24/{rel}"
        track = _posed("gmdcsa24", clip_id, folder / rel, pose)
        if isinstance(track, Skipped):
            yield track
            continue
        falls = [s for n, s, _ in segments if n.startswith("Falling")]
        subject = "gmdcsa24/" + rel.split("/")[0].replace(" (earlier release)", "")
        yield _clip(
            clip_id,
            "gmdcsa24",
            subject,
            track,
            gmdcsa24_label_sets(track.times, segments, kind),
            "fall" if kind == "Fall" else "adl",
            min(falls) if falls else None,
        )


# --- UR Fall videos -------------------------------------------------------------------------------


def urfd_frame_label_sets(frame_numbers: np.ndarray, labelled: np.ndarray, labels: np.ndarray) -> list[frozenset[str]]:
    """Label sets for 1-based frame numbers from the AlphaPose CSV's (frame, label) rows (see docstring)."""
    by_frame: dict[int, frozenset[str]] = {}
    for frame, label in zip(labelled.tolist(), labels.tolist(), strict=True):
        by_frame[frame] = by_frame.get(frame, frozenset()) | ALPHAPOSE_LABELS[label]
    known = np.array(sorted(by_frame))
    sets = []
    for n in frame_numbers.tolist():
        if n in by_frame:
            sets.append(by_frame[n])
        elif n < known[0]:
            sets.append(NOT_A_FALL)
        elif n > known[-1]:
            sets.append(by_frame[int(known[-1])])
        else:
            after = int(known[np.searchsorted(known, n)])
            before = int(known[np.searchsorted(known, n) - 1])
            sets.append(by_frame[before] | by_frame[after])
    return sets


def load_urfd_video(root: Path, pose: VideoPose) -> Iterator[Clip | Skipped]:
    """UR Fall's 30 fall and 40 daily-activity videos (camera 0), RGB half only."""
    folder = root / "urfd_video"
    csv_path = root / "urfd_alphapose" / "pose_urfd_3classes.csv"
    try:
        alphapose = read_alphapose_csv(csv_path)
    except DatasetError as exc:
        alphapose = {}
        yield Skipped("urfd_video", str(csv_path), f"fall videos have no labels: {exc}")
    for path in sorted((folder / "fall").glob("fall-*-cam0.mp4")) + sorted((folder / "adl").glob("adl-*-cam0.mp4")):
        name = path.name.removesuffix("-cam0.mp4")
        clip_id = f"urfd_video/{name}"
        is_fall = name.startswith("fall-")
        if is_fall and name not in alphapose:
            if alphapose:
                yield Skipped("urfd_video", clip_id, f"{csv_path}: no labels for {name}")
            continue
        track = _posed("urfd_video", clip_id, path, pose, RIGHT_HALF)
        if isinstance(track, Skipped):
            yield track
            continue
        if is_fall:
            frames, _, labels = alphapose[name]
            numbers = np.rint(track.times * track.fps).astype(int) + 1
            sets = urfd_frame_label_sets(numbers, frames, labels)
            onset_frames = frames[labels == 1]
            onset = float((onset_frames.min() - 1) / track.fps) if len(onset_frames) else None
            yield _clip(clip_id, "urfd_video", f"urfd/{name}", track, sets, "fall", onset)
        else:
            yield _clip(clip_id, "urfd_video", f"urfd/{name}", track, [DAILY_ACTIVITY] * len(track.times), "adl", None)


# --- Le2i -----------------------------------------------------------------------------------------


def read_le2i_labels(path: Path) -> dict[str, np.ndarray]:
    """The Le2i per-frame label CSV -> {video name: labels (N,) for frames 1..N}; DatasetError naming the file."""
    frames: dict[str, dict[int, int]] = {}
    for line, row in enumerate(read_csv(path, LE2I_COLUMNS), start=2):
        try:
            frame, label = int(row["frame"]), int(row["label"])
        except ValueError:
            raise DatasetError(f"{path}:{line}: frame and label must be integers") from None
        if label not in LE2I_CLASSES:
            raise DatasetError(f"{path}:{line}: unknown label {label} (expected 0-7)")
        frames.setdefault(row["le2i_video"], {})[frame] = label
    out = {}
    for video, labels in frames.items():
        if sorted(labels) != list(range(1, len(labels) + 1)):
            raise DatasetError(f"{path}: the frames of {video!r} are not 1..{len(labels)}")
        out[video] = np.array([labels[n] for n in range(1, len(labels) + 1)])
    return out


def load_le2i(root: Path, pose: VideoPose) -> Iterator[Clip | Skipped]:
    """Le2i Coffee_room_01 with the per-frame labels of le2i_labels (see the module docstring)."""
    table = root / LE2I_LABELS
    try:
        labels = read_le2i_labels(table)
    except DatasetError as exc:
        yield Skipped("le2i", str(table), str(exc))
        return
    videos = sorted((root / "le2i" / "Coffee_room_01" / "Videos").glob("*.mp4"), key=_number)
    for path in videos:
        clip_id = f"le2i/{path.stem}"
        if path.stem not in labels:
            yield Skipped("le2i", clip_id, f"{table}: no labels for {path.name}")
            continue
        track = _posed("le2i", clip_id, path, pose)
        if isinstance(track, Skipped):
            yield track
            continue
        frame_labels = labels[path.stem]
        if track.frames != len(frame_labels):
            yield Skipped("le2i", clip_id, f"{path}: {track.frames} frames but {len(frame_labels)} label rows")
            continue
        numbers = np.clip(np.rint(track.times * track.fps).astype(int), 0, len(frame_labels) - 1)
        per_frame = frame_labels[numbers]
        falling = np.flatnonzero(frame_labels == LE2I_FALLING)
        onset = float(falling[0] / track.fps) if len(falling) else None
        sets = [LE2I_CLASSES[int(v)] for v in per_frame]
        yield _clip(clip_id, "le2i", clip_id, track, sets, "fall" if len(falling) else "adl", onset)


def _number(path: Path) -> int:
    """The number in a file name ("video (12).mp4" -> 12), 0 without one."""
    found = re.search(r"\d+", path.stem)
    return int(found.group()) if found else 0


# --- UP-Fall --------------------------------------------------------------------------------------


def load_upfall(root: Path, pose: VideoPose) -> Iterator[Clip | Skipped]:
    """UP-Fall's 66 clips (one subject, 11 activities x 3 trials x 2 cameras) from labels.csv."""
    folder = root / "upfall"
    table = folder / "labels.csv"
    try:
        rows = read_csv(table, UPFALL_COLUMNS)
        for line, row in enumerate(rows, start=2):
            if row["label"] not in ("fall", "adl") or not row["activity"].strip().isdigit():
                raise DatasetError(f"{table}:{line}: label must be fall/adl and activity a number")
    except DatasetError as exc:
        yield Skipped("upfall", str(table), str(exc))
        return
    for row in sorted(rows, key=lambda r: r["path"]):
        rel = row["path"]
        clip_id = f"upfall/{rel.removesuffix('.mp4')}"
        track = _posed("upfall", clip_id, folder / rel, pose)
        if isinstance(track, Skipped):
            yield track
            continue
        trial = re.sub(r"Cam\d+$", "", Path(rel).stem)
        subject = f"upfall/{Path(rel).parent}/{trial}"
        if row["label"] == "fall":
            down = track.times >= track.times[-1] - UPFALL_DOWN_S
            sets = [FALLING_SEGMENT | {"sit"} if d else ANY for d in down.tolist()]
            yield _clip(clip_id, "upfall", subject, track, sets, "fall", None)
        else:
            yield _clip(clip_id, "upfall", subject, track, [DAILY_ACTIVITY] * len(track.times), "adl", None)


# --- phone falls ----------------------------------------------------------------------------------


def load_phone_falls(root: Path, pose: VideoPose) -> Iterator[Clip | Skipped]:
    """Ten phone videos, each ending in a fall (clip labels only)."""
    for path in sorted((root / "phone_falls").glob("*.mp4")):
        clip_id = f"phone_falls/{path.stem}"
        track = _posed("phone_falls", clip_id, path, pose)
        if isinstance(track, Skipped):
            yield track
            continue
        left = track.times[-1] - track.times
        sets = [
            FALLING_SEGMENT if s <= PHONE_DOWN_S else ANY if s <= PHONE_DOWN_S + PHONE_UNSURE_S else NOT_A_FALL
            for s in left.tolist()
        ]
        yield _clip(clip_id, "phone_falls", clip_id, track, sets, "fall", None)
