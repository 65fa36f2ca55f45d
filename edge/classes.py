"""The classifier's five classes and the label sets that training allows for each frame."""

from __future__ import annotations

import numpy as np

CLASSES: tuple[str, ...] = ("fall", "stand", "walking", "lie", "sit")
NUM_CLASSES = len(CLASSES)
FALL, STAND, WALKING, LIE, SIT = range(NUM_CLASSES)

# Label sets for sources whose labels are coarser than the five classes.
NOT_A_FALL = frozenset({"stand", "walking", "sit"})  # "not falling" before a fall, UP-Fall ADL clips
FALLING_SEGMENT = frozenset({"fall", "lie"})  # a GMDCSA24 "Falling" segment runs to the clip's end
DAILY_ACTIVITY = frozenset({"stand", "walking", "lie", "sit"})  # an ADL clip: anything but a fall
ANY = frozenset(CLASSES)


def class_mask(allowed: frozenset[str] | set[str]) -> np.ndarray:
    """Return a boolean mask (NUM_CLASSES,) that is True for each allowed class name.

    Raises ValueError naming the unknown class when `allowed` holds a name not in CLASSES.
    """
    unknown = set(allowed) - set(CLASSES)
    if unknown:
        raise ValueError(f"unknown class name(s) {sorted(unknown)}; expected some of {CLASSES}")
    return np.array([name in allowed for name in CLASSES], dtype=bool)


def mask_names(mask: np.ndarray) -> frozenset[str]:
    """Inverse of class_mask: the class names a boolean mask allows."""
    return frozenset(name for name, on in zip(CLASSES, mask, strict=True) if on)
