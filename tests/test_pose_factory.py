"""create_pose: every configured type maps to a PoseEstimator class, imported only when chosen."""

from __future__ import annotations

import importlib
import subprocess
import sys
import typing

import pytest

from edge.config import PoseConfig
from edge.pose import BACKENDS
from edge.pose.base import PoseEstimator


def test_every_pose_type_has_a_backend_class() -> None:
    types = typing.get_args(typing.get_type_hints(PoseConfig)["type"])
    assert set(BACKENDS) == set(types)
    for module, name in BACKENDS.values():
        assert issubclass(getattr(importlib.import_module(module), name), PoseEstimator)


@pytest.mark.parametrize("module", ["edge.pose", "edge.sources", "edge.output", "edge.pose.trt_pose"])
def test_importing_needs_no_heavy_library(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "heavy = [m for m in ('cv2', 'mediapipe', 'torch', 'trt_pose', 'jetson_utils', 'tensorflow') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
