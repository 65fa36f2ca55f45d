"""The frame-source interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


class SourceError(RuntimeError):
    """A source that cannot be opened (missing or corrupt file, unknown URI); the message names it."""


@dataclass(frozen=True)
class Frame:
    """One picture from a source.

    image: uint8 (H, W, 3) BGR, or (H, W) grey/IR.
    video_time: seconds since the source started (the file's timestamp for files; monotonic for live).
    index: 0-based count of frames delivered by this source.
    """

    image: np.ndarray
    video_time: float
    index: int

    @property
    def aspect(self) -> float:
        """Width / height."""
        height, width = self.image.shape[:2]
        return width / height


class FrameSource(ABC):
    """Delivers frames; `read()` returns None on a timeout or a dropped live feed (not an exception)."""

    #: Frames per second the file or device reports; None when unknown (writers then assume 30).
    fps: float | None = None
    #: Live backends: the monotonic clock value at their video_time 0 (None: ResilientSource stamps
    #: frames when it reads them).
    started_at: float | None = None
    #: Files: why the file ended before its last frame ("" when it did not, or for live sources).
    problem: str = ""

    @abstractmethod
    def read(self) -> Frame | None:
        """The next frame, or None when none came in time."""

    @property
    @abstractmethod
    def finished(self) -> bool:
        """True once a file source has delivered its last frame.

        A bare live backend also reports True once its stream broke; `ResilientSource` (what
        `create_source` returns) reopens it, so the live sources the pipeline sees never finish.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the device or file."""
