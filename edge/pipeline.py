"""The frame loop: source -> pose -> detector (tracks, windows, classifier, fall rule) -> sinks (log, alerts, output).

    from edge.config import load_config
    from edge.pipeline import build_pipeline

    cfg = load_config("install/config.example.toml", ["source.uri=clip.mp4"])
    pipeline = build_pipeline(cfg)       # builds nothing heavy yet; any stage may be passed in instead
    summary = pipeline.run()             # start(), frames until the file ends or SIGINT/SIGTERM, stop()
    print(summary.format())              # frames in/out, fps, ms per stage, events by kind
    pipeline.events                      # every Event emitted, in order (also in cfg.log.events)
    pipeline.detector.open_episodes()    # what was still open when the source ended (also in the summary)

Per frame, in this order: decode (source.read), pose (at most pose.max_fps times a second, by default
the classifier's rate: a 30 fps camera is posed every other frame), the detector on posed frames
(edge.detector.FallDetector:
features = tracking and each seen track's window, classify = ONE batched call for every track with a
full window, events = the fall rule), the cancel button, the events log, then edge.alerts.AlertHub
(GPIO, push outbox, MQTT), output (the annotated frame, EVERY frame: frames out == frames in,
whatever the classifier says). A live source that drops out gives `source_lost` / `source_restored`
events from edge.sources.ResilientSource and no crash, while the detector's episode timers go on
without frames; a live source's open episodes and outage are kept in cfg.log.state across restarts.
The systemd watchdog is pinged once per processed frame, so a stalled loop gets restarted.
`start()` is a flat list of named steps and `stop()` undoes them in reverse (the alerts, and with
them the GPIO pins, are released right after the output; the events log is closed last).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Protocol

import numpy as np

from edge.alerts.redact import redact
from edge.classes import CLASSES
from edge.classifier.base import Classifier
from edge.config import Config
from edge.detector import FallDetector
from edge.events import Event, EventLog, OpenEpisode
from edge.files import check_folder
from edge.output.base import FrameSink
from edge.pose.base import PoseEstimator
from edge.pose.rate import PoseRate
from edge.sources.base import Frame, FrameSource
from edge.tracking import Track

logger = logging.getLogger(__name__)

STAGES: tuple[str, ...] = ("decode", "pose", "features", "classify", "events", "output")
SKELETONS_KEPT = 50


class Alerts(Protocol):
    """What the pipeline needs from edge.alerts (AlertHub): act on an event, the cancel button, the
    events the alerts start (`poll`: escalated, acknowledged, inactivity; every loop, also while the
    camera is lost), how many people are in view (`people_seen`, per posed frame), an episode resumed
    after a restart (`resume`: the room's alarm sounds again, nothing is pushed twice), close."""

    def handle(
        self, event: Event, keypoints: np.ndarray | None = None, aspect: float = 1.0, frame: np.ndarray | None = None
    ) -> None: ...

    def cancel_requested(self) -> bool: ...

    def poll(self, video_time: float) -> list[Event]: ...

    def people_seen(self, count: int) -> None: ...

    def resume(self, track_id: int | None, state: str) -> None: ...

    def close(self) -> None: ...


@dataclass
class Summary:
    """What one run did: frame counts, wall time, ms per stage (mean per frame), events by kind."""

    frames_in: int = 0
    frames_out: int = 0
    frames_posed: int = 0
    seconds: float = 0.0
    stage_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    events: Counter[str] = field(default_factory=Counter)
    windows_classified: int = 0
    open_episodes: list[OpenEpisode] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames_in / self.seconds if self.seconds > 0 else 0.0

    def ms_per_frame(self, stage: str) -> float:
        return 1000 * self.stage_s[stage] / max(self.frames_in, 1)

    def format(self) -> str:
        """A few lines for a terminal: frames, fps, ms per stage, events."""
        stages = "  ".join(f"{s} {self.ms_per_frame(s):.2f}" for s in STAGES)
        events = ", ".join(f"{k} {v}" for k, v in sorted(self.events.items())) or "none"
        text = (
            f"frames in {self.frames_in}, out {self.frames_out}, posed {self.frames_posed}, "
            f"{self.seconds:.1f} s, {self.fps:.1f} fps\n"
            f"ms per frame: {stages}\n"
            f"windows classified: {self.windows_classified}; events: {events}"
        )
        for episode in self.open_episodes:
            text += f"\nstill open at the end: {episode.describe()}"
        return text


@dataclass(frozen=True)
class Live:
    """The latest processed frame, for readers on other threads (the web page): replaced whole, never
    changed. image: the camera frame (H, W[, 3]) uint8; people: persons seen in the last posed frame;
    states: track id -> "ok" | "suspected" | "alert"; fps: frames processed a second, recently;
    skeletons: track id -> keypoints (18, 3) of each person seen in the last posed frame."""

    image: np.ndarray
    video_time: float
    people: int
    states: dict[int, str]
    fps: float
    source_lost: bool
    skeletons: dict[int, np.ndarray] = field(default_factory=dict)


class Pipeline:
    """Runs the stages; every argument but cfg may be given (tests, the demo) or is built in start().

    cfg: the validated Config. source, pose, classifier, sink, alerts, detector: ready stage objects, or
    None to build them from cfg (create_source, create_pose, create_classifier, create_output,
    FallDetector with cfg.log.state for a live source). events_path:
    the events log ("" = none; None = cfg.log.events). watchdog: called with time.monotonic() after
    each processed frame (edge.systemd.FrameWatchdog.frame_processed).
    """

    def __init__(
        self,
        cfg: Config,
        source: FrameSource | None = None,
        pose: PoseEstimator | None = None,
        classifier: Classifier | None = None,
        sink: FrameSink | None = None,
        alerts: Alerts | None = None,
        events_path: str | None = None,
        watchdog: Callable[[float], Any] | None = None,
        detector: FallDetector | None = None,
    ) -> None:
        self.cfg = cfg
        self.source, self.pose, self.classifier, self.sink, self.alerts = source, pose, classifier, sink, alerts
        self.events_path = cfg.log.events if events_path is None else events_path
        self.watchdog = watchdog
        self.events: list[Event] = []
        self.summary = Summary()
        self.detector = detector
        self.log: EventLog | None = None
        self._stop = threading.Event()
        self._old_handlers: dict[int, Any] = {}
        self._notifier: Any = None
        self._failed = False
        self._last_time = 0.0
        # Pose runs at most pose.max_fps a second; between pose frames the output shows the last result.
        self.pose_rate = PoseRate(cfg.pose.max_fps or cfg.features.rate_hz)
        self._shown: tuple[list[Track], dict[int, np.ndarray]] = ([], {})
        self.live: Live | None = None  # see Live; None before the first frame
        self.note = ""  # drawn at the bottom of every output frame (the set-up page's address)
        # event id -> (keypoints (18, 3), aspect) of the person the event is about, for the latest
        # SKELETONS_KEPT events that have one (the web page draws their pictures)
        self.event_skeletons: dict[str, tuple[np.ndarray, float]] = {}
        self._frame_clock: deque[float] = deque(maxlen=30)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Open every stage; a bad file, model or output path fails here, before the first frame."""
        self._open_events_log()
        self._open_source()
        self._open_classifier()
        self._open_detector()
        self._open_pose()
        self._open_alerts()
        self._resume_alarms()
        self._open_output()
        self._install_signal_handlers()
        self._open_watchdog()

    def stop(self) -> None:
        """Undo start() in reverse; each step runs even if an earlier one failed."""
        for step in (
            self._close_watchdog,
            self._close_output,
            self._close_alerts,
            self._close_pose,
            self._close_source,
            self._close_events_log,
            self._restore_signal_handlers,  # last: a second SIGTERM while stopping must not kill the stop
        ):
            try:
                step()
            except Exception:  # stopping must go on; the failure is logged
                logger.exception("pipeline stop: %s failed", step.__name__)

    def request_stop(self) -> None:
        """Ask the loop to finish after the current frame (signal handlers call this)."""
        self._stop.set()

    def _open_events_log(self) -> None:
        if self.events_path:
            check_folder(self.events_path, "log.events")
            self.log = EventLog(self.events_path)

    def _open_classifier(self) -> None:
        if self.classifier is None:
            from edge.classifier import create_classifier

            self.classifier = create_classifier(self.cfg.classifier, self.cfg.features)

    def _open_detector(self) -> None:
        """The room's detector; a live source resumes the open episodes and outage of cfg.log.state."""
        assert self.classifier is not None and self.source is not None
        live = bool(getattr(self.source, "live", False))
        if self.detector is None:
            self.detector = FallDetector(self.cfg, self.classifier, state_path=self.cfg.log.state if live else "")
        if live:
            self.detector.resume(self._source_now())

    def _source_now(self) -> float:
        """The source's clock now (video time); for a source without one, the last frame's time."""
        now = getattr(self.source, "now", None)
        return float(now()) if now is not None else self._last_time

    def _open_pose(self) -> None:
        if self.pose is None:
            from edge.pose import create_pose

            self.pose = create_pose(self.cfg.pose)

    def _open_alerts(self) -> None:
        """The alert hub (edge.alerts): GPIO buzzer/LED and cancel button, push outbox, MQTT."""
        if self.alerts is None:
            from edge.alerts import AlertHub

            hub = AlertHub.from_config(self.cfg)
            hub.start()
            self.alerts = hub

    def _resume_alarms(self) -> None:
        """Episodes resumed from the state file sound in the room again (LED, buzzer, voice); events a
        crash interrupted the hand-off of are handed on again (the same ids: pushed once)."""
        if self.detector is None:
            return
        if self.alerts is not None:
            for episode in self.detector.open_episodes():
                self.alerts.resume(episode.track_id, episode.state)
        pending = self.detector.take_pending()
        if pending:
            logged = self.log.logged({e.id for e in pending}) if self.log is not None else set()
            self._emit(pending, logged=logged)
            self.detector.save(self._source_now())

    def _open_source(self) -> None:
        if self.source is None:
            from edge.sources import create_source

            self.source = create_source(self.cfg.source)

    def _open_output(self) -> None:
        if self.sink is None:
            from edge.output import create_output

            fps = getattr(self.source, "fps", None) or 30.0
            self.sink = create_output(self.cfg.output.uri, fps=fps)

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self._stop.is_set():
            logger.info("signal %s: already stopping (alerts are being handed over); please wait", name)
            return
        logger.info("signal %s: stopping after this frame", name)
        self.request_stop()

    def _restore_signal_handlers(self) -> None:
        for sig, handler in self._old_handlers.items():
            signal.signal(sig, handler)
        self._old_handlers.clear()

    def _open_watchdog(self) -> None:
        """Under systemd: READY=1 now, WATCHDOG=1 per processed frame (edge.systemd); else nothing."""
        from edge.systemd import FrameWatchdog, Notifier

        self._notifier = Notifier()
        if self.watchdog is None:
            self.watchdog = FrameWatchdog.from_env(self._notifier, started=time.monotonic()).frame_processed
        self._notifier.ready(f"watching {redact(self.cfg.source.uri)}")

    def _close_watchdog(self) -> None:
        if self._notifier is not None:
            self._notifier.stopping()

    def _close_output(self) -> None:
        if self.sink is not None:
            self.summary.frames_out = self.sink.frames_written
            sink, self.sink = self.sink, None
            sink.abort() if self._failed else sink.close()

    def _close_source(self) -> None:
        if self.source is not None:
            self.source.close()

    def _close_alerts(self) -> None:
        if self.alerts is not None:
            self.alerts.close()  # releases the GPIO pins

    def _close_pose(self) -> None:
        if self.pose is not None:
            self.pose.close()

    def _close_events_log(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> Summary:
        """start(), process frames until the source finishes or a stop is requested, stop(); the summary."""
        began = time.perf_counter()
        try:
            self.start()  # a stage that fails to open: the ones already open are closed again
            while not self._stop.is_set():
                if not self.step():
                    break
        except BaseException:
            self._failed = True  # the output is aborted: no half-written file is left behind
            raise
        finally:
            self.summary.seconds = time.perf_counter() - began
            if self.detector is not None:
                self.summary.open_episodes = self.detector.open_episodes()
            self.stop()
        return self.summary

    def step(self) -> bool:
        """Read and process one frame; False once the source has finished."""
        assert self.source is not None and self.detector is not None, "call start() first"
        clock = time.perf_counter
        t0 = clock()
        # decode: the next frame (None on a timeout or while a live source is down)
        frame = self.source.read()
        self.summary.stage_s["decode"] += clock() - t0
        pop_status = getattr(self.source, "pop_status", None)
        for status in pop_status() if pop_status is not None else []:
            self._emit(self.detector.camera(status.kind, status.video_time))
        now = frame.video_time if frame is not None else self._source_now()
        if self.alerts is not None:  # escalation, acknowledge, inactivity: also while the camera is lost
            self._emit(self.alerts.poll(now))
        if frame is None:
            if getattr(self.source, "live", False):  # episodes go on while the camera is away
                if self.alerts is not None and self.alerts.cancel_requested():  # the button needs no camera
                    self._emit(self.detector.cancel(now))
                self._emit(self.detector.idle(now))
            self.detector.save(now)  # after the hand-off (see _emit)
            return not self.source.finished
        self._last_time = frame.video_time
        self.process(frame)
        self.detector.save(now)
        return True

    def process(self, frame: Frame) -> list[Event]:
        """Pose, the detector, the cancel button, events and output for one frame; the events it raised."""
        assert self.pose is not None and self.detector is not None and self.sink is not None
        clock = time.perf_counter
        stage = self.summary.stage_s
        self.summary.frames_in += 1
        t = frame.video_time
        events: list[Event] = []
        if self.pose_rate.due(t):
            # pose: canonical skeletons of everyone in view
            t0 = clock()
            skeletons = self.pose.estimate(frame)
            stage["pose"] += clock() - t0
            # detector: tracks, windows and features, one batched classifier call, the fall rule
            result = self.detector.step(t, skeletons)
            for name, seconds in result.seconds.items():
                stage[name] += seconds
            self.summary.windows_classified = self.detector.windows_classified
            self.summary.frames_posed += 1
            events = result.events
            self._shown = (result.tracks, result.probs)
            if self.alerts is not None:
                self.alerts.people_seen(sum(track.seen for track in result.tracks))
        t2 = clock()
        if self.alerts is not None and self.alerts.cancel_requested():
            events += self.detector.cancel(t)
        self._emit(events, frame, self._shown[0])
        t3 = clock()
        # output: every frame, annotated with what is known now (never waits for a decision)
        self.sink.write(self._annotate(frame, *self._shown))
        t4 = clock()
        stage["events"] += t3 - t2
        stage["output"] += t4 - t3
        self._publish(frame)
        if self.watchdog is not None:
            self.watchdog(time.monotonic())
        return events

    def _publish(self, frame: Frame) -> None:
        """Replace self.live with this frame's picture, people, states and the recent frame rate."""
        assert self.detector is not None
        self._frame_clock.append(time.monotonic())
        span = self._frame_clock[-1] - self._frame_clock[0]
        fps = (len(self._frame_clock) - 1) / span if span > 0 else 0.0
        people = sum(track.seen for track in self._shown[0])
        lost = bool(getattr(self.source, "lost", False))
        skeletons = {track.id: track.keypoints.copy() for track in self._shown[0] if track.seen}
        self.live = Live(frame.image, frame.video_time, people, self.detector.states(), fps, lost, skeletons)

    def _emit(
        self,
        events: list[Event],
        frame: Frame | None = None,
        tracks: list[Track] | None = None,
        logged: AbstractSet[str] = frozenset(),
    ) -> None:
        """Log each event (durably), then hand it to the alerts with the person's skeleton. The detector's
        state file is written ahead (stage() here, save() at the end of the step): a crash in between
        hands the events on again after the restart instead of losing them; `logged`: the ids of those
        the events log already holds, not written again."""
        if events and self.detector is not None:
            self.detector.stage(events, self._source_now())
        people = {track.id: track for track in tracks or []}
        for event in events:
            logger.info("%s at %.2f s (track %s)", event.event, event.video_time, event.track_id)
            self.events.append(event)
            self.summary.events[event.event] += 1
            if self.log is not None and event.id not in logged:
                try:
                    self.log.write(event)
                except OSError as exc:  # a full disk: the alarm and the push must still go out
                    logger.error("%s: cannot log %s %s: %s", self.log.path, event.event, event.id, exc)
            track = people.get(event.track_id) if event.track_id is not None else None
            if track is not None:
                self._keep_skeleton(event.id, track)
            if self.alerts is not None:
                self.alerts.handle(
                    event,
                    keypoints=None if track is None else track.keypoints,
                    aspect=track.aspect if track is not None else (frame.aspect if frame is not None else 1.0),
                    frame=frame.image if frame is not None and self.cfg.notify.attach_camera_frame else None,
                )

    def _keep_skeleton(self, event_id: str, track: Track) -> None:
        """Remember the skeleton of the person an event is about; only the latest SKELETONS_KEPT."""
        self.event_skeletons[event_id] = (track.keypoints.copy(), track.aspect)
        while len(self.event_skeletons) > SKELETONS_KEPT:
            del self.event_skeletons[next(iter(self.event_skeletons))]

    def _annotate(self, frame: Frame, tracks: list[Track], probs: dict[int, np.ndarray]) -> np.ndarray:
        from edge.output.annotate import PersonAnnotation, draw_annotations

        assert self.detector is not None
        states = self.detector.states()
        people = []
        for track in tracks:
            if not track.seen:
                continue
            p = probs.get(track.id)
            best = int(np.argmax(p)) if p is not None else -1
            people.append(
                PersonAnnotation(
                    track.keypoints,
                    track.id,
                    CLASSES[best] if best >= 0 else "",
                    float(p[best]) if p is not None else 0.0,
                    states.get(track.id, "ok"),
                )
            )
        status = "source lost" if getattr(self.source, "lost", False) else ""
        return draw_annotations(frame.image, people, status, self.note)


def build_pipeline(cfg: Config, **stages: Any) -> Pipeline:
    """A Pipeline for cfg; keyword arguments pass ready stages (see Pipeline). Nothing opens until run()."""
    return Pipeline(cfg, **stages)


__all__ = ["STAGES", "Alerts", "Live", "Pipeline", "Summary", "build_pipeline"]
