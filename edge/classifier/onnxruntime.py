"""ONNX Runtime backend: the exported ONNX model on any CPU (the default off a Jetson)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge.classifier.base import ClassifierBackend


class OnnxRuntimeBackend(ClassifierBackend):
    """Runs an exported .onnx file with ONNX Runtime's CPU provider.

    path: the .onnx file (FP32 or the FP16 variant; both take and return float32).
    threads: intra-op threads; 1 is fastest for these tiny models and leaves the cores to pose.
    Raises FileNotFoundError for a missing file, ImportError naming the extra without onnxruntime.
    """

    name = "onnxruntime"

    def __init__(self, path: str | Path, threads: int = 1) -> None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: ONNX model not found (make one with `fallwatch export MODEL.keras`)")
        try:
            import onnxruntime as ort  # heavy: imported on use
        except ImportError as exc:
            raise ImportError("the ONNX Runtime classifier needs onnxruntime: pip install 'fallwatch[cpu]'") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: float16 models log a warning per inserted cast
        self.session: Any = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        (inp,) = self.session.get_inputs()
        (out,) = self.session.get_outputs()
        self.input_name, self.output_name = inp.name, out.name
        self.input_shape = _fixed_tail(inp.shape, path)

    def run(self, windows: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: windows})[0]


def _fixed_tail(shape: list[Any], path: Path) -> tuple[int, int]:
    """(T, F) from an input shape [batch, T, F]; raises ValueError when they are not fixed integers."""
    if len(shape) != 3 or not all(isinstance(d, int) for d in shape[1:]):
        raise ValueError(f"{path}: model input must be [batch, T, F] with fixed T and F, got {shape}")
    return int(shape[1]), int(shape[2])
