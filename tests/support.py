"""Helpers shared by several test modules: required system tools and data, a simulated clock, the shipped model."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

from edge.config import Config, load_config
from edge.features import FeatureConfig

REPO = Path(__file__).resolve().parents[1]
# The shipped model; FALLWATCH_MODEL tries another one (e.g. a training run's export) in its place.
MODEL = Path(os.environ.get("FALLWATCH_MODEL", REPO / "models" / "fallwatch.onnx"))
needs_model = pytest.mark.skipif(not MODEL.is_file(), reason=f"no trained model at {MODEL} (make model)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def skip_or_fail(reason: str) -> NoReturn:
    """Skip outside CI; fail when $CI is set, because `make system-deps` installs every tool there."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def shared_data_dir() -> Path:
    """$FALLWATCH_DATA or ../shared/data beside the repository; skip/fail (see skip_or_fail) without it."""
    path = Path(os.environ.get("FALLWATCH_DATA", REPO.parent / "shared" / "data"))
    if not (path / "README.md").is_file():
        skip_or_fail(f"real fall data not found at {path} (set FALLWATCH_DATA to its folder)")
    return path


def require_tool(tool: str, package: str) -> str:
    """The path of `tool` on PATH, or skip/fail naming the Debian package to install."""
    path = shutil.which(tool)
    if path is None:
        skip_or_fail(f"{tool} not installed (apt-get install {package}; `make system-deps` installs it)")
    return path


class FakeClock:
    """Simulated monotonic time for code that waits (no real waiting in tests)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.001)


def require_torch() -> None:
    """Skip/fail (under CI) unless torch imports: `make test` installs the CPU build ('fallwatch[export]')."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        skip_or_fail("torch not installed (pip install 'fallwatch[export]'; `make test` installs the CPU build)")


def model_features(cfg: Config) -> Config:
    """cfg with the [features] the model was trained with (its features.json), as a deployment sets them."""
    trained = MODEL.parent / "features.json"
    if trained.is_file():
        cfg.features = FeatureConfig.from_dict(json.loads(trained.read_text(encoding="utf-8")))
    return cfg


def replay_config(trace: Path, overrides: tuple[str, ...] = ()) -> Config:
    """The shipped model's config replaying a keypoint trace (source and pose both from the trace)."""
    cfg = load_config(
        None,
        [
            f'source.uri="{trace}"',
            'pose.type="recorded"',
            f'pose.recorded_path="{trace}"',
            f'classifier.model="{MODEL}"',
            *overrides,
        ],
    )
    return model_features(cfg)


def wait_until(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Poll condition() every 10 ms until it is truthy; fail when `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
