"""The detector: one room's tracks, windows, features, classifier call, fall-rule evidence and events.

    detector = FallDetector(cfg, classifier)            # cfg: Config; classifier: edge.classifier.Classifier
    result = detector.step(video_time, skeletons)        # every processed frame, even with nobody in view
    result.tracks, result.probs, result.events           # tracks, {track id: probs (5,)}, new Events
    detector.idle(video_time)                            # a live camera that delivers no frame: timers go on
    detector.camera("source_lost", video_time)           # outages: one source_lost per outage, across restarts
    detector.cancel(video_time)                          # the cancel button
    detector.stage(events, video_time)                   # before handing events on (state_path) ...
    detector.save(video_time)                            # ... and after
    detector.open_episodes()                             # what is still open (summaries)
    detector.use_events(new_events_cfg)                  # from another thread: from the next frame on

With `state_path`, the open episodes and the current camera outage are written there atomically after
every change (JSON, wall-clock times) and `resume()` takes them up again after a restart: an episode
keeps its timers, and an outage already pushed is not pushed again. The file is written ahead: the
caller calls `stage(events)` before it hands the events on (events log, alarm, push) and `save()`
after, and a restart hands on again what was staged but not saved (`take_pending()`), under the same
ids (an episode's event ids come from the episode; the outbox and the escalation take an id once). A
crash during the hand-off repeats an event, never loses one. The pipeline, replay, evaluation and
benchmarks all feed keypoints through this one object.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.classes import CLASSES
from edge.classifier.base import Classifier
from edge.config import Config, EventsConfig
from edge.events import Event, FallEvents, Observation, OpenEpisode
from edge.features import window_features
from edge.files import write_atomic
from edge.skeleton import Skeletons
from edge.tracking import Track, Tracker

logger = logging.getLogger(__name__)

# The stages the detector times (seconds per step), in the pipeline's summary.
DETECTOR_STAGES = ("features", "classify", "events")
# Events after which the state file is rewritten.
STATEFUL = frozenset(
    {"fall_suspected", "fall_alert", "long_lie", "recovered", "cancelled", "source_lost", "source_restored"}
)
# Seconds without a frame after which an alert says the camera is lost.
CAMERA_SILENT_S = 1.0
# While an episode is open the state file is also rewritten this often (s), so that a restart finds the
# person's place where they are now, not where the episode began.
RESAVE_S = 1.0


@dataclass
class DetectorStep:
    """What one frame gave: every live track, the probabilities of those classified this frame, the
    new events, seconds spent per stage (DETECTOR_STAGES), and the fall rule's view of each seen track
    (its evidence: drops, tilt, place)."""

    tracks: list[Track]
    probs: dict[int, np.ndarray]
    events: list[Event]
    seconds: dict[str, float] = field(default_factory=dict)
    observations: list[Observation] = field(default_factory=list)


class FallDetector:
    """One room. cfg: the Config (tracking, features, events); classifier: predict(windows) -> probs.

    state_path: the state file ("" = none: files and replays); wall_clock: epoch seconds (injectable).
    """

    def __init__(
        self,
        cfg: Config,
        classifier: Classifier,
        state_path: str = "",
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg = cfg
        self.classifier = classifier
        ev = cfg.events
        self.tracker = Tracker(cfg.tracking, cfg.features, history_s=ev.motion_memory_s + 1.0)
        self.events = FallEvents(ev)
        #: The fall rule's config from the next frame on (`use_events`); events.cfg is the one in use.
        self.events_next = ev
        self.state_path = state_path
        self._wall = wall_clock
        self._outage: dict[str, Any] | None = None
        self._last_frame: float | None = None
        self._started: float | None = None  # the first resume() or idle(): no frame yet is not yet a lost camera
        self._saved_at = -np.inf
        self._retry_at = -np.inf  # after a failed write: the next try
        self._changed = False  # a staged event changed what the state file holds since the last save()
        self._pending: list[Event] = []  # staged before a restart and never saved as handed on
        self.windows_classified = 0

    # -- per frame ----------------------------------------------------------------------------------
    def step(self, video_time: float, skeletons: Skeletons) -> DetectorStep:
        """Track, classify (one batched call for every track with a full window) and run the fall rule."""
        t = video_time
        self._take_events_cfg()
        clock = time.perf_counter
        t0 = clock()
        tracks = self.tracker.step(skeletons, t)
        ready, rows = [], []
        for track in tracks:
            if track.seen:
                window, full = track.window.window(t)
                if full:
                    ready.append(track)
                    rows.append(window_features(window, skeletons.aspect, self.cfg.features))
        t1 = clock()
        probs = self.classifier.predict(np.stack(rows)) if rows else np.zeros((0, len(CLASSES)), np.float32)
        self.windows_classified += len(rows)
        by_id = {track.id: p for track, p in zip(ready, probs, strict=True)}
        t2 = clock()
        events = self._restored_camera(t)
        self._last_frame = t
        self.events.camera_lost = False
        observations = [self._observe(tr, by_id.get(tr.id), t) for tr in tracks if tr.seen]
        events += self.events.step(t, observations)
        t3 = clock()
        seconds = {"features": t1 - t0, "classify": t2 - t1, "events": t3 - t2}
        return DetectorStep(tracks, by_id, events, seconds, observations)

    def _observe(self, track: Track, probs: np.ndarray | None, t: float) -> Observation:
        """The fall rule's view of one seen track: probabilities, place, drops, trunk tilt, size."""
        ev = self.events.cfg
        since, rise_since = self.events.motion_since(track.id), self.events.episode_since(track.id)
        drop, slow_drop, tipped_over, rise = track.motion(
            t, ev.drop_within_s, ev.slow_drop_within_s, ev.motion_memory_s, ev.upright_max_deg, ev.tipped_deg, since,
            rise_since,
        )  # fmt: skip
        return Observation(
            track.id,
            probs,
            track.centre,
            drop,
            track.trunk_tilt,
            slow_drop,
            track.size,
            track.first_seen,
            track.aspect,
            tipped_over,
            rise,
        )

    def use_events(self, cfg: EventsConfig) -> None:
        """Run the fall rule with `cfg` from the next frame on (the set-up page's thread calls this).

        One assignment here, taken up by the frame loop's thread at the start of a frame: no frame
        mixes two configs, and a change made during a frame is not lost. Open episodes keep their
        timers: a new confirm_s applies to an episode already suspected.
        """
        self.events_next = cfg

    def _take_events_cfg(self) -> None:
        cfg = self.events_next
        if cfg is not self.events.cfg:
            self.events.cfg = cfg
            self.tracker.history_s = cfg.motion_memory_s + 1.0

    def idle(self, video_time: float) -> list[Event]:
        """No frame now (a live source that is down or slow): episode timers and heartbeats go on."""
        self._take_events_cfg()
        if self._started is None:
            self._started = video_time
        last = self._last_frame if self._last_frame is not None else self._started
        silent = self._outage is not None or video_time - last >= CAMERA_SILENT_S
        self.events.camera_lost = silent
        return self.events.idle(video_time)

    def camera(self, kind: str, video_time: float) -> list[Event]:
        """A source status ("source_lost" / "source_restored") -> its event, once per outage: an outage
        already pushed before a restart is not pushed again."""
        if kind == "source_lost":
            self.events.camera_lost = True
            if self._outage is not None:
                logger.info("camera still lost since before the restart: not reported again")
                return []
            event = Event("source_lost", video_time)
            self._outage = {"id": event.id, "since_wall": self._wall()}
        elif kind == "source_restored":
            event = Event("source_restored", video_time)
            self._outage = None
        else:
            raise ValueError(f"unknown source status {kind!r}")
        return [event]

    def _restored_camera(self, t: float) -> list[Event]:
        """A frame while an outage from before a restart is open: the camera is back (a frame came, so
        whatever idle() said while no frame came is over; a restored status already cleared _outage)."""
        if self._outage is None:
            return []
        self._outage = None
        return [Event("source_restored", t)]

    def cancel(self, video_time: float) -> list[Event]:
        """The cancel button: every open episode ends with `cancelled`."""
        return self.events.cancel(video_time)

    def states(self) -> dict[int, str]:
        """track id -> "ok" | "suspected" | "alert" (for drawing)."""
        return self.events.states()

    def open_episodes(self) -> list[OpenEpisode]:
        """The episodes still open, oldest first."""
        return self.events.open_episodes()

    # -- across restarts ----------------------------------------------------------------------------
    def resume(self, video_time: float) -> None:
        """Take up the state file's open episodes and outage (a live source's restart). A missing file
        is a first start; an unreadable one is logged (naming it) and replaced at the next change."""
        self._started = video_time
        if not self.state_path or not Path(self.state_path).is_file():
            return
        try:
            data = json.loads(Path(self.state_path).read_text(encoding="utf-8"))
            self.events.restore(data, video_time, self._wall())
            outage = data.get("outage")
            if outage is not None and not (isinstance(outage, dict) and {"id", "since_wall"} <= set(outage)):
                raise ValueError(f"outage {outage!r}: expected {{'id', 'since_wall'}}")
            self._outage = outage
            pending = data.get("pending", [])
            if not isinstance(pending, list):
                raise ValueError(f"pending {pending!r}: expected a list")
            self._pending = [Event.from_json(json.dumps(item)) for item in pending]
            for event in self._pending:
                if event.event not in STATEFUL or not isinstance(event.video_time, (int, float)):
                    raise ValueError(f"pending event {event.event!r} at {event.video_time!r}")
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            logger.error("%s: cannot resume from the state file (%s); starting afresh", self.state_path, exc)
            self.events.places = [p for p in self.events.places if p.episode is None]
            self._outage, self._pending = None, []
            return
        opened = self.events.open_episodes()
        if opened or self._outage or self._pending:
            lost = " and a camera outage" if self._outage else ""
            again = f"; {len(self._pending)} event(s) to hand on again" if self._pending else ""
            logger.warning("resumed %d open episode(s)%s from %s%s", len(opened), lost, self.state_path, again)

    def take_pending(self) -> list[Event]:
        """The events staged before a restart and not saved as handed on (a crash during the hand-off):
        the caller hands them on again, then saves. Empty after the first call."""
        pending, self._pending = self._pending, []
        return pending

    def stage(self, events: list[Event], now: float) -> None:
        """Before `events` are handed on: write the state with those that change it as pending, so that a
        crash during the hand-off hands them on again after the restart; the save() after rewrites it."""
        pending = [e for e in events if e.event in STATEFUL]
        if not pending:
            return
        self._changed = True
        if self.state_path:
            self._write(now, pending)

    def save(self, now: float) -> None:
        """After the events were handed on: rewrite the state file (nothing pending) when an event staged
        since the last save changed what it holds, and every RESAVE_S while an episode is open. A failed
        write is tried again RESAVE_S later."""
        if not self.state_path or now < self._retry_at:
            return
        if not self._changed and not (self.events.open_episodes() and now - self._saved_at >= RESAVE_S):
            return
        if self._write(now, []):
            self._saved_at, self._changed = now, False
        else:
            self._retry_at = now + RESAVE_S  # a full disk: again in a second, not every frame

    def _write(self, now: float, pending: list[Event]) -> bool:
        """Write the state file atomically with `pending`; False (logged, naming the file) when it fails."""
        data = self.events.snapshot(now, self._wall())
        data["outage"] = self._outage
        data["pending"] = [json.loads(e.to_json()) for e in pending]
        try:
            write_atomic(self.state_path, (json.dumps(data, indent=1) + "\n").encode())
        except OSError as exc:  # the alert itself must still go out
            logger.error("%s: cannot write the state file: %s", self.state_path, exc.strerror or exc)
            return False
        return True


__all__ = ["DETECTOR_STAGES", "DetectorStep", "FallDetector"]
