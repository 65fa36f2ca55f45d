"""`fallwatch demo`: the whole pipeline on a built-in example, with no camera and no arguments.

The example is a keypoint trace (edge/demo_data/gmdcsa24_fall.npz) that the project's own MediaPipe
pose stage extracted from a fall clip of GMDCSA24 (MIT licence, notice beside it; the video itself is
not shipped; bench/demo_trace.py regenerates the trace). It is replayed through the recorded pose
backend onto blank frames, so everything after pose runs for real: tracking, windows, features, the
classifier, the event state machine, the events log and the annotated video (a stick figure).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import edge

DEMO_DATA = Path(__file__).resolve().parents[1] / "demo_data"
TRACE = DEMO_DATA / "gmdcsa24_fall.npz"
MODEL = Path(edge.__file__).resolve().parents[1] / "models" / "fallwatch.onnx"
OUT = Path("out") / "demo"
# The clip is 5.7 s long: the product's confirm_s (10 s) would end it before an alert could be due.
CONFIRM_S = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments: the demo needs no camera and no configuration."""


def demo_overrides(out: Path, model: Path) -> list[str]:
    """The demo's configuration, as overrides of the defaults."""
    return [
        f'source.uri="{TRACE}"',
        'pose.type="recorded"',
        f'pose.recorded_path="{TRACE}"',
        f'classifier.model="{model}"',
        f"events.confirm_s={CONFIRM_S}",
        f'output.uri="{out / "demo.mp4"}"',
        f'log.events="{out / "events.jsonl"}"',
    ]


def main(args: argparse.Namespace) -> int:
    from edge.classifier import FEATURES_FILE
    from edge.config import load_config
    from edge.event_kinds import KINDS
    from edge.features import FeatureConfig
    from edge.pipeline import build_pipeline

    if not MODEL.is_file():
        print(f"fallwatch demo: no trained classifier at {MODEL} (train and export one first)", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    events_log = OUT / "events.jsonl"
    events_log.unlink(missing_ok=True)  # this run's events only
    cfg = load_config(None, demo_overrides(OUT, MODEL))
    cfg.events.heartbeat_s = 0.0
    trained = MODEL.parent / FEATURES_FILE
    if trained.is_file():  # the demo has no config file: take the windows the shipped model was trained on
        cfg.features = FeatureConfig.from_dict(json.loads(trained.read_text(encoding="utf-8")))
    pipeline = build_pipeline(cfg)
    summary = pipeline.run()
    print(f"FallWatch demo: a fall from GMDCSA24 ({TRACE.name}, keypoints by MediaPipe), replayed without a camera.")
    print(
        f"Pipeline: recorded pose -> tracking -> windows -> {pipeline.classifier.name} -> events (confirm_s = {CONFIRM_S} s)."
    )
    print("What happened:")
    for event in pipeline.events:
        who = f"person {event.track_id}" if event.track_id is not None else "camera"
        probs = f" (P(fall) {event.probs['fall']:.2f}, P(lie) {event.probs['lie']:.2f})" if event.probs else ""
        meaning = f"  -> {KINDS[event.event].meaning}"
        print(f"  {event.video_time:5.2f} s  {event.event:15s} {who}{probs}{meaning}")
    if not pipeline.events:
        print("  no events: the classifier did not see a fall in this clip")
    print(summary.format())
    print(f"Annotated video (stick figure, id, class, state on every frame): {Path(cfg.output.uri).resolve()}")
    print(f"Events log (JSON lines): {Path(cfg.log.events).resolve()}")
    return 0
