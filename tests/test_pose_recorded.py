"""Recorded keypoints: a trace extracted from a real clip replays the same skeletons at the same times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.config import PoseConfig, SourceConfig
from edge.pose import create_pose
from edge.pose.base import PoseEstimator
from edge.pose.recorded import RecordedPose, Trace, TraceError, extract_trace, load_trace, record_trace
from edge.skeleton import INDEX, Skeletons
from edge.sources import Frame, SourceError, create_source

CLIP = "gmdcsa24/Subject 2/ADL/23.mp4"  # 109 frames at ~15 fps


class BrightestSpotPose(PoseEstimator):
    """A deterministic stand-in for a pose model, computed from the real pixels: the nose sits on the
    frame's brightest (green, every 4th) pixel; odd frames add a second person, hip on the darkest."""

    max_people = 2

    def estimate(self, frame: Frame) -> Skeletons:
        grey = frame.image[::4, ::4, 1] if frame.image.ndim == 3 else frame.image[::4, ::4]
        h, w = grey.shape
        people = []
        for spot, part in ((np.argmax(grey), "nose"), (np.argmin(grey), "left_hip")):
            y, x = divmod(int(spot), w)
            kp = np.zeros((18, 3), np.float32)
            kp[INDEX[part]] = (x / w, y / h, 0.5 + frame.index % 5 / 10)
            people.append(kp)
        keep = people if frame.index % 2 else people[:1]
        return Skeletons(np.stack(keep), frame.aspect)


def test_trace_round_trip_on_a_real_clip(shared_data: Path, tmp_path: Path) -> None:
    cfg = SourceConfig(uri=str(shared_data / CLIP))
    trace = extract_trace(create_source(cfg), BrightestSpotPose(), meta={"source": CLIP, "licence": "MIT"})
    assert len(trace) == 109 and trace.keypoints.shape == (109, 2, 18, 3) and trace.size == (640, 480)
    path = record_trace(tmp_path / "trace.npz", trace)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trace.npz"]  # no temp file left
    loaded = load_trace(path)
    assert loaded.meta["source"] == CLIP and loaded.meta["frames"] == 109 and loaded.meta["format"] == "fallwatch-trace"
    assert loaded.meta["pose"].endswith("BrightestSpotPose")

    # Replayed against the same clip, every frame gets exactly what the pose found on it.
    replay = create_pose(PoseConfig(type="recorded", recorded_path=str(path)))
    assert isinstance(replay, RecordedPose) and replay.max_people == 2
    live, source = BrightestSpotPose(), create_source(cfg)
    n = 0
    while not source.finished:
        frame = source.read()
        if frame is None:
            continue
        expected, got = live.estimate(frame), replay.estimate(frame)
        assert len(got) == len(expected) == 1 + frame.index % 2
        np.testing.assert_array_equal(got.keypoints, expected.keypoints)
        assert got.aspect == pytest.approx(4 / 3)
        n += 1
    assert n == 109


def make_trace(times: list[float]) -> Trace:
    kp = np.zeros((len(times), 1, 18, 3), np.float32)
    kp[:, 0, INDEX["nose"]] = [(i / 100, 0.5, 1.0) for i in range(len(times))]
    return Trace(np.array(times), kp, (320, 240), {"source": "test"})


@pytest.mark.parametrize(
    ("video_time", "frame"),
    [
        (0.0, 0),
        (0.1 + 0.04, 1),  # within half a frame after frame 1
        (0.2 - 0.04, 2),  # within half a frame before frame 2
        (0.5, 5),
        (0.5 + 0.06, None),  # past the end by more than half a frame: nobody
        (-0.06, None),  # before the start
    ],
)
def test_nearest_frame_within_half_a_frame(video_time: float, frame: int | None) -> None:
    trace = make_trace([i / 10 for i in range(6)])
    got = trace.at(video_time)
    if frame is None:
        assert len(got) == 0
    else:
        assert len(got) == 1 and got.keypoints[0, INDEX["nose"], 0] == pytest.approx(frame / 100)


def test_a_gap_in_the_trace_gives_nobody() -> None:
    trace = make_trace([0.0, 0.1, 0.2, 1.0, 1.1])
    assert len(trace.at(0.6)) == 0 and len(trace.at(1.02)) == 1


def test_empty_person_slots_are_not_people() -> None:
    trace = make_trace([0.0, 0.1])
    trace.keypoints = np.concatenate([trace.keypoints, np.zeros_like(trace.keypoints)], axis=1)
    assert len(trace.at(0.1)) == 1


def test_replay_source_gives_blank_frames_at_the_traced_times(tmp_path: Path) -> None:
    path = record_trace(tmp_path / "demo.npz", make_trace([0.0, 0.07, 0.13, 0.2]))
    source = create_source(SourceConfig(uri=str(path)))
    pose = create_pose(PoseConfig(type="recorded", recorded_path=str(path)))
    frames = []
    while not source.finished:
        frame = source.read()
        assert frame is not None
        frames.append(frame)
        assert len(pose.estimate(frame)) == 1
    assert [f.video_time for f in frames] == [0.0, 0.07, 0.13, 0.2]
    assert frames[0].image.shape == (240, 320, 3) and source.fps == pytest.approx(1 / 0.07)  # the median step


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such keypoint trace"),
        (b"not a zip file at all", "not a keypoint trace"),
        ("wrong_keys", "lacks"),
        ("wrong_format", "expected fallwatch-trace v1"),
        ("bad_shape", "expected keypoints shaped"),
    ],
)
def test_bad_trace_is_one_line_error_naming_the_file(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "bad.npz"
    meta = '{"format": "fallwatch-trace", "version": 1}'
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "wrong_keys":
        np.savez(path, times=np.zeros(3))
    elif content == "wrong_format":
        np.savez(path, times=np.zeros(1), keypoints=np.zeros((1, 1, 18, 3)), size=[1, 1], meta='{"format": "x"}')
    elif content == "bad_shape":
        np.savez(path, times=np.arange(2.0), keypoints=np.zeros((2, 1, 17, 3)), size=[4, 3], meta=meta)
    with pytest.raises(TraceError, match=message) as info:
        RecordedPose(PoseConfig(type="recorded", recorded_path=str(path)))
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(SourceError) as info:  # the same file as a replay source
        create_source(SourceConfig(uri=str(path)))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_recorded_pose_needs_a_path() -> None:
    with pytest.raises(TraceError, match=r"pose\.recorded_path is empty"):
        create_pose(PoseConfig(type="recorded"))
