"""The output-sink interface: annotated frames go to a file, a window, an RTSP stream, or nowhere."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType

import numpy as np


class OutputError(RuntimeError):
    """An output that cannot be opened or written (no display, unwritable path); names the URI."""


class FrameSink(ABC):
    """Takes every annotated frame, in order; never drops one (frames out == frames in).

    Use as a context manager: a clean exit finalises the output (`close`), an exception aborts it
    (`abort`: a file sink then leaves no half-written file behind).
    """

    #: Frames written so far.
    frames_written: int = 0

    @abstractmethod
    def write(self, image: np.ndarray) -> None:
        """Write one uint8 BGR (H, W, 3) or grey (H, W) frame; raises OutputError when the sink fails."""

    @abstractmethod
    def close(self) -> None:
        """Finish the output (a file appears under its final name only now)."""

    def abort(self) -> None:
        """Give up after an error (default: the same as close)."""
        self.close()

    def __enter__(self) -> FrameSink:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


class NullSink(FrameSink):
    """No output (uri ""): counts the frames and keeps nothing."""

    def __init__(self) -> None:
        self.frames_written = 0

    def write(self, image: np.ndarray) -> None:
        self.frames_written += 1

    def close(self) -> None:
        """Nothing to release."""
