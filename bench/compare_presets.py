"""Compare classifier presets and feature variants over several seeds: held-back accuracy/F1 (mean ± spread),
clip-level falls caught and false alarms, parameters, per-window Keras latency. Writes a markdown table.

    nice .venv/bin/python bench/compare_presets.py --dataset cache/dataset.npz --seeds 0,1,2 \\
        --out bench/results/compare_presets.md

Every run uses edge.training.train.train with the same options as `fallwatch train` (the split's test
subjects are fixed; the seed changes the validation subjects, initial weights and shuffling). Rows:
every preset with the dataset's feature config, then every feature variant with --variant-preset.
Each finished run is appended to <out>.jsonl, so an interrupted comparison keeps what it measured
(--resume skips runs already there).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.commands.train import set_threads
from edge.training.presets import PRESETS

VARIANTS: dict[str, dict[str, Any]] = {
    "bones": {"velocity": False, "acceleration": False, "unit_bones": False},
    "bones+vel": {"velocity": True, "acceleration": False, "unit_bones": False},
    "bones+vel+acc": {"velocity": True, "acceleration": True, "unit_bones": False},
    "unit-bones+vel": {"velocity": True, "acceleration": False, "unit_bones": True},
    "all-joints+vel": {"velocity": True, "acceleration": False, "unit_bones": False, "joints": ("all",)},
    "bones+vel+early": {"velocity": True, "acceleration": False, "unit_bones": False},
}
EARLY_VARIANT = "bones+vel+early"  # adds edge/training/early.py windows to training (fallwatch train --early-windows)
DEFAULT_VARIANT = "bones+vel"
CLIP_SOURCES = ("gmdcsa24", "urfd_video")


def keras_latency_ms(model: Any, x: np.ndarray, repeats: int = 30) -> float:
    """Median milliseconds of one model(x) call, traced once with tf.function, on a batch of one window.

    (Eager model(x) costs hundreds of ms per call here, and model.predict tens: both are dominated by
    Python/TensorFlow overhead, not by the model; bench/classifier.py compares the runtimes.)
    """
    import tensorflow as tf  # heavy: imported on use

    @tf.function(autograph=False)
    def call(batch: Any) -> Any:
        return model(batch, training=False)

    one = tf.constant(x[:1])
    for _ in range(3):
        call(one)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        np.asarray(call(one))
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def one_run(
    windows: Any,
    preset: str,
    variant: str,
    seed: int,
    epochs: int,
    measure_latency: bool,
    cache: dict,
    early: Any = None,
) -> dict[str, Any]:
    """Train one (preset, variant, seed) and return its row of numbers (cache: features shared by runs)."""
    from edge.training.train import TrainOptions, train
    from edge.training.windowset import features, variant_config

    cfg = variant_config(windows.feature_config, **VARIANTS[variant])
    opts = TrainOptions(preset=preset, seed=seed, epochs=epochs, feature_config=cfg)
    result = train(windows, opts, cache=cache, early=early if variant == EARLY_VARIANT else None)
    test = result.metrics["test"]
    row: dict[str, Any] = {
        "preset": preset,
        "variant": variant,
        "seed": seed,
        "parameters": result.metrics["parameters"],
        "features": cfg.num_features,
        "epochs_run": result.metrics["epochs_run"],
        "train_seconds": result.metrics["train_seconds"],
        "set_accuracy": test["windows"]["set_accuracy"],
        "fall_f1": test["windows"]["fall_f1"],
        "clips": {s: test["clips"][s] for s in CLIP_SOURCES if s in test["clips"]},
    }
    if measure_latency:
        row["keras_ms"] = keras_latency_ms(result.model, features(windows.subset(np.arange(1)), cfg))
    return row


def _mean_spread(values: list[float | None]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {spread:.3f}"


def _clip_cell(rows: list[dict[str, Any]], source: str) -> str:
    """'falls caught / ADL clips alarmed' summed over seeds, e.g. '17/18 · 2/15'."""
    have = [r["clips"][source] for r in rows if source in r["clips"]]
    if not have:
        return "n/a"
    caught = sum(c["falls_detected"] for c in have)
    falls = sum(c["fall_clips"] for c in have)
    alarmed = sum(c["adl_clips_with_alarm"] for c in have)
    adl = sum(c["adl_clips"] for c in have)
    return f"{caught}/{falls} · {alarmed}/{adl}"


def table(rows: list[dict[str, Any]], command: str) -> str:
    """The markdown table: one line per (preset, variant), numbers over its seeds."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["preset"], row["variant"]), []).append(row)
    lines = [
        f"Command: `{command}`",
        "",
        "| preset | features | seeds | params | set accuracy | fall F1 | GMDCSA24 falls · ADL alarmed | "
        "UR Fall video falls · ADL alarmed | Keras tf.function ms | train s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (preset, variant), runs in groups.items():
        latency = [r["keras_ms"] for r in runs if "keras_ms" in r]
        lines.append(
            f"| {preset} | {variant} ({runs[0]['features']}) | {len(runs)} | {runs[0]['parameters']} | "
            f"{_mean_spread([r['set_accuracy'] for r in runs])} | {_mean_spread([r['fall_f1'] for r in runs])} | "
            f"{_clip_cell(runs, 'gmdcsa24')} | {_clip_cell(runs, 'urfd_video')} | "
            f"{f'{latency[0]:.2f}' if latency else 'n/a'} | {statistics.mean(r['train_seconds'] for r in runs):.0f} |"
        )
    lines += [
        "",
        "Held-back windows (test subjects: GMDCSA24 subject 2, a fixed fifth of the other recordings). "
        "Mean ± sample standard deviation over seeds. Clip columns: falls detected / fall clips and "
        "daily-activity clips with any alarm / daily-activity clips, summed over seeds "
        "(decision rule: edge/training/evaluate.py). Keras latency: model(x) under tf.function, batch 1, median of 30 calls, first seed.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cache/dataset.npz")
    parser.add_argument("--out", default="bench/results/compare_presets.md")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--presets", default=",".join(PRESETS), help="presets with the dataset's feature config")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="feature variants for --variant-preset")
    parser.add_argument("--variant-preset", default="gru8-dense")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resume", action="store_true", help="skip runs already in <out>.jsonl")
    parser.add_argument("--data", default="../shared/data", help="shared data folder (for early windows)")
    parser.add_argument("--pose-cache", default="~/.cache/fallwatch/pose", help="pose cache (for early windows)")
    args = parser.parse_args()
    set_threads(args.threads)
    from edge.training.windowset import load_windowset

    windows = load_windowset(Path(args.dataset))
    seeds = [int(s) for s in args.seeds.split(",")]
    early = None
    if EARLY_VARIANT in args.variants.split(","):
        from edge.training.early import load_early_windows
        from edge.training.windowset import from_windows

        sources = sorted(set(windows.sources.tolist()))
        made = load_early_windows(Path(args.data), sources, windows.feature_config, Path(args.pose_cache).expanduser())
        early = from_windows(made, windows.feature_config)
    jobs = [(p, DEFAULT_VARIANT) for p in args.presets.split(",") if p]
    jobs += [(args.variant_preset, v) for v in args.variants.split(",") if v and v != DEFAULT_VARIANT]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log = out.with_suffix(".jsonl")
    rows = [json.loads(line) for line in log.read_text().splitlines()] if args.resume and log.is_file() else []
    if not args.resume:
        log.write_text("")
    done = {(r["preset"], r["variant"], r["seed"]) for r in rows}
    cache: dict = {}
    command = "nice .venv/bin/python bench/compare_presets.py " + " ".join(sys.argv[1:])
    for preset, variant in jobs:
        if variant not in (DEFAULT_VARIANT, EARLY_VARIANT):
            cache.clear()  # one feature variant's arrays at a time (the default's are reused by every preset)
        for i, seed in enumerate(seeds):
            if (preset, variant, seed) in done:
                continue
            row = one_run(windows, preset, variant, seed, args.epochs, i == 0, cache, early)
            rows.append(row)
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(
                f"{preset} {variant} seed {seed}: set acc {row['set_accuracy']:.3f}, fall F1 {row['fall_f1']}, "
                f"{row['train_seconds']:.0f} s",
                flush=True,
            )
            out.write_text(table(rows, command))
    print(table(rows, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
