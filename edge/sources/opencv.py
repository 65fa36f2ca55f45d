"""OpenCV frame source: video files, /dev/videoN or a camera index, rtsp:// and http:// streams.

Files carry their own timestamps (CAP_PROP_POS_MSEC, or index / fps when the container has none);
live streams are stamped with the monotonic clock since the source opened. A live stream that breaks
reports `finished`; wrap it in `ResilientSource` (as `create_source` does) to have it reopened.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

import cv2

from edge.sources.base import Frame, FrameSource, SourceError

logger = logging.getLogger(__name__)

#: Network streams give up after this long instead of blocking the frame loop for FFmpeg's 30 s.
NETWORK_TIMEOUT_MS = 5000


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


class OpenCVSource(FrameSource):
    """Frames from cv2.VideoCapture.

    uri: a file path (or file://path), /dev/videoN, v4l2:///dev/videoN, an index such as "0", or an
        rtsp:// / http:// stream URL.
    live: True for cameras and streams (monotonic timestamps, a broken stream reports `finished`),
        False for files (file timestamps, `finished` at the end).
    width, height: requested capture size for live cameras (0 = the device's default).
    clock: the monotonic clock for live timestamps (injectable for tests).

    Raises SourceError naming the file when a file is missing, cannot be opened or has no decodable
    frame, and naming the URI when a live source cannot be opened.
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
            raise SourceError(f"{target}: {what}")
        if live and width and height:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        #: Frames per second the container or device reports; None when it reports nothing usable.
        self.fps: float | None = fps if math.isfinite(fps) and 0 < fps <= 1000 else None
        self._t0 = clock()
        self._index = 0
        self._last_time = -math.inf
        self._finished = False
        self._pending = self._grab()
        if self._pending is None and not live:
            self._cap.release()
            raise SourceError(f"{target}: no frame could be decoded (corrupt or empty video)")

    def _grab(self) -> Frame | None:
        ok, image = self._cap.read()
        if not ok or image is None:
            self._finished = True
            return None
        if self.live:
            video_time = self._clock() - self._t0
        else:
            video_time = self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if not (math.isfinite(video_time) and video_time > self._last_time):
                step = 1.0 / self.fps if self.fps else 1.0 / 30.0
                video_time = self._index * step if self._index == 0 else self._last_time + step
        self._last_time = video_time
        frame = Frame(image, video_time, self._index)
        self._index += 1
        return frame

    def read(self) -> Frame | None:
        """The next frame; None at the end of a file or when a live stream broke (then `finished`)."""
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        if self._finished:
            return None
        return self._grab()

    @property
    def finished(self) -> bool:
        return self._finished and self._pending is None

    def close(self) -> None:
        self._cap.release()
