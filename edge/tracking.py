"""Person tracks across frames, so that each person has their own window.

    tracker = Tracker(cfg.tracking, cfg.features, history_s=cfg.events.motion_memory_s)
    for frame in frames:
        tracks = tracker.step(skeletons, frame.video_time)   # every frame, even with nobody in view
        for track in tracks:
            if track.seen:                                    # matched in this frame
                window, full = track.window.window(frame.video_time)

Matching is greedy, per frame: first by IoU of keypoint boxes (`Skeletons.boxes()`), highest
first, down to `min_iou`; then, for what is left, by the distance between box centres (in image
heights, x scaled by the aspect ratio), nearest first, up to `max_distance`. The fallback exists
because a lying body's box is thin and a falling body's box moves fast: IoU alone would split one
fall into two tracks, and the second one's window would not be full until seconds later.

Hysteresis (as norfair's `hit_counter_max` / `initialization_delay`):
- a track lives `max_age_s` of video time after its last match, so a person the pose stage misses
  for a few frames keeps their id and their window (the window marks the gap as missing keypoints);
- a new track is created at once, but it cannot alarm until its window is full (window_frames /
  rate_hz seconds of real frames, see edge.windows), which is the initialisation delay.
Every track owns an edge.windows.StreamWindow (the same windowing that training uses) and a short
history of its trunk height, from which `Track.drop()` measures how fast the body went down.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from edge.config import TrackingConfig
from edge.features import FeatureConfig, trunk_tilt_deg
from edge.matching import greedy_pairs
from edge.skeleton import INDEX, Skeletons
from edge.windows import StreamWindow

# Keypoints below this confidence do not place the body centre (the features' default threshold).
MIN_CONFIDENCE = 0.2
# The trunk whose height Track.drop() follows: both shoulders and both hips.
TRUNK = [INDEX["left_shoulder"], INDEX["right_shoulder"], INDEX["left_hip"], INDEX["right_hip"]]


@dataclass
class Track:
    """One person followed across frames.

    id: unique per Tracker, counting from 1. window: their StreamWindow (push happens in step()).
    keypoints: the last matched skeleton (18, 3). box: its box x0, y0, x1, y1 (image-normalised).
    seen: True when this frame matched the track; False while it coasts (up to max_age_s).
    first_seen / last_seen: video times (s) of the first and latest match.
    """

    id: int
    window: StreamWindow
    keypoints: np.ndarray
    box: np.ndarray
    aspect: float
    first_seen: float
    last_seen: float
    seen: bool = True
    _history: deque[tuple[float, float, float, float]] = field(default_factory=deque, repr=False)
    _rows: np.ndarray | None = field(default=None, repr=False)  # _history as an array, until the next frame

    @property
    def centre(self) -> tuple[float, float]:
        """The body centre (x, y), image-normalised: the hip midpoint, else the box centre."""
        return _centre(self.keypoints, self.box)

    @property
    def trunk_tilt(self) -> float | None:
        """Degrees between the trunk (mid-hip to mid-shoulder) and image vertical, in [0, 180]:
        about 0 standing or sitting, 90 lying across the view, 180 upside down. None when a shoulder
        or hip is below MIN_CONFIDENCE (an unseen trunk is not known to be upright)."""
        trunk = self.keypoints[TRUNK]
        if not (trunk[:, 2] >= MIN_CONFIDENCE).all():
            return None
        scale = (self.aspect, 1.0)
        tilt = float(trunk_tilt_deg(trunk[:2, :2].mean(axis=0) * scale, trunk[2:, :2].mean(axis=0) * scale))
        return None if np.isnan(tilt) else tilt

    @property
    def size(self) -> float:
        """The body's extent in image heights: the longer side of the box around its keypoints of
        confidence >= MIN_CONFIDENCE in the last matched frame (x scaled by the aspect); 0 if none."""
        sure = self.keypoints[self.keypoints[:, 2] >= MIN_CONFIDENCE, :2]
        if len(sure) < 2:
            return 0.0
        return float(max(np.ptp(sure[:, 0]) * self.aspect, np.ptp(sure[:, 1])))

    def drop(self, now: float, within_s: float, memory_s: float, since: float = -np.inf) -> float:
        """The largest fall of the trunk within `within_s` seconds, over the last `memory_s`.

        The trunk is the mean height of both shoulders and both hips; only frames with all four
        found count (the box centre jumps when limbs come and go; the hips alone barely move in a
        fall away from the camera: 0.13 body lengths on GMDCSA24 Subject 2/Fall/14, the trunk
        0.26). Heights are median-filtered over 3 frames against keypoint jitter. The result is in
        body lengths: divided by the body's largest extent over those seconds (the longer side of
        the box around its keypoints of confidence >= MIN_CONFIDENCE, in image heights), which is
        the standing height when the person stood in them, so camera distance drops out.
        0 when the trunk only rose or stayed, or with fewer than 3 such frames. A fall that began
        before the window filled still counts while it is within `memory_s`. Frames before `since`
        (the end of the track's last fall episode) do not count.
        """
        times, ys, sizes, _ = self._recent(now, memory_s, since)
        return _moves(times, ys, sizes, (within_s,), np.inf)[0][0]

    def tipped_over(
        self,
        now: float,
        within_s: float,
        memory_s: float,
        upright_deg: float,
        tipped_deg: float,
        since: float = -np.inf,
    ) -> bool:
        """True when the trunk went from upright (<= upright_deg from vertical) to tipped (>= tipped_deg)
        within `within_s` seconds, at some time in the last `memory_s` (frames before `since` do not
        count). A person lying still is tipped but did not tip over: this is the motion, not the posture.
        Tilts are median-filtered over 3 frames, as the drop's heights are."""
        times, _, _, tilts = self._recent(now, memory_s, since)
        return _tipped_over(times, tilts, within_s, upright_deg, tipped_deg)

    def motion(
        self,
        now: float,
        drop_within_s: float,
        slow_within_s: float,
        memory_s: float,
        upright_deg: float,
        tipped_deg: float,
        since: float = -np.inf,
        rise_since: float = np.inf,
    ) -> tuple[float, float, bool, float]:
        """(drop within drop_within_s, drop within slow_within_s, tipped_over within slow_within_s, rise),
        the drops and tipped_over as drop() and tipped_over() give them, from one read of the history (the
        fall rule asks for all four for every seen track on every frame). rise: how far the trunk is now
        above its lowest point since `rise_since` (the start of the person's open episode) within
        `memory_s`, in body lengths: a person getting up. A rise before the episode, or one that sank
        back, does not count; 0 without an episode (rise_since inf)."""
        times, ys, sizes, tilts = self._recent(now, memory_s, since)
        (fast, slow), rise = _moves(times, ys, sizes, (drop_within_s, slow_within_s), rise_since)
        return fast, slow, _tipped_over(times, tilts, slow_within_s, upright_deg, tipped_deg), rise

    def _recent(self, now: float, memory_s: float, since: float) -> tuple[np.ndarray, ...]:
        """The history's columns (times, trunk heights, body sizes, tilts) from max(now - memory_s, since)."""
        if not self._history:
            return tuple(np.zeros(0) for _ in range(4))
        if self._rows is None:
            self._rows = np.array(self._history)
        rows = self._rows[self._rows[:, 0] >= max(now - memory_s, since)]
        return rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]

    def _update(self, time: float, keypoints: np.ndarray, box: np.ndarray, aspect: float, keep_s: float) -> None:
        self.keypoints, self.box, self.aspect = keypoints, box, aspect
        self.last_seen, self.seen = time, True
        self.window.push(time, keypoints)
        trunk = keypoints[TRUNK]
        if (trunk[:, 2] >= MIN_CONFIDENCE).all():
            sure = keypoints[keypoints[:, 2] >= MIN_CONFIDENCE, :2]  # not MediaPipe's off-frame guesses
            width, height = np.ptp(sure[:, 0]) * aspect, np.ptp(sure[:, 1])
            tilt = self.trunk_tilt
            self._history.append(
                (time, float(trunk[:, 1].mean()), float(max(width, height)), np.nan if tilt is None else tilt)
            )
        while self._history and self._history[0][0] < time - keep_s:
            self._history.popleft()
        self._rows = None


