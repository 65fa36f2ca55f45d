"""Helpers shared by several test modules: required system tools and a simulated clock."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def skip_or_fail(reason: str) -> NoReturn:
    """Skip outside CI; fail when $CI is set, because `make system-deps` installs every tool there."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


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
