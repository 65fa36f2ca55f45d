"""Person tracks: ids kept across frames and gaps, new ids for new people, a drop measured per track."""

from __future__ import annotations

import numpy as np
import pytest

from edge.config import TrackingConfig
from edge.features import FeatureConfig
from edge.skeleton import INDEX, NUM_KEYPOINTS, Skeletons
from edge.tracking import Tracker, iou

FPS = 15.0
SHOULDERS = [INDEX["left_shoulder"], INDEX["right_shoulder"]]
HIPS = [INDEX["left_hip"], INDEX["right_hip"]]


def person(cx: float, cy: float, height: float = 0.6, width: float = 0.2) -> np.ndarray:
    """A skeleton (18, 3): keypoints spread over a box centred at (cx, cy), hips at the centre."""
    kp = np.zeros((NUM_KEYPOINTS, 3), np.float32)
    ys = np.linspace(cy - height / 2, cy + height / 2, NUM_KEYPOINTS)
    xs = np.linspace(cx - width / 2, cx + width / 2, NUM_KEYPOINTS)
    kp[:, 0], kp[:, 1], kp[:, 2] = xs, ys, 0.9
    kp[[11, 12], :2] = [[cx - 0.02, cy], [cx + 0.02, cy]]  # hips
    return kp


def frame(*people: np.ndarray) -> Skeletons:
    if not people:
        return Skeletons.empty(4 / 3)
    return Skeletons(np.stack(people), 4 / 3)


def tracker(**kwargs: float) -> Tracker:
    return Tracker(TrackingConfig(**kwargs), FeatureConfig(), history_s=3.0)


def test_one_person_walking_keeps_one_id_and_fills_the_window() -> None:
    t = tracker()
    for i in range(40):  # 2.6 s at 15 fps, moving right a little every frame
        tracks = t.step(frame(person(0.3 + i * 0.005, 0.5)), i / FPS)
        assert [tr.id for tr in tracks] == [1]
    window, full = tracks[0].window.window(39 / FPS)
    assert full and window.shape == (30, NUM_KEYPOINTS, 3)


def test_nobody_in_view_ages_tracks_out_after_max_age() -> None:
    t = tracker(max_age_s=1.0)
    t.step(frame(person(0.5, 0.5)), 0.0)
    # coasting: still there, not seen
    assert [(tr.id, tr.seen) for tr in t.step(frame(), 0.5)] == [(1, False)]
    assert [tr.id for tr in t.step(frame(), 1.0)] == [1]  # exactly max_age_s: kept
    assert t.step(frame(), 1.01) == []
    assert [tr.id for tr in t.step(frame(person(0.5, 0.5)), 1.1)] == [2]  # a new id after expiry


def test_a_gap_shorter_than_max_age_keeps_the_id() -> None:
    t = tracker(max_age_s=1.5)
    t.step(frame(person(0.5, 0.5)), 0.0)
    t.step(frame(), 0.5)
    assert [(tr.id, tr.seen) for tr in t.step(frame(person(0.52, 0.5)), 1.0)] == [(1, True)]


def test_two_people_keep_their_ids_when_listed_in_the_other_order() -> None:
    t = tracker()
    a, b = person(0.2, 0.5), person(0.8, 0.5)
    t.step(frame(a, b), 0.0)
    tracks = t.step(frame(person(0.81, 0.5), person(0.21, 0.5)), 1 / FPS)
    by_id = {tr.id: tr.centre[0] for tr in tracks}
    assert by_id[1] == pytest.approx(0.21) and by_id[2] == pytest.approx(0.81)


def test_a_fall_continues_the_track_through_the_centroid_fallback() -> None:
    # Standing (tall thin box) to lying (wide flat box) in one step: IoU ~0, centres 0.2 apart.
    t = tracker(min_iou=0.3, max_distance=0.25)
    t.step(frame(person(0.5, 0.5, height=0.6, width=0.1)), 0.0)
    tracks = t.step(frame(person(0.5, 0.7, height=0.1, width=0.5)), 0.1)
    assert [tr.id for tr in tracks] == [1]
    t_iou_only = tracker(min_iou=0.3, max_distance=0.0)
    t_iou_only.step(frame(person(0.5, 0.5, height=0.6, width=0.1)), 0.0)
    split = t_iou_only.step(frame(person(0.5, 0.7, height=0.1, width=0.5)), 0.1)
    assert [(tr.id, tr.seen) for tr in split] == [(1, False), (2, True)]  # IoU alone splits the fall


