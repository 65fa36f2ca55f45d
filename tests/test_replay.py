"""Dataset clips replayed through the product's alarm (edge.training.replay) and scored per clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.cli import main as cli_main
from edge.commands.dataset import DEFAULT_POSE_CACHE
from edge.config import PoseConfig
from edge.events import Event
from edge.training.clips import Clip, DatasetError
from edge.training.evaluate import ONSET_TOLERANCE_S, clip_events, events_report
from edge.training.pose_cache import Crop, PoseTrack, VideoPose
from edge.training.replay import clip_trace, held, load_model, modes, replay, replay_clips, video_clips

REPO = Path(__file__).resolve().parents[1]
FALL = "gmdcsa24/Subject 2/Fall/13.mp4"  # labelled onset 2.5 s, a backward fall
DAILY = "gmdcsa24/Subject 2/ADL/23.mp4"  # sitting and eating


class SomeVideos(VideoPose):
    """The project's pose and its on-disk cache, for the named videos only: the adapter skips the others
    as it skips a bad video, so a test poses (on a cold cache) no more than it needs."""

    def __init__(self, names: set[str]) -> None:
        super().__init__(PoseConfig(), Path(DEFAULT_POSE_CACHE).expanduser())
        self.names = names

    def track(self, path: Path, crop: Crop | None = None) -> PoseTrack:
        if not any(path.as_posix().endswith(name) for name in self.names):
            raise DatasetError(f"{path}: not needed by this test")
        return super().track(path, crop)


@pytest.fixture(scope="module")
def gmd_clips(shared_data: Path) -> dict[str, Clip]:
    loaded = video_clips(shared_data, ["gmdcsa24"], SomeVideos({FALL, DAILY}))
    return {clip.clip_id: clip for clip in loaded.clips}


def test_held_keeps_the_clip_and_adds_frames_from_its_last_second(gmd_clips: dict[str, Clip]) -> None:
    trace = clip_trace(gmd_clips[FALL])
    step = float(np.median(np.diff(trace.times)))
    longer = held(trace, 15.0)
    n = len(trace)
    assert len(longer) == n + round(15.0 / step)
    np.testing.assert_array_equal(longer.times[:n], trace.times)
    np.testing.assert_array_equal(longer.keypoints[:n], trace.keypoints)
    np.testing.assert_allclose(np.diff(longer.times[n - 1 :]), step)
    last_second = trace.keypoints[trace.times >= trace.times[-1] - 1.0]
    assert len(last_second) > 2
    for frame in longer.keypoints[n:]:
        assert any(np.array_equal(frame, kept) for kept in last_second)
    np.testing.assert_array_equal(longer.keypoints[n], trace.keypoints[n - 2])  # backwards from the end first
    distinct = {frame.tobytes() for frame in last_second}
    assert {frame.tobytes() for frame in longer.keypoints[n:]} == distinct and len(distinct) > 1  # not frozen
    assert longer.size == trace.size and longer.meta["source"] == FALL


def test_a_real_fall_is_suspected_near_its_onset_and_a_daily_clip_does_not_alarm(
    gmd_clips: dict[str, Clip],
) -> None:
    model = load_model(REPO / "models")
    assert model.path.name == "fallwatch.onnx"
    as_is = [mode for mode in modes(hold_s=15.0) if mode.name == "as is"]
    fall, daily = replay_clips([gmd_clips[FALL], gmd_clips[DAILY]], model, as_is)["as is"]
    assert fall.onset_s == pytest.approx(2.5)
    assert fall.suspected_s is not None, "the shipped model and rules missed a clear backward fall"
    assert fall.suspected_delay_s is not None and -ONSET_TOLERANCE_S <= fall.suspected_delay_s <= 3.0
    assert not fall.early_s
    assert daily.kind == "adl" and daily.alert_s is None


def test_a_person_found_as_they_fall_is_suspected_from_the_pose_before_the_classifier_has_a_window(
    shared_data: Path,
) -> None:
    # UR Fall fall-14 (camera 0) starts 0.3 s before the fall and lasts 2 s: the classifier's 2 s
    # window never fills, as for a person first seen (or found again) as they fall.
    (clip,) = video_clips(shared_data, ["urfd_video"], SomeVideos({"fall/fall-14-cam0.mp4"})).clips
    assert clip.fall_onset_s == pytest.approx(0.3) and clip.times[-1] <= 2.0
    events = replay(clip_trace(clip), load_model(REPO / "models")).events
    assert [(e.event, e.detail, e.probs) for e in events] == [("fall_suspected", "pose-only fall", None)]
    assert clip.fall_onset_s < events[0].video_time <= clip.fall_onset_s + 1.5


def test_config_overrides_reach_both_replays(gmd_clips: dict[str, Clip]) -> None:
    # A suspect_frames no track can reach (10 minutes of frames) silences the fall in both modes.
    model = load_model(REPO / "models")
    replays = modes(hold_s=2.0, overrides=["events.suspect_frames=9000"])
    assert [m.overrides[-1] for m in replays] == ["events.suspect_frames=9000"] * 2
    results = replay_clips([gmd_clips[FALL]], model, replays)
    assert all(result.suspected_s is None for (result,) in results.values())


def test_evaluate_events_names_a_video_missing_from_the_pose_cache_in_one_line(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty-cache"
    argv = ["evaluate", "--model", str(REPO / "models"), "--dataset", str(tmp_path / "unused.npz"), "--events"]
    argv += ["--all-clips", "--sources", "gmdcsa24", "--data", str(shared_data), "--pose-cache", str(empty)]
    assert cli_main(argv) == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message
    assert str(shared_data / "gmdcsa24") in message and ".mp4: not in the pose cache" in message
    assert "fallwatch dataset build --sources gmdcsa24" in message
    assert not empty.exists()  # pose never ran, nothing was cached


def test_clip_events_scores_delays_and_early_suspicions() -> None:
    def ev(kind: str, t: float) -> Event:
        return Event(kind, t)  # type: ignore[arg-type]

    early_then_caught = clip_events(
        "a/fall", "a", "fall", 4.0, [ev("fall_suspected", 1.0), ev("recovered", 2.0), ev("fall_suspected", 4.8)]
    )
    assert early_then_caught.early_s == (1.0,) and early_then_caught.suspected_s == 4.8
    assert early_then_caught.suspected_delay_s == pytest.approx(0.8) and early_then_caught.alert_s is None
    caught = clip_events("a/fall2", "a", "fall", 4.0, [ev("fall_suspected", 3.7), ev("fall_alert", 6.0)])
    assert caught.suspected_delay_s == pytest.approx(-0.3) and caught.alert_delay_s == pytest.approx(2.0)
    quiet = clip_events("a/adl", "a", "adl", None, [ev("fall_suspected", 0.5)])
    assert quiet.suspected_s == 0.5 and quiet.suspected_delay_s is None and not quiet.early_s
    report = events_report([early_then_caught, caught, quiet])["a"]
    assert (report["fall_clips"], report["suspected"], report["alerted"]) == (2, 2, 1)
    assert report["delay_suspected_s"]["max"] == pytest.approx(0.8)
    assert report["delay_alert_s"] == {"median": pytest.approx(2.0), "max": pytest.approx(2.0)}
    assert report["not_alerted"] == ["a/fall"] and report["suspected_early"] == ["a/fall"]
    assert report["adl_suspected"] == ["a/adl"] and report["adl_alerted"] == []


def test_a_long_lie_counts_as_the_alarm_and_open_episodes_are_reported() -> None:
    lie = clip_events("b/fall", "b", "fall", 2.0, [Event("long_lie", 70.0)], ("alert",))
    assert lie.alert_s == 70.0 and lie.suspected_s is None
    sofa = clip_events("b/adl", "b", "adl", None, [Event("fall_suspected", 3.0)], ("suspected",))
    report = events_report([lie, sofa])["b"]
    assert report["alerted"] == 1 and report["not_suspected"] == ["b/fall"]
    assert report["open_at_end"] == {"b/fall": ["alert"]} and report["adl_open_at_end"] == {"b/adl": ["suspected"]}
