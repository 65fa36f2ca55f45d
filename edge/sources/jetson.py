"""jetson-utils `videoSource` frames: csi://0, v4l2:///dev/video0, rtsp://, file:// (Jetson only).

Written against the jetson-utils Python bindings (python/bindings/PyVideo.cpp): videoSource(uri,
argv=[...]), Capture(format, timeout) -> cudaImage, None on a timeout, and a bare Exception at the end
of a stream or on a capture error; IsStreaming(); cudaToNumpy. It cannot run off a Jetson, so no
test here exercises it. Frames come
back as BGR numpy arrays, stamped like OpenCVSource: file time from the frame count and the
stream's frame rate, monotonic time since opening for live sources.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from edge.sources.base import Frame, FrameSource, SourceError

#: How long one Capture() waits before returning None (ms); keeps the frame loop responsive.
CAPTURE_TIMEOUT_MS = 1000


class JetsonSource(FrameSource):
    """Frames from jetson_utils.videoSource.

    uri: jetson-inference's URI convention (csi://0, v4l2:///dev/video0, /dev/video0, rtsp://..., file://x.mp4).
    live: False for files (timestamps from index / frame rate, `finished` at the end of the stream).
    width, height: requested capture size (0 = the device's default).

    Raises SourceError naming the extra when jetson-utils is missing, and the URI when it cannot open.
    """

    def __init__(
        self, uri: str, live: bool, width: int = 0, height: int = 0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        try:
            from jetson_utils import cudaDeviceSynchronize, cudaToNumpy, videoSource
        except ImportError:
            raise SourceError(
                f"{uri}: needs jetson-utils (a Jetson with JetPack; install/jetson-setup.sh builds it)"
            ) from None
        if uri.isdigit():  # OpenCV's camera index; videoSource wants the device
            uri = f"/dev/video{uri}"
        self._to_numpy = cudaToNumpy
        self._sync = cudaDeviceSynchronize
        # argv, not options=: every jetson-utils version takes argv; `options` came later.
        argv = [f"--input-width={width}", f"--input-height={height}"] if width and height else []
        try:
            self._src = videoSource(uri, argv=argv)
        except Exception as exc:  # jetson-utils raises a bare Exception when the stream cannot open
            raise SourceError(f"{uri}: cannot open the source ({exc})") from None
        self.live = live
        self._clock = clock
        self.started_at = clock()
        rate = float(self._src.GetFrameRate())
        self.fps = rate if 0 < rate <= 1000 else None
        self._index = 0
        self._finished = False

    def read(self) -> Frame | None:
        """The next frame as BGR; None on a Capture timeout or at the end of the stream (`finished`)."""
        import cv2

        try:
            image = self._src.Capture(format="rgb8", timeout=CAPTURE_TIMEOUT_MS)
        except Exception:  # jetson-utils' bare Exception: end of stream or a capture error
            self._finished = True
            return None
        if image is None:  # a timeout
            self._finished = not self._src.IsStreaming()
            return None
        self._sync()
        bgr = cv2.cvtColor(self._to_numpy(image), cv2.COLOR_RGB2BGR)
        video_time = self._clock() - self.started_at if self.live else self._index / (self.fps or 30.0)
        frame = Frame(bgr, video_time, self._index)
        self._index += 1
        return frame

    @property
    def finished(self) -> bool:
        return self._finished

    def close(self) -> None:
        self._src.Close()
