"""The pose-estimator interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

from edge.skeleton import Skeletons
from edge.sources.base import Frame


class PoseEstimator(ABC):
    """Finds people in a frame and returns their canonical skeletons (edge/skeleton.py)."""

    #: How many people one call can return (MediaPipe: 1; trt_pose: several).
    max_people: int = 1

    @abstractmethod
    def estimate(self, frame: Frame) -> Skeletons:
        """Skeletons (N, 18, 3) for the people in `frame`; Skeletons.empty() when nobody is found."""

    def close(self) -> None:  # noqa: B027 - an optional hook, not abstract
        """Release the model (default: nothing to release)."""
