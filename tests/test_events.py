"""The fall rule's state machine: scripted probabilities in, exact events and times out (norfair style)."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from edge.config import EventsConfig
from edge.events import RECENT_LINES, Event, EventLog, FallEvents, Observation, inside, read_events

FPS = 10.0
# Class order: fall, stand, walking, lie, sit.
FALLING = np.array([0.9, 0.05, 0.0, 0.05, 0.0])
LYING = np.array([0.1, 0.0, 0.0, 0.9, 0.0])
STANDING = np.array([0.0, 0.9, 0.1, 0.0, 0.0])
UNSURE = np.array([0.2, 0.3, 0.1, 0.2, 0.2])  # down score 0.4: between up (0.3) and down (0.5)
CFG = EventsConfig(confirm_s=2.0, recover_s=1.0, heartbeat_s=0.0)


def run(
    script: list[tuple[float, np.ndarray | None]] | list[tuple[float, np.ndarray | None, float]],
    cfg: EventsConfig = CFG,
    drop: float = 0.5,
    centre: tuple[float, float] = (0.5, 0.5),
    track_id: int = 1,
    tilt: float | None = 0.0,
    slow_drop: float = 0.0,
    rise: float = 0.0,
) -> list[tuple[str, float]]:
    """Play (seconds, probs) or (seconds, probs, rise) segments at FPS for one track; returns (event,
    video_time) pairs."""
    machine = FallEvents(cfg)
    out = []
    frame = 0
    for seconds, probs, *segment_rise in script:
        for _ in range(round(seconds * FPS)):
            obs = Observation(track_id, probs, centre, drop, tilt, slow_drop, 0.5, rise=(*segment_rise, rise)[0])
            out += [(e.event, round(e.video_time, 2)) for e in machine.step(frame / FPS, [obs])]
            frame += 1
    return out


def test_fall_then_lying_alerts_after_confirm_s() -> None:
    # 3 frames of falling (0.0, 0.1, 0.2): suspected at the third; alert confirm_s later.
    assert run([(0.3, FALLING), (3.0, LYING)]) == [("fall_suspected", 0.2), ("fall_alert", 2.2)]


def test_getting_up_within_confirm_s_recovers_without_alert() -> None:
    # Up from 1.0 s; recover_s = 1 s of up -> recovered at 2.0 s, before the alert at 2.2 s.
    assert run([(0.3, FALLING), (0.7, LYING), (2.0, STANDING)]) == [("fall_suspected", 0.2), ("recovered", 2.0)]


@pytest.mark.parametrize(
    ("tilt", "recovers"), [(10.0, True), (35.0, True), (40.0, False), (80.0, False), (None, False)]
)
def test_up_needs_an_upright_trunk(tilt: float | None, recovers: bool) -> None:
    # The classifier says "up" from 1.0 s; only a trunk seen within 35 degrees of vertical recovers (a body
    # lying along the camera's axis can look 40 degrees from vertical: Le2i Coffee_room_01 video (30)).
    events = run([(0.3, FALLING), (0.7, LYING), (3.0, STANDING)], tilt=tilt)
    if recovers:
        assert events == [("fall_suspected", 0.2), ("recovered", 2.0)]
    else:
        assert events == [("fall_suspected", 0.2), ("fall_alert", 2.2)]


@pytest.mark.parametrize(
    ("rise", "min_rise", "recovered_at"), [(0.5, 0.3, 2.0), (0.3, 0.3, 2.0), (0.2, 0.3, 4.0), (0.5, 0.0, 4.0)]
)
def test_standing_up_with_the_trunk_risen_recovers_after_rise_recover_s(
    rise: float, min_rise: float, recovered_at: float
) -> None:
    # Up from 1.0 s. With the trunk risen >= min_rise meanwhile (a person standing up from the floor),
    # rise_recover_s (1 s) of up recovers; seen upright without that rise (sitting up on the floor after a
    # fall), it takes recover_s (3 s). min_rise 0 turns the quick way off.
    cfg = CFG.replace(confirm_s=5.0, recover_s=3.0, rise_recover_s=1.0, min_rise=min_rise)
    events = run([(0.3, FALLING), (0.7, LYING), (4.0, STANDING)], cfg, rise=rise)
    assert events == [("fall_suspected", 0.2), ("recovered", recovered_at)]


def test_a_rise_that_sinks_back_before_rise_recover_s_takes_recover_s() -> None:
    # Risen for the first half second of "up" only, then sunk back to sitting upright on the floor: no
    # standing up, so recover_s (3 s of "up" from 1.0 s), not rise_recover_s. (One frame of keypoint
    # jitter is no rise at all: Track.motion takes the lower of the last two heights.)
    cfg = CFG.replace(confirm_s=5.0, recover_s=3.0, rise_recover_s=1.0)
    events = run([(0.3, FALLING), (0.7, LYING), (0.5, STANDING, 0.5), (3.5, STANDING)], cfg)
    assert events == [("fall_suspected", 0.2), ("recovered", 4.0)]


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
    cfg = CFG.replace(min_drop=0.0)
    assert run([(1.0, FALLING), (5.0, LYING)], cfg=cfg, drop=0.05)[:1] == [("fall_suspected", 0.2)]


def test_before_the_window_is_full_only_a_drop_and_a_tip_over_seen_by_the_pose_alarm() -> None:
    def found_falling(
        drop: float, slow_drop: float, tipped_over: bool, tilt: float
    ) -> list[tuple[str, float, str | None]]:
        machine = FallEvents(CFG)
        out = []
        for i in range(40):
            obs = Observation(1, None, (0.5, 0.5), drop, tilt, slow_drop, 0.4, tipped_over=tipped_over)
            out += [(e.event, round(e.video_time, 2), e.detail) for e in machine.step(i / FPS, [obs])]
        return out

    # No classifier yet (a track found as the person falls): a fast drop that, within 3 s, lowered the
    # trunk 0.35 and tipped it over from upright to lying.
    assert found_falling(0.3, 0.35, True, 85.0) == [
        ("fall_suspected", 0.2, "pose-only fall"),
        ("fall_alert", 2.2, None),
    ]
    assert found_falling(0.25, 0.25, True, 85.0) == []  # bending down: the trunk drops less (UP-Fall Activity9)
    assert found_falling(0.1, 0.35, True, 85.0) == []  # sinking slowly: without the classifier, too little
    assert found_falling(0.3, 0.35, False, 85.0) == []  # lying when found, then a drop: no tip-over
    assert found_falling(0.3, 0.35, True, 45.0) == []  # back up from a bend: not tipped now


def test_bed_zone_never_alarms_even_with_a_long_lie() -> None:
    bed = [[[0.4, 0.4], [0.6, 0.4], [0.6, 0.6], [0.4, 0.6]]]
    cfg = CFG.replace(bed_zones=bed, long_lie_s=1.0)
    assert run([(0.5, FALLING), (3.0, LYING)], cfg=cfg) == []
    assert run([(0.5, FALLING), (3.0, LYING)], cfg=cfg, centre=(0.8, 0.5))[:1] == [("fall_suspected", 0.2)]


def test_unsure_frames_neither_recover_nor_break_recovery() -> None:
    # Up 0.5 s, unsure 0.3 s, up again: the up streak (0.3 s .. ) is not broken by unsure frames.
    events = run([(0.3, FALLING), (0.5, STANDING), (0.3, UNSURE), (1.0, STANDING)])
    assert events == [("fall_suspected", 0.2), ("recovered", 1.3)]


def test_a_person_unseen_in_between_does_not_recover_on_a_standing_frame_before_the_gap() -> None:
    # One "up" frame at 0.3 s, then the pose stage sees nobody for 1.5 s (a person lying behind the
    # sofa), then unsure frames: nobody seen is no evidence of standing, so the streak starts again and
    # the alert comes at confirm_s instead of a "recovered" 1 s after the up frame.
    machine = FallEvents(CFG)
    events = []
    for i in range(30):
        t = i / FPS
        probs = FALLING if i < 3 else STANDING if i == 3 else UNSURE
        seen = not 4 <= i < 19
        obs = [Observation(1, probs, (0.5, 0.5), 0.5 if i < 3 else 0.0, size=0.4)] if seen else []
        events += [(e.event, round(e.video_time, 2)) for e in machine.step(t, obs)]
    assert events == [("fall_suspected", 0.2), ("fall_alert", 2.2)]


def test_down_frames_break_recovery() -> None:
    events = run([(0.3, FALLING), (0.5, STANDING), (0.1, LYING), (1.5, STANDING)])
    assert events == [("fall_suspected", 0.2), ("recovered", 1.9)]


def test_a_new_fall_after_recovery_starts_a_new_episode_at_once() -> None:
    # Recovered at 2.0 s; a new drop with falling at 3.0 s is a new fall: no cooldown blinds it.
    script = [(0.3, FALLING), (0.7, LYING), (2.0, STANDING), (0.3, FALLING), (3.0, LYING)]
    assert run(script) == [("fall_suspected", 0.2), ("recovered", 2.0), ("fall_suspected", 3.2), ("fall_alert", 5.2)]


def test_long_lie_is_on_by_default_and_off_with_zero() -> None:
    assert EventsConfig().long_lie_s > 0
    cfg = CFG.replace(long_lie_s=3.0)
    # Down from the first frame; the place is judged down over down_span_s, from its first down verdict.
    assert run([(10.0, LYING)], cfg=cfg, drop=0.0) == [("long_lie", 3.0)]
    assert run([(10.0, LYING)], cfg=CFG.replace(long_lie_s=0.0), drop=0.0) == []


def test_getting_up_after_lying_past_long_lie_s_recovers_without_a_long_lie() -> None:
    # Down 6 s (past long_lie_s, while the fall episode is open), then up: recovered at 7.3 s ends it.
    # The place is still judged down then (4 of its last 5 s are down); that down time is the
    # episode's, already alerted: no long_lie at the recovery, nor a chain of them while standing.
    cfg = CFG.replace(long_lie_s=5.0)
    assert run([(0.3, FALLING), (6.0, LYING), (4.0, STANDING)], cfg=cfg) == [
        ("fall_suspected", 0.2),
        ("fall_alert", 2.2),
        ("recovered", 7.3),
    ]


def test_long_lie_holds_through_pose_gaps_and_flicker() -> None:
    # Seen in 4 of 5 frames, and one seen frame in 4 says "unsure": neither resets the down state.
    cfg = CFG.replace(long_lie_s=30.0)
    machine = FallEvents(cfg)
    out = []
    for i in range(int(40 * FPS)):
        probs = UNSURE if i % 4 == 0 else LYING
        obs = [] if i % 5 == 4 else [Observation(1, probs, (0.5, 0.5), 0.0, 80.0, size=0.4)]
        out += [(e.event, round(e.video_time, 1)) for e in machine.step(i / FPS, obs)]
    assert out == [("long_lie", 30.0)]


def test_a_trunk_tipped_past_horizontal_counts_as_down_before_the_window_is_full() -> None:
    # No probabilities yet (a new track's window is not full), but the trunk lies across the view.
    cfg = CFG.replace(long_lie_s=3.0)
    assert run([(5.0, None)], cfg=cfg, drop=0.0, tilt=85.0) == [("long_lie", 3.0)]
    assert run([(5.0, None)], cfg=cfg, drop=0.0, tilt=10.0) == []


def test_a_lost_person_after_a_suspected_fall_escalates_and_the_same_person_found_again_recovers() -> None:
    machine = FallEvents(CFG)
    events = []
    for i in range(60):
        t = i / FPS
        if i < 3:
            obs = [Observation(1, FALLING, (0.5, 0.5), 0.5, size=0.4)]
        elif i < 30:
            obs = []  # the pose stage lost the person lying on the floor
        else:  # back on their feet where they fell, under a new id first seen at 3.0 s
            obs = [Observation(2, STANDING, (0.5, 0.45), 0.0, size=0.4, first_seen=3.0)]
        events += [(e.event, e.track_id, round(e.video_time, 2)) for e in machine.step(t, obs)]
    assert events == [("fall_suspected", 1, 0.2), ("fall_alert", 1, 2.2), ("recovered", 1, 4.0)]


def test_a_bystander_already_in_view_never_recovers_the_fallen_persons_episode() -> None:
    machine = FallEvents(CFG)
    bystander = Observation(7, STANDING, (0.15, 0.5), 0.0, size=0.4, first_seen=0.0)
    events = []
    for i in range(60):
        obs = [bystander]
        if i < 3:
            obs.append(Observation(1, FALLING, (0.5, 0.5), 0.5, size=0.4))
        elif i >= 30:  # the bystander walks over to where the person lies (unseen by the pose stage)
            obs = [dataclasses.replace(bystander, centre=(0.5, 0.45))]
        events += [(e.event, e.track_id) for e in machine.step(i / FPS, obs)]
    assert events == [("fall_suspected", 1), ("fall_alert", 1)]


def test_of_two_newcomers_the_nearer_inherits_the_fallen_persons_place_whichever_is_listed_first() -> None:
    machine = FallEvents(CFG)
    events = []
    for i in range(60):
        if i < 3:
            obs = [Observation(1, FALLING, (0.5, 0.5), 0.5, size=0.4)]
        elif i < 10:
            obs = []  # the pose stage lost the person lying on the floor
        else:  # both first seen after: a helper standing nearby, listed first, and the person found again
            helper = Observation(2, STANDING, (0.62, 0.45), 0.0, size=0.4, first_seen=1.0)
            found = Observation(3, LYING, (0.52, 0.5), 0.0, tilt=85.0, size=0.4, first_seen=1.0)
            obs = [helper, found]
        events += [(e.event, e.track_id) for e in machine.step(i / FPS, obs)]
    assert events == [("fall_suspected", 1), ("fall_alert", 1)]


def test_a_track_lost_right_after_a_fast_drop_is_suspected_unless_it_left_at_the_border() -> None:
    def lost_at(centre: tuple[float, float]) -> list[tuple[str, float]]:
        machine = FallEvents(CFG)
        out = []
        for i in range(30):
            # a drop but no full window yet (probs None) and the trunk not tipped: only the lost-track
            # rule can see this fall
            obs = [Observation(1, None, centre, 0.4, 30.0, size=0.4)] if i < 5 else []
            out += [(e.event, round(e.video_time, 2)) for e in machine.step(i / FPS, obs)]
        return out

    assert lost_at((0.5, 0.6)) == [("fall_suspected", 0.9), ("fall_alert", 2.9)]
    assert lost_at((0.99, 0.6)) == []  # walked out of view at the right edge


def test_a_camera_lost_right_after_a_fast_drop_still_suspects_and_alerts_saying_so() -> None:
    # Frames with a fast drop until 0.4 s, then the camera delivers nothing (the falling person knocked
    # it): idle() runs the lost-track rule too, so the fall is suspected at lost_fall_s and alerted at
    # confirm_s, saying the camera is lost, instead of waiting for the camera to come back.
    machine = FallEvents(CFG)
    out = []
    for i in range(40):
        t = i / FPS
        if i < 5:
            events = machine.step(t, [Observation(1, None, (0.5, 0.6), 0.4, 30.0, size=0.4)])
        else:
            machine.camera_lost = True
            events = machine.idle(t)
        out += [(e.event, round(e.video_time, 2), e.detail) for e in events]
    assert out == [("fall_suspected", 0.9, "lost after a drop"), ("fall_alert", 2.9, "camera lost")]


def test_slow_sinking_fall_is_caught_by_the_slow_rule_and_lying_down_upright_is_not() -> None:
    def sink(tilt: float, slow_drop: float) -> list[tuple[str, float]]:
        machine = FallEvents(CFG)
        out = []
        for i in range(40):
            obs = Observation(1, LYING, (0.5, 0.5), 0.1, tilt, slow_drop=slow_drop, size=0.4)
            out += [(e.event, round(e.video_time, 2)) for e in machine.step(i / FPS, [obs])]
        return out

    # The fast drop (0.1) is under min_drop; over slow_drop_within_s the trunk sank 0.35 and lies tipped.
    assert sink(80.0, 0.35) == [("fall_suspected", 0.2), ("fall_alert", 2.2)]
    assert sink(30.0, 0.35) == []  # not tipped past horizontal
    assert sink(80.0, 0.2) == []  # sank too little


def test_strong_classifier_evidence_with_a_small_drop() -> None:
    sure = np.array([0.97, 0.0, 0.0, 0.03, 0.0])
    # P(fall) 0.97, drop 0.15 (< min_drop), slow drop 0.15 (>= strong_min_drop): a fall the camera foreshortens.
    # P(fall) 0.97 on a person lying still (tipped, no drop, not tipping over) is not enough.
    assert run([(0.5, sure), (3.0, LYING)], drop=0.0, tilt=85.0) == []
    assert run([(0.5, sure), (3.0, LYING)], drop=0.15, tilt=30.0, slow_drop=0.15)[:1] == [("fall_suspected", 0.2)]
    fairly_sure = np.array([0.85, 0.05, 0.0, 0.1, 0.0])
    assert run([(0.5, fairly_sure), (3.0, LYING)], drop=0.15, tilt=30.0, slow_drop=0.15) == []  # not strong


def test_cancel_ends_every_episode_and_a_person_still_down_restarts_long_lie() -> None:
    cfg = CFG.replace(long_lie_s=5.0)
    machine = FallEvents(cfg)
    for i in range(3):
        machine.step(i / FPS, [Observation(1, FALLING, (0.5, 0.5), 0.5)])
    assert machine.states() == {1: "suspected"}
    cancelled = machine.cancel(0.5)
    assert [(e.event, e.track_id, e.video_time) for e in cancelled] == [("cancelled", 1, 0.5)]
    assert cancelled[0].probs is not None and cancelled[0].probs["fall"] == pytest.approx(0.9)
    # Still lying, no new drop (the detector counts drops only since the episode ended): no new
    # suspicion, and long_lie comes long_lie_s after the cancel, not at once.
    later = [
        (e.event, round(e.video_time, 1))
        for i in range(100)
        for e in machine.step(0.6 + i / FPS, [Observation(1, LYING, (0.5, 0.5), 0.0)])
    ]
    assert later == [("long_lie", 5.5)]


def test_a_person_unseen_since_before_the_cancel_still_gets_the_new_long_lie() -> None:
    # Seen down until 0.9 s, then lost by the pose stage (lying behind the sofa); cancelled at 5.0 s. The
    # place is still judged down (gaps hold the judgement): long_lie_s after the cancel, long_lie.
    cfg = CFG.replace(long_lie_s=60.0)
    machine = FallEvents(cfg)
    out = []
    for i in range(int(70 * FPS)):
        probs = FALLING if i < 3 else LYING
        obs = [Observation(1, probs, (0.5, 0.5), 0.5, 80.0, size=0.4)] if i < 10 else []
        if i == 50:
            out += [(e.event, round(e.video_time, 1)) for e in machine.cancel(i / FPS)]
        out += [(e.event, round(e.video_time, 1)) for e in machine.step(i / FPS, obs)]
    assert out == [("fall_suspected", 0.2), ("fall_alert", 2.2), ("cancelled", 5.0), ("long_lie", 65.0)]


def test_alert_while_the_camera_is_lost_says_so_and_comes_at_confirm_s() -> None:
    machine = FallEvents(CFG)
    for i in range(3):
        machine.step(i / FPS, [Observation(1, FALLING, (0.5, 0.5), 0.5)])
    machine.camera_lost = True
    events = [e for i in range(3, 40) for e in machine.idle(i / FPS)]
    assert [(e.event, round(e.video_time, 1), e.detail) for e in events] == [("fall_alert", 2.2, "camera lost")]


def test_snapshot_and_restore_carry_an_episode_across_a_restart() -> None:
    machine = FallEvents(CFG)
    for i in range(3):
        machine.step(i / FPS, [Observation(1, FALLING, (0.5, 0.5), 0.5, size=0.4)])
    state = machine.snapshot(0.5, wall_time=1000.0)  # suspected at 0.2 s = wall 999.7
    resumed = FallEvents(CFG)
    resumed.restore(state, video_time=0.0, wall_time=1001.0)  # restarted 1 s later, its clock from 0
    events = [(e.event, round(e.video_time, 1)) for i in range(20) for e in resumed.idle(i / FPS)]
    assert events == [("fall_alert", 0.7)]  # confirm_s (2 s) after the original suspicion, once
    with pytest.raises(ValueError, match=r"episodes\[0\]"):
        FallEvents(CFG).restore({"version": 1, "episodes": [{"kind": "fall"}]}, 0.0, 0.0)


def test_heartbeat_every_heartbeat_s() -> None:
    cfg = CFG.replace(heartbeat_s=1.0)
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


def test_read_events_skips_a_torn_line_with_a_warning_naming_the_file_and_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A power cut tears the last line; a foreign line may sit anywhere: both skipped, each named once."""
    path = tmp_path / "events.jsonl"
    good = [Event("heartbeat", 1.0), Event("fall_alert", 2.0, 1)]
    lines = [good[0].to_json(), '{"event": "heartbeat"}', "", good[1].to_json(), '{"event": "fall_al']
    path.write_text(os.linesep.join(lines))
    with caplog.at_level(logging.WARNING, logger="edge.events"):
        assert read_events(path) == good
        assert read_events(path) == good  # read again: no second warning for the same lines
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2 and all("\n" not in w for w in warnings), warnings
    assert f"{path}:2: " in warnings[0] and "lacks" in warnings[0]
    assert f"{path}:5: " in warnings[1]


