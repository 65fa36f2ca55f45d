"""TensorRT backend (Jetson): an FP16 engine built on the device from the exported ONNX model.

Engines are specific to the TensorRT version and the GPU they were built on, so every engine file
has a build record beside it (`<engine>.json`): TensorRT version, GPU name and compute capability,
the SHA-256 of the ONNX file it was built from, the batch range and the precision. At start the
record is compared with the running system; a missing or mismatched engine is rebuilt from the ONNX
(`rebuild=True`) or refused with a message naming what differs. It is never loaded unchecked.

The same builder, record and runner serve trt_pose's network (edge/pose/trt_pose.py): any ONNX
file with one float32 input whose first axis is the batch. CUDA memory and streams come from the
CUDA runtime through ctypes (edge/cuda.py): no torch or pycuda on the device. tensorrt and the CUDA
runtime are loaded inside the functions that need them.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from edge.classifier.base import ClassifierBackend
from edge.files import file_sha256, write_atomic

logger = logging.getLogger(__name__)

WORKSPACE_BYTES = 256 << 20
# Fields of the build record that must equal the running system's for an engine to be loaded.
DEVICE_FIELDS = ("tensorrt", "device", "compute_capability", "board")
BOARD_MODEL = Path("/proc/device-tree/model")  # "NVIDIA Jetson Orin Nano Developer Kit" on a Jetson
MATCHED_FIELDS = (*DEVICE_FIELDS, "onnx_sha256", "max_batch", "precision")


class EngineMismatchError(RuntimeError):
    """An engine was built for another TensorRT, GPU, ONNX file or batch range (and no rebuild)."""


def import_tensorrt() -> tuple[Any, Any]:
    """(tensorrt, CudaRuntime) with a CUDA GPU, or raise ImportError / RuntimeError in one sentence."""
    try:
        import tensorrt as trt  # heavy: imported on use
    except ImportError as exc:
        raise ImportError(
            "TensorRT engines need TensorRT (JetPack ships it: sudo apt install nvidia-jetpack; on x86: pip install tensorrt)"
        ) from exc
    from edge.cuda import CudaRuntime

    return trt, CudaRuntime()


def board_model(path: Path = BOARD_MODEL) -> str:
    """The board's model from the device tree ("" off a Jetson): an engine is rebuilt on another board."""
    try:
        return path.read_bytes().rstrip(b"\0").decode(errors="replace").strip()
    except OSError:
        return ""


def record_path(engine_path: str | Path) -> Path:
    """models/fallwatch.engine -> models/fallwatch.engine.json."""
    engine_path = Path(engine_path)
    return engine_path.with_name(engine_path.name + ".json")


def device_identity(trt: Any, cuda: Any) -> dict[str, str]:
    """This system's TensorRT version, GPU name, compute capability and board model (DEVICE_FIELDS)."""
    return {
        "tensorrt": str(trt.__version__),
        "device": cuda.device_name(),
        "compute_capability": cuda.compute_capability(),
        "board": board_model(),
    }


def system_record(
    trt: Any, cuda: Any, onnx_path: str | Path, max_batch: int, precision: str = "fp16"
) -> dict[str, Any]:
    """What an engine built here and now from onnx_path would record."""
    return {
        **device_identity(trt, cuda),
        "onnx_sha256": file_sha256(onnx_path),
        "max_batch": int(max_batch),
        "precision": precision,
    }


def read_record(engine_path: str | Path) -> dict[str, Any] | None:
    """The engine's build record, or None when the engine or its record is missing or unreadable."""
    path = record_path(engine_path)
    if not Path(engine_path).is_file() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def record_mismatch(
    saved: dict[str, Any] | None, current: dict[str, Any], fields: tuple[str, ...] = MATCHED_FIELDS
) -> list[str]:
    """Human-readable differences in `fields` between an engine's build record and this system; [] = usable."""
    if saved is None:
        return ["no engine, or no build record beside it"]
    return [
        f"{key}: engine has {saved.get(key)!r}, this system {current[key]!r}"
        for key in fields
        if saved.get(key) != current[key]
    ]


