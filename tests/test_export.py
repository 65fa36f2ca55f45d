"""Keras -> ONNX export: native GRU nodes, and the same probabilities as Keras on real windows.

Windows come from the real UR Fall AlphaPose keypoints (../shared/data) through the project's own
skeleton, window and feature functions. Models are the real presets with seeded random weights (parity
needs no training); the output layer is scaled up so that probabilities spread and differences show,
and a check makes sure the GRUs are neither dead (relu) nor saturated (tanh).
"""

from __future__ import annotations

import csv
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.cli import main as cli_main
from edge.features import FeatureConfig, window_features
from edge.skeleton import to_canonical
from edge.windows import clip_windows

keras = pytest.importorskip("keras", reason="export tests need TensorFlow/Keras: pip install 'fallwatch[train]'")
ort = pytest.importorskip("onnxruntime", reason="export tests need onnxruntime: pip install 'fallwatch[cpu]'")
onnx = pytest.importorskip("onnx", reason="export tests need onnx: pip install 'fallwatch[train]'")

from edge.training import export as export_module  # noqa: E402
from edge.training.export import (  # noqa: E402
    FP16_TOLERANCE,
    FP32_TOLERANCE,
    ExportError,
    fp16_path,
    keras_to_onnx,
    to_fp16,
)
from edge.training.presets import PRESET_SPECS, PRESETS, build_model  # noqa: E402

# Keras warns when a bare array is passed to a model whose input has a name; harmless here.
pytestmark = pytest.mark.filterwarnings("ignore:The structure of `inputs`:UserWarning")

FEATURES = FeatureConfig()
URFD_VIDEOS = ("fall-01", "fall-05", "fall-09", "fall-14", "fall-18", "fall-23", "fall-27", "fall-30")
URFD_ASPECT = 640 / 480


@pytest.fixture(scope="module")
def real_windows(shared_data: Path) -> np.ndarray:
    """Feature windows (W, T, F) from eight UR Fall AlphaPose sequences (standing, falling, lying)."""
    rows: dict[str, list[list[str]]] = defaultdict(list)
    with open(shared_data / "urfd_alphapose" / "pose_urfd_3classes.csv", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for row in reader:
            if row[0] in URFD_VIDEOS:
                rows[row[0]].append(row)
    windows = []
    for video in URFD_VIDEOS:
        times = np.array([int(r[1]) for r in rows[video]]) / 30.0
        points = np.array([[float(v) for v in r[2:41]] for r in rows[video]], np.float32).reshape(-1, 13, 3)
        clips, _ = clip_windows(times, to_canonical(points, "alphapose13"), FEATURES, stride_s=0.25)
        windows += [window_features(w, URFD_ASPECT, FEATURES) for w in clips]
    return np.stack(windows)


def lively_model(preset: str, seed: int = 0) -> Any:
    """A preset with seeded weights and non-zero biases; the output layer x4 so that probabilities spread.

    Keras initialises biases to zero, which would let an exporter that swaps a GRU's input and
    recurrent biases, or drops a bias, pass: every GRU gets different seeded input and recurrent
    biases, and every Dense layer a seeded bias.
    """
    model = build_model(preset, FEATURES.window_frames, FEATURES.num_features, seed=seed)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if type(layer).__name__ == "GRU":
            kernel, recurrent, bias = weights
            weights = [kernel, recurrent, rng.normal(0.0, 0.3, size=bias.shape).astype(np.float32)]
        elif type(layer).__name__ == "Dense":
            kernel, bias = weights
            weights = [kernel, rng.normal(0.0, 0.3, size=bias.shape).astype(np.float32)]
        layer.set_weights(weights)
    out = model.get_layer("probs")
    kernel, bias = out.get_weights()
    out.set_weights([kernel * 4.0, bias])
    return model


def test_lively_models_have_distinct_nonzero_biases() -> None:
    """The parity tests below can only catch a swapped or dropped bias if the biases differ."""
    for preset in PRESETS:
        model = lively_model(preset)
        for layer in model.layers:
            if type(layer).__name__ == "GRU":
                input_bias, recurrent_bias = layer.get_weights()[2]
                assert np.abs(input_bias - recurrent_bias).min() > 1e-4, layer.name
            if type(layer).__name__ in ("GRU", "Dense"):
                assert np.abs(layer.get_weights()[-1]).min() > 1e-4, layer.name


def run_onnx(proto: Any, windows: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"windows": windows})[0]


