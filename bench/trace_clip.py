"""What the detector saw in one clip, frame by frame: the classifier's probabilities, the trunk's drops
and tilt, and every event, as `fallwatch evaluate --events` replays it (the README's traces of the
Kingston sequences, UR Fall adl-24 and HQFSD Fall18_Cam4 come from here).

    .venv/bin/python bench/trace_clip.py kingston_openpose seq786
    .venv/bin/python bench/trace_clip.py urfd_video adl-24 --hold-s 15 --every-s 0.33
    .venv/bin/python bench/trace_clip.py hqfsd_openpose Fall18_Cam4 --hold-s 15 --from-s 85 --to-s 105
    .venv/bin/python bench/trace_clip.py hqfsd_openpose Fall19_Cam2 --slower 2 --hold-s 15 --every-s 1e9

Clips come from the pose cache that `fallwatch dataset build` filled (never posed here); every clip
of SOURCE whose id contains MATCH is traced. One line per --every-s seconds per seen track, and one
line per event.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from edge.classes import CLASSES
from edge.config import PoseConfig
from edge.detector import DetectorStep
from edge.training.pose_cache import VideoPose
from edge.training.replay import Mode, load_model, replay_clip, video_clips

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FALLWATCH_DATA", REPO.parent / "shared" / "data"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a source name, e.g. kingston_openpose")
    parser.add_argument("match", help="a part of the clip id, e.g. seq786")
    parser.add_argument("--model", type=Path, default=REPO / "models")
    parser.add_argument("--hold-s", type=float, default=0.0, help="seconds the clip's end is held (as 'held')")
    parser.add_argument(
        "--slower", type=float, default=1.0, help="play the clip this many times slower (as evaluate's --slower)"
    )
    parser.add_argument("--every-s", type=float, default=0.33, help="seconds between printed frames")
    parser.add_argument("--from-s", type=float, default=0.0)
    parser.add_argument("--to-s", type=float, default=float("inf"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config override")
    args = parser.parse_args()
    pose = VideoPose(PoseConfig(), Path("~/.cache/fallwatch/pose").expanduser(), 15.0, cached_only=True)
    model = load_model(args.model)
    printed = [-float("inf")]

    def row(t: float, step: DetectorStep) -> None:
        for event in step.events:
            print(f"{t:8.2f}  EVENT {event.event} ({event.detail or '-'}), track {event.track_id}")
        if not args.from_s <= t <= args.to_s or t - printed[0] < args.every_s:
            return
        printed[0] = t
        for obs in step.observations:
            probs = (
                " ".join(f"{c} {p:.2f}" for c, p in zip(CLASSES, obs.probs, strict=True))
                if obs.probs is not None
                else "-"
            )
            tilt = f"{obs.tilt:.0f}" if obs.tilt is not None else "unseen"
            print(f"{t:8.2f}  #{obs.track_id}  {probs}  drop {obs.drop:.2f}  slow drop {obs.slow_drop:.2f}  "
                  f"tilt {tilt}  tipped over {obs.tipped_over}  rise {obs.rise:.2f}")  # fmt: skip

    for clip in video_clips(DATA, [args.source], pose).clips:
        if args.match not in clip.clip_id:
            continue
        print(f"== {clip.clip_id} ({clip.kind}, fall onset {clip.fall_onset_s})")
        printed[0] = -float("inf")
        replay_clip(clip, model, Mode("trace", args.hold_s, tuple(args.set), args.slower), on_step=row)


if __name__ == "__main__":
    main()
