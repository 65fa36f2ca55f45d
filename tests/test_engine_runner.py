"""The TensorRT path (edge/classifier/tensorrt.py, edge/pose/trt_pose.py) against a stand-in for the
hardware boundary: a fake `tensorrt` module whose "engine" runs the ONNX file in ONNX Runtime, and a
fake CUDA runtime whose "device memory" is host bytes. What is real: the builder's profile and build
record, the rebuild-or-refuse check, the runner's buffers and copies, the pose backend's output order
and the decoder. What only a device shows (TensorRT's parser and kernels, libcudart) is not here."""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.config import PoseConfig
from edge.pose import create_pose
from edge.skeleton import INDEX
from edge.sources.base import Frame
from tests.test_pose_paf import SIZE, person, render
from tests.test_trt_pose import constant_maps_onnx


class FakeCuda:
    """Device memory as host buffers keyed by a fake pointer."""

    def __init__(self) -> None:
        self.memory: dict[int, bytearray] = {}

    def device_name(self) -> str:
        return "Orin"

    def compute_capability(self) -> str:
        return "8.7"

    def malloc(self, nbytes: int) -> int:
        ptr = 0x1000 * (len(self.memory) + 1)
        self.memory[ptr] = bytearray(nbytes)
        return ptr

    def stream(self) -> int:
        return 7

    def to_device(self, ptr: int, array: np.ndarray, stream: int) -> None:
        data = np.ascontiguousarray(array).tobytes()
        assert len(data) <= len(self.memory[ptr]), "a copy past the end of a device buffer"
        self.memory[ptr][: len(data)] = data

    def to_host(self, out: np.ndarray, ptr: int, stream: int) -> None:
        assert out.nbytes <= len(self.memory[ptr]), "a copy past the end of a device buffer"
        out[...] = np.frombuffer(bytes(self.memory[ptr][: out.nbytes]), dtype=out.dtype).reshape(out.shape)

    def synchronize(self, stream: int) -> None:
        pass


def fake_tensorrt(cuda: FakeCuda, built: list[dict[str, Any]]) -> types.ModuleType:
    """The parts of TensorRT's Python API the project calls; an engine is the ONNX bytes, run by ONNX Runtime."""
    import onnx
    import onnxruntime as ort

    trt = types.ModuleType("tensorrt")
    trt.__version__ = "10.3.0"  # type: ignore[attr-defined]

    class Levels:
        INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = range(5)

    class ILogger:
        Severity = Levels

        def __init__(self) -> None:
            pass

    def dims(value: onnx.ValueInfoProto) -> tuple[int, ...]:
        return tuple(d.dim_value if d.HasField("dim_value") else -1 for d in value.type.tensor_type.shape.dim)

    class Network:
        def __init__(self) -> None:
            self.inputs: list[Any] = []

        @property
        def num_inputs(self) -> int:
            return len(self.inputs)

        def get_input(self, i: int) -> Any:
            return self.inputs[i]

    class OnnxParser:
        num_errors = 0

        def __init__(self, network: Network, logger: ILogger) -> None:
            self.network = network

        def parse_from_file(self, path: str) -> bool:
            self.network.onnx = Path(path).read_bytes()  # type: ignore[attr-defined]
            model = onnx.load(path)
            self.network.inputs = [types.SimpleNamespace(name=i.name, shape=dims(i)) for i in model.graph.input]
            return True

    class Profile:
        def set_shape(self, name: str, low: tuple, opt: tuple, high: tuple) -> None:
            built.append({"input": name, "min": low, "opt": opt, "max": high})

    class Builder:
        platform_has_fast_fp16 = True

        def __init__(self, logger: ILogger) -> None:
            pass

        def create_network(self, flags: int) -> Network:
            return Network()

        def create_builder_config(self) -> Any:
            return types.SimpleNamespace(set_memory_pool_limit=lambda *a: None, set_flag=lambda f: None,
                                         add_optimization_profile=lambda p: None)  # fmt: skip

        def create_optimization_profile(self) -> Profile:
            return Profile()

        def build_serialized_network(self, network: Network, config: Any) -> bytes:
            return network.onnx  # type: ignore[attr-defined,no-any-return]

    class Context:
        def __init__(self, engine: Engine) -> None:
            self.engine, self.shapes, self.addresses = engine, {}, {}

        def set_input_shape(self, name: str, shape: tuple) -> bool:
            self.shapes[name] = tuple(shape)
            return True

        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            batch = next(iter(self.shapes.values()))[0]
            return (batch, *self.engine.shapes[name][1:])

        def set_tensor_address(self, name: str, ptr: int) -> bool:
            self.addresses[name] = ptr
            return True

        def execute_async_v3(self, stream: int) -> bool:
            (name, shape), = self.shapes.items()  # fmt: skip
            data = np.empty(shape, np.float32)
            cuda.to_host(data, self.addresses[name], stream)
            for out_name, value in zip(self.engine.outputs, self.engine.session.run(None, {name: data}), strict=True):
                cuda.to_device(self.addresses[out_name], np.broadcast_to(value, (shape[0], *value.shape[1:])), stream)
            return True

    class Engine:
        def __init__(self, data: bytes) -> None:
            model = onnx.load_from_string(data)
            self.session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
            self.inputs = [i.name for i in model.graph.input]
            self.outputs = [o.name for o in model.graph.output]
            self.shapes = {v.name: dims(v) for v in [*model.graph.input, *model.graph.output]}

        @property
        def num_io_tensors(self) -> int:
            return len(self.shapes)

        def get_tensor_name(self, i: int) -> str:
            return [*self.inputs, *self.outputs][i]

        def get_tensor_mode(self, name: str) -> str:
            return "INPUT" if name in self.inputs else "OUTPUT"

        def get_tensor_dtype(self, name: str) -> str:
            return "FLOAT"

        def get_tensor_shape(self, name: str) -> tuple[int, ...]:
            return self.shapes[name]

        def create_execution_context(self) -> Context:
            return Context(self)

    class Runtime:
        def __init__(self, logger: ILogger) -> None:
            pass

        def deserialize_cuda_engine(self, data: bytes) -> Engine:
            return Engine(data)

    for name, value in {
        "ILogger": ILogger, "Builder": Builder, "OnnxParser": OnnxParser, "Runtime": Runtime,
        "MemoryPoolType": types.SimpleNamespace(WORKSPACE=0), "BuilderFlag": types.SimpleNamespace(FP16=0),
        "TensorIOMode": types.SimpleNamespace(INPUT="INPUT", OUTPUT="OUTPUT"),
        "DataType": types.SimpleNamespace(FLOAT="FLOAT"), "NetworkDefinitionCreationFlag": types.SimpleNamespace(),
    }.items():  # fmt: skip
        setattr(trt, name, value)
    return trt


