"""Which frames to pose: at most `rate_hz` a second, the first frame of each slot of video time.

    rate = PoseRate(cfg.pose.max_fps or cfg.features.rate_hz)
    if rate.due(frame.video_time): skeletons = pose.estimate(frame)

The classifier sees windows resampled to features.rate_hz (15 Hz), so posing a 30 fps camera every
frame doubles the pose work for nothing the classifier uses. Slots are 1 / rate_hz seconds long and
centred on its multiples, so a timestamp a little early (file timestamps jitter) still counts for
its slot; a clock that goes back (a restarted source) simply starts new slots. The pipeline and the
replays of `fallwatch evaluate --events` use this same rule.
"""

from __future__ import annotations

import math


class PoseRate:
    """rate_hz: the most pose calls per second of video time (> 0)."""

    def __init__(self, rate_hz: float) -> None:
        if not rate_hz > 0:
            raise ValueError(f"pose rate must be > 0 frames a second, got {rate_hz}")
        self.rate_hz = rate_hz
        self._slot: int | None = None

    def due(self, video_time: float) -> bool:
        """True for the first frame in its slot (and for every frame when frames are rarer than slots)."""
        slot = math.floor(video_time * self.rate_hz + 0.25)
        if slot == self._slot:
            return False
        self._slot = slot
        return True
