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
- le2i: annotation line 1/2 = fall start/end frame (1-based). Before -> NOT_A_FALL (the actor walks,
  sits, moves about); start..end -> {fall}; then {lie} for LE2I_LIE_S seconds; later frames ->
  DAILY_ACTIVITY (some actors get up again). A clip whose decoded frame count differs from its
  annotation rows is skipped (its fall frames cannot be trusted).
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
LE2I_LIE_S = 5.0
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


def read_le2i_annotation(path: Path) -> tuple[int, int, int]:
    """(fall start frame, fall end frame, annotated frame rows); DatasetError naming the file."""
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror}") from None
    lines = [line for line in lines if line]
    try:
        start, end = int(lines[0]), int(lines[1])
    except (IndexError, ValueError):
        raise DatasetError(f"{path}: lines 1 and 2 must be the fall's start and end frame numbers") from None
    if not (0 < start <= end):
        raise DatasetError(f"{path}: fall frames {start}..{end} are not a fall (1-based, start <= end)")
    return start, end, len(lines) - 2


def load_le2i(root: Path, pose: VideoPose) -> Iterator[Clip | Skipped]:
    """Le2i Coffee_room_01: the fall frames from each annotation file."""
    folder = root / "le2i" / "Coffee_room_01"
    videos = {p.stem: p for p in (folder / "Videos").glob("*.mp4")}
    notes = {p.stem: p for p in (folder / "Annotation_files").glob("*.txt")}

    def number(name: str) -> int:
        found = re.search(r"\d+", name)
        return int(found.group()) if found else 0

    for name in sorted(set(videos) | set(notes), key=number):
        clip_id = f"le2i/{name}"
        if name not in videos:
            yield Skipped("le2i", clip_id, f"{notes[name]}: annotation without its video")
            continue
        if name not in notes:
            yield Skipped("le2i", clip_id, f"{videos[name]}: video without an annotation file")
            continue
        try:
            start, end, rows = read_le2i_annotation(notes[name])
        except DatasetError as exc:
            yield Skipped("le2i", clip_id, str(exc))
            continue
        track = _posed("le2i", clip_id, videos[name], pose)
        if isinstance(track, Skipped):
            yield track
            continue
        if track.frames != rows:
            yield Skipped("le2i", clip_id, f"{videos[name]}: {track.frames} frames but {rows} annotation rows")
            continue
        numbers = np.rint(track.times * track.fps).astype(int) + 1
        sets = []
        for n, t in zip(numbers.tolist(), track.times.tolist(), strict=True):
            if n < start:
                sets.append(NOT_A_FALL)
            elif n <= end:
                sets.append(frozenset({"fall"}))
            elif t <= (end - 1) / track.fps + LE2I_LIE_S:
                sets.append(frozenset({"lie"}))
            else:
                sets.append(DAILY_ACTIVITY)
        yield _clip(clip_id, "le2i", clip_id, track, sets, "fall", (start - 1) / track.fps)


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
