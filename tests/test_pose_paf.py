"""The numpy decoder of trt_pose's maps (edge/pose/paf.py) on part maps and fields rendered from known
skeletons, the way trt_pose renders its training targets (train/generate_cmap.cpp, generate_paf.cpp):
each person must come back whole, every keypoint within one map cell."""

from __future__ import annotations

import numpy as np
import pytest

from edge.matching import greedy_pairs
from edge.pose.paf import TOPOLOGY, decode, find_peaks
from edge.skeleton import INDEX, NUM_KEYPOINTS, Skeletons

SIZE = 56  # resnet18_baseline_att_224x224_A's maps: 224 / 4
CELL = 1.0 / SIZE

# A standing person, 0.5 image heights tall, as (x, y) offsets from the neck.
STANDING = {
    "nose": (0.0, -0.07), "left_eye": (0.02, -0.09), "right_eye": (-0.02, -0.09),
    "left_ear": (0.04, -0.08), "right_ear": (-0.04, -0.08), "neck": (0.0, 0.0),
    "left_shoulder": (0.06, 0.0), "right_shoulder": (-0.06, 0.0),
    "left_elbow": (0.08, 0.1), "right_elbow": (-0.08, 0.1),
    "left_wrist": (0.09, 0.19), "right_wrist": (-0.09, 0.19),
    "left_hip": (0.04, 0.2), "right_hip": (-0.04, 0.2),
    "left_knee": (0.045, 0.31), "right_knee": (-0.045, 0.31),
    "left_ankle": (0.05, 0.42), "right_ankle": (-0.05, 0.42),
}  # fmt: skip


def person(neck_x: float, neck_y: float, turn_deg: float = 0.0, **moved: tuple[float, float]) -> np.ndarray:
    """(18, 2) x, y: the standing template turned by turn_deg about the neck, with some parts `moved`
    (name=(x, y) absolute)."""
    angle = np.radians(turn_deg)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    out = np.zeros((NUM_KEYPOINTS, 2))
    for name, offset in STANDING.items():
        out[INDEX[name]] = np.array([neck_x, neck_y]) + rot @ np.array(offset)
    for name, xy in moved.items():
        out[INDEX[name]] = xy
    return out


def render(people: list[np.ndarray], size: int = SIZE, stdev: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Part maps (18, S, S) and fields (42, S, S) for people given as (18, 2) x, y in [0, 1]."""
    centre = np.arange(size) + 0.5
    ii, jj = np.meshgrid(centre, centre, indexing="ij")
    cmap = np.zeros((NUM_KEYPOINTS, size, size), np.float32)
    paf = np.zeros((2 * len(TOPOLOGY), size, size), np.float32)
    for p in people:
        yx = p[:, ::-1] * size
        for c in range(NUM_KEYPOINTS):
            blob = np.exp(-((ii - yx[c, 0]) ** 2 + (jj - yx[c, 1]) ** 2) / stdev**2)
            cmap[c] = np.maximum(cmap[c], blob)
        for k, (a, b) in enumerate(TOPOLOGY):
            ab = yx[b] - yx[a]
            length = np.linalg.norm(ab) + 1e-5
            unit = ab / length
            ac_i, ac_j = ii - yx[a, 0], jj - yx[a, 1]
            along = ac_i * unit[0] + ac_j * unit[1]
            beyond = np.where(along < 0, along, np.where(along > length, along - length, 0.0))
            across = ac_i * unit[1] - ac_j * unit[0]
            weight = np.exp(-(beyond**2 + across**2) / stdev**2)
            paf[2 * k] += weight * unit[0]
            paf[2 * k + 1] += weight * unit[1]
    return cmap, paf


def decoded(people: list[np.ndarray]) -> np.ndarray:
    cmap, paf = render(people)
    counts, objects, peaks = decode(cmap, paf)
    return Skeletons.from_trt_pose(counts, objects, peaks, aspect=1.0).keypoints


SCENES = {
    # Two people side by side, A's left arm reaching across B's right arm.
    "crossing limbs": [
        person(0.35, 0.3, left_elbow=(0.47, 0.36), left_wrist=(0.58, 0.36)),
        person(0.55, 0.32, right_elbow=(0.45, 0.4), right_wrist=(0.4, 0.47)),
    ],
    # Three people shoulder to shoulder, their bodies touching.
    "touching": [person(0.3, 0.3), person(0.42, 0.31), person(0.54, 0.3)],
    # Three standing, one lying on the floor in front of them.
    "one lying": [person(0.2, 0.2), person(0.5, 0.22), person(0.8, 0.2), person(0.3, 0.85, turn_deg=-90)],
}


@pytest.mark.parametrize("scene", list(SCENES), ids=list(SCENES))
def test_every_person_comes_back_within_one_cell(scene: str) -> None:
    truth = SCENES[scene]
    found = decoded(truth)
    assert len(found) == len(truth)
    for expected in truth:
        neck = expected[INDEX["neck"]]
        match = found[np.argmin(np.linalg.norm(found[:, INDEX["neck"], :2] - neck, axis=1))]
        assert (match[:, 2] == 1.0).all(), f"{scene}: a person came back with parts missing"
        error = np.abs(match[:, :2] - expected).max()
        assert error <= CELL, f"{scene}: a keypoint is {error / CELL:.2f} cells off"


def test_nobody_in_empty_maps() -> None:
    counts, objects, _ = decode(np.zeros((18, SIZE, SIZE)), np.zeros((42, SIZE, SIZE)))
    assert counts.tolist() == [0] and (objects == -1).all()


def test_parts_without_fields_stay_apart() -> None:
    """With the fields zeroed nothing is linked: each found part is its own one-part 'person'."""
    cmap, paf = render([person(0.5, 0.3)])
    counts, objects, _ = decode(cmap, np.zeros_like(paf))
    assert counts[0] == NUM_KEYPOINTS
    assert ((objects[0, :NUM_KEYPOINTS] >= 0).sum(axis=1) == 1).all()


def test_non_maximum_suppression_keeps_one_peak_per_blob() -> None:
    cmap = np.zeros((1, 9, 9), np.float32)
    cmap[0, 4, 4], cmap[0, 4, 5], cmap[0, 0, 8] = 0.9, 0.9, 0.2  # a tie within one window, a far peak
    (peaks,) = find_peaks(cmap, threshold=0.1, window=5, max_parts=100)
    assert peaks.tolist() == [[0, 8], [4, 4]]


def test_assignment_takes_the_best_pairs_above_the_threshold() -> None:
    scores = np.array([[0.9, 0.8], [0.85, 0.05]])
    assert greedy_pairs(scores, scores > 0.1) == [(0, 0)]  # (1, 0) loses b=0; (1, 1) is below the threshold
    assert greedy_pairs(scores, scores > 0.01) == [(0, 0), (1, 1)]
    scores[0, 0] = np.nan  # a field holding NaN (an FP16 overflow): never linked, even as the last pair left
    assert greedy_pairs(scores, scores > 0.01) == [(1, 0), (0, 1)]
    assert greedy_pairs(np.full((2, 2), np.nan), np.ones((2, 2), bool)) == []


def test_shapes_that_are_not_trt_pose_maps_are_refused() -> None:
    with pytest.raises(ValueError, match=r"expected part maps \(18, H, W\) and fields \(42, H, W\)"):
        decode(np.zeros((17, 8, 8)), np.zeros((42, 8, 8)))
