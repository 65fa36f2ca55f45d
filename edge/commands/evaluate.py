"""`fallwatch evaluate`: a trained model on its held-back windows: per-class precision/recall, window F1 per
source, and per source the clip-level numbers (falls detected, false alarms, delay from onset to alarm).

    fallwatch evaluate --model runs/gru8-dense                 # the test subjects recorded at training
    fallwatch evaluate --model models --windows all --sources gmdcsa24
    fallwatch evaluate --model models --events                 # + the product's alarm on the videos
    fallwatch evaluate --model models --events --all-clips --sources urfd_video   # all 70 UR Fall videos
    fallwatch evaluate --loso --dataset cache/model-dataset.npz --seeds 0,1,2 --out runs/loso.json

--loso (leave-one-source-out, edge/training/loso.py) needs no model: for every held-out source and seed
it trains one without that source (--preset, --epochs, --augment, --fall-weight) and replays all the source's clips
through the product's alarm, as is and held; it prints the table (mean ± std over seeds).

The window clip rule is edge.training.evaluate.alarm_times (documented there). --events replays the
GMDCSA24 and UR Fall videos of the held-back subjects (--all-clips: every one) through the whole
pipeline after pose (edge.training.replay: tracker, trunk drop, classifier, FallEvents), "as is" and
"held" for --hold-s more seconds, with the model's fallwatch.onnx (else its fallwatch.keras). The
keypoints come from the pose cache `fallwatch dataset build` filled; pose is never run here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.commands.dataset import DEFAULT_DATA, DEFAULT_POSE_CACHE
from edge.commands.train import DEFAULT_DATASET, add_feature_variant, feature_changes, set_threads

if TYPE_CHECKING:
    from edge.training.clips import Clip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from edge.training.evaluate import ALARM_THRESHOLD

    parser.add_argument("--model", help="folder with fallwatch.keras, features.json, metrics.json (not with --loso)")
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
    parser.add_argument(
        "--events",
        action="store_true",
        help="also replay the GMDCSA24 and UR Fall videos through the product's alarm (pipeline + fall events)",
    )
    parser.add_argument(
        "--hold-s",
        type=float,
        default=15.0,
        help="--events, --loso: seconds each clip's last second is played back and forth in the 'held' replay "
        "(default 15)",
    )
    parser.add_argument(
        "--slower",
        type=float,
        default=1.0,
        help="--events, --loso: also a 'held' replay with every clip played this many times slower (e.g. 2: "
        "sinking falls)",
    )
    parser.add_argument(
        "--all-clips", action="store_true", help="--events: every clip of those videos, not only the held-back ones"
    )
    parser.add_argument(
        "--data", default=DEFAULT_DATA, help=f"--events: the shared data folder (default {DEFAULT_DATA})"
    )
    parser.add_argument(
        "--pose-cache",
        default=DEFAULT_POSE_CACHE,
        help=f"--events: the pose keypoint cache `fallwatch dataset build` filled (default {DEFAULT_POSE_CACHE})",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="--events: override one config key in both replays, e.g. events.upright_max_deg=180",
    )
    parser.add_argument("--out", default=None, help="write the report as JSON here")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow CPU threads (default 2)")
    loso = parser.add_argument_group("leave-one-source-out (--loso)")
    loso.add_argument("--loso", action="store_true", help="train without each source, replay its clips (see above)")
    loso.add_argument(
        "--loso-sources", default="", help="comma-separated held-out sources (default: edge.training.loso.LOSO_SOURCES)"
    )
    loso.add_argument("--preset", default="gru16-dense32", help="--loso: the preset trained (default gru16-dense32)")
    loso.add_argument("--seeds", default="0,1,2", help="--loso: comma-separated seeds (default 0,1,2)")
    loso.add_argument("--epochs", type=int, default=30, help="--loso: most epochs per training (default 30)")
    loso.add_argument("--augment", default="", help="--loso: comma-separated augmentations (edge/training/augment.py)")
    loso.add_argument(
        "--fall-weight", type=float, default=1.0, help="--loso: multiplies the fall class weight (default 1)"
    )
    add_feature_variant(parser)


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


def events_text(section: dict[str, Any]) -> str:
    """The --events section as a table: per replay mode and source, fall clips suspected / alerted, the
    delay from the labelled onset (median/max), and the daily-activity clips that raised either."""
    shipped = f"the shipped events config (confirm_s {section['confirm_s']:g}, recover_s {section['recover_s']:g})"
    which = f"all {section['clips']}" if section["which"] == "all" else f"the {section['clips']} held-back"
    lines = [
        f"events: the product's alarm replayed on {which} video clips "
        f"with {section['model']} ({section['seconds']:.0f} s)"
    ]
    for name, mode in section["modes"].items():
        held = f"+{mode['hold_s']:g} s of its last second played back and forth" if mode["hold_s"] else "as recorded"
        lines.append(f"  {name}: each clip {held}, {', '.join(mode['overrides']) or shipped}")
    lines += [
        f"{'mode':6} {'source':10} {'suspected':>9} {'alerted':>7} {'onset->susp s':>13} {'onset->alert s':>14} "
        f"{'ADL susp':>8} {'ADL alert':>9}",
    ]
    notes = []
    for name, mode in section["modes"].items():
        for source, c in mode["sources"].items():
            falls, adl = c["fall_clips"], c["adl_clips"]
            susp = f"{_fmt(c['delay_suspected_s']['median'])}/{_fmt(c['delay_suspected_s']['max'])}"
            alert = f"{_fmt(c['delay_alert_s']['median'])}/{_fmt(c['delay_alert_s']['max'])}"
            lines.append(
                f"{name:6} {source:10} {c['suspected']:>4}/{falls:<4} {c['alerted']:>3}/{falls:<3} {susp:>13} "
                f"{alert:>14} {len(c['adl_suspected']):>3}/{adl:<4} {len(c['adl_alerted']):>4}/{adl:<4}"
            )
            for key, what in (
                ("not_suspected", "falls not suspected"),
                ("not_alerted", "falls not alerted"),
                ("suspected_early", "suspected before the onset"),
                ("adl_suspected", "ADL suspected"),
                ("adl_alerted", "ADL alerted"),
            ):
                if c[key]:
                    notes.append(f"  {name}, {source}, {what}: {', '.join(c[key])}")
            daily_open = [f"{clip} ({'/'.join(states)})" for clip, states in c["adl_open_at_end"].items()]
            if c["open_at_end"]:
                notes.append(f"  {name}, {source}, fall clips ending with an episode open: {len(c['open_at_end'])}")
            if daily_open:
                notes.append(f"  {name}, {source}, ADL still open at the end: {', '.join(daily_open)}")
    return "\n".join(lines + notes)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def event_clips(args: argparse.Namespace, trained: dict[str, Any], rate_hz: float) -> list[Clip]:
    """The clips --events replays: of the video sources --sources keeps, the held-back subjects' (the
    test_subjects metrics.json records) or, with --all-clips, all. Raises DatasetError naming a video
    that is not in the pose cache, ValueError when the model does not record its test subjects."""
    from edge.config import load_config
    from edge.training.pose_cache import VideoPose
    from edge.training.replay import EVENT_SOURCES, video_clips

    kept = args.sources.split(",") if args.sources else EVENT_SOURCES
    sources = [s for s in EVENT_SOURCES if s in kept]
    subjects = None if args.all_clips else trained.get("split", {}).get("test_subjects")
    if not args.all_clips and subjects is None:
        raise ValueError(f"{args.model}: metrics.json does not record the split's test_subjects; use --all-clips")
    pose = VideoPose(load_config(None).pose, Path(args.pose_cache).expanduser(), rate_hz, cached_only=True)
    loaded = video_clips(Path(args.data), sources, pose)
    for skip in loaded.skipped:
        print(f"fallwatch evaluate --events: {skip}", file=sys.stderr)
    return [c for c in loaded.clips if subjects is None or c.subject in subjects]


def events_section(args: argparse.Namespace, clips: list[Clip]) -> dict[str, Any]:
    """Replay `clips` as is and held (edge.training.replay); the report's "events" section (JSON-ready)."""
    import dataclasses
    import logging

    from tqdm import tqdm

    from edge.config import EventsConfig
    from edge.training.evaluate import events_report
    from edge.training.replay import load_model, modes, replay_clips

    logging.getLogger("edge.pipeline").setLevel(logging.WARNING)  # every event is in the table, not the log
    model = load_model(Path(args.model))
    replays = modes(args.hold_s, args.set, args.slower)
    started = time.monotonic()
    with tqdm(total=len(clips), unit="clip", desc="replay", file=sys.stderr) as bar:
        results = replay_clips(clips, model, replays, on_clip=lambda _: bar.update(1))
    shipped = EventsConfig()
    return {
        "model": str(model.path),
        "which": "all" if args.all_clips else "held-back",
        "clips": len(clips),
        "hold_s": args.hold_s,
        "confirm_s": shipped.confirm_s,
        "recover_s": shipped.recover_s,
        "seconds": round(time.monotonic() - started, 1),
        "modes": {
            mode.name: {
                "hold_s": mode.hold_s,
                "overrides": list(mode.overrides),
                "sources": events_report(results[mode.name]),
                "per_clip": [dataclasses.asdict(r) for r in results[mode.name]],
            }
            for mode in replays
        },
    }


