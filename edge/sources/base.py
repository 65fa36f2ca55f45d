"""The frame-source interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np


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

    @abstractmethod
    def read(self) -> Frame | None:
        """The next frame, or None when none came in time."""

    @property
    @abstractmethod
    def finished(self) -> bool:
        """True once a file source has delivered its last frame (live sources never finish)."""

    @abstractmethod
    def close(self) -> None:
        """Release the device or file."""
