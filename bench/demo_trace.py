"""Regenerate the demo's keypoint trace from its GMDCSA24 clip with the project's own MediaPipe pose.

    .venv/bin/python bench/demo_trace.py [--data ../shared/data] [--clip "Subject 1/Fall/14.mp4"]

Writes edge/demo_data/gmdcsa24_fall.npz (keypoints of the demo clip, replayed by the tests) and
prints the fraction of frames with a person. GMDCSA24 is MIT-licensed: edge/demo_data/LICENSE-GMDCSA24.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from edge.config import PoseConfig, SourceConfig
from edge.pose import create_pose
from edge.pose.recorded import extract_trace, record_trace
from edge.sources import create_source

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("FALLWATCH_DATA", REPO.parent / "shared" / "data"))
DEFAULT_CLIP = "Subject 1/Fall/14.mp4"
OUT = REPO / "edge" / "demo_data" / "gmdcsa24_fall.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--clip", default=DEFAULT_CLIP, help="a GMDCSA24 clip, relative to gmdcsa24/")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    clip = args.data / "gmdcsa24" / args.clip
    source = create_source(SourceConfig(uri=str(clip)))
    pose_cfg = PoseConfig(type="mediapipe")
    pose = create_pose(pose_cfg)
    try:
        trace = extract_trace(
            source,
            pose,
            meta={
                "source": f"GMDCSA24 {args.clip}",
                "licence": "MIT, see LICENSE-GMDCSA24 beside this file",
                "pose_config": {k: getattr(pose_cfg, k) for k in pose_cfg.__dataclass_fields__},
            },
        )
    finally:
        pose.close()
        source.close()
    record_trace(args.out, trace)
    found = float(np.mean((trace.keypoints[..., 2] > 0).any(axis=(1, 2))))
    print(f"{args.out}: {len(trace)} frames over {trace.times[-1]:.1f} s, a person in {found:.0%} of them")


if __name__ == "__main__":
    main()
