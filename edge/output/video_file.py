"""Annotated frames to a video file (cv2.VideoWriter, mp4v), written to a temp name and renamed at close."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np

from edge.output.base import FrameSink, OutputError

logger = logging.getLogger(__name__)

FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}


class VideoFileSink(FrameSink):
    """Writes every frame to `path`; the file appears under its name only when `close()` succeeds.

    path: .mp4/.m4v/.mov/.mkv (mp4v) or .avi (MJPG).
    fps: the source's frame rate (the file plays at the source's speed).
    size: (width, height); None = the first frame's. A frame of another size (a camera reopened
        at a new resolution) is resized to it, never dropped; grey frames are converted to BGR.

    Raises OutputError naming the path when the suffix is unknown or the writer cannot open.
    """

    def __init__(self, path: str | Path, fps: float, size: tuple[int, int] | None = None) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in FOURCC:
            raise OutputError(f"{self.path}: unknown video suffix; use one of {sorted(FOURCC)}")
        if not self.path.parent.is_dir():
            raise OutputError(f"{self.path}: folder {self.path.parent} does not exist")
        self.fps = fps if fps > 0 else 30.0
        self.size = size
        self.tmp_path = self.path.with_name(f".{self.path.stem}.partial{self.path.suffix}")
        self._writer: cv2.VideoWriter | None = None
        self.frames_written = 0
        if size is not None:
            self._open(size)

    def _open(self, size: tuple[int, int]) -> None:
        fourcc = cv2.VideoWriter_fourcc(*FOURCC[self.path.suffix.lower()])
        self._writer = cv2.VideoWriter(str(self.tmp_path), fourcc, self.fps, size)
        if not self._writer.isOpened():
            self.tmp_path.unlink(missing_ok=True)
            raise OutputError(f"{self.path}: cannot open a video writer ({size[0]}x{size[1]} at {self.fps:.2f} fps)")
        self.size = size

    def write(self, image: np.ndarray) -> None:
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        height, width = image.shape[:2]
        if self._writer is None:
            self._open((width, height))
        assert self._writer is not None and self.size is not None
        if (width, height) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self._writer.write(image)
        self.frames_written += 1

    def close(self) -> None:
        """Finish the file and move it to its final name (an empty run writes no file)."""
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        os.replace(self.tmp_path, self.path)
        logger.info("wrote %d frames to %s", self.frames_written, self.path)

    def abort(self) -> None:
        """Drop the unfinished file: nothing half-written is left under either name."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self.tmp_path.unlink(missing_ok=True)
