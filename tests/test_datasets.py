"""Dataset adapters on the real shared data: counts match ../shared/data/README.md, labels make sense,
bad input is skipped with a one-line reason naming the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.classes import ANY, DAILY_ACTIVITY, FALLING_SEGMENT, NOT_A_FALL, class_mask, mask_names
from edge.skeleton import INDEX
from edge.training.clips import Clip
from edge.training.skipped import Skipped
from edge.training.sources.keypoints import (
    load_md4fd_urfd,
    load_movenet_gru,
    load_urfd_alphapose,
    read_alphapose_csv,
    read_md4fd_windows,
)


def split(items: list[Clip | Skipped]) -> tuple[list[Clip], list[Skipped]]:
    clips = [c for c in items if isinstance(c, Clip)]
    return clips, [s for s in items if isinstance(s, Skipped)]


def test_md4fd_joint_order_matches_the_same_falls_in_alphapose(shared_data: Path) -> None:
    """MD4FD's points land on AlphaPose's joints for the same UR Fall frames (the README's order does not)."""
    clips, _ = split(list(load_md4fd_urfd(shared_data)))
    alpha, _ = split(list(load_urfd_alphapose(shared_data)))
    by_subject = {c.subject: c for c in alpha}
    distances: dict[str, list[float]] = {}
    for clip in clips:
        if clip.kind != "fall" or clip.subject not in by_subject:
            continue
        ref = by_subject[clip.subject].keypoints
        for frame in clip.keypoints[::5]:
            probe = [INDEX["nose"], INDEX["left_shoulder"], INDEX["right_shoulder"]]
            nearest = ref[np.abs(ref[:, probe, :2] - frame[probe, :2]).sum(axis=(1, 2)).argmin()]
            for joint in ("left_shoulder", "right_shoulder", "left_hip", "right_knee", "left_ankle", "right_ankle"):
                j = INDEX[joint]
                distances.setdefault(joint, []).append(float(np.abs(nearest[j, :2] - frame[j, :2]).sum()))
    assert len(distances["left_hip"]) > 100
    for joint, values in distances.items():
        assert np.median(values) < 0.05, joint  # the README's order puts wrists here: >= 0.11 off
    assert not clips[0].keypoints[:, INDEX["left_wrist"], 2].any()  # MD4FD has no wrists


def test_urfd_alphapose_counts_and_labels(shared_data: Path) -> None:
    clips, skipped = split(list(load_urfd_alphapose(shared_data)))
    assert not skipped
    assert len(clips) == 30
    # 2,939 rows, but AlphaPose found 2-3 people in 136 rows of fall-13/14: one skeleton per frame stays
    assert sum(len(c) for c in clips) == 2939 - 136
    names = [mask_names(m) for c in clips for m in c.allowed]
    assert names.count(NOT_A_FALL) == 1073
    assert names.count(frozenset({"fall"})) == 894
    assert names.count(frozenset({"lie"})) == 836
    for clip in clips:
        assert clip.kind == "fall" and clip.fall_onset_s is not None
        assert clip.aspect == pytest.approx(4 / 3)
        assert np.all(np.diff(clip.times) > 0)
    gaps = sum(int((np.diff(c.times) > 1.5 / 30).sum()) for c in clips)
    assert gaps == 9  # the README's "small gaps (9 places)" stay gaps


def test_md4fd_chains_cover_all_201_windows(shared_data: Path) -> None:
    windows, labels = read_md4fd_windows(shared_data / "md4fd_urfd" / "URFD_normalized.json")
    assert windows.shape == (201, 90, 23)
    assert (labels == 1).sum() == 35
    clips, skipped = split(list(load_md4fd_urfd(shared_data)))
    assert not skipped
    # every chain of k windows holds 90 + 15 (k - 1) frames: the frames of all 201 windows, once
    assert sum((len(c) - 90) // 15 + 1 for c in clips) == 201
    falls = [c for c in clips if c.kind == "fall"]
    assert sum((len(c) - 90) // 15 + 1 for c in falls) == 35
    for clip in falls:
        assert mask_names(clip.allowed[0]) == ANY
        assert mask_names(clip.allowed[-1]) == FALLING_SEGMENT
    matched = [c.subject for c in falls if c.subject.startswith("urfd/fall-")]
    assert len(matched) >= 10 and len(set(matched)) == len(matched)  # matched to distinct UR Fall recordings
    for clip in clips:
        if clip.kind == "adl":
            assert all(mask_names(m) == DAILY_ACTIVITY for m in clip.allowed)


def test_movenet_gru_clips(shared_data: Path) -> None:
    clips, skipped = split(list(load_movenet_gru(shared_data)))
    assert not skipped
    assert len(clips) == 55
    assert all(len(c) == 150 for c in clips)
    falls = [c for c in clips if c.kind == "fall"]
    assert len(falls) == 29
    for clip in falls:
        assert mask_names(clip.allowed[-1]) == FALLING_SEGMENT
        assert not clip.allowed[:, 0].all() or mask_names(clip.allowed[0]) == ANY
    for clip in clips:
        if clip.kind == "adl":
            assert (clip.allowed == class_mask(NOT_A_FALL)).all()


def test_alphapose_csv_with_a_wrong_column_names_the_file(shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "urfd_alphapose"
    folder.mkdir()
    text = (shared_data / "urfd_alphapose" / "pose_urfd_3classes.csv").read_text()
    (folder / "pose_urfd_3classes.csv").write_text(text.replace("LHip_x", "LHip_X", 1))
    items = list(load_urfd_alphapose(tmp_path))
    assert len(items) == 1 and isinstance(items[0], Skipped)
    assert "pose_urfd_3classes.csv" in items[0].reason and "LHip_x" in items[0].reason
    assert "\n" not in items[0].reason


def test_corrupt_md4fd_json_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "md4fd_urfd"
    folder.mkdir()
    (folder / "URFD_normalized.json").write_text("[[[0.1, 0.2]], 1")
    (items,) = list(load_md4fd_urfd(tmp_path))
    assert isinstance(items, Skipped) and "URFD_normalized.json" in items.reason


def test_empty_md4fd_list_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "md4fd_urfd"
    folder.mkdir()
    (folder / "URFD_normalized.json").write_text(json.dumps([]))
    (items,) = list(load_md4fd_urfd(tmp_path))
    assert isinstance(items, Skipped) and "non-empty" in items.reason


def test_missing_movenet_file_is_skipped(shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "movenet_gru"
    folder.mkdir()
    shutil.copy(shared_data / "movenet_gru" / "GRUdata.npy", folder)
    (items,) = list(load_movenet_gru(tmp_path))
    assert isinstance(items, Skipped) and "movenet_gru" in items.reason


def test_alphapose_reader_groups_by_video(shared_data: Path) -> None:
    videos = read_alphapose_csv(shared_data / "urfd_alphapose" / "pose_urfd_3classes.csv")
    assert len(videos) == 30
    assert sum(len(frames) for frames, _, _ in videos.values()) == 2939
    labels = np.concatenate([labels for _, _, labels in videos.values()])
    assert np.bincount(labels).tolist() == [1107, 937, 895]
    frames, points, _ = videos["fall-01"]
    assert points.shape == (len(frames), 13, 3)
