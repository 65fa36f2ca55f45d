"""Fall events, the per-track state machine that makes them, and their JSON-lines log.

Every event is one JSON object on one line:
{"event": kind, "video_time": s, "wall_time": ISO 8601, "track_id": int|null, "probs": {...}|null, "id": str}
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np

from edge.classes import CLASSES, FALL, LIE
from edge.config import EventsConfig
from edge.event_kinds import EVENT_KINDS, EventKind


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Event:
    """One thing that happened. `id` is unique and is the delivery key for every alert channel."""

    event: EventKind
    video_time: float
    track_id: int | None = None
    probs: dict[str, float] | None = None
    wall_time: str = field(default_factory=_now_iso)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if self.event not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.event!r}; expected one of {EVENT_KINDS}")

    def to_json(self) -> str:
        """The event as one JSON line (no trailing newline)."""
        return json.dumps(
            {
                "event": self.event,
                "video_time": round(self.video_time, 3),
                "wall_time": self.wall_time,
                "track_id": self.track_id,
                "probs": None if self.probs is None else {k: round(v, 4) for k, v in self.probs.items()},
                "id": self.id,
            }
        )

    @classmethod
    def from_json(cls, line: str) -> Event:
        """Parse one events-log line; raises ValueError naming the problem."""
        data: dict[str, Any] = json.loads(line)
        missing = {"event", "video_time", "wall_time", "track_id", "probs", "id"} - set(data)
        if missing:
            raise ValueError(f"event line lacks {sorted(missing)}: {line[:80]}")
        return cls(**data)


# ---------------------------------------------------------------------------------------------
# The per-track state machine
# ---------------------------------------------------------------------------------------------
#
# Evidence per frame, for a track with a full window (a window that is not yet full never alarms):
#   posture/classifier: P(fall) >= fall_threshold (the falling motion), or the person is down:
#                       P(fall) + P(lie) >= down_threshold
#   motion:             the trunk dropped >= min_drop body lengths within drop_within_s seconds, at
#                       some time in the last motion_memory_s seconds (Track.drop)
#   place:              the body centre is outside every bed zone
# All three for `suspect_frames` consecutive frames -> fall_suspected (LED).
# Why both kinds of evidence (DESIGN.md, measured on real clips, see bench/events.py): a posture-only
# rule alarms on everyone lying down on purpose, since a lying body looks like a fallen one; a rule
# on the classifier's falling motion alone misses falls that were already under way when the window
# filled (the first full window of GMDCSA24 Subject 1/Fall/14 is mostly lying: P(fall) 0.02, P(lie)
# 0.93) and falls that start from lying (out of a bed). So the classifier only has to say "falling
# or down", and the drop rule vetoes slow, deliberate lying down: lying down on purpose lowers the
# trunk over seconds, a fall within a second. The drop is measured on the track's own history, not
# on the window, so a fall that began before the window filled still counts for motion_memory_s; a
# fall out of a bed is a short drop (bed height, not measured: no such clip here), which is why
# min_drop is small: 0.2 body lengths. Largest drop per clip, MediaPipe keypoints: 11 falls
# (GMDCSA24, UP-Fall) 0.26-0.70; 6 UP-Fall clips of lying down on purpose <= 0.04; 5 GMDCSA24
# daily-activity clips <= 0.12, except bending fast to take a bottle from under a bed, 0.35.
#
# After fall_suspected at time t0, per frame the person is "down" (P(fall) + P(lie) >=
# down_threshold), "up" (< up_threshold) or unsure (between them, or no probabilities because the
# window is not full or the pose stage lost the person: hysteresis, neither confirms nor recovers).
# "Up" also needs the trunk seen within upright_max_deg of vertical (Observation.tilt): someone sitting
# slumped on the floor after a fall is "sit" to the classifier, which is "up" (held-back UR Fall fall-20,
# a fall from a chair, recovered on the classifier alone and alerts with the trunk check; measured with
# `fallwatch evaluate --events`). A trunk the pose stage cannot see never counts as upright. It cannot
# help a body lying along the camera's axis, whose trunk looks upright in the image.
#   up without a break (down frames break it; unsure ones do not) for recover_s -> recovered
#   otherwise, at t0 + confirm_s                                                -> fall_alert
# so a person the camera loses after a suspected fall escalates to an alert: for someone living
# alone a missed alert costs more than a false one, and the cancel button ends it.
# A track that disappears during an episode leaves an orphaned episode: it is timed on, and it
# recovers when any person in view is up for recover_s (in a one-person room that is the same
# person under a new id). cancel() ends every episode -> cancelled.
# After recovered or cancelled the track waits cooldown_s before it can be suspected again.
# long_lie (off unless long_lie_s > 0): a track down outside the bed zones for long_lie_s without an
# episode (a fall the camera did not see) -> long_lie, which then behaves like fall_alert.


# Durations are compared with this slack (s), so 1.9 - 0.9 counts as a whole second.
TIME_EPS = 1e-6


@dataclass(frozen=True)
class Observation:
    """What the events need to know about one track in one frame.

    track_id: the tracker's id. probs: the classifier's (5,) probabilities in CLASSES order, or None
    when the track's window is not full (or it was not seen this frame). centre: the body centre
    (x, y), image-normalised, for bed zones. drop: Track.drop() in body lengths (>= 0).
    tilt: Track.trunk_tilt, the trunk's degrees from vertical, or None when the trunk is not seen.
    """

    track_id: int
    probs: np.ndarray | None
    centre: tuple[float, float]
    drop: float
    tilt: float | None = 0.0


@dataclass
class _TrackState:
    state: Literal["ok", "suspected", "alert"] = "ok"
    streak: int = 0
    since: float = 0.0
    up_since: float | None = None
    down_since: float | None = None
    cooldown_until: float = -np.inf
    probs: dict[str, float] | None = None


def inside(point: tuple[float, float], polygon: list[list[float]]) -> bool:
    """True when point (x, y) lies inside polygon [[x, y], ...] (ray casting; edges count as inside)."""
    x, y = point
    hit = False
    n = len(polygon)
    for i in range(n):
        (x0, y0), (x1, y1) = polygon[i], polygon[(i + 1) % n]
        if min(x0, x1) <= x <= max(x0, x1) and min(y0, y1) <= y <= max(y0, y1):
            cross = (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)
            if abs(cross) <= 1e-12:
                return True  # on an edge
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            hit = not hit
    return hit


class FallEvents:
    """The per-track state machine; call `step()` once per processed frame, timed by video_time.

    cfg: EventsConfig (thresholds, bed zones, cooldown, long_lie_s, heartbeat_s; see the comment
    block above for each rule and the failure it prevents). Returns Events in the order they
    happened; `states()` gives each track's state ("ok", "suspected", "alert") for drawing.
    """

    def __init__(self, cfg: EventsConfig) -> None:
        self.cfg = cfg
        self._tracks: dict[int, _TrackState] = {}
        self._next_heartbeat: float | None = None

    def states(self) -> dict[int, str]:
        """track id -> "ok" | "suspected" | "alert" for every track the machine knows."""
        return {tid: s.state for tid, s in self._tracks.items()}

    def step(self, video_time: float, observations: list[Observation]) -> list[Event]:
        """Advance every track to video_time (s, non-decreasing) with this frame's observations."""
        events: list[Event] = []
        seen = {o.track_id for o in observations}
        for obs in observations:
            state = self._tracks.setdefault(obs.track_id, _TrackState())
            if obs.probs is not None:
                state.probs = _probs_dict(obs.probs)
            events += self._advance(obs.track_id, state, video_time, obs)
        anyone_up = any(self._up(o) for o in observations)
        anyone_down = any(
            o.probs is not None and self._down_score(o.probs) >= self.cfg.down_threshold for o in observations
        )
        for tid in [t for t in self._tracks if t not in seen]:
            state = self._tracks[tid]
            if state.state == "ok":
                if video_time >= state.cooldown_until:
                    del self._tracks[tid]  # a calm track out of view: nothing to remember
                continue  # (a track in its cooldown keeps it through frames the pose stage misses)
            up = anyone_up and not anyone_down
            events += self._episode(tid, state, video_time, up=up, down=anyone_down and not anyone_up)
        events += self._heartbeat(video_time)
        return events

    def cancel(self, video_time: float) -> list[Event]:
        """The cancel button: every suspected or alerted episode ends with `cancelled`."""
        events = []
        for tid, state in self._tracks.items():
            if state.state != "ok":
                events.append(Event("cancelled", video_time, tid, state.probs))
                self._end(state, video_time)
        return events

    def _down_score(self, probs: np.ndarray) -> float:
        return float(probs[FALL] + probs[LIE])

    def _up(self, obs: Observation) -> bool:
        """The classifier says up and the trunk is seen upright (see the comment block above)."""
        return (
            obs.probs is not None
            and self._down_score(obs.probs) < self.cfg.up_threshold
            and obs.tilt is not None
            and obs.tilt <= self.cfg.upright_max_deg
        )

    def _advance(self, tid: int, state: _TrackState, t: float, obs: Observation) -> list[Event]:
        cfg = self.cfg
        probs = obs.probs
        down = probs is not None and self._down_score(probs) >= cfg.down_threshold
        up = self._up(obs)
        if state.state != "ok":
            return self._episode(tid, state, t, up=up, down=down)
        in_bed = any(inside(obs.centre, zone) for zone in cfg.bed_zones)
        evidence = (
            probs is not None
            and (float(probs[FALL]) >= cfg.fall_threshold or down)
            and obs.drop >= cfg.min_drop
            and not in_bed
            and t >= state.cooldown_until - TIME_EPS
        )
        state.streak = state.streak + 1 if evidence else 0
        if state.streak >= cfg.suspect_frames:
            state.state, state.since, state.up_since, state.streak = "suspected", t, None, 0
            return [Event("fall_suspected", t, tid, state.probs)]
        state.down_since = (state.down_since if state.down_since is not None else t) if down and not in_bed else None
        if cfg.long_lie_s > 0 and state.down_since is not None and t - state.down_since >= cfg.long_lie_s - TIME_EPS:
            state.state, state.since, state.up_since = "alert", t, None
            return [Event("long_lie", t, tid, state.probs)]
        return []

    def _episode(self, tid: int, state: _TrackState, t: float, up: bool, down: bool) -> list[Event]:
        """One frame of a suspected or alerted episode: recovery, or escalation after confirm_s."""
        if up:
            state.up_since = state.up_since if state.up_since is not None else t
        elif down:
            state.up_since = None
        if state.up_since is not None and t - state.up_since >= self.cfg.recover_s - TIME_EPS:
            self._end(state, t)
            return [Event("recovered", t, tid, state.probs)]
        if state.state == "suspected" and t - state.since >= self.cfg.confirm_s - TIME_EPS:
            state.state = "alert"
            return [Event("fall_alert", t, tid, state.probs)]
        return []

    def _end(self, state: _TrackState, t: float) -> None:
        state.state, state.streak, state.up_since, state.down_since = "ok", 0, None, None
        state.cooldown_until = t + self.cfg.cooldown_s

    def _heartbeat(self, t: float) -> list[Event]:
        if self.cfg.heartbeat_s <= 0:
            return []
        if self._next_heartbeat is None:
            self._next_heartbeat = t + self.cfg.heartbeat_s
        if t < self._next_heartbeat - TIME_EPS:
            return []
        self._next_heartbeat += self.cfg.heartbeat_s  # on schedule, without drift
        if self._next_heartbeat <= t:
            self._next_heartbeat = t + self.cfg.heartbeat_s  # after a jump in time: no burst
        return [Event("heartbeat", t)]


def _probs_dict(probs: np.ndarray) -> dict[str, float]:
    return {name: float(p) for name, p in zip(CLASSES, probs, strict=True)}


class EventLog:
    """Appends events to a JSON-lines file, one line per event, flushed and fsync'd before returning.

    path: the log file (its folder is created). A line is never half-written by this process: each
    event is one write() of a whole line. Raises OSError naming the path when it cannot be opened.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for months

    def write(self, event: Event) -> None:
        """Append one event and make it durable (flush + fsync)."""
        self._file.write(event.to_json() + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def read_events(path: str | Path) -> list[Event]:
    """Every event in a JSON-lines log; raises ValueError naming the file and line of a bad one."""
    events = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                events.append(Event.from_json(line))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: {exc}") from None
    return events