def loso_clips(args: argparse.Namespace, rate_hz: float) -> Callable[[str], list[Clip]]:
    """clips_of(source) for --loso: a video source's clips from the pose cache (never running pose), a
    keypoint source's from its files (edge.training.replay.video_clips does both); what an adapter
    skipped is printed."""
    from edge.config import load_config
    from edge.training.pose_cache import VideoPose
    from edge.training.replay import video_clips

    pose = VideoPose(load_config(None).pose, Path(args.pose_cache).expanduser(), rate_hz, cached_only=True)

    def clips_of(source: str) -> list[Clip]:
        loaded = video_clips(Path(args.data), [source], pose)
        for skip in loaded.skipped:
            print(f"fallwatch evaluate --loso: {skip}", file=sys.stderr)
        return loaded.clips

    return clips_of


def loso_main(args: argparse.Namespace) -> int:
    """--loso: the leave-one-source-out table (edge/training/loso.py)."""
    import logging

    from edge.files import write_atomic
    from edge.training.augment import check_augmentations
    from edge.training.datasets import check_sources
    from edge.training.loso import LOSO_SOURCES, loso, loso_table, summarise
    from edge.training.replay import modes
    from edge.training.train import TrainOptions
    from edge.training.windowset import load_windowset, variant_config

    sources = check_sources([s for s in args.loso_sources.split(",") if s] or list(LOSO_SOURCES))
    augment = check_augmentations([a for a in args.augment.split(",") if a])
    seeds = [int(s) for s in args.seeds.split(",") if s]
    opts = TrainOptions(preset=args.preset, epochs=args.epochs, augment=augment, fall_weight=args.fall_weight)
    set_threads(args.threads)
    windows = load_windowset(Path(args.dataset))
    opts = dataclasses.replace(opts, feature_config=variant_config(windows.feature_config, **feature_changes(args)))
    logging.getLogger("edge.pipeline").setLevel(logging.WARNING)
    clips_of = loso_clips(args, windows.feature_config.rate_hz)
    started = time.monotonic()

    def progress(run: dict[str, Any]) -> None:
        held = run["modes"]["held"]
        print(
            f"loso {run['source']} seed {run['seed']}: held falls alerted {held['alerted']}/{held['fall_clips']}, "
            f"daily alerted {held['adl_alerted']}/{held['adl_clips']} ({time.monotonic() - started:.0f} s)",
            file=sys.stderr,
        )

    runs = loso(windows, sources, opts, seeds, clips_of, modes(args.hold_s, args.set, args.slower), on_run=progress)
    summary = summarise(runs)
    print(loso_table(summary))
    if args.out:
        options = {
            k: getattr(args, k)
            for k in ("dataset", "loso_sources", "preset", "seeds", "epochs", "augment", "fall_weight")
        }
        options["feature_config"] = opts.feature_config.to_dict() if opts.feature_config else None
        replay = {"hold_s": args.hold_s, "slower": args.slower, "set": args.set}
        report = {"command": " ".join(sys.argv), "options": {**options, **replay},
                  "summary": summary, "runs": runs}  # fmt: skip
        write_atomic(args.out, (json.dumps(report, indent=2, default=str) + "\n").encode())
    return 0


