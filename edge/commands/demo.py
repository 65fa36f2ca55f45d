"""`fallwatch demo`: the whole pipeline on a real fall video, with no camera and no arguments.

The video (edge/demo_data/gmdcsa24_fall.mp4) is GMDCSA24 "Subject 1/Fall/14.mp4" (MIT licence, notice
beside it), re-encoded smaller with every frame and its time kept. Everything runs for real: OpenCV
decodes it, MediaPipe finds the pose, then tracking, windows, features, the classifier, the fall rule,
the alert hub (simulated GPIO, no push channel), the events log and the annotated video (the real room
with the skeleton, the person's id, class and state drawn on every frame).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import edge

CLIP = Path(__file__).resolve().parents[1] / "demo_data" / "gmdcsa24_fall.mp4"
MODEL = Path(edge.__file__).resolve().parents[1] / "models" / "fallwatch.onnx"
OUT = Path("out") / "demo"
# The clip is 5.7 s long: the product's confirm_s (10 s) would end it before an alert could be due.
CONFIRM_S = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments: the demo needs no camera and no configuration."""


def demo_overrides(out: Path, model: Path) -> list[str]:
    """The demo's configuration, as overrides of the defaults (MediaPipe pose, the shipped model)."""
    return [
        f'source.uri="{CLIP}"',
        'pose.type="mediapipe"',
        f'classifier.model="{model}"',
        f"events.confirm_s={CONFIRM_S}",
        "events.heartbeat_s=0",
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
    trained = MODEL.parent / FEATURES_FILE
    if trained.is_file():  # the demo has no config file: take the windows the shipped model was trained on
        cfg.features = FeatureConfig.from_dict(json.loads(trained.read_text(encoding="utf-8")))
    pipeline = build_pipeline(cfg)
    summary = pipeline.run()
    print(f"FallWatch demo: a real fall from GMDCSA24 ({CLIP.name}), MediaPipe pose, no camera.")
    print(
        f"Pipeline: video -> MediaPipe -> tracking -> windows -> {pipeline.classifier.name} -> events "
        f"(confirm_s = {CONFIRM_S} s)."
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
    print(f"Annotated video (the room, skeleton, id, class, state on every frame): {Path(cfg.output.uri).resolve()}")
    print(f"Events log (JSON lines): {Path(cfg.log.events).resolve()}")
    return 0
