"""Shared fixtures. Tests that read the real fall data skip, with the reason, when it is absent."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.webhooks import Receiver, running_receiver

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FALLWATCH_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (or $FALLWATCH_DATA); skips the test when it is not there."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"real fall data not found at {SHARED_DATA} (set FALLWATCH_DATA to its folder)")
    return SHARED_DATA


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, int]]:
    """A webhook Receiver running on 127.0.0.1 (its port is the second item)."""
    with running_receiver() as running:
        yield running
