"""MediaPipe pose on real GMDCSA24 frames, the rotation retry's geometry, and the pose cache."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from edge.config import ConfigError, PoseConfig
from edge.pose.base import PoseEstimator
from edge.skeleton import INDEX, Skeletons
from edge.sources.base import Frame
from edge.training.pose_cache import VideoPose

pytest.importorskip("mediapipe", reason="MediaPipe not installed: pip install 'fallwatch[cpu]'")
cv2 = pytest.importorskip("cv2")

STANDING_CLIP = "gmdcsa24/Subject 1/Fall/13.mp4"  # segments.csv: Standing 0.0-0.3 s


def first_frames(path: Path, count: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < count:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    return frames


@pytest.fixture(scope="module")
def standing_frame(shared_data: Path) -> np.ndarray:
    return first_frames(shared_data / STANDING_CLIP, 1)[0]


@pytest.fixture(scope="module")
def estimator() -> PoseEstimator:
    from edge.pose import create_pose

    pose = create_pose(PoseConfig(static_image_mode=True))
    yield pose
    pose.close()


def mid(kp: np.ndarray, a: str, b: str) -> np.ndarray:
    return (kp[INDEX[a], :2] + kp[INDEX[b], :2]) / 2


def test_finds_the_standing_person_with_head_above_hips(estimator: PoseEstimator, standing_frame: np.ndarray) -> None:
    people = estimator.estimate(Frame(standing_frame, 0.0, 0))
    assert isinstance(people, Skeletons) and len(people) == 1
    assert people.aspect == pytest.approx(standing_frame.shape[1] / standing_frame.shape[0])
    kp = people.keypoints[0]
    for joint in ("nose", "left_shoulder", "right_shoulder", "left_hip", "right_hip", "neck"):
        assert kp[INDEX[joint], 2] > 0.5, joint
    assert kp[INDEX["nose"], 1] < mid(kp, "left_shoulder", "right_shoulder")[1] < mid(kp, "left_hip", "right_hip")[1]
    assert ((kp[:, :2] >= -0.1) & (kp[:, :2] <= 1.1)).all()


def test_a_person_turned_on_their_side_maps_back_to_the_turned_frame(
    estimator: PoseEstimator, standing_frame: np.ndarray
) -> None:
    """Turned 90 degrees clockwise (as if lying), the skeleton is the upright one turned the same way."""
    upright = estimator.estimate(Frame(standing_frame, 0.0, 0)).keypoints[0]
    turned = estimator.estimate(Frame(cv2.rotate(standing_frame, cv2.ROTATE_90_CLOCKWISE), 0.0, 1))
    assert len(turned) == 1
    kp = turned.keypoints[0]
    expected = mid(upright, "left_hip", "right_hip")
    expected = np.array([1 - expected[1], expected[0]])  # clockwise: (x, y) -> (1 - y, x)
    np.testing.assert_allclose(mid(kp, "left_hip", "right_hip"), expected, atol=0.06)


def test_rotation_retry_undoes_each_turn() -> None:
    from edge.pose.mediapipe import _unrotate

    pts = np.array([[0.2, 0.7, 0.9], [0.9, 0.1, 0.5]], np.float32)
    clockwise = np.stack([1 - pts[:, 1], pts[:, 0], pts[:, 2]], axis=1)  # where they land after the turn
    counter = np.stack([pts[:, 1], 1 - pts[:, 0], pts[:, 2]], axis=1)
    np.testing.assert_allclose(_unrotate(clockwise, 1), pts, atol=1e-6)
    np.testing.assert_allclose(_unrotate(counter, 3), pts, atol=1e-6)


def test_grey_and_small_frames_work(estimator: PoseEstimator, standing_frame: np.ndarray) -> None:
    small = cv2.resize(cv2.cvtColor(standing_frame, cv2.COLOR_BGR2GRAY), (320, 240))
    people = estimator.estimate(Frame(small, 0.0, 0))
    assert len(people) == 1 and people.aspect == pytest.approx(320 / 240)


def test_empty_frame_gives_nobody(estimator: PoseEstimator) -> None:
    people = estimator.estimate(Frame(np.zeros((240, 320, 3), np.uint8), 0.0, 0))
    assert len(people) == 0 and people.keypoints.shape == (0, 18, 3)


class Counting(PoseEstimator):
    """Wraps the real MediaPipe estimator and counts the frames it is asked to pose."""

    def __init__(self, cfg: PoseConfig) -> None:
        from edge.pose.mediapipe import MediaPipePose

        self.inner = MediaPipePose(cfg)
        self.calls = 0

    def estimate(self, frame: Frame) -> Skeletons:
        self.calls += 1
        return self.inner.estimate(frame)

    def reset(self) -> None:
        self.inner.reset()


def test_pose_cache_hit_does_not_run_the_model(shared_data: Path, tmp_path: Path) -> None:
    short = tmp_path / "short.mp4"  # the first 12 frames of a real clip, re-encoded at 15 fps
    frames = first_frames(shared_data / STANDING_CLIP, 12)
    writer = cv2.VideoWriter(str(short), cv2.VideoWriter_fourcc(*"mp4v"), 15.0, frames[0].shape[1::-1])
    for image in frames:
        writer.write(image)
    writer.release()
    made: list[Counting] = []

    def make(cfg: PoseConfig) -> PoseEstimator:
        made.append(Counting(cfg))
        return made[-1]

    first = VideoPose(PoseConfig(), tmp_path / "cache", make_estimator=make)
    track = first.track(short)
    assert len(track.times) == 12 and track.found.mean() > 0.9 and made[0].calls == 12
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 1

    second = VideoPose(PoseConfig(), tmp_path / "cache", make_estimator=make)
    again = second.track(short)
    assert len(made) == 1 and made[0].calls == 12 and second.model_frames == 0 and second.cache_hits == 1
    np.testing.assert_array_equal(again.keypoints, track.keypoints)

    renamed = short.rename(tmp_path / "renamed.mp4")  # keyed by content, not name
    second.track(renamed)
    assert second.model_frames == 0

    other = VideoPose(PoseConfig(min_detection_confidence=0.6), tmp_path / "cache", cached_only=True)
    with pytest.raises(ValueError, match=r"renamed\.mp4: not in the pose cache"):
        other.track(renamed)  # other settings, other key


def test_missing_mediapipe_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from edge.pose.mediapipe import MediaPipePose

    monkeypatch.setitem(sys.modules, "mediapipe", None)
    with pytest.raises(ImportError, match=r"pip install 'fallwatch\[cpu\]'"):
        MediaPipePose(PoseConfig())


@pytest.mark.parametrize(
    ("key", "value"),
    [("redetect_s", -1.0), ("min_pose_visibility", 1.0), ("upscale_min_height", -5), ("model_complexity", 3)],
)
def test_pose_config_refuses_bad_values_naming_the_key(key: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"pose.{key}"):
        PoseConfig(**{key: value})
