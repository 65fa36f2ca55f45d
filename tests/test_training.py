"""Training: the partial-label loss, the subject-wise split, the clip decision rule, and a short real training run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.classes import ANY, CLASSES, DAILY_ACTIVITY, FALL, NOT_A_FALL, class_mask
from edge.features import FeatureConfig
from edge.training.dataset_build import build_windows
from edge.training.datasets import load_clips
from edge.training.evaluate import alarm_times, choose_threshold, clip_report, window_report
from edge.training.loss import class_weights_from_masks, partial_label_loss
from edge.training.split import is_test_subject, split_windows
from edge.training.windowset import WindowSet, from_windows

pytest.importorskip("keras", reason="training needs TensorFlow/Keras: pip install 'fallwatch[train]'")


def probs_on(name: str, mass: float = 0.96) -> np.ndarray:
    """Probabilities with `mass` on one class and the rest spread evenly."""
    p = np.full(len(CLASSES), (1 - mass) / (len(CLASSES) - 1), np.float32)
    p[CLASSES.index(name)] = mass
    return p


@pytest.mark.parametrize("weights", [None, np.array([5.0, 1.0, 0.7, 2.0, 1.3], np.float32)])
def test_not_a_fall_window_is_not_penalised_among_its_allowed_classes(weights: np.ndarray | None) -> None:
    loss = partial_label_loss(weights)
    mask = np.tile(class_mask(NOT_A_FALL).astype(np.float32), (5, 1))
    preds = np.stack([probs_on(c) for c in ("stand", "walking", "sit", "fall", "lie")])
    values = np.asarray(loss(mask, preds))
    assert values[0] == pytest.approx(values[1], abs=1e-6) == pytest.approx(values[2], abs=1e-6)
    assert values[3] > values[0] + 1.0  # mass on fall is penalised
    assert values[4] > values[0] + 1.0  # and on lie (not allowed either)


def test_one_hot_mask_is_cross_entropy_and_any_costs_nothing() -> None:
    loss = partial_label_loss()
    p = probs_on("fall", 0.7)[None]
    assert float(np.asarray(loss(class_mask({"fall"})[None].astype(np.float32), p))[0]) == pytest.approx(-np.log(0.7))
    assert float(np.asarray(loss(class_mask(ANY)[None].astype(np.float32), p))[0]) == pytest.approx(0.0, abs=1e-6)


def test_class_weights_favour_the_scarce_fall_class() -> None:
    masks = np.stack([class_mask({"fall"})] * 10 + [class_mask(DAILY_ACTIVITY)] * 90)
    weights = class_weights_from_masks(masks)
    assert weights[FALL] > 2 * weights[CLASSES.index("stand")]


def test_gmdcsa24_is_split_by_subject_and_the_earlier_release_is_the_same_person() -> None:
    assert is_test_subject("gmdcsa24", "gmdcsa24/Subject 2", test_subject="2")
    assert is_test_subject("gmdcsa24", "gmdcsa24/Subject 2 (earlier release)", test_subject="2")
    assert not is_test_subject("gmdcsa24", "gmdcsa24/Subject 1", test_subject="2")


@pytest.fixture(scope="module")
def keypoint_windows(shared_data: Path) -> WindowSet:
    """Real windows of the UR Fall keypoint sources (AlphaPose and MD4FD share recordings)."""
    cfg = FeatureConfig()
    loaded = load_clips(shared_data, ["urfd_alphapose", "md4fd_urfd"])
    return from_windows(build_windows(loaded.clips, cfg).windows, cfg)


def test_split_keeps_every_clip_and_subject_in_one_set(keypoint_windows: WindowSet) -> None:
    ws = keypoint_windows
    for seed in (0, 1):
        split = split_windows(ws.sources, ws.subjects, seed=seed)
        sets = (split.train, split.val, split.test)
        assert (np.sum(sets, axis=0) == 1).all()  # every window in exactly one set
        for key in (ws.clips, ws.subjects):
            owners = [set(key[rows].tolist()) for rows in sets]
            assert not owners[0] & owners[1] and not owners[0] & owners[2] and not owners[1] & owners[2]
        assert min(split.counts().values()) > 0
    # the same UR Fall recording seen by AlphaPose and by MD4FD is one subject: never on both sides
    shared = set(ws.subjects[ws.sources == "urfd_alphapose"]) & set(ws.subjects[ws.sources == "md4fd_urfd"])
    assert shared


def test_cross_source_split_trains_without_the_source() -> None:
    sources = np.array(["a", "a", "b", "b", "c"])
    subjects = np.array(["a1", "a2", "b1", "b2", "c1"])
    split = split_windows(sources, subjects, seed=0, val_fraction=0.0, cross_source="b")
    assert split.test.tolist() == [False, False, True, True, False]
    assert split.train.tolist() == [True, True, False, False, True]


def test_alarm_rule_needs_consecutive_windows_and_rearms() -> None:
    ends = np.arange(10) * 0.2
    p = np.array([0.9, 0.1, 0.9, 0.9, 0.9, 0.2, 0.6, 0.7, 0.1, 0.1])
    assert alarm_times(ends, p, threshold=0.5, consecutive=2) == pytest.approx([0.6, 1.4])
    assert alarm_times(ends[::-1], p[::-1], threshold=0.5, consecutive=2) == pytest.approx([0.6, 1.4])


def test_clip_report_counts_detections_false_alarms_and_delay() -> None:
    clips = np.array(["f1"] * 4 + ["f2"] * 4 + ["a1"] * 4 + ["f3"] * 4)
    ends = np.tile(np.arange(4) * 1.0, 4)
    onset = np.array([2.0] * 4 + [1.0] * 4 + [np.nan] * 4 + [np.nan] * 4)  # f3: fall over before any window
    is_fall = np.array([True] * 8 + [False] * 4 + [True] * 4)
    p_fall = np.array([0.0, 0.0, 0.9, 0.9] + [0.0] * 4 + [0.8, 0.8, 0.0, 0.0] + [0.0] * 4)
    probs = np.stack([np.array([p, 1 - p, 0, 0, 0]) for p in p_fall])
    rep = clip_report(clips, ends, onset, is_fall, probs)
    assert (rep["falls_detected"], rep["fall_clips"], rep["missed"]) == (1, 2, ["f2"])
    assert (rep["adl_clips_with_alarm"], rep["false_alarm_clips"]) == (1, ["a1"])
    assert rep["delay_s_median"] == pytest.approx(1.0)
    assert rep["falls_before_first_window"] == 1


def test_window_report_leaves_ambiguous_windows_out_of_fall_f1() -> None:
    masks = np.stack([class_mask({"fall"}), class_mask({"fall", "lie"}), class_mask(NOT_A_FALL)])
    probs = np.stack([probs_on("fall"), probs_on("lie"), probs_on("fall")])
    rep = window_report(masks, probs)
    assert rep["fall_windows"] == {"tp": 1, "fp": 1, "fn": 0}
    assert rep["set_accuracy"] == pytest.approx(2 / 3)


def test_short_training_on_real_windows_lowers_the_loss_and_saves_a_loadable_model(
    keypoint_windows: WindowSet, tmp_path: Path
) -> None:
    import keras

    from edge.training.train import MODEL_FILE, TrainOptions, predict, save_run, train
    from edge.training.windowset import features

    ws = keypoint_windows.subset(keypoint_windows.sources == "urfd_alphapose")
    opts = TrainOptions(preset="gru16-dense32", seed=0, epochs=4, patience=10, batch_size=32, val_fraction=0.2)
    result = train(ws, opts)
    assert result.history["loss"][-1] < result.history["loss"][0]
    save_run(result, tmp_path)
    loaded = keras.models.load_model(str(tmp_path / MODEL_FILE))
    x = features(ws.subset(np.arange(8)), result.feature_config)
    np.testing.assert_allclose(predict(loaded, x), predict(result.model, x), atol=1e-6)
    for name in ("features.json", "metrics.json", "curves.png", "confusion.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_threshold_is_chosen_to_catch_falls_without_alarming_daily_activities() -> None:
    clips = np.array(["f"] * 3 + ["a"] * 3)
    ends = np.tile(np.arange(3) * 0.2, 2)
    is_fall = np.array([True] * 3 + [False] * 3)
    p_fall = np.array([0.45, 0.45, 0.45, 0.25, 0.25, 0.1])  # the fall only reaches 0.45, the ADL clip 0.25
    probs = np.stack([np.array([p, 1 - p, 0, 0, 0]) for p in p_fall])
    onset = np.array([0.0] * 3 + [np.nan] * 3)
    assert choose_threshold(clips, ends, onset, is_fall, probs) == pytest.approx(0.4)


def test_fall_onset_is_where_the_last_fall_allowed_run_starts() -> None:
    from edge.training.dataset_build import Windows

    rows = [NOT_A_FALL, NOT_A_FALL, {"fall"}, {"lie"}, NOT_A_FALL]  # fall clip, then an ADL clip window
    n = len(rows)
    windows = Windows(
        keypoints=np.zeros((n, 30, 18, 3), np.float32),
        aspect=np.ones(n, np.float32),
        allowed=np.stack([class_mask(r) for r in rows]),
        coverage=np.ones(n, np.float32),
        end_time=np.array([2.0, 2.2, 2.4, 2.6, 2.0]),
        clip_id=np.array(["f", "f", "f", "f", "a"]),
        source=np.array(["s"] * n),
        subject=np.array(["f", "f", "f", "f", "a"]),
        kind=np.array(["fall"] * 4 + ["adl"]),
    )
    ws = from_windows(windows, FeatureConfig())
    np.testing.assert_allclose(ws.fall_onset_s[:4], 2.4)
    assert np.isnan(ws.fall_onset_s[4]) and ws.is_fall_clip.tolist() == [True] * 4 + [False]


def test_early_windows_end_before_the_first_full_window_and_hold_the_first_frame(shared_data: Path) -> None:
    from edge.training.early import MIN_SEEN_S, early_windows

    cfg = FeatureConfig()
    clip = next(c for c in load_clips(shared_data, ["urfd_alphapose"]).clips if c.times[-1] - c.times[0] > 3)
    made = early_windows(clip, cfg)
    t0 = clip.times[0]
    assert len(made) > 0
    assert (made.end_time >= t0 + MIN_SEEN_S - 1e-6).all() and (made.end_time < t0 + cfg.window_s).all()
    first = made.keypoints[0]
    np.testing.assert_array_equal(first[0], first[1])  # samples before the clip repeat its first frame
    assert (first[..., 2] > 0).any(axis=-1).all()  # nothing is left missing at the start
    assert made.allowed.any(axis=1).all() and set(made.subject.tolist()) == {clip.subject}
