"""Window classifiers with one interface: TensorRT engine, ONNX Runtime, Keras.

    classifier = create_classifier(cfg.classifier, cfg.features)  # logs which runtime and why
    probs = classifier.predict(windows)  # windows (N, T, F) float32 -> probs (N, 5), N may be 0

`runtime = "auto"` takes the first that works: TensorRT (tensorrt + the CUDA runtime with a GPU + an
engine built here for this ONNX file, or rebuilt at start), else ONNX Runtime (the .onnx file), else
Keras (the .keras file). Backends are imported on selection only.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from edge.classifier.base import Classifier, ClassifierBackend
from edge.config import ClassifierConfig, ConfigError
from edge.features import FeatureConfig

logger = logging.getLogger(__name__)

FEATURES_FILE = "features.json"


def _tensorrt(cfg: ClassifierConfig) -> ClassifierBackend:
    from edge.classifier.tensorrt import TensorRTBackend

    return TensorRTBackend(cfg.engine_path, cfg.model, cfg.max_batch, cfg.rebuild_engine)


def _onnxruntime(cfg: ClassifierConfig) -> ClassifierBackend:
    from edge.classifier.onnxruntime import OnnxRuntimeBackend

    return OnnxRuntimeBackend(cfg.model, cfg.threads)


def _keras(cfg: ClassifierConfig) -> ClassifierBackend:
    from edge.classifier.keras import KerasBackend

    return KerasBackend(cfg.keras_path)


# Static name -> constructor map, in "auto" preference order; nothing is probed at import time.
BACKENDS = {"tensorrt": _tensorrt, "onnxruntime": _onnxruntime, "keras": _keras}


def check_model_features(model_path: str | Path, features: FeatureConfig) -> None:
    """Raise ConfigError when the features.json beside the model differs from `features`.

    A model without a features.json beside it is accepted with a warning (its input shape is still checked).
    """
    path = Path(model_path).parent / FEATURES_FILE
    if not path.is_file():
        logger.warning("%s: missing; cannot confirm the model was trained with the [features] config", path)
        return
    try:
        trained = FeatureConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: not a valid feature config: {exc}") from None
    differ = [k for k, v in trained.to_dict().items() if features.to_dict()[k] != v]
    if differ:
        raise ConfigError(
            f"[features] differs from the model's {path} in {differ}: the classifier would see other features "
            "than it was trained on; use the model's values"
        )


def create_classifier(cfg: ClassifierConfig, features: FeatureConfig) -> Classifier:
    """The configured (or, for "auto", the best available) classifier; logs which one and why.

    Raises ConfigError when the model's features or input shape disagree with `features`, or when no
    runtime can load the model (the message lists why each one could not).
    """
    check_model_features(cfg.model, features)
    expected = (features.window_frames, features.num_features)
    names = list(BACKENDS) if cfg.runtime == "auto" else [cfg.runtime]
    reasons: list[str] = []
    for name in names:
        try:
            backend = BACKENDS[name](cfg)
        except (ImportError, RuntimeError, FileNotFoundError, OSError) as exc:
            if cfg.runtime != "auto":
                raise ConfigError(f"classifier.runtime = {name!r}: {exc}") from None
            reasons.append(f"{name}: {exc}")
            continue
        if backend.input_shape is not None and backend.input_shape != expected:
            raise ConfigError(
                f"classifier ({name}): the model takes windows (T, F) = {backend.input_shape}, "
                f"but [features] makes {expected}"
            )
        why = f"; skipped {' | '.join(reasons)}" if reasons else ""
        logger.info("classifier: %s (runtime = %s)%s", name, cfg.runtime, why)
        return Classifier(backend, *expected)
    raise ConfigError("classifier: no runtime could load the model: " + " | ".join(reasons))


__all__ = ["BACKENDS", "Classifier", "ClassifierBackend", "check_model_features", "create_classifier"]
