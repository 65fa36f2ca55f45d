"""Training augmentations on real UR Fall windows (AlphaPose keypoints): each does what it says, keeps
missing keypoints missing, and training takes them as one switch each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.classes import FALL
from edge.features import FeatureConfig
from edge.skeleton import INDEX
from edge.training.augment import (
    AUGMENTATIONS,
    LEFT,
    LOWER_BODY,
    RIGHT,
    augment,
    distance,
    gaps,
    jitter,
    occlusion,
    perspective,
    rotate,
    stretch,
)
from edge.training.dataset_build import build_windows
from edge.training.datasets import load_clips
from edge.training.windowset import WindowSet, from_windows

CFG = FeatureConfig()
RATE = CFG.rate_hz
HIP_L, HIP_R, NECK = INDEX["left_hip"], INDEX["right_hip"], INDEX["neck"]


@pytest.fixture(scope="module")
def windows(shared_data: Path) -> WindowSet:
    """Real windows of six UR Fall AlphaPose sequences: standing, falling and lying."""
    clips = [c for c in load_clips(shared_data, ["urfd_alphapose"]).clips if c.clip_id.endswith(("01", "02", "03"))]
    ws = from_windows(build_windows(clips, CFG).windows, CFG)
    assert ws.masks[:, FALL].any() and (~ws.masks[:, FALL]).any()
    return ws


def _run(fn, ws: WindowSet, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return fn(ws.keypoints, ws.aspect, ws.masks, RATE, np.random.default_rng(seed))


def _found(kp: np.ndarray) -> np.ndarray:
    return kp[..., 2] > 0


def test_missing_keypoints_stay_missing_under_every_augmentation(windows: WindowSet) -> None:
    for name, fn in AUGMENTATIONS.items():
        out, rows = _run(fn, windows)
        assert out.shape[1:] == windows.keypoints.shape[1:] and len(out) == len(rows), name
        assert np.isfinite(out).all(), name
        if name != "stretch":  # stretch resamples in time: a sample may take its neighbour's state
            assert not (_found(out) & ~_found(windows.keypoints[rows])).any(), name
        assert (out[~_found(out)] == 0).all(), name


def test_stretch_slows_only_fall_windows_by_1_5_to_3(windows: WindowSet) -> None:
    out, rows = _run(stretch, windows)
    assert set(rows.tolist()) == set(np.flatnonzero(windows.masks[:, FALL]).tolist())
    original = windows.keypoints[rows]
    np.testing.assert_allclose(out[:, -1], original[:, -1], atol=1e-6)  # the window still ends at its end
    ok = _found(original)[:, :, [HIP_L, HIP_R]].all(axis=(1, 2)) & _found(out)[:, :, [HIP_L, HIP_R]].all(axis=(1, 2))
    travel_before = np.abs(np.diff(original[ok][:, :, [HIP_L, HIP_R], 1].mean(axis=2), axis=1)).sum(axis=1)
    travel_after = np.abs(np.diff(out[ok][:, :, [HIP_L, HIP_R], 1].mean(axis=2), axis=1)).sum(axis=1)
    moving = travel_before > 0.05
    assert moving.sum() >= 5
    ratio = travel_before[moving] / travel_after[moving]
    assert 1.2 < np.median(ratio) < 3.5  # the hips cover a fraction of the distance in the same time


def test_rotate_keeps_bone_lengths_and_turns_the_trunk(windows: WindowSet) -> None:
    out, _ = _run(rotate, windows)
    units = np.array([windows.aspect[0], 1.0])
    both = _found(windows.keypoints)[..., NECK] & _found(windows.keypoints)[..., HIP_L]
    before = (windows.keypoints[..., NECK, :2] - windows.keypoints[..., HIP_L, :2]) * units
    after = (out[..., NECK, :2] - out[..., HIP_L, :2]) * units
    np.testing.assert_allclose(np.linalg.norm(after[both], axis=-1), np.linalg.norm(before[both], axis=-1), atol=1e-5)
    turn = np.degrees(np.arctan2(after[..., 1], after[..., 0]) - np.arctan2(before[..., 1], before[..., 0]))
    turn = (turn + 180) % 360 - 180
    per_window = np.array([np.median(t[b]) for t, b in zip(turn, both, strict=True) if b.any()])
    assert np.abs(per_window).max() <= 20.01 and np.abs(per_window).std() > 3


def test_perspective_foreshortens_the_height(windows: WindowSet) -> None:
    out, _ = _run(perspective, windows)
    found = _found(windows.keypoints)
    height = [np.ptp(w[f][:, 1]) for w, f in zip(windows.keypoints, found, strict=True) if f.any()]
    squashed = [np.ptp(w[f][:, 1]) for w, f in zip(out, found, strict=True) if f.any()]
    ratio = np.array(squashed) / np.maximum(height, 1e-6)
    assert ratio.min() >= 0.6 - 1e-4 and ratio.max() <= 1.0 + 1e-4 and ratio.std() > 0.05


def test_distance_scales_the_person(windows: WindowSet) -> None:
    out, _ = _run(distance, windows)
    found = _found(windows.keypoints)
    size = np.array([np.ptp(w[f][:, 1]) for w, f in zip(windows.keypoints, found, strict=True) if f.any()])
    moved = np.array([np.ptp(w[f][:, 1]) for w, f in zip(out, found, strict=True) if f.any()])
    ratio = moved / size
    assert 0.3 < ratio.min() < 0.6 and 1.0 < ratio.max() < 1.45


def test_occlusion_hides_the_lower_body_or_one_side_for_one_to_two_seconds(windows: WindowSet) -> None:
    out, _ = _run(occlusion, windows)
    hidden = _found(windows.keypoints) & ~_found(out)
    groups = {"lower": 0, "left": 0, "right": 0}
    for h in hidden:
        joints = np.flatnonzero(h.any(axis=0))
        samples = np.flatnonzero(h.any(axis=1))
        if not len(joints):
            continue
        group = next(g for g, j in (("lower", LOWER_BODY), ("left", LEFT), ("right", RIGHT)) if set(joints) <= set(j))
        groups[group] += 1
        assert samples[-1] - samples[0] + 1 <= 2 * RATE + 1
    assert min(groups.values()) > 0
    assert (out[_found(out)] == windows.keypoints[_found(out)]).all()  # nothing else moves


def test_gaps_remove_whole_samples_and_jitter_only_moves_found_points(windows: WindowSet) -> None:
    out, _ = _run(gaps, windows)
    lost = ~_found(out).any(axis=2) & _found(windows.keypoints).any(axis=2)
    assert 0.2 < lost.mean() < 0.5
    shaken, _ = _run(jitter, windows)
    moved = np.linalg.norm(shaken[..., :2] - windows.keypoints[..., :2], axis=-1)
    assert (moved[~_found(windows.keypoints)] == 0).all()
    torso = np.linalg.norm(windows.keypoints[..., NECK, :2] - windows.keypoints[..., HIP_L, :2], axis=-1)
    relative = np.median(moved[_found(windows.keypoints)]) / np.median(torso[torso > 0])
    assert 0.005 < relative < 0.06


def test_augment_is_seeded_and_names_unknown_augmentations(windows: WindowSet) -> None:
    a, rows_a = augment(("stretch", "jitter"), windows.keypoints, windows.aspect, windows.masks, RATE, seed=3)
    b, rows_b = augment(("stretch", "jitter"), windows.keypoints, windows.aspect, windows.masks, RATE, seed=3)
    np.testing.assert_array_equal(a, b)
    assert len(rows_a) == windows.masks[:, FALL].sum() + len(windows)
    np.testing.assert_array_equal(rows_a, rows_b)
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment(("tilt",), windows.keypoints, windows.aspect, windows.masks, RATE, seed=0)


def test_training_takes_augmentations_as_switches(windows: WindowSet) -> None:
    pytest.importorskip("keras", reason="training needs TensorFlow/Keras: pip install 'fallwatch[train]'")
    from edge.training.train import TrainOptions, train

    opts = TrainOptions(preset="gru8-dense", seed=0, epochs=1, val_fraction=0.2, augment=("stretch", "occlusion"))
    result = train(windows, opts)
    split = result.metrics["split"]
    assert result.metrics["options"]["augment"] == ("stretch", "occlusion")
    assert split["train"] > 0 and len(result.history["loss"]) == 1
