"""Keeps a live source running: reopens it with exponential backoff and reports when it is lost.

The pipeline reads frames from `ResilientSource.read()` as from any source, and after every read
drains `pop_status()`; each `SourceStatus` becomes an Event of the same kind and video_time:

    source = create_source(cfg.source)
    while not source.finished:
        frame = source.read()
        for status in source.pop_status():
            log(Event(status.kind, status.video_time))
        if frame is not None:
            ...

Live timestamps are restamped here to monotonic seconds since this wrapper started (from the
backend's capture time when it reports `started_at`, else the time of reading), so video_time keeps
increasing across reopens; frame indexes keep counting too. Files pass through untouched: a
file that ends is finished, never lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from edge.sources.base import Frame, FrameSource, SourceError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceStatus:
    """A change in a live source's health; `kind` and `video_time` are an Event's fields."""

    kind: Literal["source_lost", "source_restored"]
    video_time: float


class ResilientSource(FrameSource):
    """A FrameSource that reopens a dropped live source and reports `source_lost` / `source_restored`.

    open_source: opens the underlying backend; raises SourceError when it cannot (called again on
        every reopen).
    live: False for files: the first open's SourceError propagates and nothing is ever reopened.
        True for cameras and streams: a failed open, a broken stream (the backend's `finished`) or
        `lost_after_s` without a frame closes the backend and reopens it after a backoff delay.
    lost_after_s: seconds without a frame before `source_lost` is reported (once per outage);
        `source_restored` follows with the first frame after it.
    backoff_s, backoff_max_s: the first delay between reopen attempts, doubled after each failed
        attempt up to the maximum; reset by a frame.
    poll_s: how long `read()` waits while the source is down, so the frame loop does not spin.
    clock, sleep: monotonic clock and sleep, injectable so tests run in simulated time.
    """

    def __init__(
        self,
        open_source: Callable[[], FrameSource],
        live: bool,
        lost_after_s: float = 10.0,
        backoff_s: float = 1.0,
        backoff_max_s: float = 30.0,
        poll_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._open = open_source
        self.live = live
        self.lost_after_s = lost_after_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.poll_s = poll_s
        self._clock = clock
        self._sleep = sleep
        self._t0 = clock()
        self._last_frame_at = self._t0
        self._delay = backoff_s
        self._next_open_at = self._t0
        self._opened_at = self._t0
        self._index = 0
        self._status: list[SourceStatus] = []
        #: True between a `source_lost` and the next `source_restored`.
        self.lost = False
        self._inner: FrameSource | None = None
        self._closed_problem = ""
        if not live:
            self._inner = open_source()
        else:
            self._try_open()

    @property
    def fps(self) -> float | None:  # type: ignore[override]
        """The open backend's frame rate (None while down or unknown)."""
        return None if self._inner is None else self._inner.fps

    @property
    def problem(self) -> str:  # type: ignore[override]
        """Why a file ended before its last frame ("" when it did not; kept after close())."""
        return self._closed_problem if self._inner is None else self._inner.problem

    @property
    def inner(self) -> FrameSource | None:
        """The backend currently open (None while a live source is down)."""
        return self._inner

    def now(self) -> float:
        """The source's clock now: seconds since it started, on the same scale as its frames' video_time."""
        return self._clock() - self._t0

    def _try_open(self) -> None:
        now = self._clock()
        if now < self._next_open_at:
            return
        try:
            self._inner = self._open()
            self._opened_at = now
            logger.info("source opened")
        except SourceError as exc:
            self._next_open_at = now + self._delay
            logger.warning("%s; retrying in %.1f s", exc, self._delay)
            self._delay = min(self._delay * 2, self.backoff_max_s)

    def _drop(self, why: str) -> None:
        if self._inner is not None:
            logger.warning("source dropped (%s); reopening", why)
            self._inner.close()
            self._inner = None
            self._next_open_at = self._clock() + self._delay
            self._delay = min(self._delay * 2, self.backoff_max_s)

    def read(self) -> Frame | None:
        """The next frame, or None (a file's end, a timeout, or a live source that is down)."""
        if not self.live:
            assert self._inner is not None
            return self._inner.read()
        if self._inner is None:
            self._try_open()
        frame = self._inner.read() if self._inner is not None else None
        if frame is not None:
            self._last_frame_at = self._clock()
            self._delay = self.backoff_s
            if self.lost:
                self.lost = False
                self._status.append(SourceStatus("source_restored", self.now()))
                logger.warning("source restored")
            started = self._inner.started_at if self._inner is not None else None
            video_time = self.now() if started is None else started + frame.video_time - self._t0
            frame = Frame(frame.image, video_time, self._index)
            self._index += 1
            return frame
        if self._inner is not None and self._inner.finished:
            self._drop("stream ended")
        now = self._clock()
        if self._inner is not None and now - max(self._last_frame_at, self._opened_at) >= self.lost_after_s:
            self._drop(f"no frame for {self.lost_after_s:.1f} s")
        stalled = now - self._last_frame_at
        if stalled >= self.lost_after_s and not self.lost:
            self.lost = True
            self._status.append(SourceStatus("source_lost", self.now()))
            logger.error("source lost: no frame for %.1f s", stalled)
        if self._inner is None:
            self._sleep(max(0.0, min(self.poll_s, self._next_open_at - self._clock())))
        return None

    def pop_status(self) -> list[SourceStatus]:
        """The status changes since the last call, oldest first (drain after every `read()`)."""
        status, self._status = self._status, []
        return status

    @property
    def finished(self) -> bool:
        """A file's end; a live source never finishes."""
        return not self.live and self._inner is not None and self._inner.finished

    def close(self) -> None:
        if self._inner is not None:
            self._closed_problem = self._inner.problem
            self._inner.close()
            self._inner = None
