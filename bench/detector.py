"""The detector's cost per processed frame on the demo trace, stage by stage as DetectorStep.seconds
times it (features: tracking, windows and features; classify: the batched classifier call; events: the
fall rule's evidence and state machine), the lowest and the median of --passes passes.

    .venv/bin/python bench/detector.py [--passes 7] [--hold-s 60]

The trace is held --hold-s seconds (its last second played back and forth), so the rule runs with an
open episode and a person down, as it does while someone lies on the floor. To compare two commits side
by side, run it in turn against each checkout: `PYTHONPATH=<checkout> .venv/bin/python bench/detector.py`.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from edge.detector import DETECTOR_STAGES, DetectorStep
from edge.pose.recorded import load_trace
from edge.training.replay import held, load_model, replay

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "edge" / "demo_data" / "gmdcsa24_fall.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=7)
    parser.add_argument("--hold-s", type=float, default=60.0)
    parser.add_argument("--model", type=Path, default=REPO / "models")
    args = parser.parse_args()
    model = load_model(args.model)
    trace = held(load_trace(DEMO), args.hold_s)
    per_pass: dict[str, list[float]] = {stage: [] for stage in DETECTOR_STAGES}
    for _ in range(args.passes):
        totals = dict.fromkeys(DETECTOR_STAGES, 0.0)
        frames = [0]

        def add(_t: float, step: DetectorStep, totals: dict[str, float] = totals, frames: list[int] = frames) -> None:
            frames[0] += 1
            for stage, seconds in step.seconds.items():
                totals[stage] += seconds

        replay(trace, model, on_step=add)
        for stage in DETECTOR_STAGES:
            per_pass[stage].append(totals[stage] / frames[0] * 1000)
    print(f"{frames[0]} frames a pass, {args.passes} passes; ms per frame, lowest / median")
    for stage in DETECTOR_STAGES:
        print(f"{stage:9s} {min(per_pass[stage]):.3f} / {statistics.median(per_pass[stage]):.3f}")


if __name__ == "__main__":
    main()
