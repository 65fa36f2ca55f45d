"""Helpers shared by several test modules: required system tools and data, and a simulated clock."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[1]


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
