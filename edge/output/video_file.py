"""Annotated frames to a video file (cv2.VideoWriter), encoded on a worker thread, renamed into place at close.

Encoding costs more than everything else the pipeline does per frame (mp4v: ~7 ms at 640x480 and
~40 ms at 1280x720 on one CPU core, bench/source_output.py), so a worker thread encodes while the
frame loop goes on; OpenCV releases the GIL while it encodes. The hand-off queue is bounded and
blocks when full: a slow disk slows the loop down, it never drops a frame.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from edge.output.base import FrameSink, OutputError

logger = logging.getLogger(__name__)

FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}
QUEUE_FRAMES = 8  # frames waiting for the encoder before write() blocks


class VideoFileSink(FrameSink):
    """Writes every frame to `path`; the file appears under its name only when `close()` succeeds.

    path: .mp4/.m4v/.mov/.mkv (mp4v) or .avi (MJPG).
    fps: the source's frame rate (the file plays at the source's speed).
    size: (width, height); None = the first frame's. A frame of another size (a camera reopened
        at a new resolution) is resized to it, never dropped; grey frames are converted to BGR.
    The sink keeps each written array until it is encoded: do not modify it after `write()`.

    Raises OutputError naming the path when the suffix is unknown, the folder is missing or the
    writer cannot open; an encoder failure on the worker is raised by the next write() or close().
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
        self.frames_written = 0
        #: Seconds the worker spent encoding (beside the frame loop, not in it).
        self.encode_s = 0.0
        self._writer: cv2.VideoWriter | None = None
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=QUEUE_FRAMES)
        self._worker: threading.Thread | None = None
        self._error: BaseException | None = None
        if size is not None:
            self._open(size)

    def _open(self, size: tuple[int, int]) -> None:
        fourcc = cv2.VideoWriter_fourcc(*FOURCC[self.path.suffix.lower()])
        self._writer = cv2.VideoWriter(str(self.tmp_path), fourcc, self.fps, size)
        if not self._writer.isOpened():
            self.tmp_path.unlink(missing_ok=True)
            raise OutputError(f"{self.path}: cannot open a video writer ({size[0]}x{size[1]} at {self.fps:.2f} fps)")
        self.size = size
        self._worker = threading.Thread(target=self._encode, name=f"encode {self.path.name}", daemon=True)
        self._worker.start()

    def _encode(self) -> None:
        """The worker: encode queued frames until the None sentinel."""
        assert self._writer is not None and self.size is not None
        while (image := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain after a failure so write() never blocks forever
            began = time.perf_counter()
            try:
                if image.ndim == 2:
                    image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
                if (image.shape[1], image.shape[0]) != self.size:
                    image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
                self._writer.write(image)
            except Exception as exc:  # reported to the frame loop by the next write() or close()
                self._error = exc
            self.encode_s += time.perf_counter() - began

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise OutputError(f"{self.path}: encoding failed: {self._error}")

    def write(self, image: np.ndarray) -> None:
        self._raise_if_failed()
        if self._writer is None:
            self._open((image.shape[1], image.shape[0]))
        self._queue.put(image)
        self.frames_written += 1

    def _finish_worker(self) -> None:
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join()
            self._worker = None
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def close(self) -> None:
        """Encode what is queued, finish the file and move it to its final name (no frames: no file)."""
        opened = self._writer is not None
        self._finish_worker()
        if not opened:
            return
        if self._error is not None:
            self.tmp_path.unlink(missing_ok=True)
            self._raise_if_failed()
        os.replace(self.tmp_path, self.path)
        logger.info("wrote %d frames to %s", self.frames_written, self.path)

    def abort(self) -> None:
        """Drop the unfinished file: nothing half-written is left under either name."""
        self._finish_worker()
        self.tmp_path.unlink(missing_ok=True)
