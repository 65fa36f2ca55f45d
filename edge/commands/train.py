"""`fallwatch train`: train a classifier preset on the dataset file, evaluate it on held-back subjects, save it.

    fallwatch train --dataset cache/dataset.npz --preset gru8-dense --out runs/gru8-dense
    fallwatch train --cross-source gmdcsa24 --out runs/cross   # train without GMDCSA24, test on all of it

Writes into --out: fallwatch.keras, features.json (the feature config the runtime must use),
metrics.json, curves.png, confusion.png.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT_DATASET = "cache/dataset.npz"
DEFAULT_OUT = "runs/train"
DEFAULT_DATA = os.environ.get("FALLWATCH_DATA", "../shared/data")
DEFAULT_POSE_CACHE = "~/.cache/fallwatch/pose"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from edge.training.presets import PRESETS
    from edge.training.train import TrainOptions

    d = TrainOptions()
    parser.add_argument("--dataset", default=DEFAULT_DATASET, help=f"training file (default {DEFAULT_DATASET})")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--preset", default=d.preset, choices=PRESETS, help=f"model preset (default {d.preset})")
    parser.add_argument("--seed", type=int, default=d.seed, help="seed for split, weights, shuffling")
    parser.add_argument("--epochs", type=int, default=d.epochs, help=f"most epochs (default {d.epochs})")
    parser.add_argument("--batch-size", type=int, default=d.batch_size)
    parser.add_argument("--learning-rate", type=float, default=d.learning_rate)
    parser.add_argument("--patience", type=int, default=d.patience, help="early-stopping patience in epochs")
    parser.add_argument("--no-flip", action="store_true", help="no horizontal-flip augmentation")
    parser.add_argument(
        "--augment",
        default="",
        help="comma-separated augmentations, one copy each (edge/training/augment.py: stretch, rotate, "
        "perspective, distance, occlusion, gaps, jitter)",
    )
    parser.add_argument("--val-fraction", type=float, default=d.val_fraction, help="fraction of subjects")
    parser.add_argument("--test-subject", default=d.test_subject, help="held-back GMDCSA24 subject (default 2)")
    parser.add_argument("--fold", type=int, default=d.fold, help="which fifth of other subjects is held back (0-4)")
    parser.add_argument("--cross-source", default=None, help="train without this source and test on all of it")
    parser.add_argument(
        "--exclude-sources",
        default=",".join(d.exclude_sources),
        help=f"comma-separated sources not to train on (default {','.join(d.exclude_sources)}: it would leak, see "
        "edge/training/train.py; '' for none)",
    )
    parser.add_argument(
        "--early-windows",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="add training windows that end before each clip's first full window (edge/training/early.py); "
        "needs --data and, for videos, the pose cache",
    )
    parser.add_argument("--data", default=DEFAULT_DATA, help=f"the shared data folder (default {DEFAULT_DATA})")
    parser.add_argument("--pose-cache", default=DEFAULT_POSE_CACHE, help=f"pose cache (default {DEFAULT_POSE_CACHE})")
    parser.add_argument("--fall-weight", type=float, default=d.fall_weight, help="multiplies the fall class weight")
    add_feature_variant(parser)
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow CPU threads (default 2)")
    parser.add_argument("--config", default=None, help="TOML config whose [notify] channels --notify uses")
    parser.add_argument("--notify", action="store_true", help="send 'training finished' with the headline metrics")
    parser.add_argument("--progress", action="store_true", help="print Keras' per-epoch lines")


def add_feature_variant(parser: argparse.ArgumentParser) -> None:
    """The feature-variant flags (FeatureConfig fields), shared by `train` and `evaluate --loso`."""
    variant = parser.add_argument_group("feature variant (default: the dataset's feature config)")
    variant.add_argument("--joints", default=None, help="comma-separated canonical joints, or 'all'")
    variant.add_argument("--velocity", action=argparse.BooleanOptionalAction, default=None)
    variant.add_argument("--acceleration", action=argparse.BooleanOptionalAction, default=None)
    variant.add_argument("--unit-bones", action=argparse.BooleanOptionalAction, default=None)
    variant.add_argument(
        "--trunk", action=argparse.BooleanOptionalAction, default=None, help="the trunk's drop and tilt per frame"
    )


def feature_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The feature-variant flags that were given, as FeatureConfig field changes."""
    changes: dict[str, Any] = {}
    if args.joints:
        changes["joints"] = ("all",) if args.joints == "all" else tuple(j.strip() for j in args.joints.split(","))
    for name in ("velocity", "acceleration", "unit_bones", "trunk"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    return changes


def headline(metrics: dict[str, Any]) -> str:
    """A few lines: held-back window accuracy and fall F1, and the clip results per source."""
    test = metrics["test"]
    lines = [
        f"{metrics['preset']} seed {metrics['seed']} ({metrics['parameters']} parameters, "
        f"{metrics['epochs_run']} epochs, {metrics['train_seconds']} s): held-back windows {test['windows']['windows']}, "
        f"set accuracy {_fmt(test['windows']['set_accuracy'])}, fall F1 {_fmt(test['windows']['fall_f1'])}"
    ]
    for source, clips in test["clips"].items():
        lines.append(
            f"  {source}: falls detected {clips['falls_detected']}/{clips['fall_clips']}, "
            f"daily-activity clips with an alarm {clips['adl_clips_with_alarm']}/{clips['adl_clips']}, "
            f"median delay {_fmt(clips['delay_s_median'])} s"
        )
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def set_threads(threads: int) -> None:
    """Limit TensorFlow to `threads` CPU threads (call before TensorFlow runs anything)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf  # heavy: imported on use

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def notify(config_path: str | None, title: str, body: str) -> None:
    """Send title/body through the configured channels, or say plainly that there are none."""
    from edge.alerts.notify import send_message
    from edge.config import load_config

    results = send_message(load_config(config_path).notify, title, body)
    if not results:
        print("fallwatch train: no notification channel configured (notify.urls or FALLWATCH_NOTIFY_URLS)")
    for channel, ok in results.items():
        print(f"fallwatch train: notification to {channel}: {'sent' if ok else 'FAILED'}")


def main(args: argparse.Namespace) -> int:
    set_threads(args.threads)
    from edge.training.augment import check_augmentations
    from edge.training.train import TrainOptions, save_run, train
    from edge.training.windowset import load_windowset, variant_config

    windows = load_windowset(Path(args.dataset))
    early = None
    if args.early_windows:
        from edge.training.early import load_early_windows
        from edge.training.windowset import from_windows

        if not Path(args.data).is_dir():
            raise FileNotFoundError(f"data folder {args.data} not found (pass --data, or --no-early-windows)")
        sources = sorted(set(windows.sources.tolist()))
        made = load_early_windows(Path(args.data), sources, windows.feature_config, Path(args.pose_cache).expanduser())
        early = from_windows(made, windows.feature_config)
    try:
        cfg = variant_config(windows.feature_config, **feature_changes(args))
        opts = TrainOptions(
            preset=args.preset,
            seed=args.seed,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            patience=args.patience,
            flip=not args.no_flip,
            val_fraction=args.val_fraction,
            test_subject=args.test_subject,
            fold=args.fold,
            cross_source=args.cross_source,
            exclude_sources=tuple(s for s in args.exclude_sources.split(",") if s),
            feature_config=cfg,
            fall_weight=args.fall_weight,
            augment=check_augmentations([a for a in args.augment.split(",") if a]),
        )
        result = train(windows, opts, verbose=2 if args.progress else 0, early=early)
    except ValueError as exc:
        print(f"fallwatch train: {exc}", file=sys.stderr)
        return 2
    result.metrics["dataset"] = str(args.dataset)
    result.metrics["command"] = "fallwatch train " + " ".join(sys.argv[2:] if len(sys.argv) > 2 else [])
    save_run(result, Path(args.out))
    summary = headline(result.metrics)
    print(summary)
    print(
        f"fallwatch train: wrote {args.out}/ (fallwatch.keras, features.json, metrics.json, curves.png, confusion.png)"
    )
    if args.notify:
        notify(args.config, "FallWatch training finished", summary)
    return 0
