"""Keras backend: the trained .keras model itself, the reference the other runtimes are checked against."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge.classifier.base import ClassifierBackend


class KerasBackend(ClassifierBackend):
    """Runs a .keras model with a direct call (model(x), not model.predict: that costs ~50 ms a call).

    path: the .keras file; loaded without compiling, so custom training losses are not needed.
    Raises FileNotFoundError for a missing file, ImportError naming the extra without TensorFlow.
    """

    name = "keras"

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: Keras model not found")
        from edge.training.presets import import_keras

        keras = import_keras()
        self.model: Any = keras.models.load_model(path, compile=False)
        shape = tuple(self.model.inputs[0].shape)
        if len(shape) != 3 or shape[1] is None or shape[2] is None:
            raise ValueError(f"{path}: model input must be (batch, T, F) with fixed T and F, got {shape}")
        self.input_shape = (int(shape[1]), int(shape[2]))

    def run(self, windows: np.ndarray) -> np.ndarray:
        return np.asarray(self.model(windows, training=False))
