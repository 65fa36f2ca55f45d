"""`fallwatch evaluate`: a trained model on its held-back windows: per-class precision/recall, window F1 per
source, and per source the clip-level numbers (falls detected, false alarms, delay from onset to alarm).

    fallwatch evaluate --model runs/gru8-dense                 # the test subjects recorded at training
    fallwatch evaluate --model models --windows all --sources gmdcsa24

The clip decision rule is edge.training.evaluate.alarm_times (documented there).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from edge.commands.train import DEFAULT_DATASET, set_threads


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from edge.training.evaluate import ALARM_THRESHOLD

    parser.add_argument("--model", required=True, help="folder with fallwatch.keras, features.json, metrics.json")
    parser.add_argument("--dataset", default=DEFAULT_DATASET, help=f"training file (default {DEFAULT_DATASET})")
    parser.add_argument(
        "--windows",
        choices=("test", "all"),
        default="test",
        help="test: the subjects held back when the model was trained (default); all: every window",
    )
    parser.add_argument("--sources", default="", help="comma-separated sources to keep (default all)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help=f"p(fall) alarm threshold (default: the one chosen on validation at training, else {ALARM_THRESHOLD})",
    )
    parser.add_argument("--sweep", action="store_true", help="also print falls caught / ADL alarmed per threshold")
    parser.add_argument("--out", default=None, help="write the report as JSON here")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow CPU threads (default 2)")


def report_text(report: dict[str, Any]) -> str:
    """The report as a few plain-text tables."""
    from edge.classes import CLASSES

    win = report["windows"]
    lines = [
        f"windows {win['windows']}: set accuracy {_fmt(win['set_accuracy'])}, fall F1 {_fmt(win['fall_f1'])} "
        f"(per-class on the {win['definite_windows']} windows with one allowed class)",
        f"{'class':8} {'precision':>9} {'recall':>6} {'support':>7}",
    ]
    for name in CLASSES:
        c = win["per_class"][name]
        lines.append(f"{name:8} {_fmt(c['precision']):>9} {_fmt(c['recall']):>6} {c['support']:>7}")
    lines.append(f"{'source':16} {'windows':>7} {'set acc':>7} {'fall F1':>7}")
    for source, s in report["per_source"].items():
        lines.append(f"{source:16} {s['windows']:>7} {_fmt(s['set_accuracy']):>7} {_fmt(s['fall_f1']):>7}")
    lines.append(f"{'source':16} {'falls':>9} {'ADL w/ alarm':>12} {'alarms/ADL':>10} {'delay med/max s':>15}")
    for source, c in report["clips"].items():
        delay = f"{_fmt(c['delay_s_median'])}/{_fmt(c['delay_s_max'])}"
        lines.append(
            f"{source:16} {c['falls_detected']:>4}/{c['fall_clips']:<4} {c['adl_clips_with_alarm']:>6}/{c['adl_clips']:<5} "
            f"{_fmt(c['false_alarms_per_adl_clip']):>10} {delay:>15}"
        )
        if c["missed"]:
            lines.append(f"  missed: {', '.join(c['missed'])}")
        if c["false_alarm_clips"]:
            lines.append(f"  false alarms in: {', '.join(c['false_alarm_clips'])}")
    return "\n".join(lines)


def sweep_text(windows: Any, probs: Any, thresholds: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)) -> str:
    """Per source with fall clips: falls detected and daily-activity clips alarmed at each p(fall) threshold."""
    from edge.training.evaluate import clip_report

    lines = ["threshold  " + "  ".join(f"{t:>9.1f}" for t in thresholds) + "   (falls caught / ADL clips alarmed)"]
    for source in sorted(set(windows.sources.tolist())):
        rows = windows.sources == source
        cells = []
        for t in thresholds:
            c = clip_report(
                windows.clips[rows],
                windows.end_s[rows],
                windows.fall_onset_s[rows],
                windows.is_fall_clip[rows],
                probs[rows],
                t,
            )
            cells.append(f"{c['falls_detected']}/{c['fall_clips']}·{c['adl_clips_with_alarm']}/{c['adl_clips']}")
        lines.append(f"{source:10} " + "  ".join(f"{c:>9}" for c in cells))
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def main(args: argparse.Namespace) -> int:
    set_threads(args.threads)
    import numpy as np

    from edge.features import FeatureConfig
    from edge.training.evaluate import ALARM_THRESHOLD
    from edge.training.presets import import_keras
    from edge.training.split import split_windows
    from edge.training.train import FEATURES_FILE, METRICS_FILE, MODEL_FILE, evaluate_windows, predict
    from edge.training.windowset import features, load_windowset

    model_dir = Path(args.model)
    for name in (MODEL_FILE, FEATURES_FILE):
        if not (model_dir / name).is_file():
            raise FileNotFoundError(f"{model_dir / name} not found (train one with `fallwatch train`)")
    cfg = FeatureConfig.from_dict(json.loads((model_dir / FEATURES_FILE).read_text()))
    windows = load_windowset(Path(args.dataset))
    if (cfg.window_frames, cfg.rate_hz) != (windows.feature_config.window_frames, windows.feature_config.rate_hz):
        print(f"fallwatch evaluate: {args.dataset} windows do not match {model_dir / FEATURES_FILE}", file=sys.stderr)
        return 2
    rows = np.ones(len(windows), bool)
    trained = json.loads((model_dir / METRICS_FILE).read_text()) if (model_dir / METRICS_FILE).is_file() else {}
    threshold = args.threshold if args.threshold is not None else trained.get("alarm_threshold", ALARM_THRESHOLD)
    if args.windows == "test":
        if not trained:
            raise FileNotFoundError(f"{model_dir / METRICS_FILE} not found: it records the held-back subjects")
        opts = trained["options"]
        rows = split_windows(
            windows.sources,
            windows.subjects,
            opts["seed"],
            opts["val_fraction"],
            opts["test_subject"],
            opts["fold"],
            opts["cross_source"],
        ).test
    if args.sources:
        rows &= np.isin(windows.sources, args.sources.split(","))
    chosen = windows.subset(rows)
    if not len(chosen):
        print("fallwatch evaluate: no windows to evaluate", file=sys.stderr)
        return 1
    model = import_keras().models.load_model(str(model_dir / MODEL_FILE), compile=False)
    probs = predict(model, features(chosen, cfg))
    report = evaluate_windows(chosen, probs, threshold)
    print(f"alarm threshold p(fall) >= {threshold}")
    print(report_text(report))
    if args.sweep:
        print(sweep_text(chosen, probs))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 0
