"""Filling the pose cache in worker processes: the same keypoints as a serial run, bad videos left out.

Real MediaPipe on the two shortest UR Fall clips (55 frames each, posed at 15 Hz: 28 frames each).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.cli import main as cli_main
from edge.config import PoseConfig
from edge.training.pose_cache import RIGHT_HALF, PoseJob, VideoPose, fill_cache, pending

pytest.importorskip("mediapipe", reason="MediaPipe not installed: pip install 'fallwatch[cpu]'")

SHORT_CLIPS = ("urfd_video/fall/fall-16-cam0.mp4", "urfd_video/fall/fall-21-cam0.mp4")
RATE_HZ = 15.0


def test_parallel_fill_gives_the_serial_keypoints(shared_data: Path, tmp_path: Path) -> None:
    videos = [(shared_data / rel, RIGHT_HALF) for rel in SHORT_CLIPS]
    serial = VideoPose(PoseConfig(), tmp_path / "serial", RATE_HZ)
    tracks = [serial.track(path, crop) for path, crop in videos]  # one estimator, reset between the videos
    assert serial.model_frames == 56

    cache = tmp_path / "parallel"
    todo = pending(videos + videos[:1], VideoPose(PoseConfig(), cache, RATE_HZ))
    assert [job.path for job in todo] == [path for path, _ in videos]  # each video once
    assert [job.frames for job in todo] == [28, 28]
    done: list[tuple[PoseJob, int]] = []
    report = fill_cache(todo, PoseConfig(), cache, RATE_HZ, jobs=2, on_done=lambda job, n: done.append((job, n)))
    assert (report.videos, report.frames, report.failed) == (2, 56, [])
    assert sorted(n for _, n in done) == [28, 28]

    reader = VideoPose(PoseConfig(), cache, RATE_HZ, cached_only=True)
    for (path, crop), expected in zip(videos, tracks, strict=True):
        got = reader.track(path, crop)
        np.testing.assert_array_equal(got.keypoints, expected.keypoints)
        np.testing.assert_array_equal(got.times, expected.times)
        assert (got.aspect, got.fps, got.frames) == (expected.aspect, expected.fps, expected.frames)
        assert expected.found.mean() > 0.5  # a real comparison: somebody was found in most frames
    assert sorted(p.name for p in cache.rglob("*.npz")) == sorted(p.name for p in (tmp_path / "serial").rglob("*.npz"))
    assert pending(videos, reader) == []


def test_pending_puts_the_largest_first_and_leaves_unreadable_files_out(shared_data: Path, tmp_path: Path) -> None:
    short, longer = shared_data / SHORT_CLIPS[0], shared_data / "urfd_video/adl/adl-01-cam0.mp4"
    todo = pending([(short, None), (tmp_path / "missing.mp4", None), (longer, None)], VideoPose(PoseConfig(), tmp_path))
    assert [job.path for job in todo] == [longer, short] and todo[0].frames > todo[1].frames
    assert pending([(short, None)], VideoPose(PoseConfig(), cache_dir=None)) == []  # no cache: nothing to fill


def test_a_corrupt_video_in_the_fill_does_not_stop_the_build(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(shared_data / "urfd_alphapose", data / "urfd_alphapose")  # windows without pose
    (data / "phone_falls").mkdir()
    shutil.copy(shared_data / SHORT_CLIPS[0], data / "phone_falls" / "Fall01.mp4")  # real, 1.8 s
    (data / "phone_falls" / "Fall02.mp4").write_bytes(b"\x00" * 5000)  # corrupt
    cache, out = tmp_path / "cache", tmp_path / "ds.npz"
    argv = ["dataset", "build", "--data", str(data), "--out", str(out), "--pose-cache", str(cache), "--no-progress"]
    assert cli_main([*argv, "--sources", "urfd_alphapose,phone_falls", "--jobs", "2"]) == 0
    captured = capsys.readouterr()
    assert "2 of 2 videos not yet cached; posed 1 (28 frames)" in captured.out and "1 failed" in captured.out
    assert "skipped phone_falls/Fall02: " in captured.err and "Fall02.mp4: cannot open as a video" in captured.err
    assert "skipped phone_falls/Fall01: " in captured.err and "shorter than one window" in captured.err
    assert len(list(cache.rglob("*.npz"))) == 1 and out.is_file()


@pytest.mark.parametrize("jobs", ["0", "-3"])
def test_jobs_below_one_is_refused_in_one_line(tmp_path: Path, jobs: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["dataset", "build", "--data", str(tmp_path), "--out", str(tmp_path / "ds.npz"), "--jobs", jobs]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"fallwatch dataset build: --jobs {jobs}: must be at least 1\n"
    assert not (tmp_path / "ds.npz").exists()
