"""The detector's state file: what it holds, a corrupt one, and an outage taken up after a restart."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from edge.config import load_config
from edge.detector import FallDetector
from edge.events import Event
from edge.pose.recorded import load_trace
from edge.skeleton import Skeletons
from tests.support import REPO, needs_model, replay_config
from tests.test_pipeline import nobody_classifier

DEMO = REPO / "edge" / "demo_data" / "gmdcsa24_fall.npz"


def nobody_detector(state: Path, wall: list[float]) -> FallDetector:
    cfg = load_config(None, ["events.heartbeat_s=0"])
    return FallDetector(cfg, nobody_classifier(cfg), str(state), wall_clock=lambda: wall[0])


def handed_on(detector: FallDetector, events: list[Event], now: float) -> None:
    """What the pipeline does with a step's events: stage them, hand them on (nothing to do here), save."""
    detector.stage(events, now)
    detector.save(now)


def test_an_outage_from_before_a_restart_ends_with_the_first_frame(tmp_path: Path) -> None:
    state, wall = tmp_path / "state.json", [1000.0]
    first = nobody_detector(state, wall)
    lost = first.camera("source_lost", 12.0)
    handed_on(first, lost, 12.0)
    assert [e.event for e in lost] == ["source_lost"]
    assert json.loads(state.read_text())["outage"]["id"] == lost[0].id
    wall[0] += 30.0  # restarted; the camera works again
    second = nobody_detector(state, wall)
    second.resume(0.0)
    assert second.camera("source_lost", 10.0) == []  # the same outage: not pushed again
    second.events.camera_lost = False
    restored = second.step(10.5, Skeletons.empty(4 / 3)).events
    assert [e.event for e in restored] == ["source_restored"]
    assert second.step(10.6, Skeletons.empty(4 / 3)).events == []
    handed_on(second, restored, 10.6)
    assert json.loads(state.read_text())["outage"] is None