def _within(times: np.ndarray, within_s: float) -> np.ndarray:
    """(i, j) -> frame j came after frame i, within `within_s` seconds of it."""
    return (times[None, :] > times[:, None]) & (times[None, :] - times[:, None] <= within_s + 1e-9)


def _moves(
    times: np.ndarray, ys: np.ndarray, sizes: np.ndarray, within: tuple[float, ...], rise_since: float
) -> tuple[list[float], float]:
    """Track.drop() for each of the `within` spans (s), and Track.motion()'s rise since `rise_since`, over
    the history columns given."""
    if len(times) < 3:
        return [0.0] * len(within), 0.0
    size = float(sizes.max())
    if size <= 1e-3:
        return [0.0] * len(within), 0.0
    ys = _median3(ys)
    lowered = ys[None, :] - ys[:, None]  # > 0: the trunk is lower in the later frame (image y grows down)
    drops = [max(0.0, float(np.where(_within(times, span), lowered, 0.0).max()) / size) for span in within]
    since = ys[times >= rise_since]
    now = ys[-2:].max()  # the lower of the last two: one frame of jitter is no rise
    rise = max(0.0, float(since.max() - now) / size) if len(since) else 0.0
    return drops, rise


def _tipped_over(times: np.ndarray, tilts: np.ndarray, within_s: float, upright_deg: float, tipped_deg: float) -> bool:
    """Track.tipped_over() over the history columns given (frames with an unseen trunk left out)."""
    seen = ~np.isnan(tilts)
    times, tilts = times[seen], tilts[seen]
    if len(times) < 3:
        return False
    tilts = _median3(tilts)
    return bool((_within(times, within_s) & (tilts[:, None] <= upright_deg) & (tilts[None, :] >= tipped_deg)).any())


