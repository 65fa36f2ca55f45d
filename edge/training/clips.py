"""The labelled clip every dataset adapter produces, and the error an adapter raises on bad input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from edge.classes import CLASSES, NUM_CLASSES, class_mask
from edge.skeleton import NUM_KEYPOINTS


class DatasetError(ValueError):
    """Bad input in one file of a source; the message is one line that names the file."""


@dataclass(frozen=True)
class Clip:
    """One recording as canonical skeletons with per-frame label sets.

    clip_id: unique across all sources, e.g. "urfd_alphapose/fall-07".
    source: the adapter's name (a key of edge.training.datasets.SOURCES).
    subject: the split key: clips sharing it must land in the same train/validation split. The
        person when known, else the recording; the same UR Fall recording seen by several sources
        (urfd_alphapose, md4fd_urfd, urfd_video) shares one subject, e.g. "urfd/fall-07".
    times: float64 (N,) seconds from the clip's start, strictly increasing (gaps allowed).
    keypoints: float32 (N, 18, 3) canonical skeletons; a frame where nobody was found is all zeros.
    aspect: the source frame's width / height.
    allowed: bool (N, 5) per frame, True for each class (edge.classes.CLASSES) the frame may be.
    kind: "fall" when the clip holds a fall, "adl" for daily activities only.
    fall_onset_s: when the fall starts (seconds, on `times`' clock), None when unknown or no fall.
    """

    clip_id: str
    source: str
    subject: str
    times: np.ndarray
    keypoints: np.ndarray
    aspect: float
    allowed: np.ndarray
    kind: Literal["fall", "adl"]
    fall_onset_s: float | None = None

    def __post_init__(self) -> None:
        n = len(self.times)
        if self.keypoints.shape != (n, NUM_KEYPOINTS, 3):
            raise DatasetError(f"{self.clip_id}: keypoints {self.keypoints.shape} do not match {n} times")
        if self.allowed.shape != (n, NUM_CLASSES) or self.allowed.dtype != bool:
            raise DatasetError(f"{self.clip_id}: allowed must be bool ({n}, {NUM_CLASSES}), got {self.allowed.shape}")
        if n == 0:
            raise DatasetError(f"{self.clip_id}: empty clip (no frames)")
        if n > 1 and not np.all(np.diff(self.times) > 0):
            raise DatasetError(f"{self.clip_id}: frame times are not strictly increasing")
        if not self.allowed.any(axis=1).all():
            raise DatasetError(f"{self.clip_id}: a frame allows no class")

    def __len__(self) -> int:
        return len(self.times)

    @property
    def found(self) -> np.ndarray:
        """bool (N,): frames where the pose stage found somebody (any keypoint with confidence > 0)."""
        return (self.keypoints[..., 2] > 0).any(axis=-1)


def masks(label_sets: list[frozenset[str]]) -> np.ndarray:
    """Per-frame label sets -> bool (N, 5) masks."""
    if not label_sets:
        return np.zeros((0, NUM_CLASSES), dtype=bool)
    return np.stack([class_mask(s) for s in label_sets])


def constant_mask(n: int, allowed: frozenset[str]) -> np.ndarray:
    """The same label set for all n frames -> bool (n, 5)."""
    return np.tile(class_mask(allowed), (n, 1))


__all__ = ["CLASSES", "Clip", "DatasetError", "constant_mask", "masks"]
