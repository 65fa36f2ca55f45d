"""Fall events, the per-track state machine that makes them, and their JSON-lines log.

Every event is one JSON object on one line:
{"event": kind, "video_time": s, "wall_time": ISO 8601, "track_id": int|null, "probs": {...}|null, "id": str,
 "detail": str|null}
`detail` says what a reader must know beyond the kind: the rule that opened an episode ("fast fall", "slow
fall", "strong fall", "pose-only fall", "lost after a drop", "down") and "camera lost" on an alert raised
while the camera was down; logs written before it existed have no such key and read as null.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import numpy as np

from edge.classes import CLASSES, FALL, LIE
from edge.config import EventsConfig
from edge.event_kinds import EVENT_KINDS, EventKind
from edge.files import lines_backwards

logger = logging.getLogger(__name__)


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
    detail: str | None = None

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
                "detail": self.detail,
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
# The fall rule
# ---------------------------------------------------------------------------------------------
#
# Two ways into an episode, both kept per PLACE (where a person is, or was last seen), not only per
# track id: the pose stage loses people as they hit the floor and finds them again under a new id.
#
# 1. The fall (fall_suspected): for `suspect_frames` consecutive frames of one track, outside every
#    bed zone, one of
#      fast:   the classifier says falling (P(fall) >= fall_threshold) or down (P(fall) + P(lie) >=
#              down_threshold), and the trunk dropped >= min_drop body lengths within drop_within_s;
#      slow:   the classifier says down, the trunk is tipped past tipped_deg from vertical, and it
#              dropped >= slow_min_drop within slow_drop_within_s (older people sink and slide: their
#              trunk drops 0.05-0.15 body lengths within 0.8 s, too little for the fast rule);
#      strong: P(fall) >= strong_fall_threshold, and within slow_drop_within_s the trunk dropped >=
#              strong_min_drop or tipped over (from within upright_max_deg of vertical to past
#              tipped_deg): a fall the classifier is sure of whose drop the camera foreshortens. The
#              classifier alone is not enough: on a person lying still its P(fall) flickers up to 0.99.
#      pose-only: before the track's window is full (its first window_s: no classifier yet), the trunk
#              dropped >= min_drop within drop_within_s and >= slow_min_drop within slow_drop_within_s,
#              tipped over (upright to past tipped_deg) within slow_drop_within_s, and is still
#              tipped: a person found only as they fall (seen from behind furniture, walking in, a
#              track found again). Seven UR Fall clips that end before the window fills are
#              suspected only by it; a person bending down as they are found can be suspected too
#              (UP-Fall Activity9, picking something up; they stand up and recover).
#    Drops count only within motion_memory_s and after the track's last episode ended, so a fall
#    already under way when the classifier's window filled is caught, and an old drop never raises a
#    second episode. A track lost (unseen for lost_fall_s, not at the image border, outside the bed
#    zones) within lost_fall_s of a fast drop while not up is suspected too: the pose stage often
#    loses a person exactly as they hit the floor.
#    Why the drop at all (DESIGN.md, bench/events.py): posture alone alarms on everyone lying down on
#    purpose; lying down on purpose lowers the trunk over seconds, and the classifier's "down" alone
#    cannot tell a bed from a floor.
# 2. The person down (long_lie): a place judged "down" for long_lie_s, outside the bed zones. Each
#    frame a track is seen, its place gets a verdict: "down" (the classifier says down, or the trunk
#    is tipped past tipped_deg while the classifier does not say up), "up" (see below) or "unsure".
#    Over the last down_span_s the place is down when >= down_fraction of its verdicts are down, up
#    when at least half are up; with fewer verdicts than seen_fraction of the processed frames (pose
#    gaps) the judgement holds, so gaps and flicker neither reset nor confirm it. This catches the
#    fall the camera did not see, the person already down at start, and the person whose fall the
#    rule missed. Lying down on purpose outside a bed zone for long_lie_s alerts too: the zones are
#    the lever.
#
# An episode lives on its place. "Up" is the classifier's P(fall) + P(lie) < up_threshold with the
# trunk seen within upright_max_deg of vertical (someone sitting slumped on the floor is "sit" to the
# classifier: the trunk check keeps the episode going; a trunk the pose stage cannot see never counts
# as upright; 35 degrees, not 45: Le2i Coffee_room_01 video (30) lies along the camera's axis at 39-42
# degrees, with the classifier saying "stand", and "recovered" at 45). Only the place's own person moves it: the track holding the place, or a track first
# seen after the place's person was last seen, within place_radius body lengths of it (the same person
# found again; of two such newcomers the nearer, whichever the pose stage lists first); a bystander who
# was already in view never takes it over.
#   up without a break for recover_s (down verdicts break it, and so does the place going unseen
#   for more than UP_GAP_S; unsure verdicts do not), or for rise_recover_s at a frame where the
#   trunk is >= min_rise body lengths above its lowest point since the episode began (within
#   motion_memory_s; Track.motion's rise): a person who stood up from the floor, not one sitting
#   up on it. Kingston's deliberate sit-downs and UR Fall's crouches stand for about a second
#   before going down again. One who sat up for a second and then pushes up for a moment is
#   recovered too (the README says what this risks)                                  -> recovered
#   otherwise, confirm_s after fall_suspected                                       -> fall_alert
# Timers run on the caller's clock, also in steps without a frame (a lost camera: the alert still
# comes at confirm_s, saying so). cancel() ends every episode -> cancelled; a place still judged down
# then starts a new long_lie_s, after cancelled as after recovered (its down time was the episode's).
# Episodes deduplicate, never blind: a new drop after an episode ended starts a new one at once.
# snapshot() / restore() carry open episodes across restarts.


# An alert's detail while the camera is lost (the push says so).
CAMERA_LOST = "camera lost"
# Durations are compared with this slack (s), so 1.9 - 0.9 counts as a whole second.
TIME_EPS = 1e-6
# A track lost with its body centre this close to the image border walked out of view.
BORDER = 0.04
# An "up" streak breaks where the episode's place goes unseen longer than this (s).
UP_GAP_S = 1.0
# Fewest verdicts in down_span_s that can judge a place.
MIN_VERDICTS = 3
# Places are at least this far apart (image heights), whatever the body's size.
MIN_RADIUS = 0.05
# A place nobody holds is forgotten after this long unseen (s); a place judged down after
# DOWN_MEMORY_S, and not before its long_lie is due; a place with an open episode never.
PLACE_MEMORY_S = 2.0
DOWN_MEMORY_S = 60.0
# A track unseen this long is forgotten (s); the tracker never reuses ids.
TRACK_MEMORY_S = 60.0
# The snapshot format.
STATE_VERSION = 1

Verdict = Literal["down", "up", "unsure"]


@dataclass(frozen=True)
class Observation:
    """What the events need to know about one track in one frame.

    track_id: the tracker's id. probs: the classifier's (5,) probabilities in CLASSES order, or None
    when the track's window is not full. centre: the body centre (x, y), image-normalised.
    drop / slow_drop: Track.drop() within drop_within_s / slow_drop_within_s, in body lengths (>= 0),
    counting only since FallEvents.motion_since(track_id). tilt: Track.trunk_tilt, the trunk's
    degrees from vertical, or None when the trunk is not seen. size: the body's extent in image
    heights (Track.size). first_seen: the track's first video time. aspect: the frame's width / height.
    tipped_over: Track.tipped_over() within slow_drop_within_s (the trunk went from upright to tipped).
    """

    track_id: int
    probs: np.ndarray | None
    centre: tuple[float, float]
    drop: float
    tilt: float | None = 0.0
    slow_drop: float = 0.0
    size: float = 0.0
    first_seen: float = 0.0
    aspect: float = 1.0
    tipped_over: bool = False
    rise: float = 0.0


@dataclass(eq=False)
class Episode:
    """One open fall episode. kind: how it began ("fall": fall_suspected, "long_lie"); since: when (s,
    on the caller's clock); track_id: the track that raised it (every event of the episode names it)."""

    id: str
    kind: Literal["fall", "long_lie"]
    state: Literal["suspected", "alert"]
    since: float
    track_id: int | None
    probs: dict[str, float] | None
    up_since: float | None = None
    seen_at: float | None = None  # the last frame the episode's place was seen


@dataclass(eq=False)
class Place:
    """Where one person is or was: it follows its track, outlives it, and holds the person's verdicts
    (time, verdict) over down_span_s, their down state and their open episode."""

    centre: tuple[float, float]
    size: float
    track_id: int | None
    last_seen: float
    aspect: float = 1.0
    verdicts: deque[tuple[float, Verdict]] = field(default_factory=deque)
    down_since: float | None = None
    episode: Episode | None = None

    def near(self, point: tuple[float, float], radius: float) -> bool:
        """True when image-normalised `point` is within `radius` body lengths of the place."""
        return self.distance(point) <= max(MIN_RADIUS, radius * self.size)

    def distance(self, point: tuple[float, float]) -> float:
        """Distance from the place to image-normalised `point`, in image heights."""
        return float(np.hypot((point[0] - self.centre[0]) * self.aspect, point[1] - self.centre[1]))


@dataclass
class _Track:
    """The rule's memory of one track id."""

    place: Place
    last_seen: float
    centre: tuple[float, float]
    streak: int = 0
    motion_at: float = -np.inf  # the last frame with a fast drop while not up
    motion_since: float = -np.inf  # drops before this (the end of its last episode) do not count
    probs: dict[str, float] | None = None


@dataclass(frozen=True)
class OpenEpisode:
    """An episode still open (for summaries): its kind, state, start time and track."""

    kind: str
    state: str
    since: float
    track_id: int | None

    def describe(self) -> str:
        who = f"person {self.track_id}" if self.track_id is not None else "a person"
        return f"{self.state} since {self.since:.2f} s ({self.kind}, {who})"


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
    """The fall rule's state machine; call `step()` once per processed frame (and `idle()` while no
    frame comes), timed by video_time.

    cfg: EventsConfig (thresholds, bed zones, long_lie_s, heartbeat_s; see the comment block above for
    each rule and the failure it prevents). Returns Events in the order they happened; `states()`
    gives each track's state ("ok", "suspected", "alert") for drawing.
    """

    def __init__(self, cfg: EventsConfig) -> None:
        self.cfg = cfg
        self.places: list[Place] = []
        self._tracks: dict[int, _Track] = {}
        self._frames: deque[float] = deque()
        self._next_heartbeat: float | None = None
        #: Set by the caller while the camera is lost: alerts then say so.
        self.camera_lost = False

    # -- what the caller reads ----------------------------------------------------------------------
    def states(self) -> dict[int, str]:
        """track id -> "ok" | "suspected" | "alert" for every track the rule knows."""
        return {
            tid: track.place.episode.state if track.place.episode is not None else "ok"
            for tid, track in self._tracks.items()
        }

    def motion_since(self, track_id: int) -> float:
        """Drops of this track before this time do not count (its last episode ended then)."""
        track = self._tracks.get(track_id)
        return track.motion_since if track is not None else -np.inf

    def episode_since(self, track_id: int) -> float:
        """When the open episode at this track's place began (inf when none): its rise counts from then."""
        track = self._tracks.get(track_id)
        episode = track.place.episode if track is not None else None
        return episode.since if episode is not None else np.inf

    def open_episodes(self) -> list[OpenEpisode]:
        """Every open episode, oldest first."""
        episodes = [p.episode for p in self.places if p.episode is not None]
        return [OpenEpisode(e.kind, e.state, e.since, e.track_id) for e in sorted(episodes, key=lambda e: e.since)]

    # -- the frame loop -----------------------------------------------------------------------------
    def step(self, video_time: float, observations: list[Observation]) -> list[Event]:
        """Advance to video_time (s, non-decreasing) with this frame's observations."""
        t = video_time
        self._frames.append(t)
        while self._frames and self._frames[0] < t - self.cfg.down_span_s - TIME_EPS:
            self._frames.popleft()
        events: list[Event] = []
        tracks = self._observe(observations, t)
        for obs, track in zip(observations, tracks, strict=True):
            verdict = self._verdict(obs)
            place = track.place
            place.verdicts.append((t, verdict))
            if verdict != "up" and obs.drop >= self.cfg.min_drop:
                track.motion_at = t
            self._judge(place, t)
            if place.episode is not None:
                events += self._progress(place, t, verdict, obs.rise)
            else:
                events += self._fall_path(track, obs, t)
        events += self._lost_tracks(t, {o.track_id for o in observations})
        events += self._timers(t, observed={id(track.place) for track in tracks})
        self._forget(t)
        events += self._heartbeat(t)
        return events

    def idle(self, video_time: float) -> list[Event]:
        """Advance to video_time without a frame (a live camera that delivers nothing): the timers, and
        the lost-track rule (a camera knocked out as the person fell still raises fall_suspected)."""
        events = self._lost_tracks(video_time, seen=set())
        return events + self._timers(video_time, observed=set()) + self._heartbeat(video_time)

    def cancel(self, video_time: float) -> list[Event]:
        """The cancel button: every open episode ends with `cancelled`; a person still down at the place
        starts a new long_lie_s from now."""
        events = []
        for place in self.places:
            if place.episode is not None:
                events.append(self._event("cancelled", video_time, place.episode))
                self._end(place, video_time)
                if place.down_since is not None:
                    place.down_since = video_time
        return events

    # -- the frame's observations -------------------------------------------------------------------
    def _observe(self, observations: list[Observation], t: float) -> list[_Track]:
        """Each observation's track memory, its place found and moved to it: the track's own place, else
        the place it may inherit, else a new one. Newcomers take places closest pair first, so which of
        two newcomers the pose stage lists first does not decide who inherits a fallen person's place."""
        seen = {o.track_id for o in observations}
        places: list[Place | None] = []
        taken: set[int] = set()
        for obs in observations:
            track = self._tracks.get(obs.track_id)
            own = track.place if track is not None and track.place in self.places else None
            if own is not None and id(own) not in taken:
                taken.add(id(own))
                places.append(own)
            else:
                places.append(None)
        pairs = sorted(
            (place.distance(obs.centre), i, j)
            for i, obs in enumerate(observations)
            if places[i] is None
            for j, place in enumerate(self.places)
            if self._may_inherit(obs, place, taken, seen)
        )
        for _, i, j in pairs:
            if places[i] is None and id(self.places[j]) not in taken:
                places[i] = self.places[j]
                taken.add(id(self.places[j]))
        return [self._move(obs, t, place) for obs, place in zip(observations, places, strict=True)]

    def _may_inherit(self, obs: Observation, place: Place, taken: set[int], seen: set[int]) -> bool:
        """A (new) track may take over `place`: not held by a track seen now, last seen before the track
        was first seen (a person found again, not a bystander), within place_radius."""
        return (
            id(place) not in taken
            and (place.track_id is None or place.track_id not in seen)
            and place.last_seen <= obs.first_seen + TIME_EPS
            and place.near(obs.centre, self.cfg.place_radius)
        )

    def _move(self, obs: Observation, t: float, place: Place | None) -> _Track:
        """The track's memory (new for a new id), at `place` (a new one when None), moved to this frame."""
        place = place or self._new_place(obs, t)
        track = self._tracks.get(obs.track_id)
        if track is None:
            track = _Track(place, t, obs.centre)
            self._tracks[obs.track_id] = track
        track.place = place
        place.centre, place.track_id, place.last_seen = obs.centre, obs.track_id, t
        place.size = obs.size if obs.size > 0 else place.size
        place.aspect = obs.aspect
        track.last_seen, track.centre = t, obs.centre
        if obs.probs is not None:
            track.probs = _probs_dict(obs.probs)
        return track

    def _new_place(self, obs: Observation, t: float) -> Place:
        place = Place(obs.centre, obs.size, obs.track_id, t, obs.aspect)
        self.places.append(place)
        return place

    def _down_score(self, probs: np.ndarray) -> float:
        return float(probs[FALL] + probs[LIE])

    def _tipped(self, obs: Observation) -> bool:
        return obs.tilt is not None and obs.tilt >= self.cfg.tipped_deg

    def _up(self, obs: Observation) -> bool:
        """The classifier says up and the trunk is seen upright (see the comment block above)."""
        return (
            obs.probs is not None
            and self._down_score(obs.probs) < self.cfg.up_threshold
            and obs.tilt is not None
            and obs.tilt <= self.cfg.upright_max_deg
        )

    def _verdict(self, obs: Observation) -> Verdict:
        """This frame's word on the person: down, up or unsure (see the comment block above)."""
        if obs.probs is not None and self._down_score(obs.probs) >= self.cfg.down_threshold:
            return "down"
        if self._up(obs):
            return "up"
        says_up = obs.probs is not None and self._down_score(obs.probs) < self.cfg.up_threshold
        return "down" if self._tipped(obs) and not says_up else "unsure"

    def _evidence(self, obs: Observation) -> str | None:
        """One frame of the fall: "fast fall", "slow fall", "strong fall" or, before the track's window
        is full, "pose-only fall" (see the comment block above), or None."""
        cfg = self.cfg
        if obs.probs is None:
            pose_only = (
                obs.drop >= cfg.min_drop
                and obs.slow_drop >= cfg.slow_min_drop
                and obs.tipped_over
                and self._tipped(obs)
            )
            return "pose-only fall" if pose_only else None
        p_fall = float(obs.probs[FALL])
        down = self._down_score(obs.probs) >= cfg.down_threshold
        if (p_fall >= cfg.fall_threshold or down) and obs.drop >= cfg.min_drop:
            return "fast fall"
        if down and self._tipped(obs) and obs.slow_drop >= cfg.slow_min_drop:
            return "slow fall"
        if p_fall >= cfg.strong_fall_threshold and (obs.slow_drop >= cfg.strong_min_drop or obs.tipped_over):
            return "strong fall"
        return None

    def _in_bed(self, point: tuple[float, float]) -> bool:
        return any(inside(point, zone) for zone in self.cfg.bed_zones)

    # -- the rules ----------------------------------------------------------------------------------
    def _judge(self, place: Place, t: float) -> None:
        """The place's down state over the last down_span_s (see the comment block above)."""
        cfg = self.cfg
        while place.verdicts and place.verdicts[0][0] < t - cfg.down_span_s - TIME_EPS:
            place.verdicts.popleft()
        count = len(place.verdicts)
        if count < MIN_VERDICTS or count < cfg.seen_fraction * len(self._frames):
            return  # too few verdicts: the judgement holds
        downs = [vt for vt, v in place.verdicts if v == "down"]
        ups = sum(v == "up" for _, v in place.verdicts)
        if len(downs) >= cfg.down_fraction * count:
            if place.down_since is None:
                place.down_since = downs[0]
        elif ups >= 0.5 * count:
            place.down_since = None

    def _fall_path(self, track: _Track, obs: Observation, t: float) -> list[Event]:
        reason = self._evidence(obs)
        evidence = reason is not None and not self._in_bed(obs.centre) and t > track.motion_since
        track.streak = track.streak + 1 if evidence else 0
        if track.streak < self.cfg.suspect_frames:
            return []
        track.streak = 0
        return [self._open(track.place, "fall", t, obs.track_id, track.probs, reason)]

    def _lost_tracks(self, t: float, seen: set[int]) -> list[Event]:
        """A track lost right after a fast drop, away from the border and the beds -> fall_suspected."""
        events = []
        for tid, track in list(self._tracks.items()):
            if tid in seen:
                continue
            gone = t - track.last_seen
            recent = track.motion_at >= track.last_seen - self.cfg.lost_fall_s - TIME_EPS
            x, y = track.centre
            inner = BORDER <= x <= 1 - BORDER and BORDER <= y <= 1 - BORDER
            place = track.place
            if (
                gone >= self.cfg.lost_fall_s - TIME_EPS
                and recent
                and track.motion_at > track.motion_since
                and inner
                and place.episode is None
                and place in self.places
                and not self._in_bed(track.centre)
            ):
                track.motion_at = -np.inf
                events.append(self._open(place, "fall", t, tid, track.probs, "lost after a drop"))
            if gone > TRACK_MEMORY_S:
                del self._tracks[tid]
        return events

    def _timers(self, t: float, observed: set[int]) -> list[Event]:
        """Escalation at confirm_s and long_lie, for every place (seen this frame or not)."""
        cfg = self.cfg
        events = []
        for place in self.places:
            if id(place) not in observed:
                self._judge(place, t)
            episode = place.episode
            if episode is not None:
                if episode.state == "suspected" and t - episode.since >= cfg.confirm_s - TIME_EPS:
                    episode.state = "alert"
                    events.append(self._event("fall_alert", t, episode))
            elif (
                cfg.long_lie_s > 0
                and place.down_since is not None
                and t - place.down_since >= cfg.long_lie_s - TIME_EPS
                and not self._in_bed(place.centre)
            ):
                track = self._tracks.get(place.track_id) if place.track_id is not None else None
                opened = self._open(place, "long_lie", t, place.track_id, track.probs if track else None, "down")
                events.append(opened)
        return events

    def _progress(self, place: Place, t: float, verdict: Verdict, rise: float) -> list[Event]:
        """One observed frame of an open episode: the up streak, and recovery after recover_s of it (or
        rise_recover_s, at a frame where the trunk is risen min_rise above its lowest since the episode
        began)."""
        episode = place.episode
        assert episode is not None
        if episode.seen_at is not None and t - episode.seen_at > UP_GAP_S + TIME_EPS:
            episode.up_since = None  # nobody seen is no evidence of standing: the streak starts again
        episode.seen_at = t
        if verdict == "up":
            episode.up_since = episode.up_since if episode.up_since is not None else t
        elif verdict == "down":
            episode.up_since = None
        risen = rise >= self.cfg.min_rise > 0  # standing up now, not sitting up on the floor
        needed = self.cfg.rise_recover_s if risen else self.cfg.recover_s
        if episode.up_since is not None and t - episode.up_since >= needed - TIME_EPS:
            event = self._event("recovered", t, episode)
            self._end(place, t)
            if place.down_since is not None:  # that down time was the episode's: a new long_lie_s from now
                place.down_since = t
            return [event]
        return []

    def _open(
        self, place: Place, kind: Literal["fall", "long_lie"], t: float, tid: int | None, probs: Any, reason: str
    ) -> Event:
        """Open an episode at `place`; its first event's detail says which rule opened it (`reason`)."""
        state: Literal["suspected", "alert"] = "suspected" if kind == "fall" else "alert"
        place.episode = Episode(uuid.uuid4().hex, kind, state, t, tid, probs)
        return self._event("fall_suspected" if kind == "fall" else "long_lie", t, place.episode, reason)

    def _event(self, kind: EventKind, t: float, episode: Episode, reason: str | None = None) -> Event:
        """An event of `episode`; alerts raised while the camera is lost say so in their detail. Its id
        comes from the episode's and the kind (each kind happens once per episode), so an alert raised
        again by a resumed episode after a crash is the same alert to the outbox."""
        lost = self.camera_lost and kind in ("fall_alert", "long_lie")
        detail = ", ".join(part for part in (reason, CAMERA_LOST if lost else None) if part) or None
        event_id = uuid.uuid5(uuid.NAMESPACE_URL, f"fallwatch:{episode.id}/{kind}").hex
        return Event(kind, t, episode.track_id, episode.probs, id=event_id, detail=detail)

    def _end(self, place: Place, t: float) -> None:
        """Close the place's episode; drops before now no longer count for its tracks."""
        place.episode = None
        for track in self._tracks.values():
            if track.place is place:
                track.motion_since, track.streak, track.motion_at = t, 0, -np.inf

    def _forget(self, t: float) -> None:
        held = {id(track.place) for track in self._tracks.values() if t - track.last_seen <= PLACE_MEMORY_S}
        self.places = [
            p
            for p in self.places
            if p.episode is not None
            or id(p) in held
            or t - p.last_seen <= (DOWN_MEMORY_S if p.down_since is not None else PLACE_MEMORY_S)
            or (p.down_since is not None and t - p.down_since <= self.cfg.long_lie_s)  # its long_lie is due
        ]

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

    # -- across restarts ----------------------------------------------------------------------------
    def snapshot(self, video_time: float, wall_time: float) -> dict[str, Any]:
        """The open episodes as JSON-ready data; their start times on the wall clock (epoch seconds)."""
        return {
            "version": STATE_VERSION,
            "episodes": [
                {
                    "id": p.episode.id,
                    "kind": p.episode.kind,
                    "state": p.episode.state,
                    "since_wall": wall_time - (video_time - p.episode.since),
                    "track_id": p.episode.track_id,
                    "probs": p.episode.probs,
                    "centre": list(p.centre),
                    "size": p.size,
                    "aspect": p.aspect,
                }
                for p in self.places
                if p.episode is not None
            ],
        }

    def restore(self, data: dict[str, Any], video_time: float, wall_time: float) -> None:
        """Reopen the episodes of a snapshot (time shifted onto this clock). Their places have no
        track: the first track found there takes them over. Raises ValueError naming a bad entry."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"state version {data.get('version')!r}: expected {STATE_VERSION}")
        episodes = data.get("episodes", [])
        if not isinstance(episodes, list):
            raise ValueError(f"episodes {episodes!r}: expected a list")
        for i, item in enumerate(episodes):
            try:
                kind, state = item["kind"], item["state"]
                if kind not in ("fall", "long_lie") or state not in ("suspected", "alert"):
                    raise ValueError(f"kind {kind!r} / state {state!r}")
                tid, probs = item["track_id"], item["probs"]
                if tid is not None and not isinstance(tid, int):
                    raise ValueError(f"track_id {tid!r}")
                if probs is not None and not (
                    isinstance(probs, dict) and all(isinstance(p, (int, float)) for p in probs.values())
                ):
                    raise ValueError(f"probs {probs!r}")  # every event of the episode carries them
                since = video_time - max(0.0, wall_time - float(item["since_wall"]))
                episode = Episode(str(item["id"]), kind, state, since, tid, probs)
                x, y = (float(c) for c in item["centre"])
                place = Place((x, y), float(item["size"]), None, -np.inf, float(item["aspect"]), episode=episode)
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"episodes[{i}]: {exc}") from None
            self.places.append(place)


def _probs_dict(probs: np.ndarray) -> dict[str, float]:
    return {name: float(p) for name, p in zip(CLASSES, probs, strict=True)}


# Lines from the end of the events log searched for events a crash interrupted the hand-off of.
RECENT_LINES = 1000


class EventLog:
    """Appends events to a JSON-lines file, one line per event, flushed and fsync'd before returning.

    path: the log file (its folder is created). A line is never half-written by this process: each
    event is one write() of a whole line; a line torn by a power cut before is ended first, so the
    next event does not run into it. Raises OSError naming the path when it cannot be opened.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a+b")  # noqa: SIM115 - kept open for months
        if self._file.seek(0, os.SEEK_END) > 0:
            self._file.seek(-1, os.SEEK_END)
            if self._file.read(1) != b"\n":
                self._file.write(b"\n")  # appends ("a" mode), wherever the reads left the position

    def logged(self, ids: set[str]) -> set[str]:
        """Which of `ids` the log's last RECENT_LINES lines hold: a restart hands on again the events a
        crash interrupted, and those the log already took are not written twice."""
        found: set[str] = set()
        try:
            for _, line in islice(lines_backwards(self.path), RECENT_LINES):
                try:
                    event_id = json.loads(line).get("id")
                except (ValueError, AttributeError):
                    continue  # a torn line (its readers warn about it) or not an object
                if isinstance(event_id, str) and event_id in ids:
                    found.add(event_id)
                    if found == ids:
                        break
        except OSError as exc:  # the alarm must still go out: at worst a line is logged twice
            logger.error("%s: cannot read the events log back: %s", self.path, exc.strerror or exc)
        return found

    def write(self, event: Event) -> None:
        """Append one event and make it durable (flush + fsync)."""
        self._file.write((event.to_json() + "\n").encode())
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()


def read_events(path: str | Path) -> list[Event]:
    """Every event in a JSON-lines log, oldest first; a torn line is skipped (see `logged_event`)."""
    events = []
    with Path(path).open("rb") as file:
        for number, line in enumerate(file, start=1):
            event = logged_event(line, path, number) if line.strip() else None
            if event is not None:
                events.append(event)
    return events


_warned: set[tuple[str, int]] = set()


def logged_event(line: bytes | str, path: str | Path, number: int | Callable[[], int]) -> Event | None:
    """One line of the events log at `path` as an Event, or None for a line that is not one (torn by a
    power cut, or foreign), with a one-line warning naming the file and line, once per process.

    number: the line's number (1 = the first), or a function that counts it, called only for a bad
    line (a reader going backwards does not know it)."""
    try:
        return Event.from_json((line.decode("utf-8") if isinstance(line, bytes) else line).strip())
    except (ValueError, TypeError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        where = (str(path), number if isinstance(number, int) else number())
        if where not in _warned:
            _warned.add(where)
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            logger.warning("events log %s:%d: a line that is not an event was skipped (torn?): %s", *where, reason)
        return None