@pytest.mark.parametrize("preset", PRESETS)
def test_onnx_matches_keras_on_real_windows(preset: str, real_windows: np.ndarray) -> None:
    model = lively_model(preset)
    # The comparison only means something if the GRUs are working: not dead, not saturated, outputs vary.
    hidden = np.asarray(keras.Model(model.inputs, model.get_layer("gru0").output)(real_windows))
    assert (np.abs(hidden) > 1e-6).mean() > 0.5, "GRU mostly dead"
    assert (np.abs(hidden) > 0.99).mean() < 0.5, "GRU mostly saturated"
    expected = np.asarray(model(real_windows, training=False))
    assert expected.std(axis=0).mean() > 0.02, "probabilities barely vary: parity would be vacuous"
    proto = keras_to_onnx(model)

    fp32 = run_onnx(proto, real_windows)
    assert fp32.dtype == np.float32 and fp32.shape == expected.shape
    assert np.abs(fp32 - expected).max() <= FP32_TOLERANCE
    np.testing.assert_array_equal(fp32.argmax(axis=1), expected.argmax(axis=1))

    fp16 = run_onnx(to_fp16(proto), real_windows)
    assert fp16.dtype == np.float32
    assert np.abs(fp16 - expected).max() <= FP16_TOLERANCE
    np.testing.assert_array_equal(fp16.argmax(axis=1), expected.argmax(axis=1))


@pytest.mark.parametrize("preset", PRESETS)
def test_graph_has_native_gru_nodes_and_no_loop(preset: str) -> None:
    spec = PRESET_SPECS[preset]
    proto = keras_to_onnx(lively_model(preset))
    ops = [node.op_type for node in proto.graph.node]
    assert not {"Loop", "Scan", "If"} & set(ops)
    grus = [node for node in proto.graph.node if node.op_type == "GRU"]
    assert len(grus) == len(spec.grus)
    for node, gru in zip(grus, spec.grus, strict=True):
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        assert attrs["linear_before_reset"] == 1
        assert attrs["hidden_size"] == gru.units
        assert attrs["activations"] == [b"Sigmoid", gru.activation.capitalize().encode()]
    assert ops[-2] == "Softmax"
    batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param and not batch.dim_value  # a dynamic batch dimension


def test_sequence_output_and_sequence_dense_match_keras(real_windows: np.ndarray) -> None:
    """A GRU that returns sequences feeding Dense layers directly (the MatMul path, transposed back)."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((FEATURES.window_frames, FEATURES.num_features))
    x = keras.layers.GRU(12, return_sequences=True, use_bias=False)(inputs)
    x = keras.layers.Dense(7, activation="tanh")(x)
    x = keras.layers.Activation("softmax")(x)
    model = keras.Model(inputs, x)
    windows = real_windows[:5]
    got = run_onnx(keras_to_onnx(model), windows)
    assert got.shape == (5, FEATURES.window_frames, 7)
    assert np.abs(got - np.asarray(model(windows))).max() <= FP32_TOLERANCE


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (lambda: keras.layers.GRU(4, go_backwards=True), "go_backwards"),  # would run time backwards
        (lambda: keras.layers.GRU(4, reset_after=False), "reset_after=False"),  # other gate formula
        (lambda: keras.layers.GRU(4, activation="elu"), "activation"),  # no matching ONNX GRU activation
        (lambda: keras.layers.LSTM(4), "LSTM is not supported"),  # another layer type
    ],
)
def test_unsupported_models_are_refused_by_name(layer: Any, message: str) -> None:
    inputs = keras.Input((6, 3))
    model = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(layer()(inputs)))
    with pytest.raises(ExportError, match=message):
        keras_to_onnx(model)


def test_export_command_writes_onnx_fp16_and_features(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "trained"
    src.mkdir()
    model = lively_model("gru8-dense")
    model.save(src / "fallwatch.keras")
    (src / "features.json").write_text(json.dumps(FEATURES.to_dict()))
    out = tmp_path / "models" / "fallwatch.onnx"

    assert cli_main(["export", str(src / "fallwatch.keras"), "-o", str(out), "--fp16"]) == 0
    assert "1 GRU node" in capsys.readouterr().out
    assert (
        onnx.load(out).graph.node
        and onnx.load(fp16_path(out)).graph.initializer[0].data_type == onnx.TensorProto.FLOAT16
    )
    assert FeatureConfig.from_dict(json.loads((out.parent / "features.json").read_text())) == FEATURES
    assert sorted(p.name for p in out.parent.iterdir()) == ["fallwatch.fp16.onnx", "fallwatch.onnx", "features.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # the usual mode, not mkstemp's 0600

    assert cli_main(["export", str(tmp_path / "missing.keras")]) == 2
    assert "no such model" in capsys.readouterr().err


def _zero_output_bias(proto: Any) -> Any:
    """The ONNX model with its output layer's bias zeroed (what a broken Dense mapping would do)."""
    for init in proto.graph.initializer:
        if init.name == "probs/bias":
            init.CopyFrom(onnx.numpy_helper.from_array(0 * onnx.numpy_helper.to_array(init), init.name))
    return proto


