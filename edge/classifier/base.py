"""The classifier interface: predict(windows[N, T, F]) -> probs[N, 5], batched over people."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from edge.classes import NUM_CLASSES


class ClassifierBackend(ABC):
    """A runtime that only loads a model and runs it; `Classifier` does the shared checks."""

    name: str = "backend"
    # (T, F) the loaded model takes, or None when the runtime cannot tell; create_classifier checks it.
    input_shape: tuple[int, int] | None = None

    @abstractmethod
    def run(self, windows: np.ndarray) -> np.ndarray:
        """Probabilities (N, 5) for float32 windows (N, T, F), N >= 1."""


class Classifier:
    """Wraps a backend: checks shapes, handles an empty batch, returns float32 probabilities."""

    def __init__(self, backend: ClassifierBackend, window_frames: int, num_features: int) -> None:
        self.backend = backend
        self.window_frames = window_frames
        self.num_features = num_features

    @property
    def name(self) -> str:
        return self.backend.name

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """windows (N, T, F) -> probs (N, 5); N = 0 gives an empty (0, 5) array without a model call."""
        arr = np.asarray(windows, dtype=np.float32)
        expected = (self.window_frames, self.num_features)
        if arr.ndim != 3 or arr.shape[1:] != expected:
            raise ValueError(f"classifier: expected windows shaped (N, {expected[0]}, {expected[1]}), got {arr.shape}")
        if len(arr) == 0:
            return np.zeros((0, NUM_CLASSES), dtype=np.float32)
        return np.asarray(self.backend.run(np.ascontiguousarray(arr)), dtype=np.float32)