def test_drop_is_fast_descent_in_body_lengths() -> None:
    fast, slow = tracker(), tracker()
    for i in range(46):  # 3 s at 15 fps
        t = i / FPS
        # fast: the centre falls 0.3 image heights (half a body length) between 1.0 s and 1.4 s
        y_fast = 0.4 + 0.3 * np.clip((t - 1.0) / 0.4, 0, 1)
        # slow: the same 0.3 over 3 s (lying down on purpose)
        y_slow = 0.4 + 0.3 * t / 3.0
        fast.step(frame(person(0.5, y_fast)), t)
        slow.step(frame(person(0.5, y_slow)), t)
    now = 45 / FPS
    assert fast.tracks[0].drop(now, within_s=0.8, memory_s=3.0) == pytest.approx(0.5, abs=0.01)
    assert slow.tracks[0].drop(now, within_s=0.8, memory_s=3.0) == pytest.approx(0.3 * 0.8 / 3 / 0.6, abs=0.01)
    # the fast drop is forgotten once it is older than memory_s
    assert fast.tracks[0].drop(now, within_s=0.8, memory_s=1.0) == pytest.approx(0.0, abs=1e-6)


def test_motion_measures_a_person_getting_up_since_their_episode_began() -> None:
    falls, rises, bobs = tracker(), tracker(), tracker()
    for i in range(46):  # 3 s at 15 fps
        t = i / FPS
        moved = 0.3 * np.clip((t - 1.0) / 1.0, 0, 1)  # 0.3 image heights (half a body length) in 1 s
        falls.step(frame(person(0.5, 0.4 + moved)), t)
        rises.step(frame(person(0.5, 0.7 - moved)), t)
        bobs.step(frame(person(0.5, 0.7 - moved + 0.3 * np.clip(t - 2.0, 0, 1))), t)  # up, then back down

    def motion(track: int, rise_since: float, who: Tracker = rises) -> tuple:
        return who.tracks[track].motion(45 / FPS, 0.8, 3.0, 3.0, 35.0, 60.0, -np.inf, rise_since)

    drop, slow_drop, _, rise = motion(0, 0.0)
    assert (drop, slow_drop) == (0.0, 0.0) and rise == pytest.approx(0.5, abs=0.01)
    assert motion(0, 1.5)[3] == pytest.approx(0.25, abs=0.02)  # only the part since the episode began
    assert motion(0, np.inf)[3] == 0.0  # no episode
    assert motion(0, 0.0, bobs)[3] == pytest.approx(0.0, abs=0.01)  # pushed up and sank back
    jitter = tracker()
    for i in range(46):  # lying still; the last frame puts the trunk 0.3 image heights up
        jitter.step(frame(person(0.5, 0.7 - (0.3 if i == 45 else 0.0))), i / FPS)
    assert motion(0, 0.0, jitter)[3] == 0.0  # one frame is no standing up
    _, slow_drop, _, rise = motion(0, 0.0, falls)
    assert slow_drop == pytest.approx(0.5, abs=0.01) and rise == 0.0


