"""Someone on the floor is never forgotten: the whole pipeline on real keypoints, played forward, held,
reversed (a "getting up"), with frames dropped, a camera pulled, the process restarted.

The keypoints are real: the demo trace (the project's MediaPipe on GMDCSA24 Subject 1/Fall/14), UR Fall's
AlphaPose keypoints, and Le2i Coffee_room_01 through the project's pose cache. The camera is the only
fake (the hardware boundary): it delivers blank frames at the trace's times on a simulated clock, and
the pose stage reads the same trace.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.alerts import AlertHub
from edge.alerts.alarm import LocalAlarm
from edge.alerts.gpio import SimulatedPins
from edge.classifier import create_classifier
from edge.config import Config, PoseConfig
from edge.detector import FallDetector
from edge.events import Event, read_events
from edge.output.base import NullSink
from edge.pipeline import Pipeline
from edge.pose.recorded import RecordedPose, Trace, load_trace, record_trace
from edge.sources.base import Frame, FrameSource, SourceError
from edge.sources.resilient import ResilientSource
from edge.training.datasets import load_clips
from edge.training.replay import clip_trace, frame_step, held
from tests.support import REPO, FakeClock, needs_model, replay_config

DEMO = REPO / "edge" / "demo_data" / "gmdcsa24_fall.npz"
STATE = ("events.heartbeat_s=0",)
CONFIRM_S = 10.0  # the shipped confirm_s (the scenarios run the shipped events config)
LONG_LIE_S = 60.0
WALL0 = 1.8e9  # the simulated wall clock's epoch seconds at FakeClock 0


# --- traces: cut, joined, reversed, thinned ---------------------------------------------------------


def part(trace: Trace, start: float = 0.0, end: float = np.inf) -> Trace:
    """The frames of `trace` in [start, end] seconds, their times from 0."""
    keep = (trace.times >= start - 1e-9) & (trace.times <= end + 1e-9)
    return Trace(trace.times[keep] - trace.times[keep][0], trace.keypoints[keep], trace.size, trace.meta)


def joined(*traces: Trace) -> Trace:
    """The traces one after another, each starting one frame step after the previous one ends."""
    times, people = [traces[0].times], [traces[0].keypoints]
    for trace in traces[1:]:
        times.append(times[-1][-1] + frame_step(trace) + trace.times - trace.times[0])
        people.append(trace.keypoints)
    slots = max(p.shape[1] for p in people)
    padded = [np.pad(p, ((0, 0), (0, slots - p.shape[1]), (0, 0), (0, 0))) for p in people]
    return Trace(np.concatenate(times), np.concatenate(padded), traces[0].size, traces[0].meta)


def reversed_(trace: Trace) -> Trace:
    """The trace played backwards: a fall becomes a getting up."""
    return Trace(trace.times, trace.keypoints[::-1].copy(), trace.size, trace.meta)


def without_every(trace: Trace, n: int) -> Trace:
    """Every n-th frame finds nobody (the pose stage misses the person in 1 of n frames)."""
    people = trace.keypoints.copy()
    people[n - 1 :: n] = 0.0
    return Trace(trace.times, people, trace.size, trace.meta)


def shifted(trace: Trace, dx: float) -> Trace:
    """The same people dx image widths to the side."""
    people = trace.keypoints.copy()
    people[..., 0] = np.where(people[..., 2] > 0, people[..., 0] + dx, 0.0)
    return Trace(trace.times, people, trace.size, trace.meta)


def demo() -> Trace:
    return load_trace(DEMO)


def run_trace(trace: Trace, tmp_path: Path, *overrides: str) -> Pipeline:
    """The whole pipeline (recorded source and pose, the shipped model and events config) on `trace`."""
    path = record_trace(tmp_path / "scenario.npz", trace)
    pipeline = Pipeline(replay_config(path, (*STATE, *overrides)), sink=NullSink(), events_path="")
    pipeline.run()
    return pipeline


def kinds(events: list[Event]) -> list[str]:
    return [e.event for e in events if e.event != "heartbeat"]


# --- a live camera: the hardware boundary -----------------------------------------------------------


class TraceCamera(FrameSource):
    """A live camera showing blank frames at a trace's times (on the simulated clock) while
    world["plugged"]; then nothing. The pose stage reads the same trace by video time."""

    def __init__(self, trace: Trace, world: dict[str, object], clock: FakeClock) -> None:
        if not world["plugged"]:
            raise SourceError("/dev/video9: cannot open the source")
        self.times, self.world, self.clock = trace.times, world, clock
        self.origin, self.index, self._broken = clock.now, 0, False
        self.image = np.full((trace.size[1], trace.size[0]), 30, np.uint8)

    def read(self) -> Frame | None:
        if not self.world["plugged"] or self.index >= len(self.times):
            self._broken = not self.world["plugged"]
            self.clock.now += 1 / 15
            return None
        self.clock.now = self.origin + float(self.times[self.index])
        self.index += 1
        return Frame(self.image, 0.0, self.index - 1)

    @property
    def finished(self) -> bool:
        return self._broken

    def close(self) -> None:
        """Nothing to release."""


def live_pipeline(
    trace: Trace,
    tmp_path: Path,
    world: dict[str, object],
    clock: FakeClock,
    name: str = "live",
    nobody: bool = False,
    events_path: str = "",
) -> Pipeline:
    """A pipeline on a live TraceCamera, with the state file tmp_path/state.json and a simulated wall clock.

    nobody: the trace finds nobody, and the classifier must never run (tests/test_pipeline.py's stages).
    events_path: the events log ("" = none).
    """
    from tests.test_pipeline import nobody_classifier

    path = record_trace(tmp_path / f"{name}.npz", trace)
    cfg: Config = replay_config(path, (*STATE, f'log.state="{tmp_path / "state.json"}"'))
    classifier = nobody_classifier(cfg) if nobody else create_classifier(cfg.classifier, cfg.features)
    detector = FallDetector(cfg, classifier, state_path=cfg.log.state, wall_clock=lambda: WALL0 + clock.now)
    source = ResilientSource(
        lambda: TraceCamera(trace, world, clock),
        live=True,
        lost_after_s=cfg.source.lost_after_s,
        clock=clock,
        sleep=clock.sleep,
    )
    pose = RecordedPose(PoseConfig(type="recorded", recorded_path=str(path)))
    return Pipeline(
        cfg,
        source=source,
        pose=pose,
        classifier=classifier,
        sink=NullSink(),
        events_path=events_path,
        detector=detector,
    )


def run_until(pipeline: Pipeline, done: object) -> None:
    """Step the started pipeline until done() (a callable) is true (bounded: at most 20,000 steps)."""
    for _ in range(20_000):
        if done():  # type: ignore[operator]
            return
        pipeline.step()
    raise AssertionError("the scenario did not reach its end")


def first(pipeline: Pipeline, kind: str) -> Event | None:
    return next((e for e in pipeline.events if e.event == kind), None)


def suspected_then(pipeline: Pipeline, seconds: float) -> Event:
    """Step the started live pipeline until fall_suspected, then `seconds` more of its source's clock."""
    source = pipeline.source
    assert isinstance(source, ResilientSource)
    run_until(pipeline, lambda: first(pipeline, "fall_suspected") is not None)
    suspected = first(pipeline, "fall_suspected")
    assert suspected is not None
    run_until(pipeline, lambda: source.now() >= suspected.video_time + seconds)
    return suspected


def dies_after_suspected(
    trace: Trace, tmp_path: Path, world: dict[str, object], clock: FakeClock, seconds: float
) -> Pipeline:
    """A live pipeline on `trace` that runs until `seconds` after fall_suspected, then its process ends."""
    pipeline = live_pipeline(trace, tmp_path, world, clock, "before")
    pipeline.start()
    try:
        suspected_then(pipeline, seconds)
    finally:
        pipeline.stop()
    return pipeline


# --- the scenarios ------------------------------------------------------------------------------------


@needs_model
def test_fall_get_up_and_fall_again_20_s_later_alerts_twice(tmp_path: Path) -> None:
    fall = demo()
    standing = held(part(fall, 0.0, 0.4), 20.0, tail_s=0.4)  # on their feet for 20 s
    scenario = joined(held(fall, 12.0), reversed_(fall), standing, held(fall, 12.0))
    pipeline = run_trace(scenario, tmp_path)
    assert kinds(pipeline.events) == ["fall_suspected", "fall_alert", "recovered", "fall_suspected", "fall_alert"]


@needs_model
def test_standing_up_from_the_floor_recovers_after_rise_recover_s(tmp_path: Path) -> None:
    # The demo fall reversed is a getting up: the trunk rises a body length, so 1 s of "up" recovers
    # (rise_recover_s), 2 s sooner than for a person only seen upright (min_rise 0: recover_s, 3 s).
    fall = demo()
    scenario = joined(held(fall, 12.0), reversed_(fall), held(part(fall, 0.0, 0.4), 5.0, tail_s=0.4))
    recovered = {}
    for name, overrides in (("rose", ()), ("upright", ("events.min_rise=0",))):
        pipeline = run_trace(scenario, tmp_path, *overrides)
        assert kinds(pipeline.events) == ["fall_suspected", "fall_alert", "recovered"], name
        recovered[name] = first(pipeline, "recovered").video_time  # type: ignore[union-attr]
    assert recovered["upright"] - recovered["rose"] == pytest.approx(3.0 - 1.0, abs=0.15)


@needs_model
def test_camera_lost_half_a_second_after_fall_suspected_still_alerts_at_confirm_s(tmp_path: Path) -> None:
    clock, world = FakeClock(), {"plugged": True}
    pipeline = live_pipeline(held(demo(), 30.0), tmp_path, world, clock)
    pipeline.start()
    try:
        suspected = suspected_then(pipeline, 0.5)
        world["plugged"] = False  # the camera's cable is pulled
        run_until(pipeline, lambda: pipeline.source.now() >= suspected.video_time + CONFIRM_S + 2)  # type: ignore[union-attr]
    finally:
        pipeline.stop()
    alert = first(pipeline, "fall_alert")
    assert alert is not None, kinds(pipeline.events)
    assert alert.video_time == pytest.approx(suspected.video_time + CONFIRM_S, abs=0.15)
    assert alert.detail == "camera lost" and alert.track_id == suspected.track_id


@needs_model
def test_restart_mid_episode_resumes_it_and_alerts_once(tmp_path: Path) -> None:
    clock, world = FakeClock(), {"plugged": True}
    fall = demo()
    before = dies_after_suspected(held(fall, 30.0), tmp_path, world, clock, 2.0)  # systemd restarts it 5 s later
    assert kinds(before.events) == ["fall_suspected"]
    clock.now += 5.0
    lying = held(part(fall, 3.5), 30.0)  # the person is still on the floor
    after = live_pipeline(lying, tmp_path, world, clock, "after")
    after.start()
    try:
        run_until(after, lambda: after.source.now() >= 20.0)  # type: ignore[union-attr]
    finally:
        after.stop()
    assert kinds(after.events) == ["fall_alert"]
    # confirm_s after the suspicion: 2 s passed before the restart, 5 s during it.
    assert after.events[0].video_time == pytest.approx(CONFIRM_S - 2.0 - 5.0, abs=0.15)


@needs_model
def test_person_already_down_at_start_alerts_within_long_lie_s(tmp_path: Path) -> None:
    lying = held(part(demo(), 3.0), LONG_LIE_S + 5.0)
    pipeline = run_trace(lying, tmp_path)
    assert kinds(pipeline.events) == ["long_lie"]
    assert pipeline.events[0].video_time <= LONG_LIE_S + 0.5


@needs_model
def test_urfd_person_seen_in_4_of_5_frames_lying_5_minutes_alerts(shared_data: Path, tmp_path: Path) -> None:
    clip = next(c for c in load_clips(shared_data, ["urfd_alphapose"]).clips if c.clip_id.endswith("fall-01"))
    assert clip.fall_onset_s is not None
    lying = part(clip_trace(clip), clip.fall_onset_s + 2.0)  # on the floor after the fall (AlphaPose keypoints)
    pipeline = run_trace(without_every(held(lying, 300.0), 5), tmp_path)
    assert "long_lie" in kinds(pipeline.events), kinds(pipeline.events)
    assert first(pipeline, "long_lie").video_time <= LONG_LIE_S + 5.0  # type: ignore[union-attr]


@needs_model
def test_a_bystander_standing_never_recovers_the_fallen_persons_episode(tmp_path: Path) -> None:
    fall = held(demo(), 20.0)
    fallen = fall.keypoints.copy()
    fallen[fall.times > 2.6] = 0.0  # the pose stage loses the person on the floor
    standing = part(demo(), 0.0, 0.4)
    bystander = shifted(held(standing, float(fall.times[-1]), tail_s=0.4), -0.35)  # on the left, all along
    two = Trace(fall.times, np.concatenate([fallen, bystander.keypoints[: len(fall)]], axis=1), fall.size)
    pipeline = run_trace(two, tmp_path)
    fallen_events = [e.event for e in pipeline.events if e.track_id == 1]
    assert fallen_events == ["fall_suspected", "fall_alert"], kinds(pipeline.events)


@needs_model
def test_le2i_fall_is_found_and_the_summary_names_the_episode_open_at_the_end(
    shared_data: Path, tmp_path: Path
) -> None:
    from edge.training.replay import video_clips
    from tests.test_replay import SomeVideos

    name = "le2i/Coffee_room_01/Videos/video (1).mp4"
    (clip,) = video_clips(shared_data, ["le2i"], SomeVideos({name})).clips
    pipeline = run_trace(clip_trace(clip), tmp_path)
    assert kinds(pipeline.events)[:1] == ["fall_suspected"], kinds(pipeline.events)
    assert pipeline.summary.open_episodes, "the clip ends with the person on the floor"
    assert "still open at the end: suspected since" in pipeline.summary.format()


def test_restart_during_a_camera_outage_pushes_camera_lost_once(tmp_path: Path) -> None:
    clock, world = FakeClock(), {"plugged": True}
    nobody = Trace(np.arange(30) / 15, np.zeros((30, 1, 18, 3)), (64, 48))
    events: list[str] = []
    for run in range(3):  # the camera is pulled in the first run; two restarts follow during the outage
        pipeline = live_pipeline(nobody, tmp_path, world, clock, f"run{run}", nobody=True)
        source = pipeline.source
        assert isinstance(source, ResilientSource)
        pipeline.start()
        try:
            if run == 0:
                run_until(pipeline, lambda: source.now() >= 1.0)  # noqa: B023 - called in this iteration
                world["plugged"] = False
            run_until(pipeline, lambda: source.now() >= 2 * source.lost_after_s)  # noqa: B023
            if run == 2:
                world["plugged"] = True
                run_until(pipeline, lambda: first(pipeline, "source_restored") is not None)  # noqa: B023
        finally:
            pipeline.stop()
        events += kinds(pipeline.events)
    assert events == ["source_lost", "source_restored"]


@needs_model
def test_restart_after_the_alert_sounds_the_buzzer_again_without_a_second_alert(tmp_path: Path) -> None:
    clock, world = FakeClock(), {"plugged": True}
    fall = demo()
    before = dies_after_suspected(held(fall, 30.0), tmp_path, world, clock, CONFIRM_S + 1.0)  # buzzer stops too
    assert kinds(before.events) == ["fall_suspected", "fall_alert"]
    after = live_pipeline(held(part(fall, 3.5), 30.0), tmp_path, world, clock, "after")
    pins = SimulatedPins()  # the hardware boundary: the room's buzzer and LED
    after.alerts = AlertHub(LocalAlarm(after.cfg.gpio, pins))
    after.start()
    try:
        assert pins.levels[after.cfg.gpio.buzzer_pin] and pins.levels[after.cfg.gpio.led_pin]  # at once
        run_until(after, lambda: after.source.now() >= 5.0)  # type: ignore[union-attr]
    finally:
        after.stop()
    assert kinds(after.events) == []  # the alert is not raised (nor pushed) a second time


class CrashError(Exception):
    """The process dies here (a power cut, the kernel's OOM killer)."""


def recording_hub(cfg: Config, dies_after: str | None) -> AlertHub:
    """The room's hub on simulated pins; records what it was handed (`.handed`) and, once it has taken
    an event of kind `dies_after` (its alarm set, its push queued), the process dies."""

    class RecordingHub(AlertHub):
        handed: list[Event]

        def handle(self, event: Event, *args: object, **kwargs: object) -> None:
            super().handle(event, *args, **kwargs)  # type: ignore[arg-type]
            self.handed.append(event)
            if event.event == dies_after:
                raise CrashError

    hub = RecordingHub(LocalAlarm(cfg.gpio, SimulatedPins()))
    hub.handed = []
    return hub


@needs_model
@pytest.mark.parametrize(
    ("dies_after", "after_restart"),
    [("fall_suspected", ["fall_suspected", "fall_alert"]), ("fall_alert", ["fall_alert"])],
)
def test_a_crash_during_the_hand_off_hands_the_event_on_again_under_its_id(
    tmp_path: Path, dies_after: str, after_restart: list[str]
) -> None:
    # The state file is written ahead of the hand-off (events log, alarm, push) and after it: the restart
    # hands on again what the crash interrupted, under the same id (the outbox takes it once), and the
    # episode goes on: a suspected fall still alerts at confirm_s.
    clock, world = FakeClock(), {"plugged": True}
    fall = demo()
    log = str(tmp_path / "events.jsonl")
    before = live_pipeline(held(fall, 30.0), tmp_path, world, clock, "before", events_path=log)
    before.alerts = crashing = recording_hub(before.cfg, dies_after)
    before.start()
    with pytest.raises(CrashError):
        run_until(before, lambda: False)
    interrupted = crashing.handed[-1]  # type: ignore[attr-defined]
    clock.now += 5.0  # systemd restarts it
    after = live_pipeline(held(part(fall, 3.5), 30.0), tmp_path, world, clock, "after", events_path=log)
    after.alerts = restarted = recording_hub(after.cfg, None)
    after.start()
    try:
        run_until(after, lambda: after.source.now() >= CONFIRM_S + 5.0)  # type: ignore[union-attr]
    finally:
        after.stop()
        before.stop()
    handed = restarted.handed  # type: ignore[attr-defined]
    assert [e.event for e in handed] == after_restart
    assert (handed[0].event, handed[0].id) == (interrupted.event, interrupted.id)
    # The events log took the interrupted event before the crash: it holds it once, and every event once.
    logged = [(e.event, e.id) for e in read_events(log)]
    assert [kind for kind, _ in logged if kind not in ("source_lost", "source_restored")] == [
        "fall_suspected",
        "fall_alert",
    ]
    assert len({event_id for _, event_id in logged}) == len(logged)
