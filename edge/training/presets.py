"""Named Keras classifier presets: the prototype's GRU variants, so their accuracy and speed can be compared.

Every preset maps a window (T, F) of features (edge.features.window_features) to five softmax
probabilities in edge.classes.CLASSES order (fall, stand, walking, lie, sit), with a dynamic batch
dimension. Only plain layers are used, so the exporter can write each GRU as one native ONNX `GRU` node:
`keras.layers.GRU` (Keras' default reset_after=True, i.e. ONNX linear_before_reset=1; activation
relu or tanh, recurrent_activation sigmoid; `dropout` acts on the inputs while training only),
`Dense` (relu, or softmax for the output layer), and `Dropout` (inference no-op).

    model = build_model("gru8-dense", window_frames=30, num_features=50)
    probs = model(windows)  # windows (N, 30, 50) float32 -> probs (N, 5)

TensorFlow is imported inside build_model, so this module imports anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.classes import NUM_CLASSES


@dataclass(frozen=True)
class Gru:
    """One GRU layer: units, activation ("relu" | "tanh"), input dropout while training."""

    units: int
    activation: str = "tanh"
    dropout: float = 0.0


@dataclass(frozen=True)
class Dense:
    """One hidden Dense layer with relu, optionally followed by a Dropout layer."""

    units: int
    dropout: float = 0.0


@dataclass(frozen=True)
class Preset:
    """A classifier architecture: stacked GRUs (all but the last return sequences), then Dense layers."""

    grus: tuple[Gru, ...]
    dense: tuple[Dense, ...]
    note: str


PRESET_SPECS: dict[str, Preset] = {
    "gru8-dense": Preset(
        (Gru(8, "relu", 0.2),),
        (Dense(128), Dense(64), Dense(32), Dense(16)),
        "the prototype's final best",
    ),
    "gru64-dense128": Preset(
        (Gru(64, "relu", 0.2),),
        (Dense(128, 0.1), Dense(64, 0.1), Dense(32, 0.1), Dense(32)),
        "the prototype's earlier best",
    ),
    "gru64-gru32": Preset(
        (Gru(64, "tanh", 0.3), Gru(32, "tanh", 0.3)),
        (),
        "best on the prototype's mirrored test",
    ),
    "gru64-dense32": Preset(
        (Gru(64, "relu", 0.3),),
        (Dense(32),),
        "the prototype's GRU64 relu + Dense32",
    ),
    "gru16-dense32": Preset(
        (Gru(16, "tanh", 0.2),),
        (Dense(32),),
        "small tanh GRU (tanh is bounded: steadier than relu on little data)",
    ),
    "gru32-dense32": Preset(
        (Gru(32, "tanh", 0.2),),
        (Dense(32, 0.1),),
        "medium tanh GRU",
    ),
}
PRESETS: tuple[str, ...] = tuple(PRESET_SPECS)


def build_model(preset: str, window_frames: int, num_features: int, seed: int | None = None) -> Any:
    """A fresh, uncompiled keras.Model: input (batch, window_frames, num_features) -> (batch, 5) softmax.

    preset: a name in PRESETS; raises ValueError naming the known ones otherwise.
    seed: seeds keras' weight initialisers and dropout (None: whatever keras' global seed gives).
    """
    if preset not in PRESET_SPECS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if window_frames < 2 or num_features < 1:
        raise ValueError(
            f"build_model: need window_frames >= 2 and num_features >= 1, got {window_frames}, {num_features}"
        )
    keras = import_keras()
    if seed is not None:
        keras.utils.set_random_seed(seed)
    spec = PRESET_SPECS[preset]
    inputs = keras.Input(shape=(window_frames, num_features), name="window")
    x = inputs
    for i, gru in enumerate(spec.grus):
        x = keras.layers.GRU(
            gru.units,
            activation=gru.activation,
            dropout=gru.dropout,
            return_sequences=i < len(spec.grus) - 1,
            name=f"gru{i}",
        )(x)
    for i, dense in enumerate(spec.dense):
        x = keras.layers.Dense(dense.units, activation="relu", name=f"dense{i}")(x)
        if dense.dropout:
            x = keras.layers.Dropout(dense.dropout, name=f"dropout{i}")(x)
    outputs = keras.layers.Dense(NUM_CLASSES, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name=preset.replace("-", "_"))


def import_keras() -> Any:
    """Import keras (TensorFlow backend), or raise one sentence naming the extra to install."""
    try:
        import keras  # heavy: imported on use
    except ImportError as exc:
        raise ImportError("training needs TensorFlow/Keras: pip install 'fallwatch[train]'") from exc
    return keras