EPISODE = {"id": "e1", "kind": "fall", "state": "alert", "since_wall": 990.0, "track_id": 1, "probs": None}
PLACE = {"centre": [0.5, 0.5], "size": 0.4, "aspect": 1.0}
EVENT = json.loads(Event("source_lost", 3.0).to_json())


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"version": 1, "episodes": [{"kind": "fall"}]}',
        "[]",
        '{"version": 1, "episodes": null}',  # not a list: a TypeError out of resume() stopped the start
        json.dumps({"version": 1, "episodes": [{**EPISODE, **PLACE, "probs": [0.9, 0.1]}]}),  # crashed the alert
        json.dumps({"version": 1, "episodes": [{**EPISODE, **PLACE, "track_id": [1]}]}),  # unhashable id
        '{"version": 1, "episodes": [], "pending": [{"event": "fall_alert"}]}',  # an event without its keys
        '{"version": 1, "episodes": [], "pending": {}}',
        json.dumps({"version": 1, "episodes": [], "pending": [{**EVENT, "event": "heartbeat"}]}),  # not stateful
        json.dumps({"version": 1, "episodes": [], "pending": [{**EVENT, "video_time": "soon"}]}),
        json.dumps({"version": 1, "episodes": [], "outage": {"id": "o1", "since_wall": 9.0}, "pending": [1]}),
    ],
)
def test_a_corrupt_state_file_is_named_in_the_log_and_replaced(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state.json"
    state.write_text(content)
    detector = nobody_detector(state, [1000.0])
    with caplog.at_level(logging.ERROR):
        detector.resume(0.0)
    assert any(str(state) in r.getMessage() and "starting afresh" in r.getMessage() for r in caplog.records)
    assert detector.open_episodes() == [] and detector.take_pending() == []
    lost = detector.camera("source_lost", 1.0)  # no outage was taken up: pushed; the file is rewritten whole
    assert [e.event for e in lost] == ["source_lost"]
    handed_on(detector, lost, 1.0)
    assert json.loads(state.read_text())["outage"] is not None


def test_an_alert_due_at_restart_says_camera_lost_only_after_a_second_without_frames(tmp_path: Path) -> None:
    # The episode's confirm_s passed while the service restarted: its alert comes before the camera's first
    # frame. A camera still opening is not a lost one; one that sends nothing for CAMERA_SILENT_S is.
    state = tmp_path / "state.json"
    episode = {**EPISODE, **PLACE, "state": "suspected", "since_wall": 980.0}
    state.write_text(json.dumps({"version": 1, "episodes": [episode], "outage": None}))
    details = []
    for first_idle in (0.2, 1.2):
        detector = nobody_detector(state, [1000.0])
        detector.resume(0.0)
        (alert,) = detector.idle(first_idle)
        details.append((alert.event, alert.detail))
    assert details == [("fall_alert", None), ("fall_alert", "camera lost")]


def test_an_alert_due_at_restart_during_a_known_outage_says_camera_lost_at_once(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    episode = {**EPISODE, **PLACE, "state": "suspected", "since_wall": 980.0}
    outage = {"id": "o1", "since_wall": 970.0}
    state.write_text(json.dumps({"version": 1, "episodes": [episode], "outage": outage}))
    detector = nobody_detector(state, [1000.0])
    detector.resume(0.0)
    (alert,) = detector.idle(0.2)
    assert (alert.event, alert.detail) == ("fall_alert", "camera lost")


def test_a_state_file_that_could_not_be_written_is_written_a_second_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import edge.detector

    state, failures = tmp_path / "state.json", [OSError(28, "No space left on device")] * 2  # stage, save
    real_write = edge.detector.write_atomic

    def write_atomic(path: str, data: bytes) -> None:
        if failures:
            raise failures.pop()
        real_write(path, data)

    monkeypatch.setattr(edge.detector, "write_atomic", write_atomic)
    detector = nobody_detector(state, [1000.0])
    handed_on(detector, detector.camera("source_lost", 1.0), 1.0)  # the disk is full
    detector.save(1.5)
    assert not state.exists()  # not every frame
    detector.save(2.1)
    assert json.loads(state.read_text())["outage"] is not None


@needs_model
def test_the_state_file_holds_the_open_episode_and_empties_when_it_ends(tmp_path: Path) -> None:
    from edge.classifier import create_classifier

    cfg = replay_config(DEMO, ("events.heartbeat_s=0",))
    state = tmp_path / "state.json"
    detector = FallDetector(cfg, create_classifier(cfg.classifier, cfg.features), str(state), lambda: 5000.0)
    trace = load_trace(DEMO)
    for t, people in zip(trace.times, trace.keypoints, strict=True):
        step = detector.step(float(t), Skeletons(people.astype(np.float32), trace.aspect))
        handed_on(detector, step.events, float(t))
    (episode,) = json.loads(state.read_text())["episodes"]
    assert episode["state"] == "suspected" and episode["kind"] == "fall"
    assert episode["since_wall"] == pytest.approx(
        5000.0 - (trace.times[-1] - detector.open_episodes()[0].since), abs=1.1
    )
    end = float(trace.times[-1]) + 0.1
    handed_on(detector, detector.cancel(end), end)
    assert json.loads(state.read_text())["episodes"] == []


def test_a_new_events_config_is_taken_up_whole_at_the_next_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    """use_events (the set-up page's thread) changes nothing mid-frame; from the next frame on every
    part of the rule reads the new config: the drops measured for it and the tracks' history too."""
    from edge.tracking import Track

    cfg = load_config(None, ["events.heartbeat_s=0"])
    detector = FallDetector(cfg, nobody_classifier(cfg))
    windows: list[float] = []
    real_motion = Track.motion

    def motion(self: Track, now: float, drop_within_s: float, slow_within_s: float, *args: float) -> tuple:
        windows.extend([drop_within_s, slow_within_s])  # the two drops' spans, as the rule reads them
        return real_motion(self, now, drop_within_s, slow_within_s, *args)

    monkeypatch.setattr(Track, "motion", motion)
    trace = load_trace(DEMO)
    frames = [
        (float(t), Skeletons(p.astype(np.float32), trace.aspect))
        for t, p in zip(trace.times, trace.keypoints, strict=True)
    ]
    detector.step(*frames[0])
    new = cfg.events.replace(drop_within_s=0.5, slow_drop_within_s=2.0, motion_memory_s=5.0)
    detector.use_events(new)
    assert detector.events.cfg is cfg.events and windows == [0.8, 3.0]  # not mid-frame
    detector.step(*frames[1])
    assert detector.events.cfg is new and windows[2:] == [0.5, 2.0] and detector.tracker.history_s == 6.0


def test_an_outage_from_before_a_restart_ends_even_if_the_camera_was_slow_to_start(tmp_path: Path) -> None:
    # After a restart during an outage the camera came back, but its first read timed out (the
    # pipeline calls idle() then): the first frame must still end the old outage, or the next
    # real outage is swallowed as "still lost since before the restart".
    state, wall = tmp_path / "state.json", [1000.0]
    first = nobody_detector(state, wall)
    handed_on(first, first.camera("source_lost", 12.0), 12.0)
    wall[0] += 30.0
    second = nobody_detector(state, wall)
    second.resume(0.0)
    assert second.idle(0.2) == []  # no frame yet: the camera is still opening
    restored = second.step(0.5, Skeletons.empty(4 / 3)).events
    handed_on(second, restored, 0.5)
    assert [e.event for e in restored] == ["source_restored"]
    assert json.loads(state.read_text())["outage"] is None
    assert [e.event for e in second.camera("source_lost", 60.0)] == ["source_lost"]  # a new outage: pushed