def _without_output_bias(model: Any) -> Any:
    """A wrong exporter: the output layer's bias left out."""
    return _zero_output_bias(keras_to_onnx(model))


@pytest.mark.parametrize("fp16", [False, True])
def test_export_command_refuses_an_export_beyond_tolerance_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fp16: bool
) -> None:
    src = tmp_path / "trained"
    src.mkdir()
    lively_model("gru16-dense32").save(src / "fallwatch.keras")
    out = tmp_path / "models" / "fallwatch.onnx"
    out.parent.mkdir()
    out.write_bytes(b"the previous export")
    if fp16:  # the FP32 export is right; only its FP16 variant is wrong, and must still stop everything
        to_fp16 = export_module.to_fp16
        monkeypatch.setattr(export_module, "to_fp16", lambda proto: _zero_output_bias(to_fp16(proto)))
    else:
        monkeypatch.setattr(export_module, "keras_to_onnx", _without_output_bias)

    assert cli_main(["export", str(src / "fallwatch.keras"), "-o", str(out)] + ["--fp16"] * fp16) == 2
    err = capsys.readouterr().err
    assert "nothing written" in err and ("fallwatch.fp16.onnx differs" in err) == fp16
    assert sorted(p.name for p in out.parent.iterdir()) == ["fallwatch.onnx"]  # no fp16, no temporary file
    assert out.read_bytes() == b"the previous export"


SHIPPED = Path(__file__).resolve().parents[1] / "models"


@pytest.mark.skipif(not (SHIPPED / "fallwatch.onnx").is_file(), reason="no shipped models/fallwatch.onnx yet")
def test_shipped_onnx_is_the_export_of_the_shipped_keras_model(real_windows: np.ndarray) -> None:
    """models/fallwatch.onnx (and .fp16.onnx) give the trained Keras model's probabilities on real windows."""
    model = keras.models.load_model(SHIPPED / "fallwatch.keras", compile=False)
    expected = np.asarray(model(real_windows, training=False))
    for path, tolerance in (
        (SHIPPED / "fallwatch.onnx", FP32_TOLERANCE),
        (fp16_path(SHIPPED / "fallwatch.onnx"), FP16_TOLERANCE),
    ):
        if path.is_file():
            got = run_onnx(onnx.load(path), real_windows)
            assert np.abs(got - expected).max() <= tolerance, path
            np.testing.assert_array_equal(got.argmax(axis=1), expected.argmax(axis=1))


def _cuda() -> bool:
    """TensorRT and a GPU the CUDA runtime sees (a Jetson, or pip tensorrt on an NVIDIA PC)."""
    from edge.classifier.tensorrt import import_tensorrt

    try:
        import_tensorrt()
    except (ImportError, RuntimeError):
        return False
    return True


@pytest.mark.skipif(not _cuda(), reason="needs TensorRT and a CUDA GPU (a Jetson, or pip tensorrt on an NVIDIA PC)")
def test_tensorrt_fp16_engine_matches_keras_and_refuses_a_stale_engine(
    tmp_path: Path, real_windows: np.ndarray
) -> None:
    from edge.classifier.tensorrt import EngineMismatchError, TensorRTBackend, build_engine, record_path
    from edge.training.export import save_onnx

    model = lively_model("gru8-dense")
    onnx_path = save_onnx(keras_to_onnx(model), tmp_path / "m.onnx")
    engine = tmp_path / "m.engine"
    record = build_engine(onnx_path, engine, max_batch=8)
    assert record["precision"] == "fp16" and record_path(engine).is_file()

    backend = TensorRTBackend(engine, onnx_path, max_batch=8, rebuild=False)
    expected = np.asarray(model(real_windows, training=False))
    got = backend.run(np.ascontiguousarray(real_windows))  # more windows than max_batch: several calls
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= FP16_TOLERANCE
    np.testing.assert_array_equal(got.argmax(axis=1), expected.argmax(axis=1))

    stale = json.loads(record_path(engine).read_text())
    stale["tensorrt"] = "0.0.0"
    record_path(engine).write_text(json.dumps(stale))
    with pytest.raises(EngineMismatchError, match="tensorrt"):
        TensorRTBackend(engine, onnx_path, max_batch=8, rebuild=False)
