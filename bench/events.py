"""The fall rule on real clips: falls caught and false alarms for posture only, motion only, and both.

    .venv/bin/python bench/events.py [--model models/fallwatch.onnx]

Clips: GMDCSA24 (6 falls, 5 daily-activity clips) and UP-Fall subject 1 (activities 1-5, falls on a
mattress, trial 1 camera 1; activity 11, lying down on purpose, all 3 trials x 2 cameras). Each clip's
keypoints come from the project's MediaPipe pose, cached under ~/.cache/fallwatch/pipeline-traces
(the same cache as tests/test_pipeline.py), and are replayed through the whole pipeline after pose.
A clip counts as "suspected" when it raised fall_suspected, "alerted" when it raised fall_alert
(confirm_s = 1 s, since the clips end seconds after the fall).

--hold-s S asks what the product itself would do: every clip goes on for S more seconds as its last
second played back and forth (the person stays as the clip leaves them: on the floor after a fall,
standing after getting up, with the pose's own jitter) and
the events run with the shipped confirm_s (10 s) and recover_s (3 s) instead of confirm_s = 1 s.
--hold-tail-s 0 freezes the last frame instead (no jitter, no motion at all).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from edge.config import EventsConfig, PoseConfig
from edge.event_kinds import ALARMS
from edge.pose.recorded import Trace, cached_trace, load_trace
from edge.training.replay import ReplayModel, clip_trace, held, load_model, replay, video_clips

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
    # both, with the classifier's falling motion only: "down" (P(fall) + P(lie)) made unreachable
    "falling motion and trunk drop (down_threshold 0.99)": ["events.down_threshold=0.99"],
    # recovery on the classifier's "up" alone, whatever the trunk's angle
    "recovery on the classifier alone (upright_max_deg 180)": ["events.upright_max_deg=180"],
}


def urfd_traces() -> dict[str, list[Trace]]:
    """UR Fall videos (the RGB half, as the dataset adapter crops it) as traces, from the pose cache.

    The adapter poses every 2nd frame (15 Hz), which is the windows' rate; a video not yet in the
    cache is posed first (minutes). Returns {"UR Fall falls": [...], "UR Fall daily": [...]}.
    """
    from edge.training.pose_cache import VideoPose

    pose = VideoPose(PoseConfig(), Path("~/.cache/fallwatch/pose").expanduser())
    groups: dict[str, list[Trace]] = {"UR Fall falls": [], "UR Fall daily": []}
    for clip in video_clips(DATA, ["urfd_video"], pose).clips:
        groups["UR Fall falls" if clip.kind == "fall" else "UR Fall daily"].append(clip_trace(clip))
    return groups


def events_of(trace: Trace, model: ReplayModel, rule: list[str], confirm_s: float = 1.0) -> list[str]:
    return [e.event for e in replay(trace, model, [f"events.confirm_s={confirm_s}", *rule]).events]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO / "models" / "fallwatch.onnx"))
    parser.add_argument("--urfd", action="store_true", help="also the 70 UR Fall videos (30 falls, 40 daily)")
    parser.add_argument("--hold-s", type=float, default=0.0, help="hold each clip's end this long (s)")
    parser.add_argument(
        "--hold-tail-s",
        type=float,
        default=1.0,
        help="the clip's last seconds that the hold replays (0: last frame frozen)",
    )
    parser.add_argument(
        "--rule", action="append", choices=list(RULES), help="a rule to run (repeatable; default: every rule)"
    )
    args = parser.parse_args()
    rules = {name: RULES[name] for name in args.rule or RULES}
    groups = {
        name: [load_trace(cached_trace(DATA / clip, PoseConfig())) for clip in clips] for name, clips in GROUPS.items()
    }
    if args.urfd:
        groups.update(urfd_traces())
    confirm_s = 1.0
    if args.hold_s > 0:
        groups = {name: [held(t, args.hold_s, args.hold_tail_s) for t in traces] for name, traces in groups.items()}
        confirm_s = EventsConfig().confirm_s
    report(groups, load_model(Path(args.model)), rules, confirm_s)


def report(groups: dict[str, list[Trace]], model: ReplayModel, rules: dict[str, list[str]], confirm_s: float) -> None:
    """Print one markdown row per rule: clips suspected / alerted in each group."""
    print(f"model: {model.path}, confirm_s {confirm_s:g}")
    print("| rule | " + " | ".join(f"{g} suspected / alerted" for g in groups) + " |")
    print("|" + "---|" * (len(groups) + 1))
    for rule_name, rule in rules.items():
        cells = []
        for clips in groups.values():
            kinds = [events_of(trace, model, rule, confirm_s) for trace in clips]
            suspected = sum("fall_suspected" in k for k in kinds)
            alerted = sum(any(kind in ALARMS for kind in k) for k in kinds)
            cells.append(f"{suspected}/{len(clips)} / {alerted}/{len(clips)}")
        print(f"| {rule_name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