def test_trunk_tilt_is_degrees_from_vertical_in_pixels() -> None:
    t = tracker()
    upright = person(0.5, 0.5)
    upright[SHOULDERS, :2] = [[0.48, 0.3], [0.52, 0.3]]  # straight above the hips
    t.step(frame(upright), 0.0)
    assert t.tracks[0].trunk_tilt == pytest.approx(0.0, abs=0.01)
    lying = upright.copy()
    lying[SHOULDERS, :2] = [[0.3, 0.5], [0.3, 0.52]]  # level with the hips, to their left
    lying[HIPS, :2] = [[0.5, 0.5], [0.5, 0.52]]
    t.step(frame(lying), 0.1)
    assert t.tracks[0].trunk_tilt == pytest.approx(90.0, abs=0.5)
    # x is scaled by the aspect: 0.15 image widths across and 0.2 heights up is 45 degrees at 4:3
    diagonal = upright.copy()
    diagonal[SHOULDERS, :2] = [[0.35, 0.3], [0.35, 0.3]]
    diagonal[HIPS, :2] = [[0.5, 0.5], [0.5, 0.5]]
    t.step(frame(diagonal), 0.2)
    assert t.tracks[0].trunk_tilt == pytest.approx(45.0, abs=0.5)
    hidden = upright.copy()
    hidden[HIPS[0], 2] = 0.1  # a hip below MIN_CONFIDENCE: the trunk is not seen
    t.step(frame(hidden), 0.3)
    assert t.tracks[0].trunk_tilt is None


def tipped(angle_deg: float) -> np.ndarray:
    """A person whose trunk (hips at (0.5, 0.5), shoulders 0.2 away) leans angle_deg from vertical."""
    kp = person(0.5, 0.5)
    dx, dy = 0.2 * np.sin(np.radians(angle_deg)) / (4 / 3), -0.2 * np.cos(np.radians(angle_deg))
    kp[HIPS, :2] = [[0.5, 0.5], [0.5, 0.5]]
    kp[SHOULDERS, :2] = [[0.5 + dx, 0.5 + dy], [0.5 + dx, 0.5 + dy]]
    return kp


def test_tipped_over_is_the_trunk_going_from_upright_to_lying_not_lying_still() -> None:
    falls, lies, sinks = tracker(), tracker(), tracker()
    for i in range(46):  # 3 s at 15 fps
        t = i / FPS
        falls.step(frame(tipped(float(np.clip((t - 1.0) / 1.0, 0, 1)) * 90)), t)  # upright -> lying in 1 s
        lies.step(frame(tipped(85.0)), t)  # lying all along
        sinks.step(frame(tipped(t / 3.0 * 90)), t)  # tipping over 3 s
    now = 45 / FPS
    kwargs = {"upright_deg": 45.0, "tipped_deg": 60.0}
    assert falls.tracks[0].tipped_over(now, 3.0, 3.0, **kwargs)
    assert not lies.tracks[0].tipped_over(now, 3.0, 3.0, **kwargs)
    # 45 -> 60 degrees took 0.5 s of the sinking track's 3 s: within 0.6 s yes, within 0.4 s no
    assert sinks.tracks[0].tipped_over(now, 0.6, 3.0, **kwargs)
    assert not sinks.tracks[0].tipped_over(now, 0.4, 3.0, **kwargs)
    # frames before `since` (the end of an episode) do not count
    assert not falls.tracks[0].tipped_over(now, 3.0, 3.0, since=1.9, **kwargs)


def test_size_is_the_longer_side_of_the_sure_keypoints_in_image_heights() -> None:
    t = tracker()
    t.step(frame(person(0.5, 0.5, height=0.6, width=0.2)), 0.0)
    assert t.tracks[0].size == pytest.approx(0.6, abs=0.01)
    t.step(frame(person(0.5, 0.5, height=0.1, width=0.6)), 0.1)  # lying across: 0.6 widths = 0.8 heights
    assert t.tracks[0].size == pytest.approx(0.8, abs=0.01)


def test_skeletons_without_keypoints_make_no_track() -> None:
    empty_person = np.zeros((NUM_KEYPOINTS, 3), np.float32)
    assert tracker().step(frame(empty_person), 0.0) == []


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([0, 0, 1, 1], [0, 0, 1, 1], 1.0),  # identical
        ([0, 0, 1, 1], [0.5, 0, 1.5, 1], 1 / 3),  # half overlap
        ([0, 0, 1, 1], [2, 2, 3, 3], 0.0),  # apart
        ([0, 0, 0, 0], [0, 0, 0, 0], 0.0),  # no area: no division by zero
    ],
)
def test_iou(a: list[float], b: list[float], expected: float) -> None:
    assert iou(np.array([a], float), np.array([b], float))[0, 0] == pytest.approx(expected)
