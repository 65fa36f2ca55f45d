"""Cost per frame of the frame source and the annotated output, side by side, on real clips.

    .venv/bin/python bench/source_output.py [--pose] [--data ../shared/data] [--clips "Subject 1/Fall/13.mp4" ...]

For each clip, in ms per frame: decode (OpenCV file source, through ResilientSource as the pipeline
uses it), pose (with --pose: the configured default pose, MediaPipe, as the real load beside the
encoder), draw (draw_annotations with one skeleton), write (how long VideoFileSink.write() held the
frame loop: ~0 while the encoder worker keeps up, the encoder's pace when it does not) and encode
(the worker's time, beside the loop). Decode and pose are outside the pipeline's own cost; draw and
write are inside it (the output stage).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from edge.config import PoseConfig, SourceConfig
from edge.output import create_output
from edge.output.annotate import PersonAnnotation, draw_annotations
from edge.pose import create_pose
from edge.pose.base import PoseEstimator
from edge.skeleton import INDEX
from edge.sources import create_source

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("FALLWATCH_DATA", REPO.parent / "shared" / "data"))
DEFAULT_CLIPS = ["Subject 1/Fall/13.mp4", "Subject 1/ADL/10.mp4"]  # 640x480 and 1280x720


def person() -> PersonAnnotation:
    kp = np.zeros((18, 3), np.float32)
    for i, name in enumerate(["nose", "neck", "left_shoulder", "right_shoulder", "left_hip", "right_hip",
                              "left_knee", "right_knee", "left_ankle", "right_ankle"]):  # fmt: skip
        kp[INDEX[name]] = (0.45 + 0.02 * (i % 2), 0.1 + 0.08 * i, 0.9)
    return PersonAnnotation(kp, 1, "walking", 0.87, "ok")


def measure(clip: Path, out_dir: Path, pose: PoseEstimator | None) -> dict[str, float]:
    """ms per frame for decode, pose, draw, write and encode on one clip."""
    source = create_source(SourceConfig(uri=str(clip)))
    people = [person()]
    spent = {"decode": 0.0, "pose": 0.0, "draw": 0.0, "write": 0.0}
    frames = 0
    with create_output(str(out_dir / f"{clip.stem}.mp4"), fps=source.fps or 30.0) as sink:
        while True:
            t0 = time.perf_counter()
            frame = source.read()
            t1 = time.perf_counter()
            if frame is None:
                break
            if pose is not None:
                pose.estimate(frame)
            t2 = time.perf_counter()
            image = draw_annotations(frame.image, people)
            t3 = time.perf_counter()
            sink.write(image)
            t4 = time.perf_counter()
            spent["decode"] += t1 - t0
            spent["pose"] += t2 - t1
            spent["draw"] += t3 - t2
            spent["write"] += t4 - t3
            frames += 1
    spent["encode"] = sink.encode_s  # type: ignore[attr-defined]
    source.close()
    size = f"{frame_size[1]}x{frame_size[0]}" if (frame_size := image.shape[:2]) else "?"
    print(f"{clip.parent.parent.name}/{clip.parent.name}/{clip.name} ({size}, {frames} frames): "
          + "  ".join(f"{k} {1000 * v / frames:.2f}" for k, v in spent.items()) + "  ms/frame")  # fmt: skip
    return {k: 1000 * v / frames for k, v in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--clips", nargs="+", default=DEFAULT_CLIPS, help="GMDCSA24 clips, relative to gmdcsa24/")
    parser.add_argument("--pose", action="store_true", help="run the default pose estimator in the loop")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for clip in args.clips:
            pose = create_pose(PoseConfig()) if args.pose else None
            try:
                measure(args.data / "gmdcsa24" / clip, Path(tmp), pose)
            finally:
                if pose is not None:
                    pose.close()


if __name__ == "__main__":
    main()