def replay_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the replay's --hold-s / --slower (--events and --loso), or None."""
    if args.hold_s <= 0:
        return f"--hold-s {args.hold_s}: must be > 0"
    if args.slower < 1:
        return f"--slower {args.slower}: must be >= 1"
    return None


def main(args: argparse.Namespace) -> int:
    problem = replay_problem(args) if args.loso or args.events else None
    if problem:
        print(f"fallwatch evaluate: {problem}", file=sys.stderr)
        return 2
    if args.loso:
        try:
            return loso_main(args)
        except ValueError as exc:  # DatasetError included: a source unknown, a video not in the pose cache
            print(f"fallwatch evaluate: {exc}", file=sys.stderr)
            return 2
    if not args.model:
        print("fallwatch evaluate: --model is required (or --loso)", file=sys.stderr)
        return 2
    import numpy as np

    from edge.features import FeatureConfig
    from edge.files import write_atomic
    from edge.training.clips import DatasetError
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
    trained = json.loads((model_dir / METRICS_FILE).read_text()) if (model_dir / METRICS_FILE).is_file() else {}
    clips: list[Clip] = []
    if args.events:  # before the windows: a video missing from the pose cache stops it at once
        try:
            clips = event_clips(args, trained, cfg.rate_hz)
        except (DatasetError, ValueError) as exc:
            print(f"fallwatch evaluate: {exc}", file=sys.stderr)
            return 2
    set_threads(args.threads)  # TensorFlow from here on
    windows = load_windowset(Path(args.dataset))
    if (cfg.window_frames, cfg.rate_hz) != (windows.feature_config.window_frames, windows.feature_config.rate_hz):
        print(f"fallwatch evaluate: {args.dataset} windows do not match {model_dir / FEATURES_FILE}", file=sys.stderr)
        return 2
    rows = np.ones(len(windows), bool)
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
    if args.events:
        report["events"] = events_section(args, clips)
        print(events_text(report["events"]))
    if args.out:
        write_atomic(args.out, (json.dumps(report, indent=2) + "\n").encode())
    return 0
