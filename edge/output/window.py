"""Annotated frames in a desktop window (cv2.imshow); needs a display and a GUI build of OpenCV."""

from __future__ import annotations

import os

import cv2
import numpy as np

from edge.output.base import FrameSink, OutputError


class WindowSink(FrameSink):
    """Shows every frame in a window named `title`.

    Raises OutputError when there is no display (DISPLAY/WAYLAND_DISPLAY unset) or OpenCV was built
    without GUI support (opencv-python-headless): run headless or write to a file instead.
    """

    def __init__(self, title: str = "fallwatch") -> None:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise OutputError("window: no display (DISPLAY is not set); use --headless or --output FILE.mp4")
        self.title = title
        self.frames_written = 0

    def write(self, image: np.ndarray) -> None:
        try:
            cv2.imshow(self.title, image)
            cv2.waitKey(1)
        except cv2.error:
            raise OutputError(
                "window: this OpenCV has no GUI support (opencv-python-headless); use --headless or --output FILE.mp4"
            ) from None
        self.frames_written += 1

    def close(self) -> None:
        if self.frames_written:
            cv2.destroyWindow(self.title)
