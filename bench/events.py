"""The fall rule on real clips: falls caught and false alarms for posture only, motion only, and both.

    .venv/bin/python bench/events.py [--model models/fallwatch.onnx]

Clips: GMDCSA24 (6 falls, 5 daily-activity clips) and UP-Fall subject 1 (activities 1-5, falls on a
mattress, trial 1 camera 1; activity 11, lying down on purpose, all 3 trials x 2 cameras). Each clip's
keypoints come from the project's MediaPipe pose, cached under ~/.cache/fallwatch/pipeline-traces
(the same cache as tests/test_pipeline.py), and are replayed through the whole pipeline after pose.
A clip counts as "suspected" when it raised fall_suspected, "alerted" when it raised fall_alert
(confirm_s = 1 s, since the clips end seconds after the fall).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from edge.config import PoseConfig, load_config
from edge.pipeline import Pipeline
from edge.pose.recorded import cached_trace

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FALLWATCH_DATA", REPO.parent / "shared" / "data"))

GMD_FALLS = [f"gmdcsa24/Subject 1/Fall/{n}.mp4" for n in (13, 14, 15)] + [
    f"gmdcsa24/Subject 2/Fall/{n}.mp4" for n in (12, 13, 14)
]
GMD_ADL = ["gmdcsa24/Subject 1/ADL/10.mp4", "gmdcsa24/Subject 1/ADL/16.mp4", "gmdcsa24/Subject 2/ADL/23.mp4"] + [
    f"gmdcsa24/Subject 2 (earlier release)/ADL/{n}.mp4" for n in (24, 26)
]
UP_FALLS = [f"upfall/Activity{a}/Subject1/Trial1Cam1.mp4" for a in (1, 2, 3, 4, 5)]
UP_LYING = [f"upfall/Activity11/Subject1/Trial{t}Cam{c}.mp4" for t in (1, 2, 3) for c in (1, 2)]
GROUPS = {
    "GMDCSA24 falls": GMD_FALLS,
    "GMDCSA24 daily": GMD_ADL,
    "UP-Fall falls": UP_FALLS,
    "UP-Fall lying down": UP_LYING,
}
RULES = {
    # the classifier saying "falling or down" with no drop needed: the posture rule
    "posture only (min_drop 0)": ["events.min_drop=0"],
    # the classifier's falling motion alone: P(fall) >= 0.6, "down" made unreachable, no drop needed
    "fall class only (min_drop 0, down_threshold 0.99)": ["events.min_drop=0", "events.down_threshold=0.99"],
    # the trunk drop alone: any probability passes
    "trunk drop only (fall_threshold 0.01)": ["events.fall_threshold=0.01"],
    "both (defaults)": [],
}


def events_of(trace: Path, model: str, rule: list[str]) -> list[str]:
    cfg = load_config(
        None,
        [
            f'source.uri="{trace}"',
            'pose.type="recorded"',
            f'pose.recorded_path="{trace}"',
            f'classifier.model="{model}"',
            "events.confirm_s=1",
            "events.heartbeat_s=0",
            *rule,
        ],
    )
    pipeline = Pipeline(cfg, events_path="")
    pipeline.run()
    return [e.event for e in pipeline.events]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO / "models" / "fallwatch.onnx"))
    args = parser.parse_args()
    traces = {clip: cached_trace(DATA / clip, PoseConfig()) for clips in GROUPS.values() for clip in clips}
    print(f"model: {args.model}")
    print("| rule | " + " | ".join(f"{g} suspected / alerted" for g in GROUPS) + " |")
    print("|" + "---|" * (len(GROUPS) + 1))
    for rule_name, rule in RULES.items():
        cells = []
        for clips in GROUPS.values():
            kinds = [events_of(traces[c], args.model, rule) for c in clips]
            suspected = sum("fall_suspected" in k for k in kinds)
            alerted = sum("fall_alert" in k for k in kinds)
            cells.append(f"{suspected}/{len(clips)} / {alerted}/{len(clips)}")
        print(f"| {rule_name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
