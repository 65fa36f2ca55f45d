"""The canonical skeleton: converters round-trip per layout, neck derivation, flip, Skeletons checks."""

from __future__ import annotations

import numpy as np
import pytest

from edge.skeleton import (
    FLIP_PERMUTATION,
    INDEX,
    KEYPOINT_NAMES,
    LAYOUTS,
    NUM_KEYPOINTS,
    Skeletons,
    flip_horizontal,
    from_canonical,
    to_canonical,
)


def random_layout_points(layout: str, rng: np.random.Generator, frames: int = 4) -> np.ndarray:
    """Points (frames, K, C) in a layout with every keypoint found (scores in (0.3, 1])."""
    spec = LAYOUTS[layout]
    pts = rng.uniform(0.05, 0.95, size=(frames, len(spec.keypoints), spec.channels)).astype(np.float32)
    if spec.has_score:
        pts[..., 2] = rng.uniform(0.3, 1.0, size=pts.shape[:-1])
    return pts


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layout_round_trip(layout: str) -> None:
    """layout -> canonical -> layout gives back every keypoint the canonical skeleton keeps."""
    rng = np.random.default_rng(1)
    pts = random_layout_points(layout, rng)
    back = from_canonical(to_canonical(pts, layout), layout)
    kept = [i for i, name in enumerate(LAYOUTS[layout].keypoints) if name is not None]
    np.testing.assert_allclose(back[:, kept], pts[:, kept], atol=1e-6)


@pytest.mark.parametrize(
    ("layout", "source_index", "canonical"),
    [
        ("mediapipe33", 23, "left_hip"),  # MediaPipe's hips sit at 23/24
        ("mediapipe33", 28, "right_ankle"),
        ("alphapose13", 1, "left_shoulder"),  # no eyes or ears in the URFD CSV
        ("md4fd11", 7, "right_ankle"),  # MD4FD stores the right ankle BEFORE the left
        ("md4fd11", 8, "left_ankle"),
        ("md4fd11", 1, "left_shoulder"),  # the files' order, not the data README's (no wrists)
        ("movenet17", 16, "right_ankle"),
        ("trt_pose18", 17, "neck"),
        ("openpose25", 1, "neck"),  # BODY_25: the neck second, right side before left
        ("openpose25", 12, "left_hip"),  # after MidHip (8, dropped) and the right leg
        ("openpose25", 16, "left_eye"),
        ("openpose18", 8, "right_hip"),  # COCO-18: no MidHip, so the hips sit one earlier
        ("openpose18", 13, "left_ankle"),
    ],
)
def test_layout_maps_named_joint(layout: str, source_index: int, canonical: str) -> None:
    spec = LAYOUTS[layout]
    pts = np.zeros((len(spec.keypoints), spec.channels), dtype=np.float32)
    first, second = (0.7, 0.2) if not spec.yx else (0.2, 0.7)  # canonical x = 0.7, y = 0.2
    pts[source_index, :2] = (first, second)
    if spec.has_score:
        pts[source_index, 2] = 0.9
    kp = to_canonical(pts, layout)
    np.testing.assert_allclose(kp[INDEX[canonical], :2], (0.7, 0.2), atol=1e-6)
    assert kp[INDEX[canonical], 2] > 0
    others = np.delete(np.arange(NUM_KEYPOINTS), INDEX[canonical])
    assert (kp[others, 2] == 0).all()


def test_neck_is_shoulder_midpoint_when_absent() -> None:
    pts = np.zeros((13, 3), dtype=np.float32)
    pts[1] = (0.4, 0.3, 0.8)  # left shoulder
    pts[2] = (0.6, 0.5, 0.6)  # right shoulder
    kp = to_canonical(pts, "alphapose13")
    np.testing.assert_allclose(kp[INDEX["neck"]], (0.5, 0.4, 0.6), atol=1e-6)


def test_neck_stays_missing_with_one_shoulder() -> None:
    pts = np.zeros((13, 3), dtype=np.float32)
    pts[1] = (0.4, 0.3, 0.8)
    assert to_canonical(pts, "alphapose13")[INDEX["neck"], 2] == 0


def test_non_finite_and_zero_score_points_become_missing() -> None:
    pts = np.full((17, 3), 0.5, dtype=np.float32)
    pts[0] = (np.nan, 0.5, 0.9)
    pts[5, 2] = 0.0
    pts[6] = (np.inf, 0.1, 0.9)
    kp = to_canonical(pts, "movenet17")
    for name in ("nose", "left_shoulder", "right_shoulder"):
        assert tuple(kp[INDEX[name]]) == (0.0, 0.0, 0.0)
    assert np.isfinite(kp).all()


