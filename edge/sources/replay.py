"""Frames for a keypoint-trace replay: blank pictures at the trace's times, so a demo needs no video.

Pair it with the recorded pose backend on the same file (pose.type = "recorded"): the pipeline
then sees the traced people at the traced times, and the annotated output shows their skeletons
on a plain background.
"""

from __future__ import annotations

import numpy as np

from edge.sources.base import Frame, FrameSource, SourceError

BACKGROUND = 48  # dark grey, so drawn skeletons stand out


class TraceReplaySource(FrameSource):
    """One blank BGR frame of the trace's size for each traced time, then `finished`.

    uri: the trace (.npz, see edge/pose/recorded.py). Raises SourceError naming it when unreadable.
    """

    def __init__(self, uri: str, live: bool = False, width: int = 0, height: int = 0) -> None:
        from edge.pose.recorded import TraceError, load_trace

        try:
            self.trace = load_trace(uri.removeprefix("file://"))
        except TraceError as exc:
            raise SourceError(str(exc)) from None
        steps = np.diff(self.trace.times)
        self.fps = float(1 / np.median(steps)) if len(steps) else None
        width, height = self.trace.size
        self._image = np.full((height, width, 3), BACKGROUND, np.uint8)
        self._index = 0

    def read(self) -> Frame | None:
        if self.finished:
            return None
        frame = Frame(self._image.copy(), float(self.trace.times[self._index]), self._index)
        self._index += 1
        return frame

    @property
    def finished(self) -> bool:
        return self._index >= len(self.trace)

    def close(self) -> None:
        """Nothing to release."""
