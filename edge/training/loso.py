"""Leave-one-source-out: train without source S, replay S's clips through the product's whole fall rule.

    runs = loso(windows, ["gmdcsa24", "kingston_openpose"], TrainOptions(preset="gru16-dense32"), [0, 1, 2],
                clips_of, modes(15.0))
    print(loso_table(summarise(runs)))

For every held-out source S and seed: a model is trained on the dataset without S (and without the
sources that hold the same recordings, SIBLINGS), exported to ONNX, and S's clips (edge.training.clips.Clip:
video sources from the pose cache, keypoint sources from their files) are replayed with
edge.training.replay.replay_clips in each mode given ("as is", "held", and with modes(..., slower=K) "held,
Kx slower": sinking falls). Per source and mode: fall clips suspected and
alerted, fall clips with a fall_suspected before the onset (HQFSD's long recordings: daily activity
first), daily-activity clips that raised fall_suspected / fall_alert, onset -> fall_suspected delay.
A source the dataset does not hold is replayed with the model trained on the whole dataset (its split).
Summaries are the mean and standard deviation over seeds: training on this little data is fragile.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edge.features import FeatureConfig
from edge.files import write_atomic
from edge.training.clips import Clip
from edge.training.evaluate import events_report
from edge.training.replay import Mode, load_model, replay_clips
from edge.training.train import FEATURES_FILE, TrainOptions, train
from edge.training.windowset import WindowSet

# Sources holding the same recordings: never train on one while holding out another.
SIBLINGS: dict[str, tuple[str, ...]] = {
    "urfd_video": ("urfd_alphapose", "md4fd_urfd"),
    "urfd_alphapose": ("urfd_video", "md4fd_urfd"),
    "md4fd_urfd": ("urfd_video", "urfd_alphapose"),
}
# The sources replayed by default: every source with fall videos or recordings, and with daily activity.
LOSO_SOURCES = (
    "gmdcsa24",
    "le2i",
    "urfd_video",
    "upfall",
    "phone_falls",
    "hqfsd_openpose",
    "kingston_openpose",
)
COUNTS = ("suspected", "alerted", "early", "adl_suspected", "adl_alerted")


def held_out_options(opts: TrainOptions, source: str, windows: WindowSet) -> TrainOptions:
    """Training options for the run that holds out `source` (None as cross_source when it has no windows)."""
    present = source in set(windows.sources.tolist())
    exclude = tuple(dict.fromkeys((*opts.exclude_sources, *SIBLINGS.get(source, ()))))
    return dataclasses.replace(opts, cross_source=source if present else None, exclude_sources=exclude)


def replay_model(proto: Any, features: FeatureConfig, folder: Path) -> Any:
    """An exported classifier (ONNX `proto`, its FeatureConfig `features`) as fallwatch.onnx +
    features.json in `folder`, loaded for replay."""
    from edge.training.export import save_onnx
    from edge.training.replay import ONNX_FILE

    save_onnx(proto, folder / ONNX_FILE)
    write_atomic(folder / FEATURES_FILE, json.dumps(features.to_dict()).encode())
    return load_model(folder)


def loso(
    windows: WindowSet,
    sources: Sequence[str],
    opts: TrainOptions,
    seeds: Sequence[int],
    clips_of: Callable[[str], list[Clip]],
    replays: Sequence[Mode],
    on_run: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """One run per (held-out source, seed): {"source", "seed", "window_fall_f1", "modes": {mode: counts}}.

    clips_of(source): the clips to replay. on_run(run) is called after each run (progress, saving).
    Models for sources the dataset lacks are trained once per seed and shared.
    """
    clips = {source: clips_of(source) for source in sources}
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="fallwatch-loso-") as tmp:
        models: dict[tuple[int, str, tuple[str, ...]], tuple[Any, float | None]] = {}
        for seed in seeds:
            for source in sources:
                run_opts = held_out_options(dataclasses.replace(opts, seed=seed), source, windows)
                key = (seed, run_opts.cross_source or "", run_opts.exclude_sources)
                if key not in models:
                    models[key] = _trained(windows, run_opts, Path(tmp) / str(len(models)))
                model, f1 = models[key]
                results = replay_clips(clips[source], model, replays)
                run = {
                    "source": source,
                    "seed": seed,
                    "trained_without_it": run_opts.cross_source is not None,
                    "window_fall_f1": f1,
                    "modes": {name: _counts(events_report(r).get(source)) for name, r in results.items()},
                }
                runs.append(run)
                if on_run is not None:
                    on_run(run)
    return runs


def _trained(windows: WindowSet, opts: TrainOptions, folder: Path) -> tuple[Any, float | None]:
    """A model trained with `opts`, ready for replay, and the window fall F1 on its held-out source."""
    from edge.training.export import keras_to_onnx

    result = train(windows, opts)
    folder.mkdir()
    f1 = result.metrics["test"]["per_source"].get(opts.cross_source or "", {}).get("fall_f1")
    return replay_model(keras_to_onnx(result.model), result.feature_config, folder), f1


def _counts(report: dict[str, Any] | None) -> dict[str, Any]:
    """The numbers one run keeps for one source and mode (from edge.training.evaluate.events_report)."""
    if report is None:
        return {"fall_clips": 0, "adl_clips": 0, **dict.fromkeys(COUNTS, 0), "delay_suspected_s": None}
    return {
        "fall_clips": report["fall_clips"],
        "adl_clips": report["adl_clips"],
        "suspected": report["suspected"],
        "alerted": report["alerted"],
        "early": len(report["suspected_early"]),
        "adl_suspected": len(report["adl_suspected"]),
        "adl_alerted": len(report["adl_alerted"]),
        "delay_suspected_s": report["delay_suspected_s"]["median"],
        "missed": report["not_alerted"],
        "adl_alarmed": report["adl_alerted"],
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """{mode: {source: {count: (mean, std) over seeds, "fall_clips", "adl_clips", "seeds", "delay"}}}."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for run in runs:
        for mode, counts in run["modes"].items():
            row = out.setdefault(mode, {}).setdefault(
                run["source"],
                {"fall_clips": counts["fall_clips"], "adl_clips": counts["adl_clips"], "values": []},
            )
            row["values"].append(counts)
    for rows in out.values():
        for row in rows.values():
            values = row.pop("values")
            row["seeds"] = len(values)
            for key in COUNTS:
                column = np.array([v[key] for v in values], float)
                row[key] = (float(column.mean()), float(column.std()))
            delays = [v["delay_suspected_s"] for v in values if v["delay_suspected_s"] is not None]
            row["delay_suspected_s"] = float(np.median(delays)) if delays else None
    return out


def _cell(value: tuple[float, float], total: int) -> str:
    mean, std = value
    return f"{mean:.1f} ± {std:.1f} / {total}" if total else "—"


def loso_table(summary: dict[str, dict[str, dict[str, Any]]]) -> str:
    """A markdown table: per mode and held-out source, the counts (mean ± std over seeds / clips)."""
    lines = [
        "| mode | held-out source | seeds | falls suspected | falls alerted | fall clips alarmed before the onset "
        "| daily clips suspected | daily clips alerted | onset -> suspected, median s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, rows in summary.items():
        for source, row in rows.items():
            falls, adl = row["fall_clips"], row["adl_clips"]
            delay = "—" if row["delay_suspected_s"] is None else f"{row['delay_suspected_s']:.2f}"
            lines.append(
                f"| {mode} | {source} | {row['seeds']} | {_cell(row['suspected'], falls)} | "
                f"{_cell(row['alerted'], falls)} | {_cell(row['early'], falls)} | "
                f"{_cell(row['adl_suspected'], adl)} | {_cell(row['adl_alerted'], adl)} | {delay} |"
            )
    return "\n".join(lines)
