"""OpenCV frame source: video files, /dev/videoN or a camera index, rtsp:// and http:// streams.

Files carry their own timestamps (CAP_PROP_POS_MSEC, or index / fps when the container has none)
and deliver every frame; live sources are read by a capture thread that keeps the newest frame,
stamped with the monotonic clock at capture since the source opened (`started_at`). A live stream
that breaks reports `finished`; wrap it in `ResilientSource` (as `create_source` does) to have it
reopened.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from edge.alerts.redact import redact
from edge.sources.base import Frame, FrameSource, SourceError

logger = logging.getLogger(__name__)

#: Network streams give up after this long instead of blocking the frame loop for FFmpeg's 30 s.
NETWORK_TIMEOUT_MS = 5000
#: How long read() waits for a live frame before returning None (the loop then checks its health).
READ_WAIT_S = 1.0
#: A file that decodes fewer frames than its container announces, by more than this many (or 2 %),
#: ended early: corrupt or cut short. (Containers often announce one frame more than they hold.)
MISSING_FRAMES_OK = 2


def opencv_target(uri: str) -> str | int:
    """What cv2.VideoCapture opens for a URI: an int index, a device or file path, or a stream URL."""
    if uri.isdigit():
        return int(uri)
    for prefix in ("file://", "v4l2://"):
        if uri.startswith(prefix):
            return uri[len(prefix) :]
    return uri


def _is_network(target: str | int) -> bool:
    return isinstance(target, str) and "://" in target


class _LatestFrame:
    """A capture thread for a live source: keeps reading, so the loop always gets the newest frame.

    A camera or stream read slower than its frame rate would otherwise queue frames in the driver or
    the socket and the picture would fall further and further behind. Frames the loop did not take
    are skipped and counted (`skipped`); each frame is stamped with the clock when it was captured.
    """

    def __init__(self, cap: cv2.VideoCapture, clock: Callable[[], float]) -> None:
        self._cap = cap
        self._clock = clock
        self._cond = threading.Condition()
        self._latest: tuple[np.ndarray, float] | None = None
        self._stop = False
        self.broken = False
        self.captured = 0
        self.taken = 0
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._thread.start()

    @property
    def skipped(self) -> int:
        """Frames captured but never taken by `get` (the loop was slower than the camera)."""
        return self.captured - self.taken - (self._latest is not None)

    def _run(self) -> None:
        while not self._stop:
            ok, image = self._cap.read()
            captured_at = self._clock()
            with self._cond:
                if not ok or image is None:
                    self.broken = True
                    self._cond.notify_all()
                    return
                self._latest = (image, captured_at)
                self.captured += 1
                self._cond.notify_all()

    def get(self, timeout_s: float) -> tuple[np.ndarray, float] | None:
        """The newest frame not yet taken and its capture time; None after timeout_s or once broken."""
        with self._cond:
            self._cond.wait_for(lambda: self._latest is not None or self.broken, timeout_s)
            latest, self._latest = self._latest, None
            if latest is not None:
                self.taken += 1
            return latest

    def stop(self) -> None:
        """Stop capturing; waits for the read in progress (bounded by the backend's read timeout)."""
        self._stop = True
        self._thread.join()


class OpenCVSource(FrameSource):
    """Frames from cv2.VideoCapture.

    uri: a file path (or file://path), /dev/videoN, v4l2:///dev/videoN, an index such as "0", or an
        rtsp:// / http:// stream URL.
    live: True for cameras and streams: a capture thread keeps only the newest frame (stale ones
        are skipped and counted in `frames_skipped`), stamped with the monotonic clock at capture
        since `started_at`; a broken stream reports `finished`. False for files: every frame, the
        file's timestamps, `finished` at the end.
    width, height: requested capture size for live cameras (0 = the device's default).
    clock: the monotonic clock for live timestamps (injectable for tests).

    Raises SourceError naming the file when a file is missing, cannot be opened or has no decodable
    frame, and naming the URI (credentials hidden) when a live source cannot be opened. A file that
    stops decoding before the frame count its container announces sets `problem` (and logs it).
    """

    def __init__(
        self,
        uri: str,
        live: bool,
        width: int = 0,
        height: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.uri = uri
        self.live = live
        self._clock = clock
        target = opencv_target(uri)
        self.name = redact(str(target))
        if not live and not Path(str(target)).is_file():
            raise SourceError(f"{target}: no such video file")
        if _is_network(target):
            params = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                NETWORK_TIMEOUT_MS,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                NETWORK_TIMEOUT_MS,
            ]
            self._cap = cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
        else:
            self._cap = cv2.VideoCapture(target)
        if not self._cap.isOpened():
            self._cap.release()
            what = "cannot open as a video (corrupt or unsupported format)" if not live else "cannot open the source"
            raise SourceError(f"{self.name}: {what}")
        if live and width and height:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        #: Frames per second the container or device reports; None when it reports nothing usable.
        self.fps: float | None = fps if math.isfinite(fps) and 0 < fps <= 1000 else None
        count = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        #: Files: the frame count the container announces (0 when it announces none).
        self.expected_frames = int(count) if not live and math.isfinite(count) and count > 0 else 0
        self.started_at = clock()
        self._index = 0
        self._last_time = -math.inf
        self._finished = False
        self._pending: Frame | None = None
        self._capture: _LatestFrame | None = None
        if live:
            self._capture = _LatestFrame(self._cap, clock)
            return
        self._pending = self._grab_file()
        if self._pending is None:
            self._cap.release()
            raise SourceError(f"{target}: no frame could be decoded (corrupt or empty video)")

    @property
    def frames_skipped(self) -> int:
        """Live frames dropped because the loop was slower than the camera (files: always 0)."""
        return self._capture.skipped if self._capture is not None else 0

    def _grab_file(self) -> Frame | None:
        ok, image = self._cap.read()
        if not ok or image is None:
            self._finished = True
            missing = self.expected_frames - self._index
            if missing > max(MISSING_FRAMES_OK, 0.02 * self.expected_frames):
                self.problem = (
                    f"{self.name}: only {self._index} of {self.expected_frames} frames could be decoded"
                    " (the file is corrupt or cut short)"
                )
                logger.warning("%s", self.problem)
            return None
        video_time = self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if not (math.isfinite(video_time) and video_time > self._last_time):
            step = 1.0 / self.fps if self.fps else 1.0 / 30.0
            video_time = 0.0 if self._index == 0 else self._last_time + step
        self._last_time = video_time
        return self._frame(image, video_time)

    def _frame(self, image: np.ndarray, video_time: float) -> Frame:
        frame = Frame(image, video_time, self._index)
        self._index += 1
        return frame

    def read(self) -> Frame | None:
        """The next frame (live: the newest one, waiting up to READ_WAIT_S); None at a file's end,
        on a live timeout, or once a live stream broke (then `finished`)."""
        if self._capture is not None:
            got = self._capture.get(READ_WAIT_S)
            if got is None:
                self._finished = self._capture.broken
                return None
            image, captured_at = got
            return self._frame(image, captured_at - self.started_at)
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        return None if self._finished else self._grab_file()

    @property
    def finished(self) -> bool:
        return self._finished and self._pending is None

    def close(self) -> None:
        if self._capture is not None:
            self._capture.stop()
        self._cap.release()
