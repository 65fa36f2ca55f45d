"""Video-source adapters on the real shared data, without running pose.

`ContainerPose` stands in for the pose stage only: it opens each real video with OpenCV and reads its
frame count and fps, and gives every frame one fixed standing skeleton. So the adapters' file
discovery, labels, skips and counts are tested on the real files in seconds; the real MediaPipe
path is tested in tests/test_pose_mediapipe.py, the real decoder below on a few clips.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.classes import ANY, CLASSES, DAILY_ACTIVITY, FALLING_SEGMENT, NOT_A_FALL, mask_names
from edge.config import PoseConfig
from edge.skeleton import INDEX, NUM_KEYPOINTS
from edge.training.clips import Clip
from edge.training.datasets import iter_source
from edge.training.pose_cache import Crop, PoseTrack, VideoPose, count_frames
from edge.training.skipped import Skipped
from edge.training.sources.videos import LE2I_LABELS, gmdcsa24_label_sets, read_le2i_labels, urfd_frame_label_sets

GMDCSA24_CLIPS = 11  # the clips present here (segments.csv available_here = 1)


class ContainerPose(VideoPose):
    """Frame count and fps from the container; one fixed skeleton per frame (no pose model)."""

    def __init__(self) -> None:
        super().__init__(PoseConfig(), cache_dir=None)

    def track(self, path: Path, crop: Crop | None = None) -> PoseTrack:
        import cv2

        from edge.training.pose_cache import _open

        cap, fps = _open(path)
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        width, height = cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
        cap.release()
        if crop is not None:
            width, height = width * (crop.right - crop.left), height * (crop.bottom - crop.top)
        kp = np.zeros((frames, NUM_KEYPOINTS, 3), np.float32)
        kp[:, INDEX["nose"]] = (0.5, 0.2, 0.9)
        kp[:, INDEX["left_hip"]] = (0.5, 0.6, 0.9)
        return PoseTrack(np.arange(frames) / fps, kp, width / height, fps, frames)


def load(source: str, root: Path) -> tuple[list[Clip], list[Skipped]]:
    items = list(iter_source(source, root, ContainerPose()))
    return [c for c in items if isinstance(c, Clip)], [s for s in items if isinstance(s, Skipped)]


def test_urfd_video_counts_and_labels(shared_data: Path) -> None:
    clips, skipped = load("urfd_video", shared_data)
    assert not skipped
    assert len(clips) == 70 and sum(len(c) for c in clips) == 11936
    assert sum(c.kind == "fall" for c in clips) == 30
    for clip in clips:
        assert clip.aspect == pytest.approx(320 / 240)  # the RGB half only
        if clip.kind == "adl":
            assert all(mask_names(m) == DAILY_ACTIVITY for m in clip.allowed)
    fall = next(c for c in clips if c.clip_id == "urfd_video/fall-01")
    names = [mask_names(m) for m in fall.allowed]
    assert names[0] == NOT_A_FALL and names[-1] == {"lie"} and {"fall"} in names
    assert fall.subject == "urfd/fall-01"  # the same split subject as urfd_alphapose's fall-01


def test_gmdcsa24_counts_and_labels(shared_data: Path) -> None:
    clips, skipped = load("gmdcsa24", shared_data)
    assert not skipped
    assert len(clips) == GMDCSA24_CLIPS
    assert sum(c.kind == "fall" for c in clips) == 6
    assert {c.subject for c in clips} == {"gmdcsa24/Subject 1", "gmdcsa24/Subject 2"}
    rates = [1 / float(np.median(np.diff(c.times))) for c in clips]
    assert all(min(abs(r - 15), abs(r - 30)) < 1.5 for r in rates) and min(rates) < 20 < max(rates)  # mixed
    for clip in clips:
        last = mask_names(clip.allowed[-1])
        assert last == FALLING_SEGMENT if clip.kind == "fall" else "fall" not in last
        if clip.kind == "fall":
            assert clip.fall_onset_s is not None and 0 < clip.fall_onset_s < clip.times[-1]


def test_gmdcsa24_segment_rules() -> None:
    times = np.arange(0, 5, 0.5)
    segments = [("Standing", 0.0, 1.0), ("Walking", 1.0, 2.0), ("Drinking", 0.0, 3.0), ("Falling (BW)", 3.0, 4.0)]
    sets = gmdcsa24_label_sets(times, segments, "Fall")
    assert sets[0] == {"stand"}
    assert sets[2] == {"stand", "walking"}  # 1.0 s lies in both segments
    assert sets[4] == {"walking"}  # 2.0 s: the end of the Walking segment is inside it
    assert sets[5] == NOT_A_FALL | {"fall"}  # 2.5 s: no posture, 0.5 s before the fall
    assert sets[6:] == [FALLING_SEGMENT] * 4  # runs to the clip's end, past the segment's end_s
    assert gmdcsa24_label_sets(times, [("Sleeping", 0.0, 1.0)], "ADL")[1] == {"lie"}
    assert gmdcsa24_label_sets(times, [("Sleeping", 0.0, 1.0)], "ADL")[5] == DAILY_ACTIVITY


def test_urfd_frame_labels_fill_gaps_with_the_union_of_neighbours() -> None:
    labelled = np.array([5, 6, 8, 9])
    labels = np.array([0, 1, 2, 2])
    sets = urfd_frame_label_sets(np.array([1, 5, 6, 7, 9, 12]), labelled, labels)
    assert sets == [NOT_A_FALL, NOT_A_FALL, {"fall"}, {"fall", "lie"}, {"lie"}, {"lie"}]


def test_le2i_frame_labels_match_the_data_readme(shared_data: Path) -> None:
    labels = read_le2i_labels(shared_data / LE2I_LABELS)
    assert len(labels) == 48 and sum(len(v) for v in labels.values()) == 14_428
    values, counts = np.unique(np.concatenate(list(labels.values())), return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist(), strict=True)) == {
        0: 48, 1: 3275, 2: 4037, 3: 1386, 4: 3679, 5: 555, 6: 31, 7: 1417
    }  # fmt: skip


def test_le2i_counts_and_labels(shared_data: Path) -> None:
    clips, skipped = load("le2i", shared_data)
    assert not skipped  # every one of the 45 videos has as many label rows as frames
    assert len(clips) == 45 and all(c.kind == "fall" for c in clips)
    by_id = {c.clip_id: c for c in clips}
    names = [mask_names(m) for m in by_id["le2i/video (1)"].allowed]
    # video (1): falling at frames 48..80 (1-based; as the official annotation says), lying after it
    assert names[46] != {"fall"} and names[47] == names[79] == {"fall"} and names[80] == {"lie"}
    assert by_id["le2i/video (1)"].fall_onset_s == pytest.approx(47 / 25)
    # video (5): the painted falling span starts 27 frames before the official one (129)
    assert by_id["le2i/video (5)"].fall_onset_s == pytest.approx(101 / 25)
    labels = read_le2i_labels(shared_data / LE2I_LABELS)
    present = np.concatenate([labels[c.clip_id.removeprefix("le2i/")] for c in clips])
    allowed = np.concatenate([c.allowed for c in clips])
    for value, name in ((1, "stand"), (2, "walking"), (3, "sit"), (4, "lie"), (7, "fall")):
        only = allowed[:, CLASSES.index(name)] & (allowed.sum(axis=1) == 1)
        assert only.sum() == (present == value).sum() > 0, name


def test_upfall_counts_and_labels(shared_data: Path) -> None:
    clips, skipped = load("upfall", shared_data)
    assert not skipped
    assert len(clips) == 66 and sum(c.kind == "fall" for c in clips) == 30
    for clip in clips:
        if clip.kind == "fall":
            assert mask_names(clip.allowed[0]) == ANY and mask_names(clip.allowed[-1]) == {"fall", "lie", "sit"}
        else:
            assert all(mask_names(m) == DAILY_ACTIVITY for m in clip.allowed)
    # both cameras of a trial share the split subject
    assert len({c.subject for c in clips}) == 33


def test_phone_falls(shared_data: Path) -> None:
    clips, skipped = load("phone_falls", shared_data)
    assert not skipped and len(clips) == 10
    for clip in clips:
        assert mask_names(clip.allowed[0]) == NOT_A_FALL and mask_names(clip.allowed[-1]) == FALLING_SEGMENT
        assert clip.aspect == pytest.approx(406 / 720, abs=0.01)


def test_missing_corrupt_and_empty_videos_are_skipped_by_name(shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "phone_falls"
    folder.mkdir()
    shutil.copy(shared_data / "phone_falls" / "Fall01.mp4", folder / "Fall01.mp4")
    (folder / "Fall02.mp4").write_bytes(b"\x00" * 5000)  # corrupt
    (folder / "Fall03.mp4").write_bytes(b"")  # empty
    clips, skipped = load("phone_falls", tmp_path)
    assert [c.clip_id for c in clips] == ["phone_falls/Fall01"]
    assert sorted(s.item for s in skipped) == ["phone_falls/Fall02", "phone_falls/Fall03"]
    for s in skipped:
        assert f"{s.item.split('/')[1]}.mp4" in s.reason and "\n" not in s.reason


def test_gmdcsa24_csv_with_a_wrong_column_and_a_missing_video(shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "gmdcsa24"
    folder.mkdir()
    text = (shared_data / "gmdcsa24" / "segments.csv").read_text()
    (folder / "segments.csv").write_text(text.replace("start_s", "begin_s", 1))
    (skip,) = load("gmdcsa24", tmp_path)[1]
    assert "segments.csv" in skip.reason and "start_s" in skip.reason
    (folder / "segments.csv").write_text(text)  # right columns, but no videos here
    clips, skipped = load("gmdcsa24", tmp_path)
    assert not clips and len(skipped) == 9  # the 9 clips segments.csv lists as available here
    assert all("video not found" in s.reason for s in skipped)


def test_le2i_frame_count_mismatch_is_skipped(shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "le2i" / "Coffee_room_01" / "Videos"
    folder.mkdir(parents=True)
    shutil.copy(shared_data / "le2i" / "Coffee_room_01" / "Videos" / "video (1).mp4", folder)
    rows = (shared_data / LE2I_LABELS).read_text().splitlines()
    video1 = [row for row in rows[1:] if row.startswith("video (1),")]
    (tmp_path / LE2I_LABELS).parent.mkdir()
    (tmp_path / LE2I_LABELS).write_text("\n".join([rows[0], *video1[:-5]]))
    clips, skipped = load("le2i", tmp_path)
    assert not clips and "152 label rows" in skipped[0].reason and "video (1).mp4" in skipped[0].reason


@pytest.mark.parametrize("rel", ["urfd_video/fall/fall-01-cam0.mp4", "gmdcsa24/Subject 1/Fall/13.mp4"])
def test_decoded_frames_match_the_container_count(shared_data: Path, rel: str) -> None:
    import cv2

    frames, fps = count_frames(shared_data / rel)
    cap = cv2.VideoCapture(str(shared_data / rel))
    assert frames == int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) and fps > 0
    cap.release()
