"""The OpenPose keypoint sources (Kingston, KU Leuven HQFSD) on the real files: counts from the data
README, label sets, gaps kept as gaps, and known frames mapped into the canonical skeleton."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.classes import DAILY_ACTIVITY, FALLING_SEGMENT, mask_names
from edge.skeleton import INDEX
from edge.training.clips import Clip
from edge.training.sources.openpose import (
    HQFSD_FILE,
    KINGSTON_FILE,
    KINGSTON_LABELS,
    load_hqfsd_openpose,
    load_kingston_openpose,
)


def _clips(items: list) -> list[Clip]:
    assert all(isinstance(item, Clip) for item in items), [i for i in items if not isinstance(i, Clip)]
    return items


def test_kingston_sequences_labels_and_a_known_frame(shared_data: Path) -> None:
    clips = _clips(list(load_kingston_openpose(shared_data)))
    assert sorted(len(c) for c in clips) == [758, 797, 878, 1152, 2102]
    assert all(c.kind == "adl" and c.aspect == pytest.approx(4 / 3) for c in clips)
    assert all(not m[0] for c in clips for m in c.allowed)  # no frame may be a fall
    names = [mask_names(m) for c in clips for m in c.allowed]
    for label, count in {"standing": 1737, "sitting": 1466, "lying": 1574, "bending": 232}.items():
        assert names.count(KINGSTON_LABELS[label]) == count, label
    assert names.count(DAILY_ACTIVITY) == 281 + 397  # crawling and empty
    # 155 frames are missing: the times keep those gaps (1/30 s steps otherwise)
    steps = np.concatenate([np.round(np.diff(c.times) * 30).astype(int) for c in clips])
    assert steps.min() == 1 and (steps - 1).sum() == 155

    with np.load(shared_data / KINGSTON_FILE) as raw:
        row = int(np.flatnonzero((raw["keypoints"][:, 12, 2] > 0.5) & (raw["keypoints"][:, 1, 2] > 0.5))[100])
        sequence, frame, points = int(raw["sequence"][row]), int(raw["frame"][row]), raw["keypoints"][row]
    clip = next(c for c in clips if c.clip_id == f"kingston_openpose/seq{sequence}")
    kp = clip.keypoints[np.flatnonzero(np.isclose(clip.times, (frame - 1) / 30))[0]]
    np.testing.assert_allclose(kp[INDEX["left_hip"], :2], points[12, :2] / (160, 120), atol=1e-6)  # BODY_25 LHip
    np.testing.assert_allclose(kp[INDEX["neck"], :2], points[1, :2] / (160, 120), atol=1e-6)  # its own neck
    assert kp[INDEX["left_hip"], 2] == pytest.approx(points[12, 2])


def test_hqfsd_recordings_falls_gaps_and_a_known_frame(shared_data: Path) -> None:
    clips = _clips(list(load_hqfsd_openpose(shared_data)))
    assert len(clips) == 15 and sum(len(c) for c in clips) == 74_544
    assert all(c.kind == "fall" and c.fall_onset_s is not None for c in clips)
    assert len({c.subject for c in clips}) == 8  # 8 fall scenarios; the cameras of one share a subject
    names = [mask_names(m) for c in clips for m in c.allowed]
    assert names.count(frozenset({"fall"})) == 1_178
    for clip in clips:  # frames inside the fall window come after the onset; later ones lie or are daily
        fall = np.flatnonzero(clip.allowed[:, 0] & ~clip.allowed[:, 3])
        assert clip.times[fall[0]] >= clip.fall_onset_s
        after = [mask_names(m) for m in clip.allowed[fall[-1] + 1 :]]
        assert after[0] == FALLING_SEGMENT and set(after) <= {FALLING_SEGMENT, DAILY_ACTIVITY}
    # only frames with a person have rows: no frame is invented, gaps stay gaps
    fall2 = next(c for c in clips if c.clip_id == "hqfsd_openpose/Fall2_Cam5")
    assert len(fall2) == 6308 and fall2.times[-1] == pytest.approx(8083 / 30)

    with np.load(shared_data / HQFSD_FILE) as raw:
        row = int(np.flatnonzero((raw["clip_index"] == 0) & (raw["keypoints"][:, 10, 0] > 0))[500])
        frame, points = int(raw["frame"][row]), raw["keypoints"][row].astype(np.float32)
    kp = fall2.keypoints[np.flatnonzero(np.isclose(fall2.times, frame / 30))[0]]
    np.testing.assert_allclose(kp[INDEX["right_ankle"], :2], points[10] / (752, 480), atol=1e-6)  # COCO-18 RAnkle
    assert kp[INDEX["right_ankle"], 2] == 1.0  # no scores stored: a found point counts as found