@pytest.fixture
def gpu(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeCuda, list[dict[str, Any]]]:
    import edge.cuda

    cuda, built = FakeCuda(), []
    monkeypatch.setitem(__import__("sys").modules, "tensorrt", fake_tensorrt(cuda, built))
    monkeypatch.setattr(edge.cuda, "CudaRuntime", lambda: cuda)
    return cuda, built


def test_trt_pose_builds_its_engine_once_and_decodes_what_the_engine_returns(gpu, tmp_path: Path) -> None:
    _, built = gpu
    truth = [person(0.3, 0.3), person(0.7, 0.85, turn_deg=-90)]
    model = constant_maps_onnx(tmp_path / "pose.onnx", *render(truth))
    cfg = PoseConfig(type="trt_pose", trt_pose_model=str(model), trt_pose_runtime="tensorrt")
    pose = create_pose(cfg)
    assert pose.runtime == "tensorrt"  # type: ignore[attr-defined]
    assert built == [{"input": "input", "min": (1, 3, 224, 224), "opt": (1, 3, 224, 224), "max": (1, 3, 224, 224)}]
    record = json.loads((tmp_path / "pose.engine.json").read_text())
    assert (record["device"], record["max_batch"], record["precision"]) == ("Orin", 1, "fp16")
    skeletons = pose.estimate(Frame(np.zeros((480, 640, 3), np.uint8), 0.0, 0))
    assert len(skeletons) == 2
    necks = sorted(skeletons.keypoints[:, INDEX["neck"], :2].tolist())
    assert np.abs(np.array(necks) - [[0.3, 0.3], [0.7, 0.85]]).max() <= 1 / SIZE
    create_pose(cfg)
    assert len(built) == 1  # the engine matched its record: loaded, not rebuilt


def test_a_stale_pose_engine_is_refused_when_rebuilds_are_off(gpu, tmp_path: Path) -> None:
    from edge.config import ConfigError

    model = constant_maps_onnx(tmp_path / "pose.onnx", *render([]))
    create_pose(PoseConfig(type="trt_pose", trt_pose_model=str(model), trt_pose_runtime="tensorrt"))
    record = tmp_path / "pose.engine.json"
    record.write_text(json.dumps({**json.loads(record.read_text()), "tensorrt": "8.6.2"}))
    cfg = PoseConfig(
        type="trt_pose", trt_pose_model=str(model), trt_pose_runtime="tensorrt", trt_pose_rebuild_engine=False
    )
    with pytest.raises(ConfigError, match=r"tensorrt: engine has '8.6.2', this system '10.3.0'.*--steps pose_engine"):
        create_pose(cfg)


def test_the_classifier_engine_runs_windows_in_chunks_of_max_batch(gpu, tmp_path: Path) -> None:
    """A stand-in classifier ONNX (windows (N, 30, 50) -> softmax over 5) through build, record and runner."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edge.classifier.tensorrt import TensorRTBackend

    _, built = gpu
    weights = np.random.default_rng(0).normal(size=(1500, 5)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["windows"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "w"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
        ],
        "classifier",
        [helper.make_tensor_value_info("windows", TensorProto.FLOAT, ["N", 30, 50])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 5])],
        [numpy_helper.from_array(weights, "w")],
    )
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    backend = TensorRTBackend(tmp_path / "m.engine", path, max_batch=4, rebuild=True)
    assert built[0]["max"] == (4, 30, 50) and backend.input_shape == (30, 50)
    windows = np.random.default_rng(1).normal(size=(10, 30, 50)).astype(np.float32)  # three calls: 4 + 4 + 2
    logits = windows.reshape(10, -1) @ weights
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(backend.run(windows), expected, atol=1e-5)
