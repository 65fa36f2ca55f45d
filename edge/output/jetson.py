"""Annotated frames to jetson-utils `videoOutput`: display://0, rtsp://@:8554/live, webrtc://, file.mp4.

Written against the jetson-utils Python bindings (videoOutput(uri), Render(cudaImage), Close,
cudaFromNumpy); it cannot run off a Jetson, so no test here exercises it. Older jetson-utils releases
silently fall back to a null output when the URI cannot open; check the log on the device.
"""

from __future__ import annotations

import cv2
import numpy as np

from edge.output.base import FrameSink, OutputError


class JetsonSink(FrameSink):
    """Renders every frame through jetson_utils.videoOutput.

    Raises OutputError naming the URI when jetson-utils is missing or the output cannot open.
    """

    def __init__(self, uri: str) -> None:
        try:
            from jetson_utils import cudaFromNumpy, videoOutput
        except ImportError:
            raise OutputError(
                f"{uri}: needs jetson-utils (a Jetson with JetPack; install/jetson-setup.sh builds it)"
            ) from None
        self.uri = uri
        self._from_numpy = cudaFromNumpy
        try:
            self._out = videoOutput(uri)
        except Exception as exc:  # jetson-utils raises a bare Exception when the output cannot open
            raise OutputError(f"{uri}: cannot open the output ({exc})") from None
        self.frames_written = 0

    def write(self, image: np.ndarray) -> None:
        code = cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB
        self._out.Render(self._from_numpy(cv2.cvtColor(image, code)))
        self.frames_written += 1

    def close(self) -> None:
        self._out.Close()