def _median3(values: np.ndarray) -> np.ndarray:
    """Each value's median with its two neighbours (the ends repeat themselves): against keypoint jitter."""
    before, after = np.r_[values[0], values[:-1]], np.r_[values[1:], values[-1]]
    return np.maximum(np.minimum(before, values), np.minimum(np.maximum(before, values), after))


def _centre(keypoints: np.ndarray, box: np.ndarray) -> tuple[float, float]:
    hips = keypoints[[INDEX["left_hip"], INDEX["right_hip"]]]
    if (hips[:, 2] >= MIN_CONFIDENCE).all():
        x, y = hips[:, :2].mean(axis=0)
        return float(x), float(y)
    return float((box[0] + box[2]) / 2), float((box[1] + box[3]) / 2)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes a (N, 4) against b (M, 4) -> (N, M); 0 where a box has no area."""
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


class Tracker:
    """Assigns person ids frame by frame; call `step()` once per processed frame.

    cfg: max_age_s (> 0, seconds of video time a track coasts unmatched), min_iou, max_distance.
    features: the window configuration every track's StreamWindow uses.
    history_s: seconds of body-centre history each track keeps for `Track.drop()` (>= 0).
    """

    def __init__(self, cfg: TrackingConfig, features: FeatureConfig, history_s: float = 3.0) -> None:
        if history_s < 0:
            raise ValueError(f"Tracker: history_s must be >= 0, got {history_s}")
        self.cfg = cfg
        self.features = features
        self.history_s = history_s
        self.tracks: list[Track] = []
        self._next_id = 1

    def step(self, skeletons: Skeletons, video_time: float) -> list[Track]:
        """Match this frame's skeletons to tracks; returns every live track (seen or coasting).

        Skeletons with no found keypoint are ignored. Tracks unmatched for more than max_age_s are
        dropped. Raises nothing for an empty frame: it just ages the tracks.
        """
        kp = skeletons.keypoints
        found = (kp[..., 2] > 0).any(axis=1) if len(kp) else np.zeros(0, dtype=bool)
        people = kp[found]
        boxes = skeletons.boxes()[found] if len(kp) else np.zeros((0, 4), np.float32)
        for track in self.tracks:
            track.seen = False
        matched = self._match(boxes, skeletons.aspect)
        keep_s = self.history_s + 1.0
        for t_index, p_index in matched:
            self.tracks[t_index]._update(video_time, people[p_index], boxes[p_index], skeletons.aspect, keep_s)
        taken = {p for _, p in matched}
        for p_index in range(len(people)):
            if p_index not in taken:
                track = Track(
                    id=self._next_id,
                    window=StreamWindow(self.features),
                    keypoints=people[p_index],
                    box=boxes[p_index],
                    aspect=skeletons.aspect,
                    first_seen=video_time,
                    last_seen=video_time,
                )
                track._update(video_time, people[p_index], boxes[p_index], skeletons.aspect, keep_s)
                self.tracks.append(track)
                self._next_id += 1
        self.tracks = [t for t in self.tracks if video_time - t.last_seen <= self.cfg.max_age_s]
        return list(self.tracks)

    def _match(self, boxes: np.ndarray, aspect: float) -> list[tuple[int, int]]:
        """(track index, person index) pairs: IoU first, then centre distance for the rest."""
        if not self.tracks or not len(boxes):
            return []
        old = np.stack([t.box for t in self.tracks])
        overlap = iou(old, boxes)
        pairs = greedy_pairs(overlap, overlap >= max(self.cfg.min_iou, 1e-9))
        if self.cfg.max_distance <= 0:
            return pairs
        scale = np.array([aspect, 1.0])
        old_c = np.stack([(old[:, 0] + old[:, 2]) / 2, (old[:, 1] + old[:, 3]) / 2], axis=1) * scale
        new_c = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], axis=1) * scale
        distance = np.linalg.norm(old_c[:, None] - new_c[None, :], axis=-1)
        allowed = distance <= self.cfg.max_distance
        for r, c in pairs:
            allowed[r, :] = False
            allowed[:, c] = False
        return pairs + greedy_pairs(distance, allowed, descending=False)
