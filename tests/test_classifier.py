"""create_classifier: which runtime "auto" picks and why, the checks it makes, and the shared wrapper.

Models are real exported presets (seeded weights) in a temporary models/ folder; TensorRT is the
hardware boundary and is only exercised where it exists (tests/test_export.py).
"""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from edge.classes import NUM_CLASSES
from edge.classifier import create_classifier
from edge.classifier.tensorrt import MATCHED_FIELDS, board_model, record_mismatch
from edge.config import ClassifierConfig, ConfigError
from edge.features import FeatureConfig

pytest.importorskip("keras", reason="needs TensorFlow/Keras to make a model: pip install 'fallwatch[train]'")
pytest.importorskip("onnxruntime", reason="needs onnxruntime: pip install 'fallwatch[cpu]'")

from edge.training.export import keras_to_onnx, save_onnx
from edge.training.presets import build_model

FEATURES = FeatureConfig()
HAVE_TENSORRT = importlib.util.find_spec("tensorrt") is not None


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """models/ with fallwatch.keras, fallwatch.onnx and features.json, as `fallwatch export` leaves it."""
    folder = tmp_path_factory.mktemp("models")
    model = build_model("gru16-dense32", FEATURES.window_frames, FEATURES.num_features, seed=1)
    model.save(folder / "fallwatch.keras")
    save_onnx(keras_to_onnx(model), folder / "fallwatch.onnx")
    (folder / "features.json").write_text(json.dumps(FEATURES.to_dict()))
    return folder


def windows(n: int, seed: int = 0) -> np.ndarray:
    return (
        np.random.default_rng(seed).normal(size=(n, FEATURES.window_frames, FEATURES.num_features)).astype(np.float32)
    )


@pytest.mark.skipif(HAVE_TENSORRT, reason="TensorRT is installed here: auto may rightly pick it")
def test_auto_picks_onnxruntime_here_and_says_why(models_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = ClassifierConfig(model=str(models_dir / "fallwatch.onnx"))
    with caplog.at_level(logging.INFO, logger="edge.classifier"):
        classifier = create_classifier(cfg, FEATURES)
    assert classifier.name == "onnxruntime"
    (message,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("classifier:")]
    assert "classifier: onnxruntime (runtime = auto)" in message
    assert "tensorrt: TensorRT engines need TensorRT" in message  # the reason it was skipped
    probs = classifier.predict(windows(3))
    assert probs.shape == (3, NUM_CLASSES) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_runtimes_agree(models_dir: Path) -> None:
    cfg = ClassifierConfig(model=str(models_dir / "fallwatch.onnx"))
    onnx_probs = create_classifier(cfg.replace(runtime="onnxruntime"), FEATURES).predict(windows(9))
    keras_probs = create_classifier(cfg.replace(runtime="keras"), FEATURES).predict(windows(9))
    assert np.abs(onnx_probs - keras_probs).max() <= 1e-5


def test_auto_falls_back_to_keras_without_the_onnx_file(tmp_path: Path, models_dir: Path) -> None:
    (tmp_path / "fallwatch.keras").write_bytes((models_dir / "fallwatch.keras").read_bytes())
    cfg = ClassifierConfig(model=str(tmp_path / "fallwatch.onnx"))
    assert create_classifier(cfg, FEATURES).name == "keras"


def test_no_loadable_model_lists_every_reason(tmp_path: Path) -> None:
    cfg = ClassifierConfig(model=str(tmp_path / "fallwatch.onnx"))
    with pytest.raises(ConfigError, match="no runtime could load the model") as err:
        create_classifier(cfg, FEATURES)
    assert all(name in str(err.value) for name in ("tensorrt:", "onnxruntime:", "keras:"))


@pytest.mark.skipif(HAVE_TENSORRT, reason="TensorRT is installed here")
def test_explicit_tensorrt_without_tensorrt_is_refused_by_name(models_dir: Path) -> None:
    cfg = ClassifierConfig(runtime="tensorrt", model=str(models_dir / "fallwatch.onnx"))
    with pytest.raises(ConfigError, match=r"classifier\.runtime = 'tensorrt'.*need TensorRT"):
        create_classifier(cfg, FEATURES)


def test_features_that_differ_from_the_models_are_refused(models_dir: Path) -> None:
    cfg = ClassifierConfig(model=str(models_dir / "fallwatch.onnx"))
    with pytest.raises(ConfigError, match=r"\['velocity'\]"):
        create_classifier(cfg, FEATURES.replace(velocity=False))


def test_a_model_with_another_window_shape_is_refused(tmp_path: Path) -> None:
    model = build_model("gru8-dense", 20, FEATURES.num_features, seed=0)  # no features.json: shape check only
    save_onnx(keras_to_onnx(model), tmp_path / "fallwatch.onnx")
    cfg = ClassifierConfig(runtime="onnxruntime", model=str(tmp_path / "fallwatch.onnx"))
    with pytest.raises(ConfigError, match=r"\(T, F\) = \(20, 50\).*\(30, 50\)"):
        create_classifier(cfg, FEATURES)


def test_wrapper_checks_shapes_and_handles_nobody(models_dir: Path) -> None:
    classifier = create_classifier(
        ClassifierConfig(runtime="onnxruntime", model=str(models_dir / "fallwatch.onnx")), FEATURES
    )
    assert classifier.predict(np.zeros((0, FEATURES.window_frames, FEATURES.num_features))).shape == (0, NUM_CLASSES)
    with pytest.raises(ValueError, match=r"expected windows shaped \(N, 30, 50\)"):
        classifier.predict(np.zeros((2, FEATURES.window_frames, FEATURES.num_features + 1)))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, []),  # the same system: usable
        ({"tensorrt": "8.5.2"}, ["tensorrt"]),  # JetPack upgraded TensorRT
        ({"device": "Orin Nano", "compute_capability": "8.6"}, ["device", "compute_capability"]),  # another board
        ({"board": "NVIDIA Jetson AGX Orin Developer Kit"}, ["board"]),  # the card moved to another carrier
        ({"onnx_sha256": "0" * 64}, ["onnx_sha256"]),  # a newly exported model
        ({"max_batch": 4}, ["max_batch"]),  # a smaller profile than configured
    ],
)
def test_engine_build_record_mismatch(change: dict[str, object], expected: list[str]) -> None:
    current = {
        "tensorrt": "8.6.2",
        "device": "Orin",
        "compute_capability": "8.7",
        "board": "NVIDIA Jetson Orin Nano Developer Kit",
        "onnx_sha256": "a" * 64,
        "max_batch": 8,
        "precision": "fp16",
    }
    assert set(current) == set(MATCHED_FIELDS)
    problems = record_mismatch({**current, **change, "built": "2026-01-01T00:00:00+00:00"}, current)
    assert [p.split(":")[0] for p in problems] == expected


def test_board_model_from_the_device_tree(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.write_bytes(b"NVIDIA Jetson Orin Nano Developer Kit\0")  # the device tree's string ends in NUL
    assert board_model(model) == "NVIDIA Jetson Orin Nano Developer Kit"
    assert board_model(tmp_path / "missing") == ""  # not a Jetson


def test_engine_without_build_record_is_not_usable() -> None:
    assert record_mismatch(None, {}) == ["no engine, or no build record beside it"]