def test_a_line_torn_by_a_power_cut_is_ended_when_the_log_is_reopened(tmp_path: Path) -> None:
    """The next run's first event starts on a line of its own instead of running into the torn one
    (where a reader would skip both)."""
    log = tmp_path / "events.jsonl"
    first = Event("fall_suspected", 1.0, track_id=1)
    log.write_text(first.to_json() + '\n{"event": "fall_al', encoding="utf-8")
    writer = EventLog(log)
    after = Event("fall_alert", 2.0, track_id=1)
    writer.write(after)
    writer.close()
    assert [e.id for e in read_events(log)] == [first.id, after.id]
    assert log.read_bytes().endswith(b'"fall_al\n' + after.to_json().encode() + b"\n")


def test_logged_finds_which_ids_the_last_lines_of_the_log_hold(tmp_path: Path) -> None:
    """A restart asks which interrupted events the log already took; torn or foreign lines are passed over."""
    log = tmp_path / "events.jsonl"
    old, recent = Event("fall_suspected", 1.0, 1), Event("fall_alert", 11.0, 1)
    filler = [Event("heartbeat", 2.0 + i) for i in range(RECENT_LINES)]
    lines = [old.to_json(), *(e.to_json() for e in filler), "[1, 2]", '{"id": ["x"]}', recent.to_json(), '{"id']
    log.write_text("\n".join(lines))
    writer = EventLog(log)
    missing = Event("recovered", 12.0, 1)
    assert writer.logged({recent.id, missing.id}) == {recent.id}
    assert writer.logged({old.id}) == set()  # beyond the last RECENT_LINES lines: a crash's events are the last
    assert writer.logged({filler[-1].id, recent.id}) == {filler[-1].id, recent.id}
    log.unlink()  # a log it cannot read back: nothing found, the restart logs the events again
    assert writer.logged({recent.id}) == set()
    writer.close()