def _trt_logger(trt: Any) -> Any:
    """A TensorRT logger that forwards to Python logging (warnings and errors only)."""
    levels = {
        trt.ILogger.Severity.INTERNAL_ERROR: logging.CRITICAL,
        trt.ILogger.Severity.ERROR: logging.ERROR,
        trt.ILogger.Severity.WARNING: logging.WARNING,
        trt.ILogger.Severity.INFO: logging.DEBUG,
        trt.ILogger.Severity.VERBOSE: logging.DEBUG,
    }

    class _Logger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)

        def log(self, severity: Any, msg: str) -> None:
            logger.log(levels.get(severity, logging.INFO), "TensorRT: %s", msg)

    return _Logger()


def build_engine(
    onnx_path: str | Path, engine_path: str | Path, max_batch: int = 8, fp16: bool = True
) -> dict[str, Any]:
    """Build a TensorRT engine from an exported ONNX file; write it and its build record. Returns the record.

    The ONNX has one input (batch, ...) with every axis but the batch fixed: windows (N, T, F) for the
    classifier, images (N, 3, 224, 224) for trt_pose. The optimisation profile covers batch
    1..max_batch, tuned for one. Raises RuntimeError with the ONNX parser's messages when TensorRT
    cannot import the model.
    """
    trt, cuda = import_tensorrt()
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    trt_logger = _trt_logger(trt)
    builder = trt.Builder(trt_logger)
    # Explicit batch is required for ONNX before TensorRT 10 and the only mode (flag deprecated) from 10.
    flags = (
        0 if int(trt.__version__.split(".")[0]) >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    )
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, trt_logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"{onnx_path}: TensorRT cannot parse it: {errors}")
    if network.num_inputs != 1:
        raise RuntimeError(f"{onnx_path}: expected one input, the model has {network.num_inputs}")
    inp = network.get_input(0)
    tail = tuple(int(d) for d in tuple(inp.shape)[1:])
    if any(d < 1 for d in tail):
        raise RuntimeError(f"{onnx_path}: input {inp.name} {tuple(inp.shape)}: only the batch axis may vary")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, WORKSPACE_BYTES)
    if fp16:
        if not builder.platform_has_fast_fp16:
            logger.warning("this GPU has no fast FP16; building the engine anyway (it may run at FP32 speed)")
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    profile.set_shape(inp.name, (1, *tail), (1, *tail), (max_batch, *tail))
    config.add_optimization_profile(profile)
    logger.info("building a TensorRT engine from %s (batch 1..%d, %s); this takes a while", onnx_path, max_batch,
                "fp16" if fp16 else "fp32")  # fmt: skip
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"{onnx_path}: TensorRT failed to build an engine (see the TensorRT messages above)")
    record = system_record(trt, cuda, onnx_path, max_batch, "fp16" if fp16 else "fp32")
    record["built"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(engine_path, bytes(serialized))
    write_atomic(record_path(engine_path), (json.dumps(record, indent=2) + "\n").encode())
    return record


class EngineRunner:
    """A checked TensorRT engine with its GPU buffers: one float32 input (batch, ...) -> its outputs.

    engine_path: the engine; onnx_path: the ONNX file it must have been built from; max_batch: the
    largest batch run() takes. rebuild: rebuild a missing or mismatched engine (else raise
    EngineMismatchError naming the differences and `how_to_rebuild`).
    """

    def __init__(
        self, engine_path: str | Path, onnx_path: str | Path, max_batch: int, rebuild: bool, how_to_rebuild: str
    ) -> None:
        trt, cuda = import_tensorrt()
        engine_path, onnx_path = Path(engine_path), Path(onnx_path)
        if not onnx_path.is_file():
            raise FileNotFoundError(f"{onnx_path}: ONNX model not found (the engine is checked against it)")
        problems = record_mismatch(read_record(engine_path), system_record(trt, cuda, onnx_path, max_batch))
        if problems:
            if not rebuild:
                raise EngineMismatchError(
                    f"{engine_path}: not built for this system ({'; '.join(problems)}); {how_to_rebuild}"
                )
            logger.warning("%s: rebuilding the TensorRT engine (%s)", engine_path, "; ".join(problems))
            build_engine(onnx_path, engine_path, max_batch)
        self._cuda = cuda
        self._runtime = trt.Runtime(_trt_logger(trt))
        self.engine = self._runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if self.engine is None:
            raise RuntimeError(f"{engine_path}: TensorRT could not deserialize the engine")
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.output_names = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        if len(inputs) != 1 or not self.output_names:
            raise RuntimeError(
                f"{engine_path}: expected one input and some outputs, got {inputs} / {self.output_names}"
            )
        for n in names:
            if self.engine.get_tensor_dtype(n) != trt.DataType.FLOAT:
                raise RuntimeError(f"{engine_path}: tensor {n} is {self.engine.get_tensor_dtype(n)}, expected float32")
        self.input_name = inputs[0]
        self.input_shape = tuple(int(d) for d in self.engine.get_tensor_shape(self.input_name))[1:]
        self.max_batch = max_batch
        self.context = self.engine.create_execution_context()
        self.context.set_input_shape(self.input_name, (max_batch, *self.input_shape))
        self.output_shapes = [tuple(int(d) for d in self.context.get_tensor_shape(n))[1:] for n in self.output_names]
        self._buffers: dict[str, int] = {}
        for name, shape in [
            (self.input_name, self.input_shape),
            *zip(self.output_names, self.output_shapes, strict=True),
        ]:
            self._buffers[name] = cuda.malloc(4 * max_batch * int(np.prod(shape)))
            self.context.set_tensor_address(name, self._buffers[name])
        self.stream = cuda.stream()

    def run(self, batch: np.ndarray) -> list[np.ndarray]:
        """Outputs (n, ...) float32, in output_names order, for a batch of n <= max_batch inputs."""
        n = len(batch)
        data = np.ascontiguousarray(batch, dtype=np.float32)
        self.context.set_input_shape(self.input_name, (n, *self.input_shape))
        self._cuda.to_device(self._buffers[self.input_name], data, self.stream)
        if not self.context.execute_async_v3(self.stream):
            raise RuntimeError("TensorRT: execute_async_v3 failed")
        outputs = [np.empty((n, *shape), dtype=np.float32) for shape in self.output_shapes]
        for name, out in zip(self.output_names, outputs, strict=True):
            self._cuda.to_host(out, self._buffers[name], self.stream)
        self._cuda.synchronize(self.stream)
        return outputs


class TensorRTBackend(ClassifierBackend):
    """Runs the classifier's TensorRT engine on the GPU; windows beyond max_batch go in several calls.

    engine_path: the engine; onnx_path: the ONNX file it must have been built from.
    rebuild: rebuild a missing or mismatched engine (else raise EngineMismatchError naming the differences).
    """

    name = "tensorrt"

    def __init__(
        self, engine_path: str | Path, onnx_path: str | Path, max_batch: int = 8, rebuild: bool = True
    ) -> None:
        hint = "rebuild it with `fallwatch export MODEL.keras --engine` or set classifier.rebuild_engine = true"
        self.runner = EngineRunner(engine_path, onnx_path, max_batch, rebuild, hint)
        if len(self.runner.output_names) != 1 or len(self.runner.input_shape) != 2:
            raise RuntimeError(f"{engine_path}: expected windows (N, T, F) in and one probabilities output")
        frames, features = self.runner.input_shape
        self.input_shape = (frames, features)
        self.max_batch = max_batch

    def run(self, windows: np.ndarray) -> np.ndarray:
        parts = [self.runner.run(windows[i : i + self.max_batch])[0] for i in range(0, len(windows), self.max_batch)]
        return np.concatenate(parts)
