"""The one feature function and the windows both training and the live pipeline cut."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from edge.features import DEFAULT_JOINTS, FeatureConfig, window_features
from edge.skeleton import INDEX, NUM_KEYPOINTS, flip_horizontal
from edge.windows import StreamWindow, clip_windows, resample, window_at

CFG = FeatureConfig()


def standing(x: float = 0.5, top: float = 0.2, height: float = 0.6) -> np.ndarray:
    """A simple upright canonical skeleton (18, 3), every keypoint found."""
    kp = np.zeros((NUM_KEYPOINTS, 3), dtype=np.float32)
    rows = {
        "nose": (0.0, 0.0), "left_eye": (0.02, -0.02), "right_eye": (-0.02, -0.02),
        "left_ear": (0.04, 0.0), "right_ear": (-0.04, 0.0), "neck": (0.0, 0.12),
        "left_shoulder": (0.08, 0.13), "right_shoulder": (-0.08, 0.13), "left_elbow": (0.1, 0.28),
        "right_elbow": (-0.1, 0.28), "left_wrist": (0.1, 0.42), "right_wrist": (-0.1, 0.42),
        "left_hip": (0.05, 0.48), "right_hip": (-0.05, 0.48), "left_knee": (0.05, 0.74),
        "right_knee": (-0.05, 0.74), "left_ankle": (0.05, 1.0), "right_ankle": (-0.05, 1.0),
    }  # fmt: skip
    for name, (dx, dy) in rows.items():
        kp[INDEX[name]] = (x + dx * height, top + dy * height, 1.0)
    return kp


def test_feature_count_matches_config() -> None:
    variants = (FeatureConfig(velocity=False), FeatureConfig(acceleration=True), FeatureConfig(trunk=True))
    for cfg in (CFG, *variants, FeatureConfig(joints=("all",))):
        window = np.stack([standing()] * cfg.window_frames)
        assert window_features(window, 4 / 3, cfg).shape == (cfg.window_frames, cfg.num_features)
    assert CFG.num_features == 2 * len(DEFAULT_JOINTS) + 2 * len(DEFAULT_JOINTS) + 2


def test_camera_distance_and_position_drop_out() -> None:
    """The same pose nearer (bigger) and elsewhere in the picture gives the same features."""
    near = np.stack([standing(x=0.3, top=0.1, height=0.8)] * CFG.window_frames)
    far = np.stack([standing(x=0.7, top=0.5, height=0.2)] * CFG.window_frames)
    np.testing.assert_allclose(window_features(near, 1.0, CFG), window_features(far, 1.0, CFG), atol=1e-4)


def test_bones_keep_their_length_and_x_is_scaled_by_aspect() -> None:
    kp = np.stack([standing()] * CFG.window_frames)
    feats = window_features(kp, 2.0, CFG)
    shoulder = 2 * CFG.joints.index("left_shoulder")
    # neck -> left shoulder is 0.08 wide and 0.01 high in picture units; torso = 0.36 high.
    np.testing.assert_allclose(feats[0, shoulder : shoulder + 2], (0.08 * 2.0 / 0.36, 0.01 / 0.36), atol=1e-4)
    unit = window_features(kp, 2.0, FeatureConfig(unit_bones=True))
    assert np.linalg.norm(unit[0, shoulder : shoulder + 2]) == pytest.approx(1.0, abs=1e-5)


def test_falling_root_has_downward_velocity() -> None:
    """A body dropping by one torso length per second has root velocity (0, +1) torso/s."""
    times = np.arange(CFG.window_frames) / CFG.rate_hz
    torso = 0.36 * 0.6  # neck-to-hip of standing() at its default height
    kp = np.stack([standing(top=0.2 + torso * t) for t in times])
    feats = window_features(kp, 1.0, CFG)
    root_v = feats[1:, -2:]
    np.testing.assert_allclose(root_v, np.tile((0.0, 1.0), (len(root_v), 1)), atol=1e-3)
    assert (feats[0, -2:] == 0).all()  # no velocity before the second sample


def lying(x: float = 0.5, y: float = 0.8, length: float = 0.6) -> np.ndarray:
    """standing() turned 90 degrees clockwise (head to the right), its hips at (x, y)."""
    up = standing(x=0.0, top=0.0, height=length)
    hips = up[[INDEX["left_hip"], INDEX["right_hip"]], :2].mean(axis=0)
    kp = up.copy()
    kp[:, 0], kp[:, 1] = x - (up[:, 1] - hips[1]), y + (up[:, 0] - hips[0])
    return kp


def test_trunk_features_follow_the_drop_and_the_tilt() -> None:
    """A person standing, then lying with the trunk 1.5 torso lengths lower: drop 0 -> 1.5, tilt 0 -> 1;
    frames without the trunk give zeros."""
    cfg = FeatureConfig(trunk=True)
    torso = 0.36 * 0.6
    trunk = [INDEX["left_shoulder"], INDEX["right_shoulder"], INDEX["left_hip"], INDEX["right_hip"]]
    up, down = standing(), lying()
    down[:, 1] += up[trunk, 1].mean() + 1.5 * torso - down[trunk, 1].mean()
    kp = np.stack([up] * 10 + [down] * (cfg.window_frames - 10))
    kp[[0, 5], INDEX["left_hip"], 2] = 0.0  # the drop counts from the first frame that sees the trunk
    feats = window_features(kp, 1.0, cfg)
    drop, tilt = feats[:, -2], feats[:, -1]
    np.testing.assert_allclose(drop[1:5], 0.0, atol=1e-4)
    np.testing.assert_allclose(tilt[1:5], 0.0, atol=1e-4)
    assert drop[0] == tilt[0] == drop[5] == tilt[5] == 0.0
    np.testing.assert_allclose(drop[10:], 1.5, atol=1e-3)
    np.testing.assert_allclose(tilt[10:], 1.0, atol=1e-3)
    # the trunk features are appended after the others, which stay as they were
    np.testing.assert_array_equal(feats[:, :-2], window_features(kp, 1.0, CFG))


def test_missing_joints_give_zero_bones_not_garbage() -> None:
    kp = np.stack([standing()] * CFG.window_frames)
    kp[:, INDEX["left_ankle"]] = 0.0
    feats = window_features(kp, 1.0, CFG)
    ankle = 2 * CFG.joints.index("left_ankle")
    assert (feats[:, ankle : ankle + 2] == 0).all()
    assert np.abs(feats).max() < 5


def test_flip_mirrors_bones() -> None:
    kp = np.stack([standing()] * CFG.window_frames)
    kp[:, INDEX["left_wrist"], 0] += 0.1  # make the sides differ
    feats, flipped = window_features(kp, 1.0, CFG), window_features(flip_horizontal(kp), 1.0, CFG)
    left, right = 2 * CFG.joints.index("left_wrist"), 2 * CFG.joints.index("right_wrist")
    np.testing.assert_allclose(flipped[:, right], -feats[:, left], atol=1e-5)
    np.testing.assert_allclose(flipped[:, right + 1], feats[:, left + 1], atol=1e-5)


def test_unknown_joint_is_named() -> None:
    with pytest.raises(ValueError, match="left_pinky"):
        FeatureConfig(joints=("nose", "left_pinky"))


def test_config_round_trips_through_dict() -> None:
    cfg = FeatureConfig(velocity=False, window_frames=20)
    assert FeatureConfig.from_dict(cfg.to_dict()) == cfg


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kp=arrays(
        np.float32,
        (CFG.window_frames, NUM_KEYPOINTS, 3),
        elements=st.floats(width=32, allow_nan=True, allow_infinity=True),
    ),
    aspect=st.floats(allow_nan=True, allow_infinity=True),
    acceleration=st.booleans(),
)
def test_garbage_keypoints_never_raise_or_give_nan(kp: np.ndarray, aspect: float, acceleration: bool) -> None:
    cfg = FeatureConfig(acceleration=acceleration)
    feats = window_features(kp, aspect, cfg)
    assert feats.shape == (cfg.window_frames, cfg.num_features)
    assert np.isfinite(feats).all()


@settings(max_examples=100, deadline=None)
@given(
    scale=st.floats(0.0, 1e-6) | st.just(0.0),
    visible=st.lists(st.booleans(), min_size=NUM_KEYPOINTS, max_size=NUM_KEYPOINTS),
)
def test_collapsed_or_half_visible_person_gives_finite_features(scale: float, visible: list[bool]) -> None:
    """A zero torso (every point on top of another) or a person half out of frame."""
    kp = np.stack([standing(height=scale)] * CFG.window_frames)
    kp[:, ~np.array(visible), 2] = 0.0
    assert np.isfinite(window_features(kp, 4 / 3, CFG)).all()


def test_resample_interpolates_and_marks_gaps() -> None:
    times = np.array([0.0, 0.1, 1.0])
    kp = np.zeros((3, NUM_KEYPOINTS, 3), dtype=np.float32)
    kp[:, 0] = [(0.0, 0.0, 1.0), (0.2, 0.4, 0.5), (0.9, 0.9, 1.0)]
    out = resample(times, kp, np.array([0.05, 0.55, 1.0]), max_gap_s=0.2)
    np.testing.assert_allclose(out[0, 0], (0.1, 0.2, 0.5), atol=1e-6)
    assert out[1, 0, 2] == 0  # 0.45 s from any real frame: missing, not invented
    np.testing.assert_allclose(out[2, 0], (0.9, 0.9, 1.0))


def test_window_is_full_only_when_history_covers_it() -> None:
    times = np.arange(0, 1.0, 1 / 30)
    kp = np.stack([standing()] * len(times))
    _, full = window_at(times, kp, times[-1], CFG)
    assert not full  # 1 s of history, the window is ~1.9 s
    times = np.arange(0, 3.0, 1 / 30)
    _, full = window_at(times, np.stack([standing()] * len(times)), times[-1], CFG)
    assert full


def interpolated(times: np.ndarray, kp: np.ndarray, end: float) -> np.ndarray:
    """The window ending at `end` by plain np.interp per coordinate: a reference independent of window_at."""
    at = end + (np.arange(CFG.window_frames) - (CFG.window_frames - 1)) / CFG.rate_hz
    flat = kp.reshape(len(kp), -1)
    return np.stack([np.interp(at, times, flat[:, i]) for i in range(flat.shape[1])], axis=1).reshape(-1, *kp.shape[1:])


@pytest.mark.parametrize("fps", [15.0, 25.0, 30.0])
def test_dataset_and_streaming_windows_are_identical(fps: float) -> None:
    """The same keypoints give the same windows through clip_windows and StreamWindow, and both are the
    straight-line interpolation of the frames around each sample (np.interp, where both frames were seen)."""
    rng = np.random.default_rng(int(fps))
    times = np.arange(0, 6.0, 1 / fps) + rng.uniform(0, 0.004, size=int(6.0 * fps))
    kp = np.stack([standing(top=0.1 + 0.05 * np.sin(t)) for t in times])
    kp[..., :2] += rng.normal(0, 0.01, size=kp[..., :2].shape).astype(np.float32)
    dropped = rng.random(len(times)) < 0.1
    kp[dropped] = 0.0  # dropped detections
    windows, ends = clip_windows(times, kp, CFG, stride_s=0.5)
    assert len(windows) >= 6
    stream = StreamWindow(CFG)
    streamed = {}
    for t, frame in zip(times, kp, strict=True):
        stream.push(t, frame)
        for i in np.flatnonzero(np.isclose(ends, t)):
            window, full = stream.window(t)
            assert full
            streamed[i] = window
    assert sorted(streamed) == list(range(len(ends)))
    seen = ~dropped
    checked = 0
    for i, window in streamed.items():
        np.testing.assert_array_equal(window, windows[i])
        np.testing.assert_array_equal(window_features(window, 4 / 3, CFG), window_features(windows[i], 4 / 3, CFG))
        at = ends[i] + (np.arange(CFG.window_frames) - (CFG.window_frames - 1)) / CFG.rate_hz
        after = np.searchsorted(times, at)  # the frame at or after each sample; the one before it
        bracketed = seen[after] & seen[np.maximum(after - 1, 0)]
        reference = interpolated(times[seen], kp[seen], ends[i])
        np.testing.assert_allclose(window[bracketed], reference[bracketed], atol=1e-5)
        checked += int(bracketed.sum())
    assert checked > 0.7 * len(streamed) * CFG.window_frames


def test_real_clip_gives_identical_windows_through_both_paths(shared_data) -> None:
    """A real UR Fall clip (AlphaPose keypoints at 30 fps, with its frame gaps) through both window
    paths; each sample that falls on a recorded frame (every second frame at 15 Hz) is that frame."""
    from edge.training.datasets import load_clips

    clips = load_clips(shared_data, ["urfd_alphapose"]).clips
    clip = max(clips, key=lambda c: len(c.times))
    frame_of = {round(t * 30): i for i, t in enumerate(clip.times)}
    windows, ends = clip_windows(clip.times, clip.keypoints, CFG, stride_s=0.2)
    assert len(windows) > 5
    stream = StreamWindow(CFG)
    compared = recorded = 0
    for t, frame in zip(clip.times, clip.keypoints, strict=True):
        stream.push(t, frame)
        for i in np.flatnonzero(ends == t):
            window, full = stream.window(t)
            assert full
            live = window_features(window, clip.aspect, CFG)
            np.testing.assert_array_equal(live, window_features(windows[i], clip.aspect, CFG))
            for k in range(CFG.window_frames):
                source = frame_of.get(round(t * 30) - 2 * (CFG.window_frames - 1 - k))
                if source is not None:
                    np.testing.assert_allclose(window[k], clip.keypoints[source], atol=1e-6)
                    recorded += 1
            compared += 1
    assert compared == len(ends)
    assert recorded > 0.9 * compared * CFG.window_frames
