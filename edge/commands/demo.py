"""`fallwatch demo`: the whole pipeline on a real fall video, with no camera and no arguments.

The video (edge/demo_data/gmdcsa24_fall.mp4) is GMDCSA24 "Subject 1/Fall/14.mp4" (MIT licence, notice
beside it), re-encoded smaller with every frame and its time kept. Everything runs for real: OpenCV
decodes it, MediaPipe finds the pose, then tracking, windows, features, the classifier, the fall rule,
the alert hub (simulated GPIO, no push channel), the events log and the annotated video (the real room
with the skeleton, the person's id, class and state drawn on every frame).

`fallwatch demo --web PORT` (`make demo WEB=PORT`) also serves the set-up page for the demo on
127.0.0.1:PORT, with a one-time password it prints; the video shows the page's address, and the page
stays up after the clip (its events, their skeletons, the history, zones saved into out/demo/config.toml)
until Enter is pressed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import edge

if TYPE_CHECKING:
    from edge.config import Config
    from edge.pipeline import Pipeline, Summary

CLIP = Path(__file__).resolve().parents[1] / "demo_data" / "gmdcsa24_fall.mp4"
MODEL = Path(edge.__file__).resolve().parents[1] / "models" / "fallwatch.onnx"
OUT = Path("out") / "demo"
# The clip is 5.7 s long: the product's confirm_s (10 s) would end it before an alert could be due.
CONFIRM_S = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No camera and no configuration needed; --web PORT also serves the set-up page."""
    parser.add_argument(
        "--web", type=int, default=0, metavar="PORT", help="also serve the set-up page on 127.0.0.1:PORT (0: off)"
    )


def web_config(folder: Path, port: int) -> tuple[Path, str]:
    """A config file (mode 0600) for the demo's set-up page on 127.0.0.1:`port`; its path and the
    one-time password it holds the hash of."""
    from edge.web.auth import hash_password

    password = secrets.token_urlsafe(9)
    path = folder / "config.toml"
    path.write_text(f'[web]\nport = {port}\npassword_hash = "{hash_password(password)}"\n', encoding="utf-8")
    path.chmod(0o600)
    return path, password


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
    from edge.commands.run import start_web
    from edge.config import load_config
    from edge.features import FeatureConfig
    from edge.pipeline import build_pipeline

    if not MODEL.is_file():
        print(f"fallwatch demo: no trained classifier at {MODEL} (train and export one first)", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    events_log = OUT / "events.jsonl"
    events_log.unlink(missing_ok=True)  # this run's events only
    config, password = web_config(OUT, args.web) if args.web else (None, "")
    cfg = load_config(config, demo_overrides(OUT, MODEL))
    trained = MODEL.parent / FEATURES_FILE
    if trained.is_file():  # the demo's config has no [features]: take the windows the shipped model was trained on
        cfg.features = FeatureConfig.from_dict(json.loads(trained.read_text(encoding="utf-8")))
    pipeline = build_pipeline(cfg)
    web = start_web(cfg, str(config), pipeline) if config is not None else None
    try:
        summary = pipeline.run()
        _report(pipeline, summary, cfg)
        if web is not None:
            print(f"The set-up page stays up at http://127.0.0.1:{web.port}/ (password: {password}); Enter stops it.")
            with contextlib.suppress(EOFError, KeyboardInterrupt):  # no terminal (a test, CI), or Ctrl-C
                input()
    finally:
        if web is not None:
            web.close()
    return 0


def _report(pipeline: Pipeline, summary: Summary, cfg: Config) -> None:
    """What happened, in words, and where the video and the events log are."""
    from edge.event_kinds import KINDS

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
