"""Leave-one-source-out on real keypoint sources: the held-out source is never trained on (nor the
sources holding the same recordings), its clips go through the product's alarm, seeds are summarised."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge.features import FeatureConfig
from edge.training.dataset_build import build_windows, write_dataset
from edge.training.datasets import load_clips
from edge.training.loso import held_out_options, loso, loso_table, summarise
from edge.training.train import TrainOptions
from edge.training.windowset import WindowSet, from_windows

pytest.importorskip("keras", reason="training needs TensorFlow/Keras: pip install 'fallwatch[train]'")
pytestmark = pytest.mark.filterwarnings("ignore:The structure of `inputs`:UserWarning")

CFG = FeatureConfig()


@pytest.fixture(scope="module")
def windows(shared_data: Path) -> WindowSet:
    loaded = load_clips(shared_data, ["urfd_alphapose", "md4fd_urfd", "movenet_gru"])
    return from_windows(build_windows(loaded.clips, CFG).windows, CFG)


def test_held_out_source_and_its_siblings_are_not_trained_on(windows: WindowSet) -> None:
    opts = held_out_options(TrainOptions(exclude_sources=()), "urfd_alphapose", windows)
    assert opts.cross_source == "urfd_alphapose"
    assert set(opts.exclude_sources) == {"urfd_video", "md4fd_urfd"}  # the same UR Fall recordings
    absent = held_out_options(TrainOptions(), "kingston_openpose", windows)
    assert absent.cross_source is None and absent.exclude_sources == ("md4fd_urfd",)


def test_loso_trains_without_the_source_and_replays_its_clips(shared_data: Path, windows: WindowSet) -> None:
    from edge.training.replay import modes

    clips = [c for c in load_clips(shared_data, ["movenet_gru"]).clips if c.clip_id.endswith(("00", "01", "30"))]
    kinds = sorted(c.kind for c in clips)
    assert kinds == ["adl", "fall", "fall"]
    seen = []
    opts = TrainOptions(preset="gru8-dense", epochs=1, val_fraction=0.2)
    runs = loso(windows, ["movenet_gru"], opts, [0, 1], lambda source: clips, modes(2.0), on_run=seen.append)
    assert [r["seed"] for r in runs] == [0, 1] and seen == runs
    for run in runs:
        assert run["source"] == "movenet_gru" and run["trained_without_it"]
        for counts in run["modes"].values():
            assert counts["fall_clips"] == 2 and counts["adl_clips"] == 1
            assert counts["alerted"] <= counts["fall_clips"] and counts["adl_alerted"] <= counts["adl_clips"]
    summary = summarise(runs)
    assert set(summary) == {"as is", "held"} and summary["held"]["movenet_gru"]["seeds"] == 2
    table = loso_table(summary)
    assert "| held | movenet_gru | 2 |" in table and "/ 2 |" in table


def test_summary_is_the_mean_and_spread_over_seeds() -> None:
    def run(seed: int, alerted: int, adl: int) -> dict:
        counts = {"fall_clips": 6, "adl_clips": 5, "suspected": 6, "alerted": alerted, "early": 0,
                  "adl_suspected": adl, "adl_alerted": adl, "delay_suspected_s": 0.5 + seed}  # fmt: skip
        return {"source": "s", "seed": seed, "modes": {"held": counts}}

    row = summarise([run(0, 6, 0), run(1, 4, 2), run(2, 5, 1)])["held"]["s"]
    assert row["alerted"] == pytest.approx((5.0, np.std([6, 4, 5])))
    assert row["adl_alerted"] == pytest.approx((1.0, np.std([0, 2, 1])))
    assert row["delay_suspected_s"] == pytest.approx(1.5)
    assert "5.0 ± 0.8 / 6" in loso_table({"held": {"s": row}})


def test_evaluate_loso_also_replays_each_held_out_clip_played_slower(shared_data: Path, tmp_path: Path) -> None:
    """--loso --slower K: the cross-source table gains the sinking-falls replay, each clip K times slower.
    (A process of its own: TensorFlow's thread pools are fixed once another test has trained.)"""
    loaded = load_clips(shared_data, ["urfd_alphapose", "movenet_gru"])
    write_dataset(tmp_path / "windows.npz", build_windows(loaded.clips, CFG).windows, CFG, {})
    args = [sys.executable, "-m", "edge.cli", "evaluate", "--loso", "--dataset", str(tmp_path / "windows.npz"),
            "--loso-sources", "urfd_alphapose", "--data", str(shared_data), "--preset", "gru8-dense", "--seeds", "0",
            "--epochs", "1", "--hold-s", "2", "--threads", "1"]  # fmt: skip
    done = subprocess.run(
        [*args, "--slower", "2", "--out", str(tmp_path / "loso.json")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "loso.json").read_text())
    assert report["options"]["slower"] == 2
    (run,) = report["runs"]
    assert list(run["modes"]) == ["as is", "held", "held, 2x slower"]
    assert run["modes"]["held, 2x slower"]["fall_clips"] == run["modes"]["held"]["fall_clips"] > 0
    assert "| held, 2x slower | urfd_alphapose | 1 |" in done.stdout
    refused = subprocess.run([*args, "--slower", "0.5"], capture_output=True, text=True)
    assert refused.returncode == 2 and "fallwatch evaluate: --slower 0.5: must be >= 1" in refused.stderr


def test_evaluate_loso_trains_with_the_fall_weight_given(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--fall-weight reaches every fold's training options; 0 is refused before the dataset is read."""
    from edge.cli import main as cli_main

    loaded = load_clips(shared_data, ["urfd_alphapose"])
    write_dataset(tmp_path / "windows.npz", build_windows(loaded.clips, CFG).windows, CFG, {})
    trained_with: list[TrainOptions] = []

    def folds(windows: WindowSet, sources: list[str], opts: TrainOptions, *rest: object, **kw: object) -> list:
        trained_with.append(opts)
        return []

    monkeypatch.setattr("edge.training.loso.loso", folds)
    monkeypatch.setattr("edge.commands.evaluate.set_threads", lambda threads: None)  # TensorFlow may be running
    args = ["evaluate", "--loso", "--loso-sources", "urfd_alphapose", "--data", str(shared_data), "--seeds", "0"]
    assert cli_main([*args, "--dataset", str(tmp_path / "windows.npz"), "--fall-weight", "2.5"]) == 0
    (opts,) = trained_with
    assert opts.fall_weight == 2.5 and opts.feature_config == CFG
    assert cli_main([*args, "--dataset", str(tmp_path / "absent.npz"), "--fall-weight", "0"]) == 2
    assert capsys.readouterr().err.strip().endswith("fallwatch evaluate: fall weight 0.0: must be > 0")
    with pytest.raises(ValueError, match="fall weight -1: must be > 0"):
        TrainOptions(fall_weight=-1)


def test_evaluate_command_needs_a_model_or_loso_and_names_an_unknown_source(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from edge.cli import main as cli_main

    assert cli_main(["evaluate"]) == 2
    assert "--model is required (or --loso)" in capsys.readouterr().err
    assert cli_main(["evaluate", "--loso", "--loso-sources", "gmdcsa24,nowhere"]) == 2
    assert "unknown source(s) ['nowhere']" in capsys.readouterr().err
    assert cli_main(["evaluate", "--loso", "--augment", "tilt"]) == 2
    assert "unknown augmentation(s) ['tilt']" in capsys.readouterr().err
    for replay in ("--loso", "--events"):
        assert cli_main(["evaluate", "--model", "models", replay, "--hold-s", "0"]) == 2
        assert "fallwatch evaluate: --hold-s 0.0: must be > 0" in capsys.readouterr().err
