"""The partial-label loss: a window whose label is only partly known is not penalised among its allowed classes.

For a window with allowed-class mask m (5,) and predicted probabilities p (5,):

    loss = w(m) * -log(sum_c m_c * p_c)

so a "not a fall" window (allowed stand, walking, sit) costs the same whichever of the three gets the
probability mass, and costs more the more mass goes to fall or lie. A one-hot mask gives the ordinary
cross-entropy. w(m) is the mean class weight over the allowed classes (class_weights: see
class_weights_from_masks), which counters the scarcity of fall windows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from edge.classes import NUM_CLASSES

EPSILON = 1e-7
# Class weights are clipped to this range so that a nearly absent class cannot dominate the loss.
MIN_WEIGHT, MAX_WEIGHT = 0.1, 10.0


def class_weights_from_masks(masks: np.ndarray) -> np.ndarray:
    """Balanced class weights (5,) float32 from allowed-class masks (N, 5).

    Each window counts 1/|allowed| towards each class it allows; weight_c = N / (5 * count_c), clipped
    to [MIN_WEIGHT, MAX_WEIGHT] (a class no window allows gets MAX_WEIGHT). Rows that allow nothing are
    ignored. Raises ValueError for a wrongly shaped array.
    """
    m = np.asarray(masks, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] != NUM_CLASSES:
        raise ValueError(f"class_weights_from_masks: expected masks shaped (N, {NUM_CLASSES}), got {m.shape}")
    allowed = m.sum(axis=1)
    m = m[allowed > 0] / allowed[allowed > 0, None]
    counts = m.sum(axis=0)
    weights = np.where(counts > 0, len(m) / (NUM_CLASSES * np.maximum(counts, 1e-9)), MAX_WEIGHT)
    return np.clip(weights, MIN_WEIGHT, MAX_WEIGHT).astype(np.float32)


def sample_weights(masks: np.ndarray, class_weights: np.ndarray) -> np.ndarray:
    """Per-window weights (N,): the mean class weight over each window's allowed classes."""
    m = np.asarray(masks, dtype=np.float32)
    return (m @ np.asarray(class_weights, np.float32)) / np.maximum(m.sum(axis=1), 1.0)


def partial_label_loss(class_weights: np.ndarray | None = None) -> Callable[[Any, Any], Any]:
    """A Keras loss fn(y_true=masks (B, 5) of 0/1, y_pred=probs (B, 5)) -> per-window loss (B,).

    class_weights: (5,) weights (None: all 1). Keras averages the returned per-window losses.
    """
    from keras import ops  # heavy: imported on use

    weights = np.ones(NUM_CLASSES, np.float32) if class_weights is None else np.asarray(class_weights, np.float32)
    if weights.shape != (NUM_CLASSES,):
        raise ValueError(f"partial_label_loss: class_weights must have shape ({NUM_CLASSES},), got {weights.shape}")

    def loss(y_true: Any, y_pred: Any) -> Any:
        mask = ops.cast(y_true, y_pred.dtype)
        allowed_mass = ops.sum(mask * y_pred, axis=-1)
        w = ops.sum(mask * ops.convert_to_tensor(weights, y_pred.dtype), axis=-1) / ops.maximum(
            ops.sum(mask, axis=-1), 1.0
        )
        return -w * ops.log(ops.clip(allowed_mass, EPSILON, 1.0))

    loss.__name__ = "partial_label_loss"
    return loss


def set_accuracy() -> Callable[[Any, Any], Any]:
    """A Keras metric fn(masks (B, 5), probs (B, 5)) -> (B,): 1 where the argmax is an allowed class."""
    from keras import ops  # heavy: imported on use

    def metric(y_true: Any, y_pred: Any) -> Any:
        hit = ops.take_along_axis(ops.cast(y_true, y_pred.dtype), ops.argmax(y_pred, axis=-1)[:, None], axis=-1)
        return hit[:, 0]

    metric.__name__ = "set_accuracy"
    return metric
