"""Fraction of video frames where MediaPipe finds a person, per source: tuned settings vs baseline.

    .venv/bin/python bench/pose_coverage.py                       # tuned ([pose] defaults), all sources
    .venv/bin/python bench/pose_coverage.py --baseline            # MediaPipe's stock settings
    .venv/bin/python bench/pose_coverage.py --sources urfd_video --only fall- --max-clips 8 --set rotate_retry=false

Uses the dataset builder's pose cache (~/.cache/fallwatch/pose), so a source the dataset build
already posed costs nothing; baseline settings have their own cache entries. For the UR Fall fall
clips it also splits coverage by urfd_alphapose's per-frame label (upright before the fall,
falling, lying), the frames where pose fails when it matters, and checks that what it finds is
the person: the share of found frames whose hip midpoint lies within 0.1 image units of the one
AlphaPose found in the same frame (the URFD CSV). Prints one table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from edge.config import PoseConfig, parse_override
from edge.skeleton import INDEX, to_canonical
from edge.training.clips import DatasetError
from edge.training.pose_cache import VideoPose
from edge.training.sources.keypoints import read_alphapose_csv
from edge.training.sources.videos import VIDEO_GLOBS, video_files

# MediaPipe's own defaults: no upscaling, no retries.
BASELINE = {
    "min_detection_confidence": 0.5,
    "min_tracking_confidence": 0.5,
    "upscale_min_height": 0,
    "rotate_retry": False,
    "redetect_s": 0.0,
}
URFD_PHASES = {0: "urfd upright", 1: "urfd falling", 2: "urfd lying"}
AGREE_DIST = 0.1


def hip_midpoints(keypoints: np.ndarray) -> np.ndarray:
    """(N, 2) hip midpoints of canonical skeletons (N, 18, 3); NaN where a hip is missing."""
    left, right = keypoints[:, INDEX["left_hip"]], keypoints[:, INDEX["right_hip"]]
    mid = (left[:, :2] + right[:, :2]) / 2
    return np.where(((left[:, 2] > 0) & (right[:, 2] > 0))[:, None], mid, np.nan)


def add(rows: dict[str, list[int]], name: str, found: np.ndarray, agree: np.ndarray | None = None) -> None:
    """Count one clip's frames into row `name` = [clips, frames, found, agreeing with AlphaPose or -1]."""
    if len(found):
        row = rows.setdefault(name, [0, 0, 0, -1])
        row[0] += 1
        row[1] += len(found)
        row[2] += int(found.sum())
        if agree is not None:
            row[3] = max(row[3], 0) + int(agree.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data")
    parser.add_argument("--sources", default=",".join(VIDEO_GLOBS))
    parser.add_argument("--max-clips", type=int, default=0, help="first N clips of each source (0 = all)")
    parser.add_argument("--only", default="", help="only videos whose path contains this text (e.g. fall-)")
    parser.add_argument("--baseline", action="store_true", help="MediaPipe's stock settings instead of [pose]")
    parser.add_argument("--set", action="append", default=[], help="a pose setting, e.g. rotate_retry=false")
    parser.add_argument("--pose-cache", default="~/.cache/fallwatch/pose")
    args = parser.parse_args()
    root = Path(args.data)
    cfg = PoseConfig().replace(**BASELINE) if args.baseline else PoseConfig()
    for text in args.set:
        keys, value = parse_override(text)
        cfg = cfg.replace(**{keys[-1]: value})
    pose = VideoPose(cfg, Path(args.pose_cache).expanduser())
    labels = {}
    try:
        labels = read_alphapose_csv(root / "urfd_alphapose" / "pose_urfd_3classes.csv")
    except DatasetError as exc:
        print(f"no URFD phase split: {exc}")
    rows: dict[str, list[int]] = {}  # name -> [clips, frames, found, agree]
    started = time.monotonic()
    for source in args.sources.split(","):
        files = [(path, crop) for path, crop in video_files(root, source) if args.only in str(path)]
        for path, crop in files[: args.max_clips or None]:
            try:
                track = pose.track(path, crop)
            except DatasetError as exc:
                print(f"skipped: {exc}")
                continue
            add(rows, source, track.found)
            name = path.name.removesuffix("-cam0.mp4")
            if source == "urfd_video" and name in labels:
                frames, points, phase = labels[name]
                hips = hip_midpoints(to_canonical(points, "alphapose13"))
                row_of = {n: i for i, n in reversed(list(enumerate(frames.tolist())))}  # first row per frame
                numbers = (np.rint(track.times * track.fps).astype(int) + 1).tolist()
                ours = hip_midpoints(track.keypoints)
                for value, label in URFD_PHASES.items():
                    sel = np.array([n in row_of and phase[row_of[n]] == value for n in numbers])
                    ref = np.array([hips[row_of[n]] for n, on in zip(numbers, sel, strict=True) if on]).reshape(-1, 2)
                    agree = np.linalg.norm(ours[sel] - ref, axis=-1) <= AGREE_DIST
                    add(rows, label, track.found[sel], agree & track.found[sel])
    setting = ("baseline " if args.baseline else "tuned ") + str(pose.config_dict()["pose"])
    print(f"pose coverage, {setting}")
    print(f"{'source':<16} {'clips':>5} {'frames':>7} {'with person':>11} {'hips agree':>10}")
    for name, (clips, frames, found, agree) in rows.items():
        agreed = f"{agree / max(found, 1):>10.1%}" if agree >= 0 else f"{'':>10}"
        print(f"{name:<16} {clips:>5} {frames:>7} {found / max(frames, 1):>11.1%} {agreed}")
    print(f"hips agree: found frames whose hip midpoint is within {AGREE_DIST} (image units) of AlphaPose's")
    print(
        f"model ran on {pose.model_frames} frames ({pose.cache_hits} clips from cache) in {time.monotonic() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
