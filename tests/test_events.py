"""The per-track fall state machine: scripted probabilities in, exact events and times out (norfair style)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest

from edge.config import EventsConfig
from edge.events import Event, EventLog, FallEvents, Observation, inside, read_events

FPS = 10.0
# Class order: fall, stand, walking, lie, sit.
FALLING = np.array([0.9, 0.05, 0.0, 0.05, 0.0])
LYING = np.array([0.1, 0.0, 0.0, 0.9, 0.0])
STANDING = np.array([0.0, 0.9, 0.1, 0.0, 0.0])
UNSURE = np.array([0.2, 0.3, 0.1, 0.2, 0.2])  # down score 0.4: between up (0.3) and down (0.5)
CFG = EventsConfig(confirm_s=2.0, recover_s=1.0, cooldown_s=5.0, heartbeat_s=0.0)


def run(
    script: list[tuple[float, np.ndarray | None]],
    cfg: EventsConfig = CFG,
    drop: float = 0.5,
    centre: tuple[float, float] = (0.5, 0.5),
    track_id: int = 1,
    tilt: float | None = 0.0,
) -> list[tuple[str, float]]:
    """Play (seconds, probs) segments at FPS for one track; returns (event, video_time) pairs."""
    machine = FallEvents(cfg)
    out = []
    frame = 0
    for seconds, probs in script:
        for _ in range(round(seconds * FPS)):
            obs = Observation(track_id, probs, centre, drop, tilt)
            out += [(e.event, round(e.video_time, 2)) for e in machine.step(frame / FPS, [obs])]
            frame += 1
    return out


def test_fall_then_lying_alerts_after_confirm_s() -> None:
    # 3 frames of falling (0.0, 0.1, 0.2): suspected at the third; alert confirm_s later.
    assert run([(0.3, FALLING), (3.0, LYING)]) == [("fall_suspected", 0.2), ("fall_alert", 2.2)]


def test_getting_up_within_confirm_s_recovers_without_alert() -> None:
    # Up from 1.0 s; recover_s = 1 s of up -> recovered at 2.0 s, before the alert at 2.2 s.
    assert run([(0.3, FALLING), (0.7, LYING), (2.0, STANDING)]) == [("fall_suspected", 0.2), ("recovered", 2.0)]


@pytest.mark.parametrize(("tilt", "recovers"), [(10.0, True), (45.0, True), (80.0, False), (None, False)])
def test_up_needs_an_upright_trunk(tilt: float | None, recovers: bool) -> None:
    # The classifier says "up" from 1.0 s; only a trunk seen within 45 degrees of vertical recovers.
    events = run([(0.3, FALLING), (0.7, LYING), (3.0, STANDING)], tilt=tilt)
    if recovers:
        assert events == [("fall_suspected", 0.2), ("recovered", 2.0)]
    else:
        assert events == [("fall_suspected", 0.2), ("fall_alert", 2.2)]


def test_getting_up_after_the_alert_recovers() -> None:
    assert run([(0.3, FALLING), (3.0, LYING), (2.0, STANDING)]) == [
        ("fall_suspected", 0.2),
        ("fall_alert", 2.2),
        ("recovered", 4.3),
    ]


def test_a_single_spike_is_not_enough() -> None:
    # suspect_frames = 3: two frames of falling then standing never suspect.
    assert run([(0.2, FALLING), (1.0, STANDING), (0.2, FALLING), (1.0, STANDING)]) == []


def test_lying_down_slowly_never_suspects() -> None:
    # The classifier says fall, then lie, but the hips did not drop fast (drop < min_drop): deliberate lying.
    assert run([(1.0, FALLING), (5.0, LYING)], drop=0.05) == []


def test_a_fall_already_under_way_when_the_window_filled_is_caught_by_posture_and_drop() -> None:
    # The first full window is mostly lying (the classifier says lie, not fall), but the hips
    # dropped fast a moment ago: down + drop is evidence.
    assert run([(3.0, LYING)], drop=0.4) == [("fall_suspected", 0.2), ("fall_alert", 2.2)]


def test_posture_alone_would_alarm_with_min_drop_zero() -> None:
    # min_drop = 0 is the posture-only rule DESIGN.md warns about: it alarms on the same input.
    cfg = dataclasses.replace(CFG, min_drop=0.0)
    assert run([(1.0, FALLING), (5.0, LYING)], cfg=cfg, drop=0.05)[:1] == [("fall_suspected", 0.2)]


def test_window_not_full_never_alarms() -> None:
    assert run([(5.0, None)]) == []


def test_bed_zone_never_alarms_even_with_a_long_lie() -> None:
    bed = [[[0.4, 0.4], [0.6, 0.4], [0.6, 0.6], [0.4, 0.6]]]
    cfg = dataclasses.replace(CFG, bed_zones=bed, long_lie_s=1.0)
    assert run([(0.5, FALLING), (3.0, LYING)], cfg=cfg) == []
    assert run([(0.5, FALLING), (3.0, LYING)], cfg=cfg, centre=(0.8, 0.5))[:1] == [("fall_suspected", 0.2)]


def test_unsure_frames_neither_recover_nor_break_recovery() -> None:
    # Up 0.5 s, unsure 0.3 s, up again: the up streak (0.3 s .. ) is not broken by unsure frames.
    events = run([(0.3, FALLING), (0.5, STANDING), (0.3, UNSURE), (1.0, STANDING)])
    assert events == [("fall_suspected", 0.2), ("recovered", 1.3)]


def test_down_frames_break_recovery() -> None:
    events = run([(0.3, FALLING), (0.5, STANDING), (0.1, LYING), (1.5, STANDING)])
    assert events == [("fall_suspected", 0.2), ("recovered", 1.9)]


def test_cooldown_blocks_a_new_suspicion_until_it_ends() -> None:
    # Recovered at 2.0 s; cooldown 5 s -> falling again at 3.0 s is ignored, at 7.0 s it counts.
    script = [(0.3, FALLING), (0.7, LYING), (2.0, STANDING), (1.0, FALLING), (3.0, STANDING), (0.3, FALLING)]
    assert run(script) == [("fall_suspected", 0.2), ("recovered", 2.0), ("fall_suspected", 7.2)]


def test_long_lie_off_by_default_and_alerts_when_set() -> None:
    assert run([(10.0, LYING)], drop=0.0) == []
    cfg = dataclasses.replace(CFG, long_lie_s=3.0)
    assert run([(10.0, LYING)], cfg=cfg, drop=0.0) == [("long_lie", 3.0)]


def test_a_lost_person_after_a_suspected_fall_escalates_and_a_new_track_can_recover_it() -> None:
    machine = FallEvents(CFG)
    events = []
    for i in range(60):
        t = i / FPS
        if i < 3:
            obs = [Observation(1, FALLING, (0.5, 0.5), 0.5)]
        elif i < 30:
            obs = []  # the pose stage lost the person lying on the floor
        else:
            obs = [Observation(2, STANDING, (0.5, 0.5), 0.0)]  # back on their feet, under a new id
        events += [(e.event, e.track_id, round(e.video_time, 2)) for e in machine.step(t, obs)]
    assert events == [("fall_suspected", 1, 0.2), ("fall_alert", 1, 2.2), ("recovered", 1, 4.0)]


def test_cancel_ends_every_episode_and_starts_the_cooldown() -> None:
    machine = FallEvents(CFG)
    for i in range(3):
        machine.step(i / FPS, [Observation(1, FALLING, (0.5, 0.5), 0.5)])
    assert machine.states() == {1: "suspected"}
    cancelled = machine.cancel(0.5)
    assert [(e.event, e.track_id, e.video_time) for e in cancelled] == [("cancelled", 1, 0.5)]
    assert cancelled[0].probs is not None and cancelled[0].probs["fall"] == pytest.approx(0.9)
    later = [machine.step(0.6 + i / FPS, [Observation(1, FALLING, (0.5, 0.5), 0.5)]) for i in range(10)]
    assert not any(later)


def test_heartbeat_every_heartbeat_s() -> None:
    cfg = dataclasses.replace(CFG, heartbeat_s=1.0)
    assert [e for e in run([(3.1, STANDING)], cfg=cfg, drop=0.0)] == [
        ("heartbeat", 1.0),
        ("heartbeat", 2.0),
        ("heartbeat", 3.0),
    ]


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((0.5, 0.5), True),  # centre of the square
        ((0.2, 0.2), True),  # a corner
        ((0.2, 0.5), True),  # on an edge
        ((0.1, 0.5), False),  # left of it
        ((0.5, 0.9), False),  # below it
    ],
)
def test_inside_polygon(point: tuple[float, float], expected: bool) -> None:
    assert inside(point, [[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8]]) is expected


def test_event_log_appends_whole_fsynced_lines_that_parse(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "events.jsonl"
    log = EventLog(path)
    written = [Event("fall_suspected", 1.25, 3, {"fall": 0.9}), Event("source_lost", 2.0)]
    for event in written:
        log.write(event)
        assert path.read_text().endswith("\n")  # durable and whole after every write
    log.close()
    assert read_events(path) == written
    EventLog(path).write(Event("heartbeat", 3.0))  # appends, never truncates
    assert [e.event for e in read_events(path)] == ["fall_suspected", "source_lost", "heartbeat"]


def test_read_events_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(Event("heartbeat", 1.0).to_json() + os.linesep + '{"event": "heartbeat"}\n')
    with pytest.raises(ValueError, match=r"events\.jsonl:2: event line lacks"):
        read_events(path)


def test_cooldown_survives_frames_where_the_person_is_not_seen() -> None:
    machine = FallEvents(CFG)
    seen = [Observation(1, FALLING, (0.5, 0.5), 0.5)]
    for i in range(3):
        machine.step(i / FPS, seen)
    machine.cancel(0.3)
    machine.step(0.4, [])  # the pose stage missed the person in this frame
    later = [e.event for i in range(10) for e in machine.step(0.5 + i / FPS, seen)]
    assert later == []
