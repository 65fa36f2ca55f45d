"""Windows of skeletons at a fixed rate, cut the same way for training clips and live tracks.

Sources run at 15, 18, 25 or 30 fps and drop frames; the classifier wants T samples at exactly
`rate_hz`. `resample` picks, for each sample time, the linear interpolation of the two real frames
around it (or the nearest one when a keypoint is missing in one of them); a sample farther than
`max_gap_s` from every real frame is marked missing (confidence 0) instead of being invented.

`clip_windows` (training) and `StreamWindow` (live, one per track) both end in `window_at`, so the
same keypoints give the same window through either path (tests/test_features.py proves it).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from edge.features import FeatureConfig
from edge.skeleton import NUM_KEYPOINTS

# A window counts as full when real frames reach back to within this fraction of a sample period
# of its first sample time: the first seconds of a track never make a full window.
FULL_TOLERANCE = 0.5
# A sample this close to a frame's time is that frame (float rounding of end - k / rate_hz must not
# mix in a neighbour's confidence).
HIT_S = 1e-6


def sample_times(end_time: float, cfg: FeatureConfig) -> np.ndarray:
    """The T sample times of the window that ends at end_time, oldest first."""
    return end_time - (np.arange(cfg.window_frames)[::-1] / cfg.rate_hz)


def resample(times: np.ndarray, keypoints: np.ndarray, at: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Keypoints (N, 18, 3) at increasing `times` (N,) resampled to the times `at` (M,) -> (M, 18, 3)."""
    times = np.asarray(times, dtype=np.float64)
    kp = np.asarray(keypoints, dtype=np.float32)
    out = np.zeros((len(at), NUM_KEYPOINTS, 3), dtype=np.float32)
    if len(times) == 0:
        return out
    nxt = np.clip(np.searchsorted(times, at - HIT_S, side="left"), 0, len(times) - 1)
    prev = np.clip(nxt - 1, 0, len(times) - 1)
    prev = np.where(times[nxt] <= at + HIT_S, nxt, prev)  # hits and samples after the last frame
    t0, t1 = times[prev], times[nxt]
    span = np.maximum(t1 - t0, 1e-9)
    w = np.clip((at - t0) / span, 0.0, 1.0)[:, None]
    a, b = kp[prev], kp[nxt]
    both = (a[..., 2] > 0) & (b[..., 2] > 0) & ((t1 - t0) <= 2 * max_gap_s)[:, None]
    nearest = np.where((np.abs(at - t0) <= np.abs(t1 - at))[:, None, None], a, b)
    near_dt = np.minimum(np.abs(at - t0), np.abs(t1 - at))
    interp = a * (1 - w[..., None]) + b * w[..., None]
    interp[..., 2] = np.minimum(a[..., 2], b[..., 2])
    out = np.where(both[..., None], interp, nearest)
    out[near_dt > max_gap_s] = 0.0
    return out.astype(np.float32)


def window_at(times: np.ndarray, keypoints: np.ndarray, end_time: float, cfg: FeatureConfig) -> tuple[np.ndarray, bool]:
    """The window (T, 18, 3) ending at end_time, and whether real frames cover all of it."""
    at = sample_times(end_time, cfg)
    full = len(times) > 0 and times[0] <= at[0] + FULL_TOLERANCE / cfg.rate_hz
    return resample(times, keypoints, at, cfg.max_gap_s), bool(full)


def clip_windows(
    times: np.ndarray, keypoints: np.ndarray, cfg: FeatureConfig, stride_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Every full window of a clip: windows (W, T, 18, 3) and their end times (W,).

    Windows end at real frame times, as live windows do (one ends at each processed frame): the
    first frame at least one window length after the clip starts, then the next frame at least
    `stride_s` later, and so on.
    """
    times = np.asarray(times, dtype=np.float64)
    ends: list[float] = []
    for t in times:
        if t >= times[0] + cfg.window_s - 1e-9 and (not ends or t >= ends[-1] + stride_s - 1e-9):
            ends.append(float(t))
    windows = [window_at(times, keypoints, end, cfg)[0] for end in ends]
    if not windows:
        return np.zeros((0, cfg.window_frames, NUM_KEYPOINTS, 3), np.float32), np.zeros(0)
    return np.stack(windows), np.array(ends)


class StreamWindow:
    """The recent skeletons of one live track; `window(t)` cuts the window ending at video time t.

    Keeps just enough history (one window plus `max_gap_s`) so memory stays constant for months.
    """

    def __init__(self, cfg: FeatureConfig) -> None:
        self.cfg = cfg
        self._keep_s = cfg.window_s + cfg.max_gap_s + 1.0 / cfg.rate_hz
        self._times: deque[float] = deque()
        self._frames: deque[np.ndarray] = deque()

    def push(self, time: float, keypoints: np.ndarray) -> None:
        """Add one frame's skeleton (18, 3) at video time `time` (seconds, increasing)."""
        if self._times and time <= self._times[-1]:
            return  # a repeated or out-of-order timestamp adds nothing
        self._times.append(float(time))
        self._frames.append(np.asarray(keypoints, dtype=np.float32))
        while len(self._times) > 2 and self._times[1] < time - self._keep_s:
            self._times.popleft()
            self._frames.popleft()

    def window(self, end_time: float) -> tuple[np.ndarray, bool]:
        """The window (T, 18, 3) ending at end_time and whether it is full (see window_at)."""
        if not self._times:
            return np.zeros((self.cfg.window_frames, NUM_KEYPOINTS, 3), np.float32), False
        return window_at(np.fromiter(self._times, float), np.stack(self._frames), end_time, self.cfg)
