"""Train one classifier preset on a dataset file, evaluate it on the held-back subjects, save the run.

    windows = load_windowset(Path("cache/dataset.npz"))
    result = train(windows, TrainOptions(preset="gru8-dense", seed=0))
    save_run(result, Path("runs/gru8"))  # fallwatch.keras, features.json, metrics.json, PNGs

Training: Keras, the partial-label loss with balanced class weights (edge.training.loss), Adam,
horizontal-flip augmentation (every training window also mirrored) and optional others
(edge.training.augment), the prototype's callbacks (best
weights on validation loss kept as a checkpoint, early stopping, learning rate halved on a plateau),
a split by subject (edge.training.split), one seed for the split, the initial weights and the shuffling.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.classes import CLASSES, FALL
from edge.features import FeatureConfig
from edge.files import write_via
from edge.training.augment import augment
from edge.training.evaluate import ALARM_THRESHOLD, choose_threshold, clip_report, per_source_f1, window_report
from edge.training.loss import class_weights_from_masks, partial_label_loss, set_accuracy
from edge.training.presets import build_model, import_keras
from edge.training.split import Split, split_windows
from edge.training.windowset import WindowSet, features

log = logging.getLogger(__name__)

MODEL_FILE = "fallwatch.keras"
FEATURES_FILE = "features.json"
METRICS_FILE = "metrics.json"


@dataclass(frozen=True)
class TrainOptions:
    """What to train and how. feature_config None: the dataset's own (its velocity/joints defaults).

    exclude_sources: sources never trained on. By default MD4FD: it re-cuts UR Fall recordings that
    urfd_alphapose and urfd_video already hold, and its daily-activity chains (and 5 of its 16 fall
    chains) cannot be matched to their recording, so training on them would leak into UR Fall test clips.
    fall_weight: multiplies the balanced class weight of `fall` (few windows are definitely falling:
    most fall clips allow fall or lie, which the loss can satisfy with lie alone).
    augment: names in edge.training.augment.AUGMENTATIONS; each adds one augmented copy of the
    training windows it applies to (seeded by `seed`), on keypoints before the feature function.
    """

    preset: str = "gru8-dense"
    seed: int = 0
    epochs: int = 60
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int = 8
    flip: bool = True
    val_fraction: float = 0.15
    test_subject: str = "2"
    fold: int = 0
    cross_source: str | None = None
    exclude_sources: tuple[str, ...] = ("md4fd_urfd",)
    fall_weight: float = 1.0
    augment: tuple[str, ...] = ()
    feature_config: FeatureConfig | None = None

    def __post_init__(self) -> None:
        if not self.fall_weight > 0:  # 0 would train a model that never says fall
            raise ValueError(f"fall weight {self.fall_weight}: must be > 0")


@dataclass
class TrainResult:
    """A trained model (keras.Model, best validation weights), its history and the held-back metrics."""

    model: Any
    options: TrainOptions
    feature_config: FeatureConfig
    split: Split
    history: dict[str, list[float]]
    metrics: dict[str, Any] = field(default_factory=dict)
    test_probs: np.ndarray | None = None


FeatureCache = dict[tuple[str, FeatureConfig, bool], np.ndarray]


def all_features(
    windows: WindowSet, cfg: FeatureConfig, flip: bool, cache: FeatureCache | None, name: str = "main"
) -> np.ndarray:
    """Features (W, T, F) of every window, from `cache` when it holds them (key: name, cfg, flip)."""
    key = (name, cfg, flip)
    if cache is not None and key in cache:
        return cache[key]
    x = features(windows, cfg, flip=flip)
    if cache is not None:
        cache[key] = x
    return x


def train(
    windows: WindowSet,
    opts: TrainOptions,
    checkpoint_dir: Path | None = None,
    verbose: int = 0,
    cache: FeatureCache | None = None,
    early: WindowSet | None = None,
) -> TrainResult:
    """Train opts.preset on `windows` and evaluate it on the test subjects.

    checkpoint_dir: where the best-so-far weights are written (None: a temporary folder).
    cache: features already computed for these windows (several runs on one dataset share it).
    early: extra training-only windows (edge.training.early); those of training subjects are added.
    Raises ValueError when the split leaves no training windows.
    """
    keras = import_keras()
    cfg = opts.feature_config or windows.feature_config
    keep = (
        ~np.isin(windows.sources, list(opts.exclude_sources)) if opts.exclude_sources else np.ones(len(windows), bool)
    )
    split = split_windows(
        windows.sources,
        windows.subjects,
        opts.seed,
        opts.val_fraction,
        opts.test_subject,
        opts.fold,
        opts.cross_source,
    )
    split = Split(train=split.train & keep, val=split.val & keep, test=split.test)
    if not split.train.any():
        raise ValueError("train: no training windows after the split and source exclusions")
    tr, va, te = (windows.subset(rows) for rows in (split.train, split.val, split.test))
    x_all = all_features(windows, cfg, False, cache)
    x_tr = x_all[split.train]
    if opts.flip:
        x_tr = np.concatenate([x_tr, all_features(windows, cfg, True, cache)[split.train]])
    m_tr = np.concatenate([tr.masks] * (2 if opts.flip else 1)).astype(np.float32)
    if early is not None and len(early):
        rows = np.isin(early.subjects, np.unique(tr.subjects)) & ~np.isin(early.sources, list(opts.exclude_sources))
        x_tr = np.concatenate([x_tr, all_features(early, cfg, False, cache, "early")[rows]])
        m_tr = np.concatenate([m_tr, early.masks[rows].astype(np.float32)])
        if opts.flip:
            x_tr = np.concatenate([x_tr, all_features(early, cfg, True, cache, "early")[rows]])
            m_tr = np.concatenate([m_tr, early.masks[rows].astype(np.float32)])
        log.info("added %d early windows of training subjects (x%d with flips)", int(rows.sum()), 1 + opts.flip)
    n_early = int(rows.sum()) if early is not None and len(early) else 0
    if opts.augment:
        kp, src = augment(opts.augment, tr.keypoints, tr.aspect, tr.masks, cfg.rate_hz, opts.seed)
        x_tr = np.concatenate([x_tr, features(dataclasses.replace(tr.subset(src), keypoints=kp), cfg)])
        m_tr = np.concatenate([m_tr, tr.masks[src].astype(np.float32)])
        log.info("added %d augmented windows (%s)", len(src), ",".join(opts.augment))
    x_va, m_va = x_all[split.val], va.masks.astype(np.float32)
    weights = class_weights_from_masks(m_tr)
    weights[FALL] *= opts.fall_weight
    log.info("train %s seed %d: %s windows, class weights %s", opts.preset, opts.seed, split.counts(), weights)

    model = build_model(opts.preset, cfg.window_frames, cfg.num_features, seed=opts.seed)
    model.compile(
        optimizer=keras.optimizers.Adam(opts.learning_rate),
        loss=partial_label_loss(weights),
        metrics=[set_accuracy()],
    )
    monitor = "val_loss" if len(va) else "loss"
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(checkpoint_dir or tmp) / "best.weights.h5"
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        callbacks = [
            keras.callbacks.ModelCheckpoint(str(ckpt), monitor=monitor, save_best_only=True, save_weights_only=True),
            keras.callbacks.EarlyStopping(monitor=monitor, patience=opts.patience),
            keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=max(1, opts.patience // 2)),
        ]
        start = time.monotonic()
        fit = model.fit(
            x_tr,
            m_tr,
            validation_data=(x_va, m_va) if len(va) else None,
            epochs=opts.epochs,
            batch_size=opts.batch_size,
            shuffle=True,
            callbacks=callbacks,
            verbose=verbose,
        )
        seconds = time.monotonic() - start
        if ckpt.is_file():
            model.load_weights(str(ckpt))
    history = {k: [float(v) for v in vals] for k, vals in fit.history.items()}
    result = TrainResult(model, opts, cfg, split, history)
    val_probs = predict(model, x_va) if len(va) else np.zeros((0, len(CLASSES)))
    result.test_probs = predict(model, x_all[split.test]) if len(te) else np.zeros((0, len(CLASSES)))
    threshold = (
        choose_threshold(va.clips, va.end_s, va.fall_onset_s, va.is_fall_clip, val_probs)
        if len(va)
        else ALARM_THRESHOLD
    )
    result.metrics = {
        "preset": opts.preset,
        "seed": opts.seed,
        "parameters": int(model.count_params()),
        "options": {k: v for k, v in dataclasses.asdict(opts).items() if k != "feature_config"},
        "feature_config": cfg.to_dict(),
        "split": {**split.counts(), "early_train": n_early, "test_subjects": sorted(set(te.subjects.tolist()))},
        "class_weights": dict(zip(CLASSES, weights.tolist(), strict=True)),
        "epochs_run": len(history.get("loss", [])),
        "best_val_loss": min(history[monitor]) if history.get(monitor) else None,
        "train_seconds": round(seconds, 1),
        "alarm_threshold": threshold,
        "validation": window_report(va.masks, val_probs),
        "test": evaluate_windows(te, result.test_probs, threshold),
    }
    return result


def predict(model: Any, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Probabilities (N, 5) for features (N, T, F), in batches through model(x) (no predict() overhead)."""
    out = [np.asarray(model(x[i : i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, len(CLASSES)), np.float32)


def evaluate_windows(windows: WindowSet, probs: np.ndarray, threshold: float = ALARM_THRESHOLD) -> dict[str, Any]:
    """All held-back metrics for windows and their probabilities (W, 5): windows, per source, clips per source.

    threshold: the p(fall) alarm threshold of the clip decision rule (edge.training.evaluate.alarm_times).
    """
    clips = {}
    for source in sorted(set(windows.sources.tolist())):
        rows = windows.sources == source
        clips[source] = clip_report(
            windows.clips[rows],
            windows.end_s[rows],
            windows.fall_onset_s[rows],
            windows.is_fall_clip[rows],
            probs[rows],
            threshold,
        )
    return {
        "windows": window_report(windows.masks, probs),
        "per_source": per_source_f1(windows.sources, windows.masks, probs),
        "clips": clips,
    }


def save_run(result: TrainResult, out_dir: Path) -> None:
    """Write fallwatch.keras (uncompiled: loads with plain keras.models.load_model), features.json,
    metrics.json, curves.png and confusion.png into out_dir.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = result.feature_config
    clean = build_model(result.options.preset, cfg.window_frames, cfg.num_features)
    clean.set_weights(result.model.get_weights())
    write_via(out_dir / MODEL_FILE, lambda p: clean.save(str(p)))
    write_via(out_dir / FEATURES_FILE, lambda p: p.write_text(json.dumps(cfg.to_dict(), indent=2) + "\n"))
    write_via(out_dir / METRICS_FILE, lambda p: p.write_text(json.dumps(result.metrics, indent=2) + "\n"))
    _plot_curves(result.history, out_dir / "curves.png")
    _plot_confusion(np.array(result.metrics["test"]["windows"]["confusion"]), out_dir / "confusion.png")


def _plot_curves(history: dict[str, list[float]], path: Path) -> None:
    import matplotlib  # heavy: imported on use

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", "set_accuracy"), strict=True):
        for name in (key, f"val_{key}"):
            if name in history:
                ax.plot(range(1, len(history[name]) + 1), history[name], label=name)
        ax.set_xlabel("epoch")
        ax.set_title(key.replace("_", " "))
        ax.legend()
    fig.tight_layout()
    write_via(path, lambda p: fig.savefig(str(p), dpi=100))
    plt.close(fig)


def _plot_confusion(confusion: np.ndarray, path: Path) -> None:
    import matplotlib  # heavy: imported on use

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.imshow(confusion, cmap="Blues")
    for (r, c), v in np.ndenumerate(confusion):
        ax.text(c, r, str(v), ha="center", va="center", color="black")
    ax.set_xticks(range(len(CLASSES)), CLASSES)
    ax.set_yticks(range(len(CLASSES)), CLASSES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (windows with one allowed class)")
    ax.set_title("held-back windows")
    fig.tight_layout()
    write_via(path, lambda p: fig.savefig(str(p), dpi=100))
    plt.close(fig)