def test_layout_without_scores_treats_origin_as_missing() -> None:
    pts = np.full((11, 2), 0.5, dtype=np.float32)
    pts[0] = 0.0
    kp = to_canonical(pts, "md4fd11")
    assert kp[INDEX["nose"], 2] == 0
    assert kp[INDEX["left_hip"], 2] == 1.0


def test_wrong_shape_names_the_layout() -> None:
    with pytest.raises(ValueError, match=r"alphapose13: expected keypoints shaped \(\.\.\., 13, 3\)"):
        to_canonical(np.zeros((12, 3)), "alphapose13")


def test_flip_twice_is_identity_and_once_swaps_sides() -> None:
    rng = np.random.default_rng(2)
    kp = to_canonical(random_layout_points("movenet17", rng, frames=5), "movenet17")
    once = flip_horizontal(kp)
    np.testing.assert_allclose(flip_horizontal(once), kp, atol=1e-6)
    left, right = INDEX["left_wrist"], INDEX["right_wrist"]
    np.testing.assert_allclose(once[:, left, 0], 1.0 - kp[:, right, 0], atol=1e-6)
    np.testing.assert_allclose(once[:, left, 1], kp[:, right, 1])
    np.testing.assert_allclose(once[:, INDEX["nose"], 0], 1.0 - kp[:, INDEX["nose"], 0], atol=1e-6)


def test_flip_keeps_missing_points_missing() -> None:
    kp = np.zeros((NUM_KEYPOINTS, 3), dtype=np.float32)
    kp[INDEX["left_hip"]] = (0.3, 0.6, 1.0)
    flipped = flip_horizontal(kp)
    assert tuple(flipped[INDEX["left_hip"]]) == (0.0, 0.0, 0.0)
    np.testing.assert_allclose(flipped[INDEX["right_hip"]], (0.7, 0.6, 1.0), atol=1e-6)


def test_flip_permutation_is_an_involution_that_only_swaps_sides() -> None:
    assert (FLIP_PERMUTATION[FLIP_PERMUTATION] == np.arange(NUM_KEYPOINTS)).all()
    for i, j in enumerate(FLIP_PERMUTATION):
        a, b = KEYPOINT_NAMES[i], KEYPOINT_NAMES[j]
        assert a.split("_")[-1] == b.split("_")[-1]


def test_skeletons_rejects_bad_shapes_and_aspect() -> None:
    with pytest.raises(ValueError, match=r"expected keypoints shaped \(N, 18, 3\), got \(18, 3\)"):
        Skeletons(np.zeros((18, 3), np.float32), 1.0)
    with pytest.raises(ValueError, match="aspect"):
        Skeletons.empty(0.0)
    assert len(Skeletons.empty(4 / 3)) == 0


def test_boxes_cover_found_keypoints_only() -> None:
    kp = np.zeros((2, NUM_KEYPOINTS, 3), dtype=np.float32)
    kp[0, 0] = (0.2, 0.1, 1.0)
    kp[0, 15] = (0.4, 0.9, 0.5)
    boxes = Skeletons(kp, 1.0).boxes()
    np.testing.assert_allclose(boxes[0], (0.2, 0.1, 0.4, 0.9))
    assert (boxes[1] == 0).all()


def test_from_trt_pose_swaps_axes_and_skips_unfound_parts() -> None:
    """ParseObjects output shapes: counts (1,), objects (1, P, 18), normalized_peaks (1, 18, M, 2)."""
    counts = np.array([1])
    objects = -np.ones((1, 100, NUM_KEYPOINTS), dtype=np.int32)
    peaks = np.zeros((1, NUM_KEYPOINTS, 100, 2), dtype=np.float32)
    objects[0, 0, INDEX["nose"]] = 1
    peaks[0, INDEX["nose"], 1] = (0.25, 0.75)  # (y, x)
    skel = Skeletons.from_trt_pose(counts, objects, peaks, aspect=1.0)
    assert len(skel) == 1
    np.testing.assert_allclose(skel.keypoints[0, INDEX["nose"]], (0.75, 0.25, 1.0))
    assert skel.keypoints[0, INDEX["left_hip"], 2] == 0
